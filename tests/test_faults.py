"""Faults injected for real, each with nothing lost: a full device while a checkpoint or
``metrics.json`` is written, a truncated or corrupted checkpoint and a truncated
``metrics.json`` found at resume, two ``./run_all.sh`` on one results folder, and a Ray node
removed while it executes a grid point.

Each leaves the run folder as it was before, or resumable to bit-identical figures, with a
one-line message that names the file and what to do.
"""

from __future__ import annotations

import errno
import io
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from resume_utils import assert_same_results

from genlab import cli
from genlab.runs import load_metrics
from genlab.train.gan import GANTrainer, train_gan

ROOT = Path(__file__).resolve().parents[1]
TINY = dict(train_limit=256, batch_size=64, device="cpu", eval_samples=0, quality_samples=0)
EPOCHS = 3
SERIES = ("generator_loss", "discriminator_loss", "d_real", "d_fake")
NETWORKS = ("generator", "discriminator", "generator_average")
ARGS = [
    "gan",
    "--epochs",
    str(EPOCHS),
    "--train-limit",
    "256",
    "--batch-size",
    "64",
    "--device",
    "cpu",
    "--eval-samples",
    "0",
    "--quality-samples",
    "0",
    "--no-progress",
]


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    """The run none of the faults touched."""
    run = train_gan(
        run_dir=tmp_path_factory.mktemp("reference") / "run", epochs=EPOCHS, progress=False, **TINY
    )
    assert run.status == "complete"
    return run.path


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def cli_main(capsys, *args: str) -> tuple[int, str]:
    """``python -m genlab ARGS`` in this process: its exit status and what it wrote to stderr."""
    code = cli.main(list(args))
    return code, capsys.readouterr().err


# --- a full device --------------------------------------------------------------------------


class FullDevice(io.RawIOBase):
    """A file on a device that fills up after ``room`` bytes: the bytes that fit are written
    (os.write on the real descriptor), then ENOSPC, as the kernel reports it."""

    def __init__(self, fd: int, room: int):
        self.fd, self.room = fd, room

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self.fd

    def write(self, data) -> int:
        fits = bytes(data[: max(0, self.room)])
        if fits:
            os.write(self.fd, fits)
            self.room -= len(fits)
        if len(fits) < len(data):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return len(data)

    def close(self) -> None:
        if not self.closed:
            os.close(self.fd)
        super().close()


def fill_device_at(monkeypatch, name: str, nth: int, room: int) -> list[str]:
    """The ``nth`` atomic write of a file called ``name`` finds the device full after ``room``
    bytes (every other write goes through); the temporary files it was writing, returned."""
    real_fdopen, seen, tmps = os.fdopen, [], []

    def fdopen(fd, mode="r", *args, **kwargs):
        path = os.readlink(f"/proc/self/fd/{fd}")
        if Path(path).name.startswith(f".{name}.") and path.endswith(".tmp") and "w" in mode:
            seen.append(path)
            if len(seen) == nth:
                tmps.append(path)
                return io.BufferedWriter(FullDevice(fd, room))
        return real_fdopen(fd, mode, *args, **kwargs)

    monkeypatch.setattr(os, "fdopen", fdopen)
    return tmps


@pytest.mark.slow
@pytest.mark.parametrize(
    "name, nth, epochs_on_disk",
    [
        ("checkpoint.pt", 2, 2),  # epoch 2's checkpoint: its record was written just before
        ("metrics.json", 3, 1),  # epoch 2's record (1: status running, 2: epoch 1's record)
    ],
)
def test_a_full_device_while_a_file_is_written_keeps_the_old_file_and_the_run_resumes(
    tmp_path, monkeypatch, capsys, reference, name, nth, epochs_on_disk
):
    run_dir = tmp_path / "run"
    tmps = fill_device_at(monkeypatch, name, nth, room=100)
    code, err = cli_main(capsys, *ARGS, "--run-dir", str(run_dir))
    monkeypatch.undo()
    assert tmps, f"no write of {name} was injected"
    # one line that names the file and what to do; no traceback
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err, err
    assert f"no space left on the device to write {run_dir / name}" in err
    assert f"{name} is unchanged: free some space, then run again" in err
    # nothing half-written: the temporary file is gone, the old files are whole
    assert not [p for p in run_dir.iterdir() if p.name.endswith(".tmp")]
    metrics = load_metrics(run_dir)
    assert [e["epoch"] for e in metrics["epochs"]] == list(range(1, epochs_on_disk + 1))
    assert torch.load(run_dir / "checkpoint.pt", weights_only=True)["epoch"] == 1
    # space again: the run resumes after epoch 1 and ends as the run no fault touched
    code, err = cli_main(capsys, *ARGS, "--run-dir", str(run_dir))
    assert code == 0, err
    assert_same_results(reference, run_dir, SERIES, NETWORKS)


