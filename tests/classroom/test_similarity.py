"""Does ``tpdl similarity`` find a disguised copy, leave independent work alone, and survive a hostile class?

The class is TP2's sample class (``reference``, ``untouched``, ``mistakes``) with four students planted
beside it: ``disguised``, the reference with its variables renamed and its functions reordered;
``independent_a`` and ``independent_b``, two solutions of the same exercises written apart from the
reference (one with loops, one with ``map`` and explicit chain rules); and ``mallory``, who hands in a
notebook that does not parse, a ``.py`` file named like a spreadsheet formula holding a ``<script>``
tag, a link to a file outside the submission, and a file over the intake's size limit. A linked
student folder stands beside them. The release to remove is the untouched student's copy: it is
the release as a student receives it.
"""

import ast
import csv
import importlib.util
import io
import json
import os
import shutil
import subprocess
import sys
import textwrap
import tokenize
from itertools import combinations
from pathlib import Path

import nbformat
import pytest

from tpdl import cli
from tpdl.classroom import normalise, similarity
from tpdl.core import paths

ASSIGNMENT = "tp2"
STUB = "    # YOUR CODE HERE\n    raise NotImplementedError()"
HOSTILE_SCRIPT = "=cmd|'calc'!A0.py"  # a file name holds no slash
HOSTILE_LINE = "    print(\"<script>alert('pwned')</script> =cmd|' /C calc'!A0\")"
POISON = "lone \ud800 surrogate \x1b[31m red \x07 bell"

# Names of the reference's solution cells and what the disguised copy calls them instead.
RENAMED = {
    "velocities": "speeds",
    "new_params": "updated",
    "squares": "sq_avg",
    "alpha": "step_size",
    "m_i": "first_i",
    "v_i": "second_i",
    "keep": "mask",
    "axes": "dims",
    "count": "n_items",
    "inv_std": "inv_sigma",
    "x_hat": "normed",
    "dx_hat": "d_normed",
    "dgamma": "grad_gamma",
    "dbeta": "grad_beta",
    "dx": "grad_x",
    "mean": "mu",
    "var": "sigma2",
    "new_mean": "mu_next",
    "new_var": "sigma2_next",
    "model": "net",
    "history": "fit",
    "p": "w",
    "g": "dw",
    "s": "acc",
    "w": "tensor",
    "values": "series",
    "key": "metric",
}

