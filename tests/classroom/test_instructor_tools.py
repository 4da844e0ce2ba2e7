"""Do the instructor's own tools hold against what a student hands in?

Two doors where the kit meets what it did not write: the instructor's terminal (``tpdl check`` run
on anyone's folder) and the instructor's browser (formgrader's view of a graded notebook, the
feedback page, the class and similarity reports). Each attack leaves a proof that it ran, and
earns nothing: no path outside the folder is read, no escape sequence reaches the terminal, no
code of a model runs in the instructor's process, no page loads anything from outside.
"""

import base64
import io
import json
import marshal
import re
import shutil
import zipfile
from pathlib import Path

import nbformat
from instructor_pages import formgrader_view, outside, remote

from tpdl.classroom import report, similarity
from tpdl.classroom import run as classroom
from tpdl.core import paths
from tpdl.grading import check

# OSC 52 (write the clipboard), OSC 0 (set the title), clear the screen, move the cursor, a C1 CSI.
ESCAPES = "\x1b]52;c;cHduZWQ=\x07\x1b]0;pwned-title\x07\x1b[2J\x1b[H\x1b[3A\x9b6n"
TERMINAL_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
SHOWN_ESCAPE = "\\x1b"  # what the terminal shows instead: the escape character made visible


def run_check(assignment: str, folder: Path, zygote=None) -> tuple[int, str]:
    """``tpdl check``'s exit status and everything it printed (its refusal too)."""
    out = io.StringIO()
    try:
        return check.main(assignment, folder, out=out, zygote=zygote), out.getvalue()
    except SystemExit as refusal:
        return 2, out.getvalue() + str(refusal)


def handed_in(tmp_path: Path, student: str, assignment: str) -> Path:
    folder = tmp_path / student / assignment
    shutil.copytree(paths.sample_submission(student, assignment), folder)
    return folder


def rewrite_model(source: Path, target: Path, change) -> None:
    """Copy a ``.keras`` file, its ``config.json`` changed by ``change(config)``."""
    with zipfile.ZipFile(source) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    config = json.loads(files["config.json"])
    change(config)
    files["config.json"] = json.dumps(config).encode()
    target.unlink(missing_ok=True)
    with zipfile.ZipFile(target, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)


def lambda_payload(marker: Path) -> dict:
    """A Keras ``Lambda`` layer whose function, marshalled into the file, writes ``marker`` when the
    model is built: what ``load_model(safe_mode=False)`` would run."""
    function = eval(f"lambda x: (open({str(marker)!r}, 'w').write('ran'), x)[1]")  # noqa: S307 - the payload
    code = base64.b64encode(marshal.dumps(function.__code__)).decode() + "\n"
    return {
        "module": "keras.layers",
        "class_name": "Lambda",
        "registered_name": None,
        "config": {
            "name": "payload",
            "trainable": True,
            "dtype": "float32",
            "arguments": {},
            "function": {
                "class_name": "__lambda__",
                "config": {"code": code, "defaults": None, "closure": None},
            },
        },
    }


# --------------------------------------------------------------------------- tpdl check on anyone's folder


def test_a_forged_handin_json_reads_nothing_outside_the_folder(released, zygote, tmp_path, monkeypatch):
    folder = handed_in(tmp_path, "untouched", "tp1")
    outside_model = tmp_path / "outside.keras"  # a real model next to the folder: loading it would show
    shutil.copyfile(paths.sample_submission("reference", "tp1") / "mnist_dense.keras", outside_model)
    forged = {
        "assignment": "tp1",
        "deliverables": ["tp1.ipynb"],
        "thresholds": {},
        "models": {"../outside.keras": "mnist", str(outside_model): "load", "../../../etc/passwd": "load"},
    }
    (folder / check.HANDIN).write_text(json.dumps(forged))
    code, text = run_check("tp1", folder, zygote)
    assert "this folder's handin.json is not the release's: it is ignored" in text, "the attack was not seen"
    assert code == 1 and "missing: mnist_dense.keras, mlflow.db, mlruns" in text, "the release decides"
    assert "parameters" not in text and "outside" not in text and "passwd" not in text

    monkeypatch.setenv("TPDL_COURSE_DIR", str(tmp_path / "no-course"))  # a machine without the course
    code, text = run_check("tp1", folder, zygote)
    assert code == 2 and "is not a release's" in text and "is not a relative path inside" in text
    assert "parameters" not in text


