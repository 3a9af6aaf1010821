"""What a torch-free ``import genlab`` saves: the processes that plan and never train
(``./run_all.sh``'s Python part, ``python -m genlab data fetch`` in every set-up call), with
this code's ``src/genlab`` and with the code of a commit before it (default: 30c7a97, whose
``genlab/__init__`` imported config, data, device and runs, and so torch), side by side.

    python bench/import_genlab.py [--repeats 7] [--before 30c7a97] [--out FILE]

The older package is taken from git into a temporary folder put first on the path of its arm;
both arms run in this virtual environment, alternately, each in a fresh interpreter. Prints the
median CPU seconds (user and system, of the child) of each and their ratio.
"""

from __future__ import annotations

import functools
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

from side_by_side import alternate, arguments, machine, medians, show

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = {
    "import genlab.course.pipeline": ["-c", "import genlab.course.pipeline"],
    "python -m genlab data fetch": ["-m", "genlab", "data", "fetch"],
}


def cpu_seconds(argv: list[str], env: dict[str, str]) -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(
        [sys.executable, *argv], env=env, check=True, cwd=ROOT, stdout=subprocess.DEVNULL
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    args = arguments(__doc__, repeats=7, extra={"before": "30c7a97"})
    with tempfile.TemporaryDirectory(prefix="genlab-before-") as old:
        archive = subprocess.run(
            ["git", "archive", args.before, "src/genlab"], cwd=ROOT, check=True, capture_output=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", old], input=archive, check=True)
        envs = {
            "now": dict(os.environ),
            "before": {**os.environ, "PYTHONPATH": str(Path(old) / "src")},
        }
        for way, env in envs.items():  # each arm imports the genlab it names
            where = subprocess.run(
                [sys.executable, "-c", "import genlab; print(genlab.__file__)"],
                env=env,
                cwd=ROOT,
                check=True,
                capture_output=True,
                text=True,
            )
            assert Path(where.stdout.strip()).is_relative_to(old) == (way == "before"), where
        lines = [f"CPU seconds, median of {args.repeats} fresh interpreters, on {machine()}"]
        for name, argv in COMMANDS.items():
            times = alternate(
                {way: functools.partial(cpu_seconds, argv, env) for way, env in envs.items()},
                args.repeats,
            )
            now, before = medians(times)
            lines += [
                f"  {name}: {before:.2f} s with {args.before}'s genlab, {now:.2f} s now"
                f" ({before / now:.1f}x)"
            ]
    show(lines, args.out)


if __name__ == "__main__":
    main()