# Two solutions written independently of the reference: for each solution cell, the body that
# replaces each stub of the cell, in order.
INDEPENDENT_A = {
    "sgd_step": [
        """
        check_params_and_grads(params, grads)
        previous = state.get("velocities")
        updated, new_velocities = [], []
        for index in range(len(params)):
            weight, gradient = params[index], grads[index]
            if momentum:
                speed = previous[index] if previous else np.zeros_like(weight)
                speed = momentum * speed - lr * gradient
                new_velocities.append(speed)
                step = momentum * speed - lr * gradient if nesterov else speed
                updated.append(weight + step)
            else:
                updated.append(weight - lr * gradient)
        if momentum:
            return updated, {"velocities": new_velocities}
        return updated, dict(state)
        """
    ],
    "rmsprop_step": [
        """
        check_params_and_grads(params, grads)
        accumulated = state.get("squares")
        if not accumulated:
            accumulated = [np.zeros(np.shape(weight)) for weight in params]
        result, kept = [], []
        for weight, gradient, average in zip(params, grads, accumulated):
            average = rho * average + (1.0 - rho) * np.square(gradient)
            kept.append(average)
            result.append(weight - lr * gradient / np.sqrt(average + epsilon))
        return result, {"squares": kept}
        """
    ],
    "adam_step": [
        """
        check_params_and_grads(params, grads)
        step = state.get("t", 0) + 1
        first = state.get("m") or [0.0 * weight for weight in params]
        second = state.get("v") or [0.0 * weight for weight in params]
        correction = np.sqrt(1.0 - np.power(beta_2, step)) / (1.0 - np.power(beta_1, step))
        out_params, out_first, out_second = [], [], []
        for index, (weight, gradient) in enumerate(zip(params, grads)):
            moment = first[index] + (1.0 - beta_1) * (gradient - first[index])
            spread = second[index] + (1.0 - beta_2) * (gradient * gradient - second[index])
            out_first.append(moment)
            out_second.append(spread)
            out_params.append(weight - lr * correction * moment / (np.sqrt(spread) + epsilon))
        return out_params, {"t": step, "m": out_first, "v": out_second}
        """
    ],
    "dropout": [
        """
        if rate < 0.0 or rate >= 1.0:
            raise ValueError("the rate is outside [0, 1)")
        values = np.array(x)
        if training and rate > 0.0:
            survivors = rng.random(values.shape) >= rate
            values = (values * survivors / (1.0 - rate)).astype(values.dtype)
        return values
        """
    ],
    "l2_penalty": [
        """
        if l2 < 0:
            raise ValueError("a negative l2 factor")
        total = 0.0
        for weight in weights:
            flat = np.ravel(weight)
            total += l2 * float(np.dot(flat, flat))
        return total
        """,
        """
        if l2 < 0:
            raise ValueError("a negative l2 factor")
        gradients = []
        for weight in weights:
            gradients.append(np.multiply(weight, 2 * l2))
        return gradients
        """,
    ],
    "batchnorm_forward": [
        """
        x = np.asarray(x)
        reduce_over = tuple(range(x.ndim - 1))
        if not training:
            normalised = (x - moving_mean) / np.sqrt(moving_var + epsilon)
            return gamma * normalised + beta, np.copy(moving_mean), np.copy(moving_var)
        batch_mean = np.mean(x, axis=reduce_over)
        batch_var = np.mean((x - batch_mean) ** 2, axis=reduce_over)
        normalised = (x - batch_mean) / np.sqrt(batch_var + epsilon)
        updated_mean = moving_mean * momentum + batch_mean * (1 - momentum)
        updated_var = moving_var * momentum + batch_var * (1 - momentum)
        return gamma * normalised + beta, updated_mean, updated_var
        """
    ],
    "batchnorm_backward": [
        """
        x = np.asarray(x)
        dy = np.asarray(dy)
        flat_x = x.reshape(-1, x.shape[-1])
        flat_dy = dy.reshape(-1, dy.shape[-1])
        centred = flat_x - flat_x.mean(axis=0)
        std = np.sqrt((centred**2).mean(axis=0) + epsilon)
        normalised = centred / std
        grad_beta = flat_dy.sum(axis=0)
        grad_gamma = (flat_dy * normalised).sum(axis=0)
        grad_norm = flat_dy * gamma
        grad_x = (
            grad_norm - grad_norm.mean(axis=0) - normalised * (grad_norm * normalised).mean(axis=0)
        ) / std
        return grad_x.reshape(x.shape), grad_gamma, grad_beta
        """
    ],
    "train_and_log": [
        """
        x_train, y_train, x_val, y_val = data
        keras.utils.set_random_seed(seed)
        network = build_mlp(config)
        mlflow.set_tracking_uri(tracking_uri)
        mlflow.set_experiment(experiment)
        mlflow.start_run(run_name=name)
        try:
            logged = dict(config)
            logged.update(epochs=epochs, batch_size=batch_size, seed=seed, train_size=len(x_train))
            mlflow.log_params(logged)
            fitted = network.fit(
                x_train, y_train, epochs=epochs, batch_size=batch_size,
                validation_data=(x_val, y_val), verbose=0
            )
            curves = {metric: [float(value) for value in series] for metric, series in fitted.history.items()}
            for step in range(epochs):
                mlflow.log_metrics({metric: series[step] for metric, series in curves.items()}, step=step)
        finally:
            mlflow.end_run()
        return curves
        """
    ],
}
INDEPENDENT_B = {
    "sgd_step": [
        """
        check_params_and_grads(params, grads)
        if not momentum:
            return [np.subtract(p, np.multiply(lr, g)) for p, g in zip(params, grads)], dict(state)
        old = state.get("velocities", None)
        if old is None:
            old = [np.zeros_like(p) for p in params]
        new = list(map(lambda v, g: momentum * v - lr * g, old, grads))
        if nesterov:
            moved = list(map(lambda p, v, g: p + momentum * v - lr * g, params, new, grads))
        else:
            moved = list(map(np.add, params, new))
        return moved, {"velocities": new}
        """
    ],
    "rmsprop_step": [
        """
        check_params_and_grads(params, grads)
        caches = state["squares"] if "squares" in state else [np.zeros_like(p) for p in params]
        caches = [np.add(rho * c, (1 - rho) * np.square(g)) for c, g in zip(caches, grads)]
        scaled = [g / np.sqrt(c + epsilon) for g, c in zip(grads, caches)]
        return [p - lr * u for p, u in zip(params, scaled)], {"squares": caches}
        """
    ],
    "adam_step": [
        """
        check_params_and_grads(params, grads)
        t = int(state.get("t", 0)) + 1
        moments = zip(state.get("m") or [None] * len(params), state.get("v") or [None] * len(params))
        new_params, new_m, new_v = [], [], []
        for p, g, (m, v) in zip(params, grads, moments):
            m = (1 - beta_1) * g if m is None else beta_1 * m + (1 - beta_1) * g
            v = (1 - beta_2) * g * g if v is None else beta_2 * v + (1 - beta_2) * g * g
            m_hat = m / (1 - beta_1**t)
            v_hat = v / (1 - beta_2**t)
            new_params.append(p - lr * m_hat / (np.sqrt(v_hat) + epsilon / np.sqrt(1 - beta_2**t)))
            new_m.append(m)
            new_v.append(v)
        return new_params, {"t": t, "m": new_m, "v": new_v}
        """
    ],
    "dropout": [
        """
        if not (0 <= rate < 1):
            raise ValueError("dropout rate out of range")
        array = np.asarray(x)
        if training and rate:
            kept = (rng.random(array.shape) >= rate).astype(array.dtype)
            return array * kept * np.asarray(1.0 / (1.0 - rate), dtype=array.dtype)
        return array.copy()
        """
    ],
    "l2_penalty": [
        """
        if l2 < 0:
            raise ValueError("l2 must be >= 0")
        return l2 * float(sum((np.asarray(w) ** 2).sum() for w in weights))
        """,
        """
        if l2 < 0:
            raise ValueError("l2 must be >= 0")
        return list(map(lambda w: 2 * l2 * np.asarray(w), weights))
        """,
    ],
    "batchnorm_forward": [
        """
        data = np.asarray(x)
        flat = data.reshape(-1, data.shape[-1])
        if training:
            mu = flat.mean(0)
            sigma2 = ((flat - mu) ** 2).mean(0)
            running = (
                momentum * moving_mean + (1 - momentum) * mu,
                momentum * moving_var + (1 - momentum) * sigma2,
            )
        else:
            mu, sigma2 = moving_mean, moving_var
            running = (np.copy(moving_mean), np.copy(moving_var))
        out = (data - mu) * (gamma / np.sqrt(sigma2 + epsilon)) + beta
        return (out, *running)
        """
    ],
    "batchnorm_backward": [
        """
        features = np.shape(x)[-1]
        xs = np.reshape(x, (-1, features))
        gs = np.reshape(dy, (-1, features))
        n = xs.shape[0]
        diff = xs - xs.mean(axis=0)
        inv = (np.einsum("ij,ij->j", diff, diff) / n + epsilon) ** -0.5
        xhat = diff * inv
        dgamma = np.einsum("ij,ij->j", gs, xhat)
        dbeta = gs.sum(axis=0)
        dxhat = gs * gamma
        dvar = np.sum(dxhat * diff, axis=0) * -0.5 * inv**3
        dmu = -np.sum(dxhat * inv, axis=0) - 2.0 * dvar * diff.mean(axis=0)
        dx = dxhat * inv + dvar * 2.0 * diff / n + dmu / n
        return dx.reshape(np.shape(x)), dgamma, dbeta
        """
    ],
    "train_and_log": [
        """
        x_train, y_train, x_val, y_val = data
        keras.utils.set_random_seed(seed)
        model = build_mlp(config)
        mlflow.set_tracking_uri(tracking_uri)
        mlflow.set_experiment(experiment)
        logged = {"epochs": epochs, "batch_size": batch_size, "seed": seed, "train_size": len(x_train)}
        with mlflow.start_run(run_name=name):
            mlflow.log_params(config | logged)
            callback = keras.callbacks.LambdaCallback(
                on_epoch_end=lambda epoch, logs: mlflow.log_metrics(
                    {k: float(val) for k, val in logs.items()}, step=epoch
                )
            )
            fitted = model.fit(
                x_train, y_train, batch_size=batch_size, epochs=epochs, verbose=0,
                validation_data=(x_val, y_val), callbacks=[callback],
            )
        return {k: list(map(float, vals)) for k, vals in fitted.history.items()}
        """
    ],
}