def test_a_model_that_links_out_of_the_folder_is_not_read(released, zygote, tmp_path):
    folder = handed_in(tmp_path, "reference", "tp1")
    (folder / "mnist_dense.keras").unlink()
    (folder / "mnist_dense.keras").symlink_to(
        paths.sample_submission("reference", "tp1") / "mnist_dense.keras"
    )
    (folder / "mlflow.db").unlink()
    (folder / "mlflow.db").symlink_to("/etc/passwd")
    code, text = run_check("tp1", folder, zygote)
    assert "mnist_dense.keras: a link: only regular files are graded" in text, "the link was not seen"
    assert code == 1 and "missing: mnist_dense.keras, mlflow.db" in text and "parameters" not in text
    linked = tmp_path / "linked-folder"
    linked.symlink_to(folder)
    code, text = run_check("tp1", linked, zygote)
    assert code == 2 and "is a link or not a folder" in text


def test_escape_sequences_in_a_folder_never_reach_the_terminal(released, zygote, tmp_path, monkeypatch):
    folder = handed_in(tmp_path, "reference", "tp4")
    record = {"budget": ESCAPES, "epochs": ESCAPES, "seconds": ESCAPES}
    (folder / "unet.keras.training.json").write_text(json.dumps(record))

    def escaped_class(config):
        config["config"]["layers"][-1]["class_name"] = f"Dense{ESCAPES}"

    rewrite_model(folder / "conv3d.keras", folder / "conv3d.keras", escaped_class)
    code, text = run_check("tp4", folder, zygote)
    assert text.count(SHOWN_ESCAPE) >= 2, f"the training record and the load error were not printed: {text}"
    assert "conv3d.keras could not be loaded safely" in text
    assert not TERMINAL_CONTROL.search(text), repr(text)

    (folder / check.HANDIN).write_text(
        json.dumps({"assignment": "tp4", "deliverables": [f"../{ESCAPES}"], "thresholds": {}, "models": {}})
    )
    monkeypatch.setenv("TPDL_COURSE_DIR", str(tmp_path / "no-course"))
    code, text = run_check("tp4", folder, zygote)
    assert code == 2 and SHOWN_ESCAPE in text, f"the refusal did not quote the forged name: {text}"
    assert not TERMINAL_CONTROL.search(text), repr(text)


def test_a_model_whose_loading_would_run_code_runs_nothing_here(released, zygote, tmp_path, monkeypatch):
    folder = handed_in(tmp_path, "reference", "tp1")
    marker = tmp_path / "payload-ran"
    model = folder / "mnist_dense.keras"
    rewrite_model(model, model, lambda config: config["config"]["layers"].insert(1, lambda_payload(marker)))

    def in_the_instructors_process(*args):
        raise AssertionError("a model was loaded in the instructor's process")

    monkeypatch.setattr(check.Loader, "_load_here", in_the_instructors_process)
    code, text = run_check("tp1", folder, zygote)
    assert "mnist_dense.keras could not be loaded safely" in text and "Lambda" in text, text
    assert code == 1 and not marker.exists()

    def no_sandbox(*args, **kwargs):
        raise check.sandbox.SandboxUnavailable("no bubblewrap here")

    monkeypatch.setattr(check.sandbox, "Zygote", no_sandbox)
    monkeypatch.setattr(check.os, "geteuid", lambda: 0)
    code, text = run_check("tp1", folder)
    assert "does not load a model outside it as root" in text, text
    assert code == 1 and not marker.exists()


# ---------------------------------------------------------------------- what the instructor's browser opens

BEACON = "https://beacon.example/b.png?student=mallory"
LOCAL = "http://127.0.0.1:8888/api/contents"
PIXEL = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
REMOTE_MARKDOWN = f"""ATTACK-REMOTE-VISIBLE
![beacon]({BEACON}) ![proto](//evil.example/x.png) ![local]({LOCAL}/a.png)
<img src="{LOCAL}/secret.txt"> <img src="//evil.example/y.png"> <img src="/files/secret.png">
<img srcset="{BEACON} 1x, {LOCAL} 2x" src="data:image/png;base64,{PIXEL}">
<div style="background:url({BEACON})">styled</div> <p style='background-image:url("//evil.example/z")'>p</p>
<style>@import url({BEACON}); body {{ background: url({LOCAL}) }}</style>
<link rel="stylesheet" href="{BEACON}"><link rel="prefetch" href="{LOCAL}">
<svg><image href="{BEACON}"/><use xlink:href="{LOCAL}#x"/></svg>
<iframe src="{LOCAL}"></iframe><object data="{BEACON}"></object><embed src="{BEACON}">
<video src="{BEACON}" poster="{LOCAL}"><source src="{BEACON}"></video><audio src="{LOCAL}"></audio>
<form action="{LOCAL}"><input type="image" src="{BEACON}"></form>
<meta http-equiv="refresh" content="0; url={BEACON}"><base href="https://evil.example/">
<table background="{BEACON}"><tr><td>cell</td></tr></table>
"""


