"""What the ``jsonschema<4.25`` pin of pyproject.toml saves: ``import nbformat`` (what every
papermill process, every ``./run_all.sh`` and every notebook executor does first) with the
locked jsonschema, and with jsonschema 4.26 and the rfc3987-syntax it then imports, side by side.

    python bench/import_nbformat.py [--repeats 7] [--out bench/measured/import_nbformat.txt]

The newer jsonschema is installed with pip into a temporary folder put first on the path of
one of the two arms, so both arms run in this virtual environment, alternately, each in a fresh
interpreter. Prints the median seconds of each and their ratio.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

NEWER = ["jsonschema==4.26.0", "rfc3987-syntax==1.1.0", "lark==1.3.1"]


def seconds(env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import nbformat"], env=env, check=True)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--out", default=None, help="also write the table to this file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="jsonschema-") as newer:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target",
                        newer, *NEWER], check=True, stderr=subprocess.DEVNULL)  # fmt: skip
        ways = {"locked": dict(os.environ), "4.26": {**os.environ, "PYTHONPATH": newer}}
        times: dict[str, list[float]] = {way: [] for way in ways}
        for _ in range(args.repeats):
            for way, env in ways.items():
                times[way].append(seconds(env))
    locked, newest = (statistics.median(times[w]) for w in ways)
    lines = [f"import nbformat, median of {args.repeats} fresh interpreters, on "
             f"{platform.processor() or platform.machine()} ({os.cpu_count()} CPUs)",
             f"  jsonschema as locked (<4.25): {locked:.2f} s",
             f"  jsonschema 4.26 + rfc3987-syntax: {newest:.2f} s",
             f"  saved per process: {newest - locked:.2f} s ({newest / locked:.1f}x)"]  # fmt: skip
    print("\n".join(lines))
    if args.out:
        Path(args.out).write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