def solution_cells(notebook) -> list:
    return [
        c for c in notebook.cells if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution")
    ]


def implement(stubs, bodies: dict[str, list[str]]):
    """The release's notebook with each solution cell's stubs replaced by ``bodies``."""
    notebook = nbformat.from_dict(stubs)
    for cell in solution_cells(notebook):
        for body in bodies[cell.metadata.nbgrader.grade_id]:
            assert STUB in cell.source
            cell.source = cell.source.replace(
                STUB, textwrap.indent(textwrap.dedent(body).strip("\n"), "    "), 1
            )
        ast.parse(cell.source)  # still Python: parsed, never run
    return notebook


def rename(source: str) -> str:
    """``source`` with the names of :data:`RENAMED` replaced, attributes and strings left alone."""
    tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    out = []
    for index, token in enumerate(tokens):
        after_dot = index > 0 and tokens[index - 1].string == "."
        if token.type == tokenize.NAME and token.string in RENAMED and not after_dot:
            token = token._replace(string=RENAMED[token.string])
        out.append(token)
    return tokenize.untokenize(out)


def disguise(reference):
    """The reference's notebook with its names renamed, its solutions in reverse order, and the two
    functions of one cell swapped."""
    notebook = nbformat.from_dict(reference)
    cells = solution_cells(notebook)
    sources = [rename(cell.source) for cell in cells][::-1]
    for cell, source in zip(cells, sources):
        if source.count("\ndef ") == 1:
            first, second = source.split("\n\n\ndef ")
            source = f"def {second.rstrip()}\n\n\n{first}\n"
        ast.parse(source)
        cell.source = source
    return notebook