def hostile_notebook(path: Path) -> None:
    """TP1's release with the remote sources a student could hand in: markdown, attachments, outputs."""
    notebook = nbformat.read(paths.release("tp1") / "tp1.ipynb", as_version=4)
    notebook.cells.insert(1, nbformat.v4.new_markdown_cell(REMOTE_MARKDOWN))
    drawn = nbformat.v4.new_markdown_cell("![drawn](attachment:pixel.png) ![vector](attachment:v.svg)")
    drawn.attachments = {
        "pixel.png": {"image/png": PIXEL},
        "v.svg": {"image/svg+xml": f'<svg><image href="{BEACON}"/></svg>'},
    }
    inline = nbformat.v4.new_markdown_cell("ATTACK-INLINE-IMAGE ![drawn](attachment:pixel.png)")
    inline.attachments = {"pixel.png": {"image/png": PIXEL}}
    code = nbformat.v4.new_code_cell("print('ATTACK-REMOTE-OUTPUT')")
    code.outputs = [
        nbformat.v4.new_output("display_data", data={"text/html": f'<img src="{LOCAL}">', "text/plain": "x"})
    ]
    notebook.cells += [drawn, inline, code]
    nbformat.write(notebook, path)


def test_formgrader_shows_no_source_a_student_chose(released, tmp_path):
    root = paths.course_dir()
    submitted, graded = tmp_path / "submitted.ipynb", tmp_path / "graded.ipynb"
    hostile_notebook(submitted)
    baseline = formgrader_view(root, paths.release("tp1") / "tp1.ipynb")
    unguarded = outside(formgrader_view(root, submitted), baseline)
    assert len(remote(unguarded)) >= 10, f"without the kit, the attack loads little: {unguarded}"
    nbformat.write(report.safe_notebook(submitted, paths.release("tp1") / "tp1.ipynb"), graded)
    view = formgrader_view(root, graded)
    assert "ATTACK-REMOTE-VISIBLE" in view and "ATTACK-REMOTE-OUTPUT" in view, "the cells were not shown"
    assert f"data:image/png;base64,{PIXEL}" in view, "an attached image is shown inline"
    assert not outside(view, baseline), f"formgrader's view loads {outside(view, baseline)}"


HOSTILE_HTML = (
    f'ATTACK-REMOTE-MESSAGE <img src="{BEACON}"> <link rel=stylesheet href="{LOCAL}">'
    f' <div style="background:url(//evil.example/x)">x</div> <iframe src="{LOCAL}"></iframe>'
)


def test_the_feedback_page_and_the_reports_load_nothing_from_outside():
    result = {
        "student": f"mallory<img src={BEACON}>",
        "assignment": "tp1",
        "score": 0.0,
        "max_score": 1.0,
        "notes": [HOSTILE_HTML],
        "notebook": {"cells": [{"cell": 1, "status": "error", "message": HOSTILE_HTML}]},
        "checks": [
            {
                "name": f"check<link href={LOCAL}>",
                "points": 0.0,
                "max_points": 1.0,
                "passed": False,
                "message": HOSTILE_HTML,
            }
        ],
    }
    outcome = classroom.ClassResult("tp1")
    outcome.students[result["student"]] = {**result, "missing": HOSTILE_HTML}
    outcome.refused[f"<img src={BEACON}>"] = HOSTILE_HTML
    region = similarity.Region("cell 3", "cell 4", ("", HOSTILE_HTML, ""), ("", HOSTILE_HTML, ""), 100)
    comparison = similarity.Comparison(
        "tp1",
        0.5,
        25,
        30,
        ["mallory", "x"],
        {"mallory": [HOSTILE_HTML]},
        [similarity.Pair(f"<img src={BEACON}>", "x", 1.0, 1.0, 100, [region])],
    )
    pages = {
        "feedback": report.feedback_html(result),
        "class report": report.class_html(outcome),
        "similarity report": similarity.similarity_html(comparison),
    }
    for name, page in pages.items():
        assert "ATTACK-REMOTE-MESSAGE" in page and "&lt;img src=" in page, f"the {name} did not show the text"
        assert not outside(page), f"the {name} loads {outside(page)}"
        assert "default-src 'none'" in page, f"the {name} does not tell the browser to load nothing"
