"""Benchmarks whose figures the README quotes: ``make bench`` writes ``bench/results.{json,md}``.

Each benchmark is a function returning a dict of figures; ``python bench/benchmarks.py [NAME ...]`` runs
them (all by default) and merges their figures into the results file, stamped with the machine.
"""

import contextlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from tpdl.authoring import notebooks
from tpdl.core import manifest, paths

RESULTS = paths.course_dir() / "bench" / "results.json"
REPEATS = 5


def _machine() -> dict:
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
    }


def _scratch_course(root: Path) -> Path:
    real = paths.course_dir()
    for name in ("graders", "source", "release"):
        (root / name).symlink_to(real / name)
    for name in ("nbgrader_config.py", "gradebook.db"):
        shutil.copyfile(real / name, root / name)
    return root


def _timed(command: list[str], env: dict, cwd: Path) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return elapsed


def grading_speed(assignment: str = "tp1", class_size: int = 8, with_nbgrader: bool = True) -> dict:
    """Median wall time to grade one reference submission: ``tpdl grade`` next to ``nbgrader autograde``.

    ``with_nbgrader=False`` leaves nbgrader out, for notebooks whose autograding would rerun the
    TP's experiments (nbgrader executes every cell; the judge skips cells tagged ``skip-grading``).
    """
    notebooks.release(assignment)
    reference = paths.sample_submission("reference", assignment)
    bin_dir = str(Path(sys.executable).parent)
    with tempfile.TemporaryDirectory(prefix="tpdl-bench-") as scratch:
        course = _scratch_course(Path(scratch))
        env = {
            **os.environ,
            "TPDL_COURSE_DIR": str(course),
            "TPDL_BUDGET": "ci",
            "PATH": f"{bin_dir}:{os.environ['PATH']}",
        }
        one = course / "one"
        shutil.copytree(reference, one / "s1" / assignment)
        many = course / "many"
        for index in range(class_size):
            shutil.copytree(reference, many / f"s{index}" / assignment)
        shutil.copytree(reference, course / "submitted" / "s1" / assignment)
        tpdl = [sys.executable, "-m", "tpdl.cli", "grade", assignment, "--force", "--no-progress"]
        tpdl_cold = [_timed([*tpdl, "--submissions", str(one)], env, course) for _ in range(REPEATS)]
        tpdl_class = _timed([*tpdl, "--submissions", str(many)], env, course)
        with _warm_pool(env):
            tpdl_one = [_timed([*tpdl, "--submissions", str(one)], env, course) for _ in range(REPEATS)]
        figures = {
            "assignment": assignment,
            "repeats": REPEATS,
            "tpdl_grade_one_warm_pool_s": round(statistics.median(tpdl_one), 2),
            "tpdl_grade_one_cold_s": round(statistics.median(tpdl_cold), 2),
            "tpdl_grade_class_per_student_s": round(tpdl_class / class_size, 2),
            "tpdl_grade_class_size": class_size,
        }
        if with_nbgrader:
            autograde = [
                sys.executable,
                "-m",
                "nbgrader",
                "autograde",
                assignment,
                "--force",
                "--student",
                "s1",
            ]
            nbgrader_one = statistics.median(_timed(autograde, env, course) for _ in range(REPEATS))
            figures["nbgrader_autograde_one_s"] = round(nbgrader_one, 2)
            figures["ratio_warm_pool"] = round(statistics.median(tpdl_one) / nbgrader_one, 2)
            figures["ratio_cold"] = round(statistics.median(tpdl_cold) / nbgrader_one, 2)
    return figures


def _digest(folder: Path) -> dict[str, int]:
    return {
        str(p.relative_to(folder)): hash(p.read_bytes()) for p in sorted(folder.rglob("*")) if p.is_file()
    }