@pytest.fixture(scope="module")
def class_course(tmp_path_factory, released) -> Path:
    """A course folder with TP2's release and the class described above under ``submitted/`` (the
    kit's own releases made, which ``tpdl similarity`` reads)."""
    root = tmp_path_factory.mktemp("course")
    classroom = root / "submitted"
    shutil.copytree(paths.sample_submission("untouched", ASSIGNMENT), root / "release" / ASSIGNMENT)
    for student in ("reference", "untouched", "mistakes"):
        shutil.copytree(paths.sample_submission(student, ASSIGNMENT), classroom / student / ASSIGNMENT)
    notebook_name = f"{ASSIGNMENT}.ipynb"
    stubs = nbformat.read(root / "release" / ASSIGNMENT / notebook_name, as_version=4)
    reference = nbformat.read(classroom / "reference" / ASSIGNMENT / notebook_name, as_version=4)
    planted = {
        "disguised": disguise(reference),
        "independent_a": implement(stubs, INDEPENDENT_A),
        "independent_b": implement(stubs, INDEPENDENT_B),
    }
    for student, notebook in planted.items():
        (classroom / student / ASSIGNMENT).mkdir(parents=True)
        nbformat.write(notebook, classroom / student / ASSIGNMENT / notebook_name)

    hostile = classroom / "mallory" / ASSIGNMENT
    hostile.mkdir(parents=True)
    (hostile / notebook_name).write_text('{"cells": [{"cell_type": "code", "source": "import os')
    copied = "\n\n".join(cell.source for cell in solution_cells(reference)[:3]).split("\n")
    copied.insert(5, HOSTILE_LINE)
    (hostile / HOSTILE_SCRIPT).write_text("\n".join(copied))
    outside = root / "outside.py"
    outside.write_text("TOPSECRET = 1\n" + "\n".join(cell.source for cell in solution_cells(reference)))
    (hostile / "linked.py").symlink_to(outside)
    with open(hostile / "huge.py", "wb") as huge:  # sparse: nothing is written, only its size
        huge.truncate(similarity.LIMITS.file_bytes + 1)
    (classroom / "mirror").symlink_to(classroom / "reference", target_is_directory=True)

    poisoned = nbformat.from_dict(reference)  # a lone surrogate and escape sequences: not text
    first = solution_cells(poisoned)[0]
    last = next(node for node in ast.parse(first.source).body if isinstance(node, ast.FunctionDef)).body[-1]
    lines = first.source.split("\n")
    indent = " " * last.col_offset
    lines[last.lineno - 1 : last.lineno - 1] = [f"{indent}# {POISON}", f'{indent}print("{POISON}")']
    first.source = "\n".join(lines)  # in the middle of copied code: a region shows it
    answer = next(
        c
        for c in poisoned.cells
        if c.cell_type == "markdown" and c.metadata.get("nbgrader", {}).get("solution")
    )
    answer.source += f"\n\n{POISON}"
    (classroom / "poisoned" / ASSIGNMENT).mkdir(parents=True)
    (classroom / "poisoned" / ASSIGNMENT / notebook_name).write_text(json.dumps(poisoned))  # \ud800 escaped
    return root


@pytest.fixture(scope="module")
def comparison(class_course) -> similarity.Comparison:
    return similarity.compare_class(
        ASSIGNMENT, class_course / "submitted", threshold=0.0, release=class_course / "release" / ASSIGNMENT
    )


def share(comparison, first: str, second: str) -> float:
    """The larger of the two shares of a pair (0 when it was not reported)."""
    found = [max(p.a_to_b, p.b_to_a) for p in comparison.pairs if {p.a, p.b} == {first, second}]
    return found[0] if found else 0.0


def test_a_disguised_copy_ranks_at_the_top(comparison):
    top = comparison.pairs[0]
    assert {top.a, top.b} < {"disguised", "reference", "poisoned"}  # the poisoned copy is the reference too
    assert min(top.a_to_b, top.b_to_a) > 0.9 and share(comparison, "disguised", "reference") > 0.9
    assert top.regions and all(region.code_a[1] and region.code_b[1] for region in top.regions)


