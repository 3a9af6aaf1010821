"""On paper: how long the course grid takes on k machines, from a results folder's own times.

Each grid point's time is its training time (``train_seconds`` of its ``metrics.json``, else
the sum of ``epochs[*].seconds``) plus its executed notebook's run time (papermill's
``duration``: for results/, a re-execution on the finished run folder). The points are list-
scheduled as ``./run_all.sh --ray`` submits them: the problems that need no other first, the
longest point first onto the machine free first; then the problems that need those (5.6).
The re-executions of notebooks made stale by later points (a few seconds each) are left out.

    .venv/bin/python bench/makespan.py                    # results/, k = 1, 2, 4, 8
    .venv/bin/python bench/makespan.py --speedup 10       # machines 10x faster than results'
"""

from __future__ import annotations

import argparse
import heapq
import json
from pathlib import Path

from genlab.course.grids import PROBLEMS

ROOT = Path(__file__).resolve().parents[1]


def point_seconds(results: Path, speedup: float = 1.0) -> dict[str, float]:
    """Seconds of each grid point found in ``results``: training / ``speedup`` + notebook."""
    times = {}
    for problem, spec in PROBLEMS.items():
        for name in spec.points:
            metrics = results / problem / name / "metrics.json"
            notebook = results / problem / f"{name}.ipynb"
            train = 0.0
            if metrics.exists():
                m = json.loads(metrics.read_text())
                train = m.get("train_seconds") or sum(e["seconds"] for e in m.get("epochs", []))
            run = 0.0
            if notebook.exists():
                run = json.loads(notebook.read_text())["metadata"]["papermill"].get("duration")
            if metrics.exists() or notebook.exists():
                times[f"{problem}/{name}"] = train / speedup + (run or 0.0)
    return times


def schedule(seconds: list[float], machines: int, start: float = 0.0) -> float:
    """When the last of ``seconds`` ends, longest first onto the machine free first."""
    free = [start] * machines
    for s in sorted(seconds, reverse=True):
        heapq.heappush(free, heapq.heappop(free) + s)
    return max(free)


def makespan(times: dict[str, float], machines: int) -> float:
    """Both batches of ``pipeline.run_points``: the points that need none, then the others."""
    later = {label for label in times if PROBLEMS[label.split("/")[0]].needs}
    first_end = schedule([t for k, t in times.items() if k not in later], machines)
    return schedule([times[k] for k in later], machines, first_end) if later else first_end


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=ROOT / "results")
    parser.add_argument("--machines", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument(
        "--speedup",
        type=float,
        default=1.0,
        help="how many times faster each machine trains than the results' machine did",
    )
    args = parser.parse_args()
    times = point_seconds(args.results, args.speedup)
    total, longest = sum(times.values()), max(times.values())
    print(
        f"{len(times)} grid points of {args.results}: {total:.0f} s in all, the longest "
        f"{longest:.0f} s ({max(times, key=times.get)}); training / {args.speedup:g}"
    )
    one = makespan(times, 1)
    print("| machines | makespan | hours | speed-up over 1 | busy share |")
    print("| --- | --- | --- | --- | --- |")
    for k in args.machines:
        span = makespan(times, k)
        print(
            f"| {k} | {span:.0f} s | {span / 3600:.2f} | {one / span:.2f}x | "
            f"{total / (k * span):.0%} |"
        )


if __name__ == "__main__":
    main()