def test_a_new_run_refused_for_space_leaves_no_folder(tmp_path, monkeypatch, capsys):
    run_dir = tmp_path / "new"
    tmps = fill_device_at(monkeypatch, "config.json", 1, room=0)
    code, err = cli_main(capsys, *ARGS, "--run-dir", str(run_dir))
    assert tmps and code == 2 and err.count("\n") == 1 and "Traceback" not in err, err
    assert "no space left on the device" in err
    assert not run_dir.exists()


def test_evaluating_on_a_full_device_is_one_line_and_keeps_the_record(
    reference, tmp_path, monkeypatch, capsys
):
    run_dir = tmp_path / "run"
    subprocess.run(["cp", "-r", str(reference), str(run_dir)], check=True)
    before = snapshot(run_dir)
    tmps = fill_device_at(monkeypatch, "metrics.json", 1, room=100)
    code, err = cli_main(capsys, "evaluate", "run", str(run_dir), "--n", "100")
    assert tmps and code == 1 and err.count("\n") == 1 and "Traceback" not in err, err
    assert f"no space left on the device to write {run_dir / 'metrics.json'}" in err
    assert snapshot(run_dir) == before


def test_a_full_device_is_reported_through_torch_save_too(tmp_path, monkeypatch):
    """torch.save reports a failed write as a RuntimeError: the OSError behind it is found."""
    from genlab.atomic import NoSpaceError, atomic_write

    target = tmp_path / "checkpoint.pt"
    atomic_write(target, lambda f: torch.save({"epoch": 1}, f))
    before = target.read_bytes()
    fill_device_at(monkeypatch, "checkpoint.pt", 1, room=1000)
    with pytest.raises(NoSpaceError, match="checkpoint.pt is unchanged") as info:
        atomic_write(target, lambda f: torch.save({"epoch": 2, "w": torch.zeros(10_000)}, f))
    assert isinstance(info.value.__cause__, RuntimeError)  # what torch.save raised
    assert info.value.errno == errno.ENOSPC
    assert target.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == [target.name]


# --- damaged files found at resume ----------------------------------------------------------


@pytest.fixture
def interrupted(tmp_path, monkeypatch) -> Path:
    """A run stopped by Ctrl-C in epoch 2: its checkpoint and records are epoch 1's."""
    original = GANTrainer.train_epoch

    def ctrl_c_in_epoch_2(self, epoch, progress):
        if epoch == 2:
            raise KeyboardInterrupt
        return original(self, epoch, progress)

    monkeypatch.setattr(GANTrainer, "train_epoch", ctrl_c_in_epoch_2)
    with pytest.raises(KeyboardInterrupt):
        train_gan(run_dir=tmp_path / "run", epochs=EPOCHS, progress=False, **TINY)
    monkeypatch.undo()
    assert load_metrics(tmp_path / "run")["status"] == "interrupted"
    return tmp_path / "run"


def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


DAMAGE = {
    "truncated": truncate,
    "empty": lambda p: p.write_bytes(b""),
    "overwritten": lambda p: p.write_bytes(os.urandom(p.stat().st_size)),
}


