"""``tpdl check ASSIGNMENT [FOLDER]``: a student's pre-flight check of a hand-in, in under a minute.

It lists the deliverables the TP expects and which are missing; loads each saved model safely
(``safe_mode``: no code of the file runs) and says its size, how it was trained (the record its
training cell leaves beside it, ``tpdl.costs``), and a quick local estimate against the threshold
the notebook states, on the kit's small data sets. It runs outside the notebook's kernel and
decides nothing: the hidden graders measure again, on data no one has seen.

What it knows of a TP is published with the release as ``handin.json`` (from the TP's manifest:
deliverables, the thresholds the notebook states, how each model is estimated).
"""

import json
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path

from tpdl import costs, manifest, paths
from tpdl.i18n import KIT as _

HANDIN = "handin.json"
ESTIMATE_SIZE = {"phantoms": 48, "volumes": 160}  # fresh samples drawn for a quick estimate
# what each kind of model is estimated on, and the threshold it is held to
THRESHOLD_OF = {"mnist": "course_accuracy", "cifar10": "course_accuracy", "phantoms": "unet_dice",
                "volumes": "conv3d_accuracy"}  # fmt: skip


def handin(assignment: str) -> dict:
    """What the release tells ``tpdl check`` about ``assignment`` (from its manifest; a TP without
    one yet expects its notebook only)."""
    try:
        stated = manifest.load(assignment)
    except FileNotFoundError:
        return {
            "assignment": assignment,
            "deliverables": [f"{assignment}.ipynb"],
            "thresholds": {},
            "models": {},
        }
    return {
        "assignment": assignment,
        "deliverables": list(stated.deliverables),
        "thresholds": {name: stated.thresholds[name] for name in stated.public_thresholds},
        "models": dict(stated.models or {}),
    }


def _published(assignment: str, folder: Path) -> dict:
    for candidate in (folder / HANDIN, paths.release(assignment) / HANDIN):
        if candidate.is_file():
            info = json.loads(candidate.read_text(encoding="utf-8"))
            if info.get("assignment") == assignment:
                return info
    if assignment in paths.assignments():
        return handin(assignment)
    raise SystemExit(_("nothing is known of {assignment} here: run tpdl check in the folder of its release",
                       assignment=repr(assignment)))  # fmt: skip


@dataclass
class Finding:
    name: str
    ok: bool
    lines: list[str] = field(default_factory=list)


def _size(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())
    return path.stat().st_size


def _megabytes(size: int) -> str:
    return (
        _("{size:.1f} MB", size=size / 2**20)
        if size >= 2**20
        else _("{size} kB", size=math.ceil(size / 1024))
    )


def _estimate(kind: str, model) -> tuple[float, str]:
    """(the estimate, on what) for a model of ``kind``."""
    import secrets

    import numpy as np

    from tpdl import data, phantoms

    if kind == "mnist":
        mnist = data.load_mnist(source="fixture")
        x = mnist.x_test.reshape(len(mnist.x_test), -1).astype("float32") / 255.0
        accuracy = float(np.mean(model.predict(x, verbose=0).argmax(axis=1) == mnist.y_test))
        return accuracy, _("the kit's {count:,} MNIST test images", count=len(x))
    if kind == "cifar10":
        cifar = data.load_cifar10(source="fixture")
        accuracy = float(np.mean(model.predict(cifar.x_test, verbose=0).argmax(axis=1) == cifar.y_test))
        return accuracy, _("the kit's {count:,} CIFAR-10 test images", count=len(cifar.x_test))
    seed = secrets.randbelow(2**31)
    if kind == "volumes":
        images, labels, _masks = phantoms.volumes(ESTIMATE_SIZE[kind], seed=seed)
        accuracy = float(np.mean(model.predict(images, verbose=0).argmax(axis=1) == labels))
        return accuracy, _("{count} fresh volumes", count=len(labels))
    images, masks = phantoms.phantoms(ESTIMATE_SIZE[kind], seed=seed)
    predicted = (model.predict(images, verbose=0) >= 0.5).astype("float64").reshape(len(images), -1)
    truth = masks.astype("float64").reshape(len(images), -1)
    dice = (2 * (predicted * truth).sum(1) + 1) / (predicted.sum(1) + truth.sum(1) + 1)
    return float(dice.mean()), _("{count} fresh phantoms (Dice)", count=len(images))


