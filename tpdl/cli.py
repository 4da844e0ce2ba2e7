"""The ``tpdl`` command: thin wrappers over the library functions."""

import argparse
import os
import sys
import time
from pathlib import Path

from tpdl import __version__


def _grade(args) -> int:
    from tpdl.classroom import run as classroom

    try:
        outcome = classroom.grade_class(
            args.assignment,
            submissions=args.submissions,
            students=args.student or None,
            jobs=args.jobs,
            json_path=args.json,
            html_path=args.html,
            force=args.force,
            progress=not args.no_progress,
            profile=args.profile,
            cluster=args.cluster,
            cluster_certs=args.cluster_certs,
            insecure_cluster=args.insecure_cluster,
            out=args.out,
        )
    except classroom.UsageError as error:
        print(f"tpdl grade: {error}", file=sys.stderr)
        return 2
    except classroom.InfrastructureError as error:
        print(f"tpdl grade: grading stopped: {error}", file=sys.stderr)
        return 3
    if args.profile:
        from tpdl.judge import profile

        print(profile.table(profile.summarise(list(outcome.profiles.values()))), file=sys.stderr)
    if outcome.graded_now and set(outcome.graded_now) <= set(outcome.infrastructure):
        print(
            f"tpdl grade: no submission could be graded on this machine (see {outcome.outputs.autograded}"
            f"/*/{outcome.assignment}/grading.log)",
            file=sys.stderr,
        )
        return 3
    return 0


def _cluster_certs(args) -> int:
    from tpdl.classroom import cluster
    from tpdl.classroom import run as classroom

    folder = args.folder or cluster.default_certs()
    days = cluster.CERTIFICATE_DAYS if args.days is None else args.days
    try:
        until = cluster.make_certificates(folder, days)
    except classroom.UsageError as error:
        print(f"tpdl cluster-certs: {error}", file=sys.stderr)
        return 2
    print(f"{folder}: a CA of this cluster's own and its certificates, valid until {until:%Y-%m-%d}")
    print("(the CA's private key was not kept: to add a node, copy its role's files; to renew, start again)")
    for files, where in cluster.WHERE.items():
        print(f"  {files:30} {where}")
    print(f"Grade with: tpdl grade TP --cluster tls://SCHEDULER:8786 --cluster-certs {folder}")
    return 0


def _release(args) -> int:
    from tpdl.authoring import notebooks
    from tpdl.core import paths

    for assignment in args.assignment or paths.editions():  # every TP, in every language it is written in
        print(f"release/{assignment}: {notebooks.release(assignment)}")
    return 0


def _solutions(args) -> int:
    from tpdl.authoring import notebooks
    from tpdl.core import paths

    for assignment in args.assignment or paths.editions():
        print(f"solutions/{assignment}: {notebooks.solutions(assignment, budget=args.budget)}")
    return 0


def _editions(args) -> int:
    from tpdl.authoring import editions

    return editions.main(args.tp)


def _lab_settings(args) -> int:
    from tpdl.classroom import lab

    try:
        lab.write(args.folder)
    except ValueError as error:  # a language the kit does not speak
        print(f"tpdl lab-settings: {error}", file=sys.stderr)
        return 2
    return 0


def _publish(args) -> int:
    from tpdl.authoring import publish

    try:
        outcomes = publish.publish(args.dest, args.assignment)
    except publish.PublishError as error:
        print(f"tpdl publish: {error}", file=sys.stderr)
        return 1
    for outcome in outcomes:
        print(outcome.summary())
    return 0


