"""The processes that execute a notebook: the papermill command and its environment (CPU
threads), its log written as it comes less known harmless lines, the error a log ends with,
and one progress line of ``./run_all.sh``. Shared by the local executor, its training workers
and a Ray node."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml


def papermill_command(
    notebook: str, output: str, parameters: dict[str, Any], threads: int
) -> tuple[list[str], dict[str, str]]:
    """The papermill call that executes ``notebooks/<notebook>`` into ``output`` with
    ``parameters``, run from the repository's root (or a folder laid out like it), and its
    environment: ``threads`` CPU threads."""
    cmd = [
        sys.executable,
        "-m",
        "papermill",
        f"notebooks/{notebook}",
        output,
        "-y",
        yaml.safe_dump(parameters),
        "-k",
        "python3",
        "--cwd",
        "notebooks",
        "--log-output",
        "--no-progress-bar",
    ]
    return cmd, {**os.environ, **threads_env(threads)}


def threads_env(threads: int) -> dict[str, str]:
    """The environment variables that give a new process ``threads`` CPU threads."""
    return {"OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}


# Known harmless lines, noise in the logs: every kernel papermill starts warns that it runs
# over TCP (loopback here); and jupyter_client's shutdown_kernel sends SIGINT before its
# shutdown request, so a kernel that is handling a message at that moment (the notebook has
# finished) logs "KeyboardInterrupt caught in kernel." as an error, some runs but not others.
HARMLESS = (
    "Kernel is running over TCP without encryption",
    "[IPKernelApp] ERROR | KeyboardInterrupt caught in kernel.",
)


def run_logged(cmd: list[str], env: dict[str, str], cwd: Path, log: Path, **popen: Any) -> int:
    """Run ``cmd``, its output and errors written to ``log`` as they come, less the known
    harmless lines (``HARMLESS``); its exit status."""
    with (
        open(log, "w") as f,
        subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            text=True,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=cwd,
            **popen,
        ) as proc,
    ):
        for line in proc.stdout:
            if not any(text in line for text in HARMLESS):
                f.write(line)
                f.flush()
    return proc.returncode


def last_error(log: Path) -> str:
    lines = [ln.strip() for ln in log.read_text(errors="replace").splitlines() if ln.strip()]
    errors = [ln for ln in lines if "Error" in ln or "error:" in ln]
    return (errors or lines or ["(no output)"])[-1][-200:]


def say(line: str) -> None:
    """One progress line on stdout, in one write: ``print`` writes the text and its newline
    apart, so two threads starting their notebooks at once could put both on one line."""
    sys.stdout.write(f"{line}\n")
    sys.stdout.flush()