def test_independent_solutions_stay_below_the_threshold(comparison):
    for first, second in [
        ("independent_a", "reference"),
        ("independent_b", "reference"),
        ("independent_a", "independent_b"),
        ("independent_a", "disguised"),
        ("independent_b", "mistakes"),
    ]:
        assert share(comparison, first, second) < similarity.THRESHOLD, (first, second)
    assert share(comparison, "mistakes", "reference") > similarity.THRESHOLD  # the same code, altered


def test_the_release_is_removed_and_unreadable_or_linked_work_is_noted(comparison):
    assert "untouched" not in comparison.students  # nothing but the release's stubs
    assert "beyond the release" in " ".join(comparison.notes["untouched"])
    assert comparison.notes["mirror"] and "mirror" not in comparison.students  # a linked folder
    said = " ".join(comparison.notes["mallory"])
    assert "unreadable" in said and "linked.py" in said and "huge.py" in said
    assert share(comparison, "mallory", "reference") > 0.9  # what could be read is still compared


def test_the_html_escapes_student_code_and_follows_no_link(comparison):
    page = similarity.similarity_html(comparison)
    assert "<script>" not in page and "&lt;script&gt;alert(" in page
    assert "TOPSECRET" not in page
    assert page.index("disguised") < page.index("independent_a")  # ranked


def test_the_csv_neutralises_formulas(comparison):
    rows = list(csv.reader(io.StringIO(similarity.similarity_csv(comparison))))
    assert rows[0] == list(similarity.CSV_HEADER)
    assert len(rows) == sum(len(cluster.pairs) for cluster in comparison.clusters) + 1
    cells = [cell for row in rows[1:] for cell in row]
    assert any(cell.startswith("'=cmd|") for cell in cells)
    assert not any(cell.startswith(("=", "+", "@", "|")) for cell in cells)


@pytest.mark.parametrize(
    "content",
    [
        b'{"cells": [',
        json.dumps({"cells": "none", "metadata": {}, "nbformat": 4, "nbformat_minor": 5}).encode(),
        b"[" * 100_000 + b"]" * 100_000,
        b"\xff\xfe\x00 not text",
    ],
    ids=["truncated", "not-the-format", "nested-deep", "not-utf8"],
)
def test_a_malformed_notebook_is_unreadable(tmp_path, content):
    notebook = tmp_path / "tp2.ipynb"
    notebook.write_bytes(content)
    with pytest.raises(similarity.Unreadable):
        similarity.notebook_code(notebook)


def test_odd_nbgrader_metadata_falls_back_to_every_code_cell(tmp_path):
    notebook = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell("x = 1", metadata={"nbgrader": "yes"})]
    )
    nbformat.write(notebook, tmp_path / "tp2.ipynb")
    assert similarity.notebook_code(tmp_path / "tp2.ipynb") == [("tp2.ipynb cell 1", "x = 1")]


def test_the_budget_counts_normalised_tokens_and_flags_a_cut(monkeypatch):
    monkeypatch.setattr(similarity, "MAX_TOKENS", 50)
    padded = similarity.Document("padded")
    padded.add("a.py", "# " + "x" * 100_000 + "\nvalue = compute(1, 2)\n")
    assert padded.tokens == ["V", "=", "V", "(", "N", ",", "N", ")", ";"] and not padded.cut
    verbose = similarity.Document("verbose")
    verbose.add("a.py", "x = 1\n" * 1000)
    verbose.add("b.py", "y = 2\n")
    assert len(verbose.tokens) == 50 + 4 and "b.py, statements" in verbose.text
    assert verbose.cut and verbose.notes == [
        "a.py: only its first 100 tokens as written were read: for a manual look",
        "a.py: cut at 50 normalised tokens of a piece (100,000 of a submission): for a manual look",
    ]


def test_the_command_writes_both_reports(class_course, monkeypatch, capsys):
    monkeypatch.setenv("TPDL_COURSE_DIR", str(class_course))
    assert cli.main(["similarity", ASSIGNMENT, "--threshold", "0.6"]) == 0
    said = capsys.readouterr().out
    assert "reference -> disguised" in said or "disguised -> reference" in said
    page = (class_course / "reports" / f"{ASSIGNMENT}-similarity.html").read_text()
    assert "independent_a" not in page.split("<h2>Notes")[0]
    rows = list(csv.reader((class_course / "reports" / f"{ASSIGNMENT}-similarity.csv").open()))
    assert {"reference", "disguised"} <= set(rows[1][1].split())
    assert all(max(float(row[4]), float(row[5] or 0), float(row[6] or 0)) >= 0.4 for row in rows[1:])
    assert cli.main(["similarity", "tp9"]) == 2
    assert "tpdl release tp9" in capsys.readouterr().err