@pytest.mark.slow
@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_damaged_checkpoint_is_named_with_what_to_do_and_nothing_is_written(
    interrupted, capsys, reference, damage
):
    DAMAGE[damage](interrupted / "checkpoint.pt")
    before = snapshot(interrupted)
    code, err = cli_main(capsys, *ARGS, "--run-dir", str(interrupted))
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err, err
    assert f"{interrupted / 'checkpoint.pt'} is unreadable (truncated or corrupted" in err
    assert "delete it to train this run again from epoch 1" in err
    assert snapshot(interrupted) == before  # the folder as it was
    (interrupted / "checkpoint.pt").unlink()  # as the message says
    code, err = cli_main(capsys, *ARGS, "--run-dir", str(interrupted))
    assert code == 0, err
    assert_same_results(reference, interrupted, SERIES, NETWORKS)


@pytest.mark.slow
@pytest.mark.parametrize("damage", ["truncated", "empty"])
def test_a_truncated_metrics_json_is_named_with_what_to_do_and_nothing_is_written(
    interrupted, capsys, reference, damage
):
    DAMAGE[damage](interrupted / "metrics.json")
    before = snapshot(interrupted)
    code, err = cli_main(capsys, *ARGS, "--run-dir", str(interrupted))
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err, err
    assert f"{interrupted / 'metrics.json'} is unreadable (truncated or corrupted" in err
    assert "delete it to train this run again from epoch 1" in err
    assert snapshot(interrupted) == before
    # as the message says: the checkpoint, ahead of the records left, is not used
    (interrupted / "metrics.json").unlink()
    code, err = cli_main(capsys, *ARGS, "--run-dir", str(interrupted))
    assert code == 0, err
    assert_same_results(reference, interrupted, SERIES, NETWORKS)


def test_a_truncated_config_json_is_named_with_what_to_do(tmp_path, capsys):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "config.json").write_text('{"model": "gan", "lr_g": 0.00')
    code, err = cli_main(capsys, *ARGS, "--run-dir", str(run_dir))
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err, err
    assert f"{run_dir / 'config.json'} is unreadable" in err
    assert f"delete the folder {run_dir} to train this run again from scratch" in err
    assert [p.name for p in run_dir.iterdir()] == ["config.json"]


# --- two ./run_all.sh on one results folder -------------------------------------------------


