"""The reference app without its guard on the JSON parser's limit: a body nested 100,000 deep
raises RecursionError inside the view, which the catch-all handler answers with a 500.

cells: app_tests
loses: app_rejects_bad_input, app_never_answers_500_nor_leaks_tracebacks
apply: edit
"""

GUARD = """    try:
        body = request.get_json(silent=True)
    except RecursionError:  # the parser's own limit: deeper than any image
        raise BadInput("the JSON body is nested too deeply") from None
"""


def edit(folder):
    app = folder / "app.py"
    text = app.read_text()
    assert GUARD in text, "the reference app no longer guards the parser's limit the way this variant removes"
    app.write_text(text.replace(GUARD, "    body = request.get_json(silent=True)\n"))