def test_the_installed_command_runs(class_course, tmp_path):
    html, table = tmp_path / "out.html", tmp_path / "out.csv"
    command = [
        str(Path(sys.executable).with_name("tpdl")),
        "similarity",
        ASSIGNMENT,
        "--submissions",
        str(class_course / "submitted"),
        "--html",
        str(html),
        "--csv",
        str(table),
    ]
    environment = {**os.environ, "TPDL_COURSE_DIR": str(class_course)}
    done = subprocess.run(command, capture_output=True, text=True, env=environment, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "&lt;script&gt;" in html.read_text() and "disguised" in table.read_text()


def test_a_poisoned_submission_is_noted_and_the_report_is_whole(class_course, comparison, tmp_path):
    said = " ".join(comparison.notes["poisoned"])
    assert "lone surrogates" in said and "replaced" in said
    assert share(comparison, "poisoned", "reference") > 0.9  # still compared, with the rest of the class
    html, table = tmp_path / "out.html", tmp_path / "out.csv"
    # no UnicodeEncodeError
    assert similarity.main(ASSIGNMENT, class_course / "submitted", html, table, 0.6) == 0
    page = html.read_text(encoding="utf-8")
    assert "poisoned" in page and "\x1b" not in page and "\\x1b" in page and "\ud800" not in page


def test_one_pair_that_fails_is_a_note(class_course, monkeypatch):
    real = similarity.compare_pair

    def failing(first, second, prints, texts, threshold):
        if {first.student, second.student} == {"mistakes", "reference"}:
            raise UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed")
        return real(first, second, prints, texts, threshold)

    monkeypatch.setattr(similarity, "compare_pair", failing)
    release = class_course / "release" / ASSIGNMENT
    found = similarity.compare_class(ASSIGNMENT, class_course / "submitted", 0.6, release)
    assert found.notes["mistakes and reference"] == ["not compared: UnicodeEncodeError"]
    assert share(found, "disguised", "reference") > 0.9 and share(found, "mistakes", "disguised") > 0.6


def test_copies_of_one_source_are_one_cluster(comparison):
    reported = [p for p in comparison.pairs if p.score >= 0.6]
    copies = {"reference", "disguised", "mistakes", "mallory", "poisoned"}
    group = next(c for c in similarity.clusters(reported) if "reference" in c.members)
    assert set(group.members) == copies and len(group.pairs) == len(copies) - 1


def test_normalising_undoes_mechanical_rewrites():
    plain = "def step(p, g, lr):\n    d = lr * g\n    q = p * 2\n    return p - d + q\n"
    rewritten = (
        'def step(w, dw, eta):  # moved, renamed, padded\n    """Docs."""\n    pass\n    tmp = 0\n'
        "    q = (w) * (3)\n    if False:\n        print(w)\n    d = ((eta) * (dw))\n"
        "    return (w) - (d) + (q)\n"
    )
    assert [u.tokens for u in normalise.normalise(plain).units] == [
        u.tokens for u in normalise.normalise(rewritten).units
    ]
    assert not normalise.normalise("def broken(:\n    x = (1)\n").parsed
    document = similarity.Document("broken")
    document.add("cell 3", "def broken(:\n    x = (1)  # a comment\n")
    assert document.notes == ["cell 3: not Python that parses, compared token by token as written"]
    assert "(" in document.tokens and "a comment" not in " ".join(document.tokens)


def _disguises():
    spec = importlib.util.spec_from_file_location(
        "disguises", Path(__file__).parent.parent / "similarity" / "disguises.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


CATALOGUE = Path(__file__).parent.parent / "catalogue"
ANALYSES = (
    Path(__file__).parent.parent / "similarity" / "analyses"
)  # <tp>--<whole solution>.md, written apart
DISGUISED_TPS = ("tp1", "tp2", "tp3", "tp4", "tp5")


def answer(folder: Path, assignment: str, text: str) -> None:
    """Write ``text`` as the answer of the notebook's written (markdown solution) cell."""
    path = folder / f"{assignment}.ipynb"
    notebook = nbformat.read(path, as_version=4)
    cell = next(
        c
        for c in notebook.cells
        if c.cell_type == "markdown" and c.metadata.get("nbgrader", {}).get("solution")
    )
    cell.source = cell.source.replace("YOUR ANSWER HERE", text)
    nbformat.write(notebook, path)


@pytest.fixture(scope="module")
def disguised_classes(built_once) -> dict:
    """For each TP: its independent whole solutions (with independent written answers where it has
    a written question) and the disguised copies of its reference, compared as one class once per test run."""
    return built_once("disguised-classes", disguise_classes)


def disguise_classes(folder: Path) -> dict:
    disguises = _disguises()
    found = {}
    for assignment in DISGUISED_TPS:
        root = folder / assignment
        root.mkdir()
        independent = similarity.whole_solutions(assignment, CATALOGUE / assignment, root)
        for written in sorted(ANALYSES.glob(f"{assignment}--*.md")):
            answer(root / written.stem.split("--", 1)[1] / assignment, assignment, written.read_text())
        reference = root / "reference" / assignment
        copies = {}
        for name, disguise in disguises.DISGUISES.items():
            student = name.replace(" ", "_")
            shutil.copytree(reference, root / student / assignment)
            assert disguise(root / student / assignment, assignment)
            copies[name] = student
        for name, disguise in disguises.HIDDEN.items():
            shutil.copytree(reference, root / name.replace(" ", "_") / assignment)
            assert disguise(root / name.replace(" ", "_") / assignment, assignment)
        analysis = root / "copied_analysis" / assignment
        shutil.copytree(root / independent[-1] / assignment, analysis)
        if disguises.copied_analysis(analysis, assignment, reference):
            copies["copied analysis"] = "copied_analysis"
        else:
            shutil.rmtree(analysis.parent)
        release = paths.sample_submission("untouched", assignment)
        found[assignment] = (independent, copies, similarity.compare_class(assignment, root, 0.0, release))
    return found


def _shares(pair) -> str:
    code = f"{max(pair.a_to_b, pair.b_to_a):.0%}" if pair else "0%"
    text = f"{max(pair.text_a_to_b, pair.text_b_to_a):.0%}" if pair and pair.text_a_to_b is not None else "-"
    return f"{code} | {text} | {pair.score if pair else 0:.0%}"


@pytest.mark.slow  # a class per TP, built once for both tests
def test_every_disguised_copy_ranks_above_every_independent_pair(disguised_classes):
    lines = []
    failures = []
    for assignment, (independent, copies, found) in disguised_classes.items():
        pair_of = {frozenset((p.a, p.b)): p for p in found.pairs}
        threshold, how = similarity.settings(assignment)
        lines += [
            f"## {assignment}: code threshold {threshold:.0%} ({how})",
            "",
            "| pair | code | written answers | score |",
            "| --- | --- | --- | --- |",
        ]
        apart = [pair_of.get(frozenset((a, b))) for a, b in combinations(independent, 2)]
        highest = max(p.score if p else 0.0 for p in apart)
        highest_code = max(max(p.a_to_b, p.b_to_a) if p else 0.0 for p in apart)
        for name, student in copies.items():
            copied = pair_of.get(frozenset((student, "reference")))
            lines.append(f"| copy: {name} ~ reference | {_shares(copied)} |")
            if name == "copied analysis":
                missed = copied is None or copied.score <= highest or copied.score < similarity.TEXT_THRESHOLD
            else:  # a copy of the code, written answer and all: its code alone must stand out
                code = max(copied.a_to_b, copied.b_to_a) if copied else 0.0
                missed = code <= highest_code or code < threshold
            if missed:
                failures.append((assignment, name, copied and copied.score, highest, threshold))
        for (a, b), pair in zip(combinations(independent, 2), apart):
            lines.append(f"| independent: {a} ~ {b} | {_shares(pair)} |")
        lines.append("")
        reported = [
            p
            for p in found.pairs
            if max(p.a_to_b, p.b_to_a) >= threshold
            or max(p.text_a_to_b or 0, p.text_b_to_a or 0) >= similarity.TEXT_THRESHOLD
        ]
        group = next(c for c in similarity.clusters(reported) if "reference" in c.members)
        whose_code = {independent[-1]} if "copied analysis" in copies else set()  # its code is theirs
        hidden = {
            name.replace(" ", "_") for name in _disguises().HIDDEN
        }  # in only by a copied written answer
        members = {"reference", *copies.values(), *whose_code}
        assert members <= set(group.members) <= members | hidden, assignment
    artefacts = paths.course_dir() / "test-artifacts"
    artefacts.mkdir(exist_ok=True)
    (artefacts / "similarity_matrix.md").write_text("\n".join(lines))
    assert not failures, failures
    assert {"tp2", "tp5"} <= {
        tp for tp, (_, copies, _) in disguised_classes.items() if "copied analysis" in copies
    }


@pytest.mark.parametrize("assignment", DISGUISED_TPS)
def test_each_tps_threshold_is_the_catalogues(assignment):
    calibration = similarity.calibrate(assignment, CATALOGUE / assignment)
    stored = similarity.tomllib.loads((paths.graders(assignment) / "manifest.toml").read_text())["similarity"]
    expected = {
        "threshold": calibration.threshold,
        "independent_highest": calibration.highest,
        "margin": similarity.MARGIN,
    }
    assert stored == expected, f"graders/{assignment}/manifest.toml [similarity] is stale: write {expected}"
    assert len(calibration.shares) == 6  # the reference and three independent whole solutions


@pytest.mark.slow  # a class per TP, built once for both tests
def test_code_run_from_data_is_flagged_for_a_manual_look(disguised_classes):
    for assignment, (_, _, found) in disguised_classes.items():
        for name in _disguises().HIDDEN:
            student = name.replace(" ", "_")
            assert student in found.cut, (assignment, student)
            assert any("runs code held as data" in note for note in found.notes[student]), assignment
        hidden = {name.replace(" ", "_") for name in _disguises().HIDDEN}
        assert set(found.cut) == hidden, assignment  # no other copy, no independent solution


@pytest.mark.parametrize(
    ("plain", "rewritten"),
    [
        ("y = [a * b + c for a, b in zip(A, B)]", "y = list(map(lambda p, q: c + q * p, A, B))"),
        ("y = [f(a) for a in A]", "y = []\nfor a in A:\n    y.append(f(a))"),
        ("ok = x < y and z <= w", "ok = w >= z and y > x"),
        ("s = s + x * 2", "s += 2 * x"),
        ("r = np.sqrt(v + e)", "r = (e + v) ** 0.5"),
        (
            "def f(x):\n    y = g(x)\n    return y",
            "def _t(v):\n    return v\ndef f(x):\n    y = _t(g(x))\n    _t(y)\n    return y",
        ),
        ("z = list(x for x in A)", "z = [x for x in A]"),
        ("model.compile(optimizer='adam')", "model.compile(optimizer='sgd')"),
    ],
)
def test_normalising_undoes_rewrites_of_expressions(plain, rewritten):
    def compared(source: str) -> list[list[str]]:
        return [u.tokens for u in normalise.normalise(source).units if u.name != "def _t"]

    assert compared(plain) == compared(rewritten)
    assert not normalise.normalise(rewritten).runs_code


def test_cells_the_student_adds_are_read(tmp_path):
    notebook = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell("def _step(p):\n    return p * 2"),
            nbformat.v4.new_code_cell(
                "step = _step", metadata={"nbgrader": {"solution": True, "grade_id": "step"}}
            ),
            nbformat.v4.new_markdown_cell("my own words"),
        ]
    )
    nbformat.write(notebook, tmp_path / "tp2.ipynb")
    assert similarity.notebook_code(tmp_path / "tp2.ipynb") == [
        ("tp2.ipynb cell 1", "def _step(p):\n    return p * 2"),
        ("tp2.ipynb [step]", "step = _step"),
    ]
    assert similarity.notebook_pieces(tmp_path / "tp2.ipynb", "markdown") == [
        ("tp2.ipynb cell 3", "my own words")
    ]


