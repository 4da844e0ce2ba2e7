"""A report whose H-TAP errors were halved by hand: not what the roll-outs give on its videos.

apply: edit
cells: htap_models_tests
loses: report_is_what_the_models_give
"""


def edit(folder):
    import json

    report = json.loads((folder / "htap_report.json").read_text())
    report["htap"]["mse"] = [value / 2 for value in report["htap"]["mse"]]
    (folder / "htap_report.json").write_text(json.dumps(report))
