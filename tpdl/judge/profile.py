"""Where one submission's grading time goes: each check, each worker started, each request answered.

A :class:`Profile` travels with a submission's :class:`tpdl.judge.session.Session`; the grading plugin
says which check runs (:meth:`Profile.check`) and the session times what it asks its workers
(:meth:`Profile.timed`). ``tpdl grade --profile`` writes one ``profile.json`` beside each student's
result and prints the class's breakdown; ``make bench`` publishes it per TP.
"""

import contextlib
import statistics
import time
from collections import defaultdict
from dataclasses import dataclass, field

OUTSIDE = "(between checks)"  # collection, the session's start and end


@dataclass
class Profile:
    checks: dict[str, float] = field(default_factory=dict)  # check -> seconds (setup, call, teardown)
    spans: list[tuple[str, str, str, float]] = field(default_factory=list)  # (check, worker, what, seconds)
    current: str = OUTSIDE
    started: float = field(default_factory=time.perf_counter)
    total: float = 0.0

    @contextlib.contextmanager
    def check(self, name: str):
        """Everything inside counts towards the check ``name``."""
        self.current, began = name, time.perf_counter()
        try:
            yield
        finally:
            self.checks[name] = self.checks.get(name, 0.0) + time.perf_counter() - began
            self.current = OUTSIDE

    @contextlib.contextmanager
    def timed(self, worker: str, what: str):
        """One request to (or the start of) a worker of kind ``worker``; ``what`` names it."""
        began = time.perf_counter()
        try:
            yield
        finally:
            self.spans.append((self.current, worker, what, time.perf_counter() - began))

    def finish(self) -> "Profile":
        self.total = time.perf_counter() - self.started
        return self

    def to_json(self) -> dict:
        """Seconds per check, per worker request (kind and request), and in all."""
        requests: dict[str, list[float]] = defaultdict(list)
        for _, worker, what, seconds in self.spans:
            requests[f"{worker}: {what}"].append(seconds)
        in_checks = sum(self.checks.values())
        return {
            "total_s": round(self.total, 3),
            "checks_s": {name: round(s, 3) for name, s in self.checks.items()},
            "outside_checks_s": round(max(0.0, self.total - in_checks), 3),
            "requests": {
                name: {"count": len(times), "seconds": round(sum(times), 3)}
                for name, times in sorted(requests.items())
            },
            "spans": [
                {"check": c, "worker": w, "what": what, "seconds": round(s, 4)}
                for c, w, what, s in self.spans
            ],
        }


def summarise(profiles: list[dict]) -> dict:
    """The class's breakdown: per check and per request, the median seconds a student and the share
    of the total, slowest first."""
    if not profiles:
        return {"students": 0}
    total = statistics.median(p["total_s"] for p in profiles)
    checks: dict[str, list[float]] = defaultdict(list)
    requests: dict[str, list[tuple[int, float]]] = defaultdict(list)
    for p in profiles:
        for name, seconds in p["checks_s"].items():
            checks[name].append(seconds)
        checks[OUTSIDE].append(p["outside_checks_s"])
        for name, figures in p["requests"].items():
            requests[name].append((figures["count"], figures["seconds"]))

    def median_over_class(values: list[float]) -> float:
        return statistics.median(values + [0.0] * (len(profiles) - len(values)))

    return {
        "students": len(profiles),
        "median_total_s": round(total, 2),
        "checks": sorted(
            ({"check": n, "median_s": round(median_over_class(v), 3)} for n, v in checks.items()),
            key=lambda row: -row["median_s"],
        ),
        "requests": sorted(
            (
                {
                    "request": n,
                    "median_count": median_over_class([c for c, _ in v]),
                    "median_s": round(median_over_class([s for _, s in v]), 3),
                }
                for n, v in requests.items()
            ),
            key=lambda row: -row["median_s"],
        ),
    }


def table(summary: dict, rows: int = 12) -> str:
    """The summary as two Markdown tables (the slowest ``rows`` of each)."""
    if not summary.get("students"):
        return "(no student was graded)"
    total = summary["median_total_s"] or 1.0
    lines = [
        f"{summary['students']} student(s); median {summary['median_total_s']:.2f} s each",
        "",
        "| check | median s | share |",
        "| --- | ---: | ---: |",
    ]
    lines += [
        f"| {row['check']} | {row['median_s']:.2f} | {row['median_s'] / total:.0%} |"
        for row in summary["checks"][:rows]
    ]
    lines += ["", "| worker: request | count | median s | share |", "| --- | ---: | ---: | ---: |"]
    lines += [
        f"| {row['request']} | {row['median_count']:g} | {row['median_s']:.2f} "
        f"| {row['median_s'] / total:.0%} |"
        for row in summary["requests"][:rows]
    ]
    return "\n".join(lines)
