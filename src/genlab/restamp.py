"""``python -m genlab restamp RUN_DIR...``: keep a run whose code changed only in form.

A refactor changes a run's fingerprint (``genlab.provenance``) without changing any of its
numbers, and would otherwise force every run in ``results/`` to train again. ``restamp``
answers the question that matters, "does the edit change a number?", by comparing the two
codes on this machine: it finds in git the commit whose sources give the run's recorded
digests, and trains the run's configuration for ``REPLAY_EPOCHS`` epochs twice, in temporary
folders and with the run's recorded number of CPU threads, once with that commit's code and
once with this checkout's. Only when every number of both epochs, the final evaluation, every
checkpoint tensor and every image come out bit-identical does it record the current
fingerprint in the run (with the date, the commit, and the digest it replaces); otherwise it
names the first numbers that differ, and the run must be trained again.

Why two epochs: the first epoch starts from the seed, the second resumes the epoch loop from
the first one's state, and the second is also a last epoch, so the run's end (checkpoint,
collapse and health checks, status, the final evaluation) is replayed too. Every later epoch
runs the same code as the second one. What this cannot see is an edit whose effect appears only
after epoch 2 of a run (a schedule keyed to a later epoch): restamp after refactors, never
after a change meant to alter training.

Comparing the two codes on one machine, rather than the new code with the recorded numbers,
lets a run trained on another CPU be checked: CPUs with other vector units round differently,
so the recorded numbers themselves reproduce only on a CPU like the one that made them. The
verdict says whether this machine also reproduced the recorded first epoch.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import torch

from genlab.datasets import data_root
from genlab.provenance import PACKAGE, code_record, module_name, source_digest, stale_reason
from genlab.runs import EPOCH_IMAGE, load_metrics, load_state, write_metrics

REPLAY_EPOCHS = 2
# not numbers of a run: when and how fast it ran
TIMING = ("seconds", "images_per_second", "load_1min", "quality_seconds", "evaluated")
COMPARED = ("epochs", "evaluation", "status")  # what metrics.json holds of the run's numbers
HISTORY = 400  # commits searched for the recorded code, newest first

# Trains one run in a fresh interpreter with whichever genlab is first on PYTHONPATH.
REPLAY = """
import json, sys
import torch
from genlab.config import GANConfig, VAEConfig
from genlab.train import train_run
fields, threads, out = json.loads(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
torch.set_num_threads(threads)
config = {"vae": VAEConfig, "gan": GANConfig}[fields.pop("model")].from_dict(fields)
train_run(config, run_dir=out, progress=False)
"""


def differences(recorded: Any, again: Any, where: str = "") -> list[str]:
    """Where ``again`` differs from ``recorded`` (nested dicts and lists, exact values); a
    number the run did not record (measured by later code) is not compared."""
    if isinstance(recorded, dict) and isinstance(again, dict):
        keys = [k for k in recorded if k not in TIMING]
        return [d for k in keys for d in differences(recorded.get(k), again.get(k), f"{where}.{k}")]
    sequence = (list, tuple)
    if (
        isinstance(recorded, sequence)
        and isinstance(again, sequence)
        and len(recorded) == len(again)
    ):
        return [
            d
            for i, (a, b) in enumerate(zip(recorded, again, strict=True))
            for d in differences(a, b, f"{where}[{i}]")
        ]
    if isinstance(recorded, torch.Tensor) and isinstance(again, torch.Tensor):
        same = recorded.dtype == again.dtype and torch.equal(recorded, again)
        return [] if same else [f"{where.lstrip('.')}: tensors differ"]
    if isinstance(recorded, np.ndarray) and isinstance(again, np.ndarray):
        return [] if np.array_equal(recorded, again) else [f"{where.lstrip('.')}: arrays differ"]
    if isinstance(recorded, bytes):  # an image's file
        return [] if recorded == again else [f"{where.lstrip('.')}: the files differ"]
    return [] if recorded == again else [f"{where.lstrip('.')}: {recorded!r} -> {again!r}"]


def git(*args: str, text: bool = True) -> Any:
    top = Path(__file__).resolve().parents[2]
    done = subprocess.run(["git", "-C", str(top), *args], capture_output=True, text=text)
    if done.returncode:
        raise ValueError(f"git {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


def toplevel() -> Path:
    """The git repository holding this checkout's package."""
    return Path(git("rev-parse", "--show-toplevel").strip())


def recorded_commit(code: dict[str, Any]) -> str:
    """The newest commit whose sources give every module digest of ``code`` (a run's record)."""
    top = toplevel()
    package = PACKAGE.relative_to(top).as_posix()
    wanted = code.get("modules") or {}
    for commit in git("rev-list", f"--max-count={HISTORY}", "HEAD", "--", package).split():
        listed = git("ls-tree", "-r", "--name-only", commit, package).split()
        paths = {module_name(top / p, PACKAGE): p for p in listed if p.endswith(".py")}
        if all(
            name in paths and source_digest(git("show", f"{commit}:{paths[name]}")) == digest
            for name, digest in wanted.items()
        ):
            return commit
    raise ValueError(
        f"no commit among the last {HISTORY} holds the code this run records "
        f"({code.get('digest')}); train the run again"
    )


def replay(src: Path, fields: dict[str, Any], threads: int, out: Path) -> dict[str, Any]:
    """Train ``fields`` (a config's fields) with the genlab under ``src``; what it made."""
    env = {**os.environ, "PYTHONPATH": str(src), "GENLAB_DATA": str(data_root())}
    done = subprocess.run(
        [sys.executable, "-c", REPLAY, json.dumps(fields), str(threads), str(out)],
        env=env,
        capture_output=True,
        text=True,
    )
    if done.returncode:
        raise ValueError(f"the replay with {src} failed: {done.stderr.strip()[-800:]}")
    metrics = json.loads((out / "metrics.json").read_text())
    made = {key: metrics.get(key) for key in COMPARED}
    made["checkpoint"] = comparable(load_state((out / "checkpoint.pt").read_bytes()))
    # the run's own images; the curves are drawn from metrics.json, which is compared above
    images = [p for p in sorted(out.glob("*.png")) if EPOCH_IMAGE.match(p.name)]
    made["images"] = {p.name: p.read_bytes() for p in images}
    return made


def comparable(checkpoint: dict[str, Any]) -> dict[str, Any]:
    """``checkpoint`` with NumPy's random key as ``genlab.rngs`` keeps it now (an int64
    tensor), whichever code wrote it: an older code kept an array."""
    name, key, *rest = checkpoint["rng"]["numpy"]
    if isinstance(key, np.ndarray):
        checkpoint["rng"]["numpy"] = (name, torch.from_numpy(key.astype(np.int64)), *rest)
    return checkpoint


def restamp(run_dir: Path | str) -> str:
    """Check that this code makes the numbers that the code recorded in ``run_dir`` made, and
    record this code if it does; returns a one-line verdict. Raises ``ValueError`` when not."""
    run_dir = Path(run_dir)
    metrics = load_metrics(run_dir)
    model = metrics["config"]["model"]
    reason = stale_reason(metrics.get("code"), model)
    if reason is None:
        return f"{run_dir}: already this code's result"
    commit = recorded_commit(metrics.get("code") or {})
    fields = {**metrics["config"], "epochs": min(REPLAY_EPOCHS, metrics["config"]["epochs"])}
    threads = metrics.get("threads") or torch.get_num_threads()
    with tempfile.TemporaryDirectory(prefix="restamp-") as tmp:
        old_src = Path(tmp) / "recorded"
        old_src.mkdir()
        top = toplevel()
        archive = git("archive", commit, PACKAGE.relative_to(top).as_posix(), text=False)
        subprocess.run(["tar", "-x", "-C", str(old_src)], input=archive, check=True)
        src = old_src / PACKAGE.parent.relative_to(top)
        # the same folder name for both: figures are titled with it
        before = replay(src, fields, threads, Path(tmp) / "before" / run_dir.name)
        now = replay(PACKAGE.parent, fields, threads, Path(tmp) / "now" / run_dir.name)
    diff = differences(before, now)
    if diff:
        raise ValueError(
            f"{run_dir}: this code does not make the numbers of the recorded code "
            f"({commit[:10]}): {'; '.join(diff[:3])}; train the run again"
        )
    same_here = not differences(metrics["epochs"][0], now["epochs"][0])
    check = (
        f"epochs 1-{fields['epochs']}, the final evaluation, the checkpoint and the images "
        f"bit-identical between commit {commit[:10]} and this code on one machine"
    )
    recorded = metrics.get("code") or {}
    metrics["code"] = {
        **code_record(model),
        "restamped": {
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "replaces": recorded.get("digest"),
            "commit": commit,
            "check": check,
            "recorded_epoch_1_reproduced_here": same_here,
            "libraries_when_trained": recorded.get("libraries", "not recorded"),
        },
    }
    write_metrics(run_dir, metrics)
    here = "reproduced" if same_here else "not reproduced (another CPU made it)"
    return (
        f"{run_dir}: this code makes the recorded code's numbers ({reason.split(':')[0]}); "
        f"code recorded; the recorded epoch 1 {here} on this machine"
    )