def _samples(args) -> int:
    from tpdl.authoring import samples
    from tpdl.core import manifest, paths

    everyone = paths.editions()
    unknown = [a for a in args.assignment if a not in everyone]
    if unknown:
        print(
            f"tpdl samples: no assignment {', '.join(map(repr, unknown))} in {paths.source()} "
            f"(there: {', '.join(everyone) or 'none'})",
            file=sys.stderr,
        )
        return 2
    if args.execute and not args.assignment:  # the TPs whose manifest asks for a reference run
        everyone = [a for a in everyone if manifest.load(a).sample_run]
    for assignment in args.assignment or everyone:
        try:
            samples.write(assignment)
        except samples.NotReleased as error:
            print(f"tpdl samples: {error}", file=sys.stderr)
            return 2
        written = samples.students(assignment)
        folders = written[0] if len(written) == 1 else "{" + ",".join(written) + "}"
        print(f"sample_class/{folders}/{assignment}: rewritten")
        if args.execute:
            started = time.monotonic()
            folder = samples.run_reference(assignment, budget=args.budget)
            written = sorted(p.name for p in folder.iterdir())
            print(
                f"sample_class/{samples.reference_student(assignment)}/{assignment}: ran on the "
                f"{args.budget} budget in "
                f"{time.monotonic() - started:.0f} s; holds {', '.join(written)}"
            )
    return 0


def _try(args) -> int:
    """Grade catalogue entries as the kit's tests do, and print every check (and the graders'
    traceback of every internal error)."""
    import tempfile

    from tpdl import grading
    from tpdl.authoring import catalogue
    from tpdl.classroom import gradebook
    from tpdl.core import safe
    from tpdl.judge import pool, sandbox

    try:
        located = [(file, *catalogue.reference_for(file)) for file in args.entry]
    except catalogue.NotReady as error:
        print(f"tpdl try: {error}", file=sys.stderr)
        return 2
    failures = 0
    jail = pool.connect(sandbox.Limits()) or sandbox.Zygote()  # the warm pool's, when one answers
    with jail, tempfile.TemporaryDirectory(prefix="tpdl-try-") as scratch:
        for file, assignment, reference in located:
            entry = catalogue.load(file)
            submission = catalogue.build(
                entry, reference, Path(scratch) / entry.id / assignment, f"{assignment}.ipynb"
            )
            cells = catalogue.graded_cells(entry, reference / f"{assignment}.ipynb")
            checks = catalogue.graded_checks(entry)
            result, _ = grading.grade_submission(jail, assignment, submission, cells=cells, checks=checks)
            most = gradebook.maximum(result.to_json())
            print(
                f"{entry.id} ({entry.expect}): {result.score:g}/{most.max_score:g}, "
                f"{most.not_counted:g} not counted"
            )
            for check in result.checks:
                mark = "-" if not check.counted else ("ok" if check.passed else "LOST")
                print(f"  {mark:4} {check.name}: {safe.for_terminal(check.message)}")
            for traceback in result.tracebacks:
                print(f"internal error of the graders in {safe.for_log(traceback)}", file=sys.stderr)
            lost = {c.name for c in result.checks if c.counted and not c.passed}
            wrong = bool(lost) if entry.expect == "pass" else not set(entry.loses) <= lost
            failures += wrong or bool(result.tracebacks)
    return 1 if failures else 0


def _check(args) -> int:
    from tpdl.grading import check

    return check.main(args.assignment, args.folder)


def _messages(args) -> int:
    """Extract the students' messages of the code, bring the catalogues up to date (or, with
    ``--check``, only say what is missing) and print what is left to translate. The kit's own
    catalogues are updated only from the kit's checkout (where its package lies in the course)."""
    from tpdl.authoring import messages
    from tpdl.core import i18n

    try:
        domains = messages.domains()
    except messages.NotACourse as error:
        print(f"tpdl messages: {error}", file=sys.stderr)
        return 2
    left = []
    for domain in domains:
        found = messages.problems(domain)
        if not args.check and domain.in_course:
            messages.update(domain)
        missing = [line for lang in i18n.LANGUAGES for line in messages.untranslated(domain, lang)]
        count = len(messages.extract(domain))
        kept = "" if domain.in_course else f" (the kit's own, in {domain.folder}: checked, not updated here)"
        counts = f"{count} messages, {len(missing)} left to translate, {len(found)} problems"
        print(f"{domain.name}: {counts}{kept}")
        left += found + missing
    for line in left:
        print(f"  {line}")
    return 1 if left else 0


def _similarity(args) -> int:
    from tpdl.classroom import similarity

    return similarity.main(args.assignment, args.submissions, args.html, args.csv, args.threshold)


def _pool(args) -> int:
    from tpdl.judge import pool

    pool.serve(idle_s=args.idle)
    return 0


