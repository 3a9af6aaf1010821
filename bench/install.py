"""What scripts/install.sh saves: requirements.txt (the lock, torch's 5.5 GB CUDA build
included) installed into a fresh virtual environment by pip and by uv, side by side.

    python bench/install.py [--repeats 2] [--out bench/measured/install.txt]

Each install starts from nothing, as on a fresh clone: a new virtual environment, and for uv
an empty cache (pip reads the local wheels in place and keeps no cache of them). Both write
the .pyc files (pip by default, uv told to by scripts/install.sh): where PYTHONDONTWRITEBYTECODE
is set, as on these machines, nothing writes them later, and an environment without them
compiled torch again in every process (imports 10-11 s against 4 s). The two arms alternate;
each uses the package sources pip is configured with (uv through scripts/install.sh, pip with
the same arguments). Prints the median seconds of each and their ratio. Needs about 12 GB of
free disk at a time.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from side_by_side import alternate, arguments, machine, medians, show

REPO = Path(__file__).resolve().parents[1]
UV = REPO / ".venv" / "bin" / "uv"


def install(way: str) -> float:
    work = Path(tempfile.mkdtemp(prefix=f"install-{way}-"))
    venv, cache = work / "venv", work / "uv-cache"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    lock = ["-r", str(REPO / "requirements.txt")]
    if way == "uv":
        cmd = [str(REPO / "scripts" / "install.sh"), python, *lock]
    else:
        cmd = [python, "-m", "pip", "install", "-q", *lock]
    env = {**os.environ, "UV_CACHE_DIR": str(cache)}
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, env=env, stderr=subprocess.DEVNULL)
    seconds = time.perf_counter() - t0
    shutil.rmtree(work)
    return seconds


def main() -> None:
    args = arguments(__doc__, repeats=2)
    if not UV.exists():
        sys.exit(f"{UV} is missing: run ./scripts/setup.sh first")
    times = alternate({way: functools.partial(install, way) for way in ("pip", "uv")}, args.repeats)
    pip, uv = medians(times)
    each = {w: ", ".join(f"{t:.0f}" for t in times[w]) for w in times}
    show(
        [
            f"requirements.txt into a fresh venv, median of {args.repeats}, on {machine()}",
            f"  pip install -r requirements.txt: {pip:.0f} s ({each['pip']})",
            f"  uv (scripts/install.sh), empty cache: {uv:.0f} s ({each['uv']})",
            f"  saved: {pip - uv:.0f} s ({pip / uv:.1f}x)",
        ],
        args.out,
    )


if __name__ == "__main__":
    main()
