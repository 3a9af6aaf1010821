"""Killing a training process for real (``kill -9``), for the resume tests."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path


def kill_inside_second_epoch(cmd: list[str], run_dir: Path, env: dict | None = None) -> dict:
    """Start ``cmd --run-dir run_dir``, SIGKILL it a moment after its first epoch is recorded
    (so somewhere inside the second), and return the ``metrics.json`` it left behind."""
    victim = subprocess.Popen([*cmd, "--run-dir", str(run_dir)], env=env)
    metrics = run_dir / "metrics.json"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and victim.poll() is None:
        if metrics.exists() and json.loads(metrics.read_text())["epochs"]:
            break
        time.sleep(0.05)
    time.sleep(0.3)  # now somewhere inside epoch 2
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait()
    return json.loads(metrics.read_text())