def _hub(args) -> int:
    from tpdl.classroom import hub
    from tpdl.classroom.outcomes import InfrastructureError, UsageError

    try:
        if args.action == "up":
            data = os.environ.get("TPDL_DATA_DIR")
            hub.up(args.roster, args.root, args.port, args.ip, Path(data) if data else None, args.host)
        else:
            for what in hub.down(args.root):
                print(f"removed {what}")
    except UsageError as error:
        print(f"tpdl hub {args.action}: {error}", file=sys.stderr)
        return 2
    except InfrastructureError as error:
        print(f"tpdl hub {args.action}: {error}", file=sys.stderr)
        return 1
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tpdl", description="The TP_DL course kit.")
    parser.add_argument("--version", action="version", version=f"tpdl {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    grade = commands.add_parser("grade", help="grade every submission of an assignment in a sandbox")
    grade.add_argument("assignment", help="assignment name, e.g. tp1")
    grade.add_argument(
        "--submissions",
        type=Path,
        metavar="DIR",
        help="folder of <student>/<assignment>/ (default: submitted/, the class); any other folder is graded "
        "apart from the class: the gradebook, autograded/, feedback/ and reports/<assignment>/ are not "
        "touched, its results go to --out",
    )
    grade.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help="with --submissions DIR: where its results, feedback, CSV and report go "
        "(default: reports/<assignment>/<the name of DIR>/)",
    )
    grade.add_argument(
        "--student", action="append", metavar="ID", help="grade only this student (repeatable)"
    )
    grade.add_argument("--jobs", type=int, default=1, help="students graded in parallel (default: 1)")
    grade.add_argument(
        "--cluster",
        metavar="ADDRESS",
        help="the address of a Dask scheduler (tls://host:8786): students are graded on its workers, "
        "over mutual TLS",
    )
    grade.add_argument(
        "--cluster-certs",
        type=Path,
        metavar="DIR",
        help="the folder of the judge's certificate for --cluster (ca.pem, client.pem, client.key, made by "
        "`tpdl cluster-certs`; default: ~/.config/tpdl/cluster-certs)",
    )
    grade.add_argument(
        "--insecure-cluster",
        action="store_true",
        help="let --cluster be a plain tcp:// address on this machine's loopback (no TLS: for trying it out)",
    )
    grade.add_argument("--json", type=Path, metavar="FILE", help="also write the class results as JSON")
    grade.add_argument("--html", type=Path, metavar="FILE", help="also write the HTML report here")
    grade.add_argument("--force", action="store_true", help="regrade students whose results are up to date")
    grade.add_argument("--no-progress", action="store_true", help="no progress bar")
    grade.add_argument(
        "--profile",
        action="store_true",
        help="write where each student's grading time went (autograded/<student>/<tp>/profile.json) "
        "and print the class's breakdown",
    )
    grade.set_defaults(run=_grade)

    certificates = commands.add_parser(
        "cluster-certs", help="make a CA and the certificates of a Dask cluster for `tpdl grade --cluster`"
    )
    certificates.add_argument(
        "folder", type=Path, nargs="?", help="an empty folder (default: ~/.config/tpdl/cluster-certs)"
    )
    certificates.add_argument(
        "--days", type=int, help="how many days the certificates are valid (default: 400)"
    )
    certificates.set_defaults(run=_cluster_certs)

    release = commands.add_parser("release", help="build student releases from the sources")
    release.add_argument("assignment", nargs="*")
    release.set_defaults(run=_release)

    translated = commands.add_parser(
        "editions",
        help="compare each TP's editions in other languages with its English source, and list any English "
        "left in them",
    )
    translated.add_argument("tp", nargs="*", help="the TPs (default: every TP)")
    translated.set_defaults(run=_editions)

    lab_settings = commands.add_parser(
        "lab-settings",
        help="write JupyterLab's settings in the course's language (its words, the releases it opens on) "
        "into a JUPYTER_CONFIG_PATH folder",
    )
    lab_settings.add_argument("folder", type=Path)
    lab_settings.set_defaults(run=_lab_settings)

    solutions = commands.add_parser("solutions", help="build and execute the solution notebooks")
    solutions.add_argument("assignment", nargs="*")
    solutions.add_argument("--budget", default="ci", choices=("ci", "full"))
    solutions.set_defaults(run=_solutions)

    publishing = commands.add_parser(
        "publish", help="write the student releases into a git repository: main, then one branch per TP"
    )
    publishing.add_argument(
        "dest", type=Path, help="a git repository, bare or not; where none exists, a bare one is created"
    )
    publishing.add_argument(
        "--assignment", "-a", action="append", metavar="TP", help="publish only this TP (repeatable)"
    )
    publishing.set_defaults(run=_publish)

    catalogues = commands.add_parser(
        "messages", help="bring the students' message catalogues (English, French) up to date with the code"
    )
    catalogues.add_argument("--check", action="store_true", help="change nothing: only say what is missing")
    catalogues.set_defaults(run=_messages)

    warm = commands.add_parser("pool", help="keep a sandbox with TensorFlow imported warm for `tpdl grade`")
    warm.add_argument("--idle", type=float, default=900, help="seconds without a client before it leaves")
    warm.set_defaults(run=_pool)

    sample = commands.add_parser(
        "samples", help="rewrite the sample class's reference and untouched submissions"
    )
    sample.add_argument("assignment", nargs="*")
    sample.add_argument(
        "--run",
        action="store_true",
        dest="execute",
        help="also execute the reference and keep what it writes (MLflow store, figures)",
    )
    sample.add_argument(
        "--budget", default="full", choices=("full", "ci"), help="budget of --run (default full)"
    )
    sample.set_defaults(run=_samples)

    checking = commands.add_parser(
        "check",
        help="before you hand in: the deliverables the release expects, the notebook run as the judge runs "
        "it (cells tagged skip-grading skipped), and a quick estimate of each saved model (in the sandbox)",
    )
    checking.add_argument("assignment", help="assignment name, e.g. tp1")
    checking.add_argument(
        "folder",
        nargs="?",
        type=Path,
        default=Path("."),
        help="the TP's folder (default: .): yours, or a student's hand-in (read as the judge reads it)",
    )
    checking.set_defaults(run=_check)

    attempt = commands.add_parser(
        "try", help="grade catalogue entries (tests/catalogue/<tp>/*.py) and print every check"
    )
    attempt.add_argument("entry", type=Path, nargs="+")
    attempt.set_defaults(run=_try)

    alike = commands.add_parser(
        "similarity",
        help="group the submissions whose code or written answers look alike (HTML and CSV report)",
    )
    alike.add_argument("assignment", help="assignment name, e.g. tp2")
    alike.add_argument(
        "--submissions", type=Path, help="folder of <student>/<assignment>/ (default: submitted/)"
    )
    alike.add_argument(
        "--html", type=Path, metavar="FILE", help="default: reports/<assignment>-similarity.html"
    )
    alike.add_argument(
        "--csv", type=Path, metavar="FILE", help="default: reports/<assignment>-similarity.csv"
    )
    alike.add_argument(
        "--threshold",
        type=float,
        help="report a pair when this share of one's code is found in the other's "
        "(default: the TP's, [similarity] in its manifest, else 0.5)",
    )
    alike.set_defaults(run=_similarity)

    on_hub = commands.add_parser(
        "hub",
        help="as root: the course on a JupyterHub, an account per person of the roster (up), or none (down)",
    )
    on_hub.add_argument("action", choices=("up", "down"))
    on_hub.add_argument("--roster", type=Path, default=Path("hub/roster.csv"), help="default: hub/roster.csv")
    on_hub.add_argument("--root", type=Path, default=Path("/srv/tpdl-hub"), help="default: /srv/tpdl-hub")
    on_hub.add_argument("--port", type=int, default=8800, help="the hub's port (default: 8800)")
    on_hub.add_argument("--ip", default="127.0.0.1", help="the address it listens on (default: 127.0.0.1)")
    on_hub.add_argument(
        "--host",
        default="localhost",
        help="the hub's host name; each user's server is at <user>.<host> (default: localhost)",
    )
    on_hub.set_defaults(run=_hub)
    return parser


def main(argv: list[str] | None = None) -> int:
    # nbgrader runs tools (alembic) of this environment by name.
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
