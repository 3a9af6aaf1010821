"""How long each notebook takes with a student's quick setting (``grids.STUDENT_QUICK``), run
as a student runs it: papermill, a fresh kernel, the run trained in a scratch folder.

    python bench/quick_notebooks.py [--out bench/measured/quick_notebooks.json]

Prints one line per notebook (wall seconds, kernel start included) and writes them, with the
machine, to ``--out``; the notebooks' first cells quote these times.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import papermill

from genlab.course.grids import PROBLEMS, STUDENT_QUICK

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "bench" / "measured" / "quick_notebooks.json"))
    args = parser.parse_args()
    times = {}
    with tempfile.TemporaryDirectory(prefix="quick-") as tmp:
        for problem, spec in PROBLEMS.items():
            params = {**STUDENT_QUICK, "run_dir": f"{tmp}/{problem}/run", "progress": False}
            if not spec.model:
                params = {"run_dir": f"{tmp}/{problem}/out", "progress": False}
            t0 = time.perf_counter()
            papermill.execute_notebook(
                str(ROOT / "notebooks" / spec.notebook),
                f"{tmp}/{problem}.ipynb",
                parameters=params,
                cwd=str(ROOT),
                progress_bar=False,
            )
            times[problem] = round(time.perf_counter() - t0, 1)
            print(f"{problem}: {times[problem]:.0f} s", flush=True)
    record = {
        "setting": STUDENT_QUICK,
        "seconds": times,
        "cpus": os.cpu_count(),
        "machine": platform.processor() or platform.machine(),
    }
    Path(args.out).write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