def validate_speed() -> dict:
    """``nbgrader validate`` (what the Validate button runs) on each TP's correct notebook, in a folder
    outside the course as a student's would be: seconds, the verdict, and whether it changed a file."""
    env = {k: v for k, v in os.environ.items() if k not in ("TPDL_BUDGET", "TPDL_COURSE_DIR")}
    env["PATH"] = f"{Path(sys.executable).parent}:{os.environ['PATH']}"
    figures = {}
    for assignment in paths.assignments():
        with tempfile.TemporaryDirectory(prefix="tpdl-validate-") as scratch:
            folder = Path(scratch) / assignment
            shutil.copytree(paths.sample_submission("reference", assignment), folder)
            shutil.copyfile(paths.release(assignment) / "nbgrader_config.py", folder / "nbgrader_config.py")
            before = _digest(folder)
            started = time.perf_counter()
            done = subprocess.run(
                [sys.executable, "-m", "nbgrader", "validate", f"{assignment}.ipynb"],
                env=env,
                cwd=folder,
                capture_output=True,
                text=True,
            )
            figures[f"{assignment}_validate_s"] = round(time.perf_counter() - started, 1)
            figures[f"{assignment}_passes"] = "Success!" in done.stdout
            figures[f"{assignment}_files_unchanged"] = _digest(folder) == before
    return figures


def tp2_experiment() -> dict:
    """TP2's reference experiment on the full budget: per configuration, final validation figures and time."""
    from tpdl.authoring import samples
    from tpdl.judge.protocol import plain
    from tpdl.judge.tracking_store import read_tracking_store

    notebooks.release("tp2")
    with tempfile.TemporaryDirectory(prefix="tpdl-bench-") as scratch:
        started = time.perf_counter()
        folder = samples.run_reference("tp2", budget="full", folder=Path(scratch) / "tp2")
        notebook_s = time.perf_counter() - started
        runs = plain(read_tracking_store(str(folder / "mlflow.db")))["runs"]
    figures: dict = {"notebook_full_budget_s": round(notebook_s, 1)}
    for run in sorted(runs, key=lambda run: run["start_time"]):
        metrics = {key: points[-1][1] for key, points in run["metrics"].items()}
        figures[run["name"]] = (
            f"val accuracy {metrics['val_accuracy']:.4f}, val loss {metrics['val_loss']:.4f}, "
            f"{(run['end_time'] - run['start_time']) / 1000:.1f} s, {run['params'].get('epochs')} epochs "
            f"on {run['params'].get('train_size')} images"
        )
    return figures