def _model(path: Path, kind: str, thresholds: dict) -> Finding:
    import keras

    size = _megabytes(_size(path))
    try:
        model = keras.saving.load_model(path, safe_mode=True, compile=False)
    except Exception as error:  # noqa: BLE001 - any file can be handed in: say why it does not load
        return Finding(path.name, False, [_("does not load safely: {error}: {detail}", error=type(error).__name__,
                                            detail=str(error)[:200])])  # fmt: skip
    finding = Finding(path.name, True, [_("{size}, {parameters:,} parameters", size=size,
                                          parameters=model.count_params())])  # fmt: skip
    record = costs.read_record(path)
    if record is None:
        finding.lines.append(_("how it was trained is not recorded (its training cell records it)"))
    else:
        finding.lines.append(_("trained on the {budget} budget, {epochs} epochs, {seconds} s",
                               budget=record.get("budget"), epochs=record.get("epochs"),
                               seconds=record.get("seconds")))  # fmt: skip
        if record.get("budget") != "full":
            finding.ok = False
            finding.lines.append(
                _("trained on the ci budget: train it on the full budget before you hand it in")
            )
    threshold_name = THRESHOLD_OF.get(kind)
    if threshold_name in thresholds:
        try:
            value, where = _estimate(kind, model)
        except Exception as error:  # noqa: BLE001 - a model of the wrong shape, say
            finding.ok = False
            finding.lines.append(_("could not be evaluated: {error}: {detail}", error=type(error).__name__,
                                   detail=str(error)[:200]))  # fmt: skip
        else:
            needed = thresholds[threshold_name]
            passed = value >= needed
            finding.ok &= passed
            shown = (lambda v: f"{v:.3f}") if kind == "phantoms" else (lambda v: f"{v:.2%}")
            if passed:
                finding.lines.append(_("{value} on {where}; {needed} is needed", value=shown(value), where=where,
                                       needed=shown(needed)))  # fmt: skip
            else:
                finding.lines.append(_("{value} on {where}; {needed} is needed: below", value=shown(value),
                                       where=where, needed=shown(needed)))  # fmt: skip
    return finding


def check(assignment: str, folder: Path) -> list[Finding]:
    info = _published(assignment, folder)
    findings = []
    missing = [name for name in info["deliverables"] if not (folder / name).exists()]
    present = [name for name in info["deliverables"] if name not in missing]
    lines = [_("present: {files}", files=", ".join(present)) if present else _("present: none")]
    if missing:
        lines.append(_("missing: {files}", files=", ".join(missing)))
    findings.append(Finding(_("deliverables"), not missing, lines))
    for name, kind in info["models"].items():
        if (folder / name).is_file():
            findings.append(_model(folder / name, kind, info["thresholds"]))
    return findings


def main(assignment: str, folder: Path, out=sys.stdout) -> int:
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    findings = check(assignment, folder)
    for finding in findings:
        print(f"{'ok  ' if finding.ok else 'TODO'} {finding.name}", file=out)
        for line in finding.lines:
            print(f"     {line}", file=out)
    todo = [f.name for f in findings if not f.ok]
    if todo:
        print(_("{assignment}: to do before you hand in: {todo}", assignment=assignment, todo=", ".join(todo)),
              file=out)  # fmt: skip
    else:
        print(_("{assignment}: ready to hand in", assignment=assignment), file=out)
    return 1 if todo else 0


def readme_table() -> str:
    """The hand-in list of every TP, for the README (from the manifests)."""
    lines = ["| TP | hand in |", "| --- | --- |"]
    for assignment in paths.assignments():
        files = ", ".join(f"`{name}`" for name in manifest.load(assignment).deliverables)
        lines.append(f"| {assignment.upper()} | {files} |")
    return "\n".join(lines)
