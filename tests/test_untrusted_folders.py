"""A run folder is data, never code: a checkpoint is read weights-only everywhere, so a pickle
that would run a command when loaded is refused, unrun, in one line naming the file; and a
checkpoint written before the random states were plain values still resumes bit-identically."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from resume_utils import assert_same_results, ctrl_c_then_resume

from genlab.course.compare.pixels import run_images
from genlab.runs import CHECKPOINT, RunFileError, load_metrics, load_state
from genlab.train.vae import VAETrainer, train_vae

ROOT = Path(__file__).resolve().parents[1]
VAE = {"train_limit": 256, "test_limit": 128, "epochs": 1, "eval_samples": 0}
pytestmark = pytest.mark.usefixtures("one_thread")


class Hostile:
    """What a stranger's checkpoint may hold: unpickled, it runs a command."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def plant(run_dir: Path, marker: Path, keep_record: bool = False) -> None:
    """Replace ``run_dir``'s checkpoint by a hostile pickle; by default the run's records
    then hold no checkpoint digest, as a committed run folder does not."""
    torch.save({"epoch": 1, "trainer": Hostile(marker)}, run_dir / CHECKPOINT)
    if not keep_record:
        metrics = json.loads((run_dir / "metrics.json").read_text())
        metrics.pop("checkpoint", None)
        (run_dir / "metrics.json").write_text(json.dumps(metrics))


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    run_dir = tmp_path_factory.mktemp("finished") / "run"
    assert train_vae(run_dir=run_dir, progress=False, **VAE).status == "complete"
    return run_dir


@pytest.fixture
def hostile(finished, tmp_path) -> tuple[Path, Path]:
    """A copy of a finished run whose checkpoint runs ``touch marker`` if unpickled."""
    run_dir = tmp_path / "run"
    subprocess.run(["cp", "-r", str(finished), str(run_dir)], check=True)
    marker = tmp_path / "ran"
    plant(run_dir, marker)
    return run_dir, marker


def test_the_hostile_pickle_would_run_its_command(hostile):
    """The test's premise: the checkpoint's pickle, unpickled as any pickle is (as torch.load
    did by default before PyTorch 2.6), runs its command."""
    run_dir, marker = hostile
    code = (
        "import pickle, sys, zipfile\n"
        "with zipfile.ZipFile(sys.argv[1]) as z:\n"
        "    pickle.loads(z.read(next(n for n in z.namelist() if n.endswith('data.pkl'))))"
    )
    subprocess.run([sys.executable, "-c", code, str(run_dir / CHECKPOINT)], check=False)
    assert marker.exists()


def one_line_naming_it(error: str, run_dir: Path) -> None:
    assert str(run_dir / CHECKPOINT) in error and "posix.system" in error, error
    assert "was not loaded" in error and "\n" not in error.strip(), error


def test_reopening_or_resuming_refuses_it(hostile):
    run_dir, marker = hostile
    with pytest.raises(RunFileError) as refused:  # finished: reopened
        train_vae(run_dir=run_dir, progress=False, **VAE)
    one_line_naming_it(str(refused.value), run_dir)
    metrics = json.loads((run_dir / "metrics.json").read_text())
    metrics["status"] = "interrupted"
    (run_dir / "metrics.json").write_text(json.dumps(metrics))
    with pytest.raises(RunFileError) as refused:  # unfinished: resumed
        train_vae(run_dir=run_dir, progress=False, **{**VAE, "epochs": 1})
    one_line_naming_it(str(refused.value), run_dir)
    assert not marker.exists()


def test_evaluate_and_compare_refuse_it(hostile):
    run_dir, marker = hostile
    done = subprocess.run(
        [sys.executable, "-m", "genlab", "evaluate", "run", str(run_dir)],
        capture_output=True,
        text=True,
    )
    assert done.returncode != 0 and "Traceback" not in done.stderr, done.stderr
    one_line_naming_it(done.stderr, run_dir)
    with pytest.raises(RunFileError) as refused:  # 5.6's pictures of a run
        run_images(run_dir, 10, "cpu")
    one_line_naming_it(str(refused.value), run_dir)
    assert not marker.exists()


def test_a_recorded_digest_refuses_it_without_reading_it(finished, tmp_path):
    run_dir, marker = tmp_path / "run", tmp_path / "ran"
    subprocess.run(["cp", "-r", str(finished), str(run_dir)], check=True)
    plant(run_dir, marker, keep_record=True)
    with pytest.raises(RunFileError, match="is damaged"):
        train_vae(run_dir=run_dir, progress=False, **VAE)
    assert not marker.exists()


@pytest.mark.slow  # executes a notebook
def test_the_notebook_refuses_it(hostile):
    import papermill

    run_dir, marker = hostile
    with pytest.raises(papermill.PapermillExecutionError) as failed:
        papermill.execute_notebook(
            str(ROOT / "notebooks" / "4.2_vae_mnist.ipynb"),
            str(run_dir.parent / "out.ipynb"),
            parameters={"run_dir": str(run_dir), **VAE, "progress": False},
            cwd=str(ROOT / "notebooks"),
            kernel_name="python3",
            progress_bar=False,
        )
    assert failed.value.ename == "RunFileError" and "posix.system" in failed.value.evalue
    assert not marker.exists()