def pipeline(
    *args: str, env: dict[str, str] | None = None, stderr: int = subprocess.PIPE
) -> subprocess.Popen:
    """``./run_all.sh ARGS`` (its Python part, this checkout's genlab) as a real process."""
    env = env or {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    return subprocess.Popen(
        [sys.executable, "-m", "genlab.course.pipeline", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
    )


def test_a_second_run_all_on_a_busy_results_folder_refuses_before_writing(tmp_path):
    """A real process holds the folder (the same lock a ./run_all.sh takes); a real second
    ./run_all.sh (its Python part) refuses at once, with exit status 2, writing nothing."""
    out = tmp_path / "results"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; "
            "from genlab.course.pipeline import holding\n"
            "with holding(Path(sys.argv[1])):\n    print('held', flush=True); time.sleep(120)",
            str(out),
        ],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        before = sorted(p.name for p in out.rglob("*"))
        t0 = time.monotonic()
        second = pipeline("--quick", "--only", "4.2", "--out", str(out))
        stdout, stderr = second.communicate(timeout=120)
        assert second.returncode == 2, stdout + stderr
        assert stderr.strip() == (
            f"run_all: another ./run_all.sh is working on {out} (it holds "
            f"{out / '.run_all.lock'}); wait for it to end, or give this "
            "one another --out"
        )
        assert "[start]" not in stdout and sorted(p.name for p in out.rglob("*")) == before
        assert time.monotonic() - t0 < 60  # refused, not waiting
    finally:
        holder.kill()
        holder.wait()
    # the holder killed (kill -9 holds nothing): the folder is free again
    from genlab.course.pipeline import holding

    with holding(out):
        pass


@pytest.mark.slow
def test_two_run_all_started_at_once_one_executes_the_other_refuses(tmp_path):
    """Two real ./run_all.sh (their Python part) on one results folder: exactly one executes
    the grid, the other refuses with the message; the one that ran leaves a finished folder
    that a third call skips."""
    out = tmp_path / "results"
    args = ("--quick", "--only", "4.2", "--out", str(out))
    first, second = pipeline(*args), pipeline(*args)
    results = [p.communicate(timeout=900) + (p.returncode,) for p in (first, second)]
    codes = sorted(r[2] for r in results)
    assert codes == [0, 2], results
    ran, refused = sorted(results, key=lambda r: r[2])
    assert "[done] 4.2/default" in ran[0], ran
    assert "another ./run_all.sh is working on" in refused[1] and "[start]" not in refused[0]
    third = pipeline(*args)
    stdout, stderr = third.communicate(timeout=300)
    assert third.returncode == 0 and re.search(r"4\.2/default\s+skipped", stdout), stdout + stderr


# --- a Ray node removed mid-grid ------------------------------------------------------------


@pytest.mark.slow
def test_a_ray_node_removed_mid_grid_has_its_point_run_again_elsewhere(tmp_path):
    """A real local Ray cluster (``ray.cluster_utils.Cluster``, as tests/test_ray.py starts):
    a head that runs no points and two one-CPU nodes. The node executing 4.2/default is removed
    once papermill is executing its cells; Ray runs the point again on the other node, and its
    figures are those of the same run trained here."""
    pytest.importorskip("ray")
    from ray.cluster_utils import Cluster
    from test_ray import figures

    from genlab.course.grids import PROBLEMS
    from genlab.train import train_run

    scratch = {i: tmp_path / f"scratch-{i}" for i in range(2)}
    nodes = Cluster(
        initialize_head=True,
        head_node_args={
            "num_cpus": 0,
            "include_dashboard": False,
            "env_vars": {"GENLAB_SCRATCH": str(tmp_path / "scratch-head")},
        },
    )
    proc = None
    try:
        workers = [
            nodes.add_node(num_cpus=1, env_vars={"GENLAB_SCRATCH": str(scratch[i])})
            for i in range(2)
        ]
        nodes.wait_for_nodes()
        out = tmp_path / "results"
        proc = pipeline(
            "--ray",
            nodes.address,
            "--quick",
            "--only",
            "4.2",
            "--out",
            str(out),
            env={**os.environ, "PYTHONPATH": str(ROOT / "src"), "GENLAB_RAY_RETRIES": "1"},
            stderr=subprocess.STDOUT,
        )
        lines, removed = [], None
        for line in proc.stdout:
            lines.append(line)
            found = re.match(r"\[start\] 4\.2/default on .*  log there: (.*)", line)
            if found and removed is None:
                log = Path(found.group(1).strip())
                for _ in range(240):  # papermill executes the notebook's cells: mid-point
                    if log.exists() and "Executing Cell 2-" in log.read_text():
                        break
                    time.sleep(0.5)
                removed = next(i for i in scratch if log.is_relative_to(scratch[i]))
                nodes.remove_node(workers[removed])
        code = proc.wait(timeout=900)
        output = "".join(lines)
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
        nodes.shutdown()
    assert removed is not None, output
    assert code == 0, output
    assert "(retry 1 of 1)" in output  # started again after the node went away
    starts = re.findall(r"\[start\] 4\.2/default on .*  log there: (.*)", output)
    assert len(starts) == 2 and Path(starts[1]).is_relative_to(scratch[1 - removed]), output
    assert re.search(r"\[done\] 4\.2/default .* after 1 retries", output), output
    metrics = load_metrics(out / "4.2" / "default")
    assert metrics["status"] == "complete"
    here = train_run(
        PROBLEMS["4.2"].config("default", quick=True), tmp_path / "here", progress=False
    )
    assert figures(metrics["epochs"]) == figures(here.metrics["epochs"])
    # the evaluation embeds images through the classifier's convolutions, whose sums depend on
    # the number of CPU threads (one on the node, two here): equal to float precision
    for kind in ("samples", "reconstructions"):
        there_q, here_q = metrics["evaluation"][kind], here.metrics["evaluation"][kind]
        assert there_q["class_histogram"] == here_q["class_histogram"]
        assert there_q["frechet_distance"] == pytest.approx(here_q["frechet_distance"], rel=1e-6)
