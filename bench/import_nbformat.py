"""What the ``jsonschema<4.25`` pin of pyproject.toml saves: ``import nbformat`` (what every
papermill process, every ``./run_all.sh`` and every notebook executor does first) with the
locked jsonschema, and with jsonschema 4.26 and the rfc3987-syntax it then imports, side by side.

    python bench/import_nbformat.py [--repeats 7] [--out bench/measured/import_nbformat.txt]

The newer jsonschema is installed with pip into a temporary folder put first on the path of
one of the two arms, so both arms run in this virtual environment, alternately, each in a fresh
interpreter. Prints the median seconds of each and their ratio.
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import tempfile
import time

from side_by_side import alternate, arguments, machine, medians, show

NEWER = ["jsonschema==4.26.0", "rfc3987-syntax==1.1.0", "lark==1.3.1"]


def seconds(env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import nbformat"], env=env, check=True)
    return time.perf_counter() - t0


def main() -> None:
    args = arguments(__doc__, repeats=7)
    with tempfile.TemporaryDirectory(prefix="jsonschema-") as newer:
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", newer, *NEWER],
            check=True,
            stderr=subprocess.DEVNULL,
        )
        envs = {"locked": dict(os.environ), "4.26": {**os.environ, "PYTHONPATH": newer}}
        times = alternate(
            {way: functools.partial(seconds, env) for way, env in envs.items()}, args.repeats
        )
    locked, newest = medians(times)
    show(
        [
            f"import nbformat, median of {args.repeats} fresh interpreters, on {machine()}",
            f"  jsonschema as locked (<4.25): {locked:.2f} s",
            f"  jsonschema 4.26 + rfc3987-syntax: {newest:.2f} s",
            f"  saved per process: {newest - locked:.2f} s ({newest / locked:.1f}x)",
        ],
        args.out,
    )


if __name__ == "__main__":
    main()