@contextlib.contextmanager
def _warm_pool(env: dict):
    """A ``tpdl pool`` running for the length of the block."""
    pool = subprocess.Popen(
        [sys.executable, "-m", "tpdl.cli", "pool", "--idle", "600"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        if "ready" not in pool.stdout.readline():
            raise RuntimeError("the warm pool did not start")
        yield
    finally:
        pool.terminate()
        pool.wait()


def tp1_training() -> dict:
    """The TP1 reference trained on the full budget: its test accuracy, epochs and training time."""
    from tpdl.authoring import samples
    from tpdl.judge.protocol import plain
    from tpdl.judge.tracking_store import read_tracking_store

    notebooks.release("tp1")
    with tempfile.TemporaryDirectory(prefix="tpdl-bench-") as scratch:
        started = time.perf_counter()
        folder = samples.run_reference("tp1", budget="full", folder=Path(scratch) / "tp1")
        notebook_s = time.perf_counter() - started
        run = plain(read_tracking_store(str(folder / "mlflow.db")))["runs"][0]
        model_bytes = (folder / "mnist_dense.keras").stat().st_size
    return {
        "test_accuracy": round(run["metrics"]["test_accuracy"][-1][1], 4),
        "course_result": manifest.load("tp1").thresholds["course_accuracy"],
        "epochs": int(run["params"]["epochs"]),
        "train_size": int(run["params"]["train_size"]),
        "hidden_units": run["params"]["hidden_units"],
        "train_s": float(run["params"]["train_seconds"]),
        "notebook_full_budget_s": round(notebook_s, 1),
        "model_file_bytes": model_bytes,
    }


def _full_reference_run(assignment: str, model_files: tuple[str, ...]) -> tuple[str, dict, dict, float]:
    """Run the reference notebook of ``assignment`` on the full budget in a scratch folder; return
    what it printed, the models it saved (loaded), their file sizes and the notebook's seconds."""
    import keras
    import nbformat

    from tpdl.authoring import samples

    notebooks.release(assignment)
    with tempfile.TemporaryDirectory(prefix="tpdl-bench-") as scratch:
        started = time.perf_counter()
        folder = samples.run_reference(assignment, budget="full", folder=Path(scratch) / assignment)
        notebook_s = time.perf_counter() - started
        executed = nbformat.read(folder / f"{assignment}.ipynb", as_version=4)
        printed = "".join(
            o.get("text", "") for c in executed.cells if c.cell_type == "code" for o in c.outputs
        )
        models = {name: keras.saving.load_model(folder / name) for name in model_files}
        sizes = {name: (folder / name).stat().st_size for name in model_files}
    return printed, models, sizes, notebook_s


def tp3_training() -> dict:
    """The TP3 reference CNN trained on the full budget: its test accuracy, epochs, the learning
    curve (test accuracy against minutes of training) and the whole notebook's time."""
    import re

    import numpy as np

    from tpdl.course import data

    printed, models, sizes, notebook_s = _full_reference_run("tp3", ("cifar10_cnn.keras",))
    model, model_bytes = models["cifar10_cnn.keras"], sizes["cifar10_cnn.keras"]
    cifar = data.load_at_hand("cifar10")
    outputs = model.predict(cifar.x_test.astype("float32"), batch_size=500, verbose=0)
    curve = re.findall(r"epoch +(\d+): +(\d+) s, test accuracy ([\d.]+)", printed)
    transfer = re.search(r"(\d+) steps in (\d+) s", printed)
    return {
        "test_accuracy": round(float(np.mean(outputs.argmax(axis=1) == cifar.y_test)), 4),
        "test_images": f"{len(cifar.x_test):,} ({cifar.origin})",
        "course_result": manifest.load("tp3").thresholds["course_accuracy"],
        "epochs": len(curve),
        "train_s": int(curve[-1][1]) if curve else None,
        "curve": ", ".join(f"{int(s) / 60:.1f} min {float(a):.3f}" for _, s, a in curve),
        "parameters": model.count_params(),
        "model_file_bytes": model_bytes,
        "style_transfer": f"{transfer.group(1)} steps in {transfer.group(2)} s" if transfer else None,
        "notebook_full_budget_s": round(notebook_s, 1),
    }


def tp4_training(fresh_seeds: tuple[int, ...] = (101, 202, 303)) -> dict:
    """The TP4 reference trained on the full budget: the U-Net's Dice and the 3D CNN's accuracy on
    fresh phantoms and volumes (several seeds none of them saw), with their training times."""
    import re

    import numpy as np

    from tpdl.course.phantoms import phantoms, volumes

    printed, models, sizes, notebook_s = _full_reference_run("tp4", ("unet.keras", "conv3d.keras"))
    unet, net3d = models["unet.keras"], models["conv3d.keras"]
    unet_s = re.search(r"U-Net: Dice [\d.]+ on fresh phantoms, (\d+) s of training", printed)
    net3d_s = re.search(r"3D CNN: accuracy [\d.]+ on fresh volumes, (\d+) s of training", printed)
    dices, accuracies = [], []
    for seed in fresh_seeds:
        images, masks = phantoms(200, seed=seed)
        t = masks.reshape(200, -1).astype(float)
        p = (np.asarray(unet.predict(images, verbose=0)).reshape(200, -1) >= 0.5).astype(float)
        dices.append(float(np.mean((2 * (t * p).sum(1) + 1) / (t.sum(1) + p.sum(1) + 1))))
        cubes, labels, _ = volumes(1000, seed=seed)
        accuracies.append(float(np.mean(np.asarray(net3d.predict(cubes, verbose=0)).argmax(1) == labels)))
    return {
        "unet_dice_fresh_phantoms": (
            f"{min(dices):.4f} to {max(dices):.4f} (200 phantoms x seeds {fresh_seeds})"
        ),
        "unet_train_s": int(unet_s.group(1)) if unet_s else None,
        "unet_parameters": unet.count_params(),
        "unet_file_bytes": sizes["unet.keras"],
        "conv3d_accuracy_fresh_volumes": (
            f"{min(accuracies):.4f} to {max(accuracies):.4f} (1,000 volumes x seeds {fresh_seeds})"
        ),
        "conv3d_train_s": int(net3d_s.group(1)) if net3d_s else None,
        "conv3d_parameters": net3d.count_params(),
        "notebook_full_budget_s": round(notebook_s, 1),
    }


def tp5_htap(fresh_seeds: tuple[int, ...] = (101, 202, 303), videos: int = 200) -> dict:
    """The TP5 reference on the full budget: the reversal model's attention on the anti-diagonal, and
    TAP against H-TAP on fresh videos of several seeds (per-horizon MSE, SSIM, disc tracking, with
    the judge's own NumPy metrics), beside two yardsticks (the last context frame repeated; the
    true frames' own tracking), and the training times."""
    import re

    import numpy as np

    from tpdl import grading
    from tpdl.course.videos import moving_shapes

    metrics = grading.grader_module(str(paths.graders("tp5") / "test_htap_models.py"), "video_metrics")
    files = ("tap_rollout.keras", "htap_rollout.keras")
    printed, models, _, notebook_s = _full_reference_run("tp5", files)
    reversal = re.search(
        r"mean absolute error ([\d.]+), ([\d.]+)% of the attention on the anti-diagonal", printed
    )
    trained = re.search(
        r"\{'autoencoder': ([\d.]+), 'tap': ([\d.]+), 'htap': ([\d.]+)\} seconds of training", printed
    )
    measured = {name: [] for name in ("tap", "htap", "last frame", "truth")}
    for seed in fresh_seeds:
        clips, positions = moving_shapes(videos, frames=40, seed=seed)
        target, where = clips[:, 20:], positions[:, 20:]
        outputs = {
            name: np.asarray(models[f"{name}_rollout.keras"].predict(clips[:, :20], verbose=0))
            for name in ("tap", "htap")
        }
        outputs["last frame"] = np.repeat(clips[:, 19:20], 20, axis=1)
        outputs["truth"] = target
        for name, predicted in outputs.items():
            measured[name].append(metrics.reference(predicted, target, where))
    figures = {}
    for name, runs in measured.items():
        mean = {key: np.mean([run[key] for run in runs], axis=0) for key in ("mse", "ssim", "tracked")}
        label = name.replace(" ", "_")
        if name != "truth":
            figures[f"{label}_mse_h1_10"] = round(float(mean["mse"][:10].mean()), 4)
            figures[f"{label}_mse_h11_20"] = round(float(mean["mse"][10:].mean()), 4)
            figures[f"{label}_ssim_h1_10"] = round(float(mean["ssim"][:10].mean()), 3)
            figures[f"{label}_ssim_h11_20"] = round(float(mean["ssim"][10:].mean()), 3)
            figures[f"{label}_mse_per_horizon"] = " ".join(f"{v:.4f}" for v in mean["mse"])
        figures[f"{label}_tracked_h1_10"] = round(float(mean["tracked"][:10].mean()), 3)
        figures[f"{label}_tracked_h11_20"] = round(float(mean["tracked"][10:].mean()), 3)
        if name in ("tap", "htap"):
            figures[f"{label}_tracked_per_horizon"] = " ".join(f"{v:.2f}" for v in mean["tracked"])
    figures["htap_over_tap_mse_h11_20"] = round(figures["htap_mse_h11_20"] / figures["tap_mse_h11_20"], 3)
    figures["fresh_videos"] = f"{videos} x seeds {fresh_seeds}"
    if trained:
        figures["train_s"] = (
            f"autoencoder {float(trained.group(1)):.0f}, TAP {float(trained.group(2)):.0f}, H-TAP "
            f"{float(trained.group(3)):.0f}"
        )
    if reversal:
        figures["reversal_anti_diagonal_mass"] = f"{reversal.group(2)} %"
        figures["reversal_mean_absolute_error"] = float(reversal.group(1))
    figures["notebook_full_budget_s"] = round(notebook_s, 1)
    return figures


def grading_profile() -> dict:
    """Where one reference submission's grading time goes, per TP (``tpdl grade --profile``; the
    second of two runs, so that the first has made what a machine makes once)."""
    from tpdl.judge import profile

    figures: dict = {}
    bin_dir = str(Path(sys.executable).parent)
    for assignment in paths.assignments():
        notebooks.release(assignment)
        with tempfile.TemporaryDirectory(prefix="tpdl-bench-") as scratch:
            course = _scratch_course(Path(scratch))
            env = {
                **os.environ,
                "TPDL_COURSE_DIR": str(course),
                "TPDL_BUDGET": "ci",
                "PATH": f"{bin_dir}:{os.environ['PATH']}",
            }
            shutil.copytree(
                paths.sample_submission("reference", assignment), course / "one" / "s1" / assignment
            )
            grade = [
                sys.executable,
                "-m",
                "tpdl.cli",
                "grade",
                assignment,
                "--submissions",
                str(course / "one"),
                "--out",
                str(course / "graded"),
                "--force",
                "--no-progress",
                "--profile",
            ]
            for _ in range(2):
                _timed(grade, env, course)
            measured = json.loads(
                (course / "graded" / "autograded" / "s1" / assignment / "profile.json").read_text()
            )
            figures[f"{assignment}_student_s"] = measured["total_s"]
            figures[f"{assignment}_profile"] = profile.table(profile.summarise([measured]))
    return figures


def _class_of(assignment: str, size: int, into: Path) -> dict[str, int]:
    """``size`` submissions of ``assignment`` in ``into``/<student>/<assignment>/: the sample class's
    students and the catalogue's variants (each built once from the reference), in turn. How many
    of each kind."""
    from tpdl.authoring import catalogue

    reference = paths.sample_submission("reference", assignment)
    kinds = {}
    with tempfile.TemporaryDirectory(prefix="tpdl-bench-kinds-") as scratch:
        pool = [p / assignment for p in sorted(paths.sample_class().iterdir()) if (p / assignment).is_dir()]
        for entry in catalogue.entries(paths.course_dir() / "tests" / "catalogue" / assignment):
            built = Path(scratch) / entry.id / assignment
            pool.append(catalogue.build(entry, reference, built, f"{assignment}.ipynb"))
        for index in range(size):
            source = pool[index % len(pool)]
            kind = source.parent.name if source.parent.parent == paths.sample_class() else "catalogue variant"
            kinds[kind] = kinds.get(kind, 0) + 1
            shutil.copytree(source, into / f"s{index:02d}" / assignment)
    return kinds


def _graded(autograded: Path, assignment: str) -> dict[str, dict]:
    """The results of a class run, by student (what a run wrote in ``autograded``)."""
    return {
        path.parent.parent.name: json.loads(path.read_text())
        for path in sorted(autograded.glob(f"*/{assignment}/results.json"))
    }


def _verdicts(results: dict[str, dict]) -> dict:
    """What a class run decided, check by check: the part that must not depend on how it ran (the
    messages quote seeds drawn at grading time)."""
    return {
        student: [(c["name"], c["points"], c["passed"], c["counted"]) for c in result["checks"]]
        for student, result in results.items()
    }


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def class_scale(
    assignments: tuple[str, ...] = ("tp1", "tp3"), size: int = 60, nbgrader_sample: int = 5
) -> dict:
    """A class of ``size`` graded three ways on this machine (``--jobs 1``, ``--jobs 2``, a Dask
    ``LocalCluster`` of 2 worker processes): wall time, median and p95 seconds a student, whether
    the cluster decided every check as ``--jobs 1`` did, and where the time of ``--jobs 1`` went.
    TP1 also runs ``nbgrader autograde`` on ``nbgrader_sample`` of the same notebooks (TP3's would
    retrain its CNN: not a comparison)."""
    from distributed import LocalCluster

    from tpdl.judge import profile

    figures: dict = {"class_size": size}
    bin_dir = str(Path(sys.executable).parent)
    for assignment in assignments:
        notebooks.release(assignment)
        with tempfile.TemporaryDirectory(prefix="tpdl-bench-") as scratch:
            course = _scratch_course(Path(scratch))
            env = {
                **os.environ,
                "TPDL_COURSE_DIR": str(course),
                "TPDL_BUDGET": "ci",
                "PATH": f"{bin_dir}:{os.environ['PATH']}",
            }
            kinds = _class_of(assignment, size, course / "class")
            figures[f"{assignment}_mix"] = ", ".join(f"{n} {kind}" for kind, n in sorted(kinds.items()))
            autograded = course / "graded" / "autograded"  # the class is graded apart (--out)
            grade = [
                sys.executable,
                "-m",
                "tpdl.cli",
                "grade",
                assignment,
                "--submissions",
                str(course / "class"),
                "--out",
                str(course / "graded"),
                "--force",
                "--no-progress",
            ]
            runs = {"jobs1": ["--profile"], "jobs2": ["--jobs", "2"], "cluster": None}
            decided = {}
            for name, extra in runs.items():
                shutil.rmtree(autograded, ignore_errors=True)
                if extra is None:
                    saved = {key: os.environ.get(key) for key in env}
                    os.environ.update(env)  # the cluster's worker processes inherit the course
                    try:
                        with LocalCluster(
                            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
                        ) as cluster:
                            loopback = ["--cluster", cluster.scheduler_address, "--insecure-cluster"]
                            wall = _timed([*grade, *loopback], env, course)
                    finally:
                        for key, value in saved.items():
                            if value is None:
                                os.environ.pop(key, None)
                            else:
                                os.environ[key] = value
                else:
                    wall = _timed([*grade, *extra], env, course)
                results = _graded(autograded, assignment)
                seconds = [r["seconds"] for r in results.values()]
                figures[f"{assignment}_{name}_wall_s"] = round(wall, 1)
                figures[f"{assignment}_{name}_median_student_s"] = round(statistics.median(seconds), 2)
                figures[f"{assignment}_{name}_p95_student_s"] = round(_percentile(seconds, 0.95), 2)
                decided[name] = _verdicts(results)
                if name == "jobs1":
                    profiles = [
                        json.loads(p.read_text()) for p in autograded.glob(f"*/{assignment}/profile.json")
                    ]
                    figures[f"{assignment}_profile"] = profile.table(profile.summarise(profiles))
            figures[f"{assignment}_cluster_decides_as_jobs1"] = decided["cluster"] == decided["jobs1"]
            figures[f"{assignment}_jobs2_decides_as_jobs1"] = decided["jobs2"] == decided["jobs1"]
            if assignment == "tp1":
                timings = []
                for index in range(nbgrader_sample):
                    student = f"s{index:02d}"
                    shutil.copytree(course / "class" / student, course / "submitted" / student)
                    autograde = [
                        sys.executable,
                        "-m",
                        "nbgrader",
                        "autograde",
                        assignment,
                        "--force",
                        "--student",
                        student,
                    ]
                    timings.append(_timed(autograde, env, course))
                figures[f"{assignment}_nbgrader_autograde_median_student_s"] = round(
                    statistics.median(timings), 2
                )
                figures[f"{assignment}_nbgrader_autograde_sample"] = (
                    f"the first {nbgrader_sample} of the class"
                )
    return figures


BENCHMARKS = {
    "grading": grading_speed,
    "grading-tp2": lambda: grading_speed("tp2", with_nbgrader=False),
    "tp2-experiment": tp2_experiment,
    "tp1-training": tp1_training,
    "grading-tp4": lambda: grading_speed("tp4", with_nbgrader=False),
    "tp4-training": tp4_training,
    "grading-tp3": lambda: grading_speed("tp3", with_nbgrader=False),
    "tp3-training": tp3_training,
    "grading-tp5": lambda: grading_speed("tp5", with_nbgrader=False),
    "tp5-htap": tp5_htap,
    "validate": validate_speed,
    "class-60": class_scale,
    "profile": grading_profile,
}


def write_markdown(results: dict) -> str:
    lines = ["# Benchmark figures", "", "Written by `make bench`; included in docs/benchmarks.md.", ""]
    for name, figures in sorted(results.items()):
        lines += [f"## {name}", "", "| figure | value |", "| --- | --- |"]
        lines += [f"| {key} | {value} |" for key, value in figures.items() if not key.endswith("_profile")]
        lines.append("")
        for key, value in figures.items():  # where the time went, as tables of their own
            if key.endswith("_profile"):
                lines += [f"### {key.removesuffix('_profile')}: where the time goes", "", value, ""]
    return "\n".join(lines)


def main(names: list[str]) -> int:
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        print(
            f"unknown benchmark(s): {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}",
            file=sys.stderr,
        )
        return 2
    RESULTS.parent.mkdir(exist_ok=True)
    results = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    for name in names or list(BENCHMARKS):
        print(f"bench {name} ...", flush=True)
        results[name] = {**BENCHMARKS[name](), "machine": _machine()}
        print(json.dumps(results[name], indent=2), flush=True)
        RESULTS.write_text(json.dumps(results, indent=2) + "\n")
        RESULTS.with_suffix(".md").write_text(write_markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