STALLING = """
from tpdl.classroom import similarity
m = {names}
cell = "\\n".join(
    ", ".join(f"w{{i}}_{{j}}" for j in range(m)) + " = " + " + ".join(f"r{{i}}_{{j}}" for j in range(m))
    for i in range(199)
)
document = similarity.Document("stalling")
document.add("tp2.ipynb cell 1", cell)
print(len(cell), document.cut, *document.notes, sep="\\n")
"""


@pytest.mark.parametrize(
    ("names", "noted"), [(40, "blocks too large to reorder"), (400, "tokens as written were read")]
)
def test_a_cell_that_would_stall_the_reordering_is_bounded_and_flagged(names, noted):
    """199 statements of ``names`` names each: (statements x names)^2 of work if reordered whole (55 s
    at 40 before the work was bounded); run apart, so that a stall fails the test instead of hanging it."""
    done = subprocess.run(
        [sys.executable, "-c", STALLING.format(names=names)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    size, cut, *notes = done.stdout.splitlines()
    assert int(size) < similarity.MAX_PIECE_CHARS and cut == "True", done.stdout
    assert any(noted in note for note in notes), notes


@pytest.mark.parametrize(
    "source",
    [
        "exec(zlib.decompress(base64.b64decode(packed)))",
        "exec(open('impl.txt').read())",
        "runpy.run_path('impl.txt')",
        "spec = importlib.util.spec_from_file_location('impl', 'impl.dat')",
        "getattr(builtins, 'exec')(code)",
        "builtins.eval(text)",
        "step = __import__(name).step",
    ],
)
def test_code_that_runs_code_held_as_data_is_found(source):
    assert normalise.normalise(source).runs_code
    assert not normalise.normalise("exec('x = 1')\nmodel.compile(loss=loss)\nmodel.eval()").runs_code