def test_no_checkpoint_is_ever_loaded_unsafely():
    found = subprocess.run(
        ["grep", "-rnE", "weights_only[[:space:]]*=[[:space:]]*False", "src", "scripts", "bench"]
        + ["tests"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert found.stdout == "", found.stdout


def test_a_checkpoint_of_the_older_format_resumes_bit_identical(monkeypatch, tmp_path):
    """Checkpoints written before the random states were plain values hold NumPy's key as an
    array; they are read (NumPy's array types alone admitted besides tensors) and resume to
    the figures of an uninterrupted run."""
    config = {**VAE, "epochs": 2}
    whole = train_vae(run_dir=tmp_path / "whole", progress=False, **config)

    def as_older_code_wrote_it(run_dir: Path) -> None:
        path = run_dir / CHECKPOINT
        state = load_state(path.read_bytes())
        name, key, *rest = state["rng"]["numpy"]
        state["rng"]["numpy"] = (name, key.numpy().astype(np.uint32), *rest)
        torch.save(state, path)
        data = path.read_bytes()
        metrics = load_metrics(run_dir)
        metrics["checkpoint"].update(bytes=len(data), sha256=hashlib.sha256(data).hexdigest())
        (run_dir / "metrics.json").write_text(json.dumps(metrics))
        with pytest.raises(Exception, match="Weights only load failed"):
            torch.load(path, weights_only=True)  # not loadable without the NumPy types

    original = train_vae

    def interrupted_then_rewritten(**kwargs):
        try:
            return original(**kwargs)
        except KeyboardInterrupt:
            as_older_code_wrote_it(kwargs["run_dir"])
            raise

    resumed = ctrl_c_then_resume(
        monkeypatch,
        interrupted_then_rewritten,
        VAETrainer,
        tmp_path / "resumed",
        progress=False,
        **config,
    )
    assert_same_results(whole.path, resumed.path, ["train_loss", "test_loss"], ["model"])


# --- a damaged folder or a stop: one line, never a traceback -------------------------------
@pytest.mark.parametrize(
    "record, words",
    [
        ("[1, 2]", "the whole file: Input should be a valid dictionary"),
        ("null", "the whole file: Input should be a valid dictionary"),
        ("{}", "config: Field required"),
        ('{"epochs": [1, "a"], "status": "complete", "config": {}}', "epochs.0: Input should"),
        ('{"epochs": [], "status": "done", "config": {}}', "status: Input should be"),
    ],
)
def test_evaluating_a_malformed_record_says_so_in_one_line(finished, tmp_path, record, words):
    run_dir = tmp_path / "run"
    subprocess.run(["cp", "-r", str(finished), str(run_dir)], check=True)
    (run_dir / "metrics.json").write_text(record)
    done = subprocess.run(
        [sys.executable, "-m", "genlab", "evaluate", "run", str(run_dir)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert words in done.stderr and done.stderr.count("\n") == 1, done.stderr
    assert (run_dir / "metrics.json").read_text() == record  # nothing written over it


def test_a_truncated_image_of_a_finished_run_is_named_in_one_line(finished, tmp_path, capsys):
    from genlab import cli

    run_dir = tmp_path / "run"
    subprocess.run(["cp", "-r", str(finished), str(run_dir)], check=True)
    image = run_dir / "sample_1.png"
    image.write_bytes(image.read_bytes()[:200])
    flags = [f"--{k.replace('_', '-')}={v}" for k, v in VAE.items()]
    assert cli.main(["vae", *flags, "--run-dir", str(run_dir)]) == 2
    err = capsys.readouterr().err
    assert f"{image} is unreadable (truncated or corrupted" in err and err.count("\n") == 1, err


def test_a_folder_that_cannot_be_written_is_refused_before_evaluating():
    """Root writes through permission bits, so the folder here is one no one can write in."""
    from genlab.runs import RunDirError, check_writable

    with pytest.raises(RunDirError, match="run folder /proc cannot be written"):
        check_writable(Path("/proc"))


@pytest.mark.slow  # trains in a process it interrupts
def test_ctrl_c_is_one_line_and_the_resumed_run_forgets_it(tmp_path):
    import signal
    import time

    run_dir = tmp_path / "run"
    flags = [f"--{k.replace('_', '-')}={v}" for k, v in {**VAE, "epochs": 30}.items()]
    cmd = [sys.executable, "-m", "genlab", "vae", *flags, "--no-progress", "--run-dir"]
    victim = subprocess.Popen([*cmd, str(run_dir)], stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not (run_dir / CHECKPOINT).exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    victim.send_signal(signal.SIGINT)
    _, err = victim.communicate(timeout=60)
    assert victim.returncode == 130 and "Traceback" not in err, err
    assert "interrupted: the run keeps its last complete epoch" in err
    assert load_metrics(run_dir)["status"] == "interrupted"
    metrics = json.loads((run_dir / "metrics.json").read_text())
    metrics["interrupted"] = {"reason": "the disk was full"}  # as a full disk leaves it
    (run_dir / "metrics.json").write_text(json.dumps(metrics))
    resumed = subprocess.run([*cmd, str(run_dir)], capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    final = load_metrics(run_dir)
    assert final["status"] == "complete" and "interrupted" not in final
