"""A run folder never lies: resumed runs end bit-identical with their quality measured, a
folder is never taken over by other parameters, damaged checkpoints are caught, and values
that cannot work are refused before anything is written."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from resume_utils import kill_inside_second_epoch

from genlab import cli
from genlab.runs import EPOCH_IMAGE, RunConflictError, RunFileError, load_metrics
from genlab.train.gan import train_gan
from genlab.train.vae import train_vae

# a small GAN that measures its quality every epoch, as the default runs do
GAN = {
    "train_limit": 1000,
    "batch_size": 50,
    "epochs": 2,
    "eval_samples": 0,
    "quality_samples": 200,
    "seed": 7,
    "log_interval": 5,
}
TIMING = {"seconds", "images_per_second", "load_1min", "quality_seconds"}
pytestmark = pytest.mark.usefixtures("one_thread_processes")
RUN_TIMING = {"updated", "train_seconds", "threads", "cpus"}


def gan_command(config: dict) -> list[str]:
    flags = [f"--{k.replace('_', '-')}={v}" for k, v in config.items()]
    return [sys.executable, "-m", "genlab", "gan", *flags, "--no-progress"]


def without_timing(metrics: dict) -> dict:
    kept = {k: v for k, v in metrics.items() if k not in RUN_TIMING}
    kept["epochs"] = [{k: v for k, v in e.items() if k not in TIMING} for e in metrics["epochs"]]
    return kept


def assert_bit_identical(a: Path, b: Path) -> None:
    """``b`` holds what ``a`` holds: metrics.json (timings aside, the checkpoint's digest
    included), every checkpoint tensor and every image of an epoch, byte for byte (the curves
    are drawn from metrics.json by the command line, not by training)."""
    assert without_timing(load_metrics(b)) == without_timing(load_metrics(a))
    ca = torch.load(a / "checkpoint.pt", weights_only=True)["trainer"]
    cb = torch.load(b / "checkpoint.pt", weights_only=True)["trainer"]
    for net in ("generator", "discriminator"):
        assert all(torch.equal(ca[net][k], cb[net][k]) for k in ca[net]), net
    pngs = sorted(p.name for p in a.glob("*.png") if EPOCH_IMAGE.match(p.name))
    assert pngs == sorted(p.name for p in b.glob("*.png") if EPOCH_IMAGE.match(p.name)) and pngs
    for name in pngs:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> Path:
    """The run trained in one fresh process, start to end."""
    run_dir = tmp_path_factory.mktemp("reference") / "run"
    subprocess.run([*gan_command(GAN), "--run-dir", str(run_dir)], check=True, capture_output=True)
    return run_dir


def test_kill_9_inside_an_epoch_resumes_bit_identical_with_quality_measured(tmp_path):
    """The cGAN (the GAN, with labels drawn too) killed inside epoch 2, then resumed in a new
    process: its folder equals an uninterrupted run's, per-epoch quality and its curves
    included."""
    config = {**GAN, "train_limit": 6000}  # epochs long enough to be killed inside epoch 2
    command = [*gan_command(config), "--conditional"]
    reference, run_dir = tmp_path / "a" / "run", tmp_path / "b" / "run"
    subprocess.run([*command, "--run-dir", str(reference)], check=True, capture_output=True)
    left = kill_inside_second_epoch(command, run_dir)
    assert left["status"] == "running" and len(left["epochs"]) == 1
    assert left["epochs"][0]["quality"]
    subprocess.run([*command, "--run-dir", str(run_dir)], check=True, capture_output=True)
    assert_bit_identical(reference, run_dir)
    quality = load_metrics(run_dir)["epochs"][-1]["quality"]
    assert set(quality) >= {
        "frechet_distance",
        "classes_covered",
        "within_class_variety",
        "conditional_accuracy",
    }
    assert (run_dir / "quality_curves.png").exists()


def in_a_fresh_process(code: str, **values: object) -> None:
    """Run ``code`` in a new interpreter, with ``GAN``, ``train_gan``, ``GANTrainer`` and
    ``load_classifier`` defined and ``values`` as variables: a process whose whole history is
    the test's, not whatever this test worker ran before."""
    preamble = (
        "from pathlib import Path\n"
        "from genlab.evaluate.classifier import load_classifier\n"
        "from genlab.train.gan import GANTrainer, train_gan\n"
        f"GAN = {GAN!r}\n" + "".join(f"{name} = {value!r}\n" for name, value in values.items())
    )
    done = subprocess.run([sys.executable, "-c", preamble + code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]


INTERRUPT_AT_EPOCH = """
original = GANTrainer.train_epoch
def interrupted(self, e, progress):
    if e == epoch:
        raise KeyboardInterrupt
    return original(self, e, progress)
GANTrainer.train_epoch = interrupted
load_classifier("fashion-mnist", "cpu")  # a process that measured something before
try:
    train_gan(run_dir=run_dir, progress=False, **GAN)
except KeyboardInterrupt:
    pass
"""


def test_ctrl_c_at_the_epoch_boundary_resumes_bit_identical(uninterrupted, tmp_path):
    """Interrupted as epoch 2 starts, in a process that built the classifier long before,
    resumed in a fresh one (which builds it for the first time after the checkpoint)."""
    in_a_fresh_process(INTERRUPT_AT_EPOCH, epoch=2, run_dir=str(tmp_path / "run"))
    assert load_metrics(tmp_path / "run")["status"] == "interrupted"
    subprocess.run(
        [*gan_command(GAN), "--run-dir", str(tmp_path / "run")], check=True, capture_output=True
    )
    assert_bit_identical(uninterrupted, tmp_path / "run")


INTERRUPT_MID_EPOCH_AND_RESUME = """
calls, original = [], GANTrainer.train_step
def interrupted(self, index):
    calls.append(1)
    if len(calls) == self.batches_per_epoch + 7:  # inside epoch 2
        raise KeyboardInterrupt
    return original(self, index)
GANTrainer.train_step = interrupted
try:
    train_gan(run_dir=run_dir, progress=False, **GAN)
    raise SystemExit("not interrupted")
except KeyboardInterrupt:
    pass
GANTrainer.train_step = original
train_gan(run_dir=run_dir, progress=False, **GAN)  # resumed in the same process
"""


def test_mid_epoch_interrupt_resumed_in_the_same_process_is_bit_identical(uninterrupted, tmp_path):
    in_a_fresh_process(INTERRUPT_MID_EPOCH_AND_RESUME, run_dir=str(tmp_path / "run"))
    assert_bit_identical(uninterrupted, tmp_path / "run")


TWO_RUNS = """
load_classifier("fashion-mnist", "cpu")
for run_dir in run_dirs:  # the loss curves' title is the folder's name: the same for both
    train_gan(run_dir=run_dir, progress=False, **GAN)
"""


def test_a_run_is_the_same_whatever_the_process_trained_before(uninterrupted, tmp_path):
    run_dirs = [str(tmp_path / first_or_second / "run") for first_or_second in ("a", "b")]
    in_a_fresh_process(TWO_RUNS, run_dirs=run_dirs)
    for run_dir in run_dirs:
        assert_bit_identical(uninterrupted, Path(run_dir))


VAE = {"train_limit": 256, "test_limit": 128, "epochs": 1, "eval_samples": 0}


def test_a_lost_config_json_is_restored_and_never_taken_over(tmp_path, capsys):
    run_dir = tmp_path / "run"
    train_vae(run_dir=run_dir, progress=False, **VAE)
    original = (run_dir / "config.json").read_bytes()
    metrics = (run_dir / "metrics.json").read_bytes()
    (run_dir / "config.json").unlink()
    with pytest.raises(RunConflictError, match=r"lr: 0.001 -> 0.002; from its metrics.json"):
        train_vae(run_dir=run_dir, progress=False, lr=0.002, **VAE)
    assert not (run_dir / "config.json").exists()
    assert (run_dir / "metrics.json").read_bytes() == metrics
    argv = ["--train-limit", "256", "--test-limit", "128", "--epochs", "1", "--eval-samples", "0"]
    assert cli.main(["vae", "--lr", "0.002", *argv, "--run-dir", str(run_dir)]) == 2
    assert "holds a run with other parameters" in capsys.readouterr().err
    train_vae(run_dir=run_dir, progress=False, **VAE)  # the same parameters: restored
    assert (run_dir / "config.json").read_bytes() == original


def test_a_damaged_checkpoint_of_a_finished_run_is_named_never_a_traceback(tmp_path, capsys):
    run_dir = tmp_path / "run"
    run = train_vae(run_dir=run_dir, progress=False, **VAE)
    record = run.metrics["checkpoint"]
    ckpt = run_dir / "checkpoint.pt"
    assert record["bytes"] == ckpt.stat().st_size and record["epoch"] == 1
    data = bytearray(ckpt.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte: the archive may still load
    ckpt.write_bytes(bytes(data))
    metrics = (run_dir / "metrics.json").read_bytes()
    with pytest.raises(RunFileError, match=r"checkpoint.pt is damaged"):
        train_vae(run_dir=run_dir, progress=False, **VAE)
    ckpt.write_bytes(bytes(data[: len(data) // 3]))  # truncated
    assert cli.main(["evaluate", "run", str(run_dir), "--n", "100"]) == 1
    err = capsys.readouterr().err
    assert "checkpoint.pt is damaged" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert (run_dir / "metrics.json").read_bytes() == metrics


def test_a_damaged_checkpoint_of_an_unfinished_run_is_named(tmp_path, monkeypatch):
    from genlab.train.vae import VAETrainer

    original = VAETrainer.train_epoch

    def interrupted(self, e, progress):
        if e == 2:
            raise KeyboardInterrupt
        return original(self, e, progress)

    monkeypatch.setattr(VAETrainer, "train_epoch", interrupted)
    config = {**VAE, "epochs": 2}
    with pytest.raises(KeyboardInterrupt):
        train_vae(run_dir=tmp_path / "run", progress=False, **config)
    monkeypatch.setattr(VAETrainer, "train_epoch", original)
    ckpt = tmp_path / "run" / "checkpoint.pt"
    state = torch.load(ckpt, weights_only=True)
    state["trainer"]["model"]["fc1.weight"][0, 0] += 1  # loads fine, but not what was saved
    torch.save(state, ckpt)
    with pytest.raises(RunFileError, match=r"epoch 1 checkpoint has .* while metrics.json"):
        train_vae(run_dir=tmp_path / "run", progress=False, **config)


# values that passed every per-field check and crashed after files were written
CRASHED = [
    (["gan", "--batch-size", "1"], "batch_size=1"),
    (["gan", "--train-limit", "65", "--batch-size", "64"], "last batch of 1 image"),
    (["gan", "--batch-size", "59999"], "last batch of 1 image"),
    (["gan", "--eval-samples", "1"], "eval_samples=1"),
    (["gan", "--quality-samples", "1"], "quality_samples=1"),
    (["vae", "--eval-samples", "1"], "eval_samples=1"),
    (["vae", "--hidden-dim", "1000000000"], r"hidden_dim=1000000000\); make hidden_dim smaller"),
    (["gan", "--latent-dim", "1000000000"], r"latent_dim=1000000000\); make latent_dim smaller"),
    (["gan", "--eval-samples", "1000000000"], r"eval_samples=1000000000"),
    (["gan", "--quality-samples", "100000000"], r"quality_samples=100000000"),
    (["gan", "--conditional", "--embed-dim", "100000000"], r"embed_dim=100000000"),
    (["vae", "--lr", "-inf"], r"lr=-inf: input should be a finite number"),
    (["gan", "--lr-d", "-1e-3"], r"lr_d=-0.001: input should be greater than 0"),
]


@pytest.mark.parametrize(("argv", "message"), CRASHED, ids=[" ".join(a) for a, _ in CRASHED])
def test_values_that_cannot_work_are_refused_before_any_write(tmp_path, capsys, argv, message):
    run_dir = tmp_path / "run"
    assert cli.main([*argv, "--run-dir", str(run_dir)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    assert __import__("re").search(message, err), err
    assert not run_dir.exists()


def test_memory_refusals_name_the_machine_and_the_bytes(tmp_path, capsys):
    assert cli.main(["vae", "--hidden-dim", "1000000000", "--run-dir", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "GiB of memory, and this machine has" in err


def test_a_full_disk_leaves_the_run_interrupted_with_the_reason(tmp_path, monkeypatch):
    import errno

    from genlab import runs

    real = runs.atomic_write

    def full_at_checkpoint(path, write):
        if Path(path).name == "checkpoint.pt":
            raise runs.NoSpaceError(errno.ENOSPC, "No space left on device (test)")
        return real(path, write)

    monkeypatch.setattr(runs, "atomic_write", full_at_checkpoint)
    with pytest.raises(runs.NoSpaceError):
        train_vae(run_dir=tmp_path / "run", progress=False, **VAE)
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["status"] == "interrupted"
    assert "No space left on device" in metrics["interrupted"]["reason"]


def test_a_repaired_data_file_is_said_in_one_line(tmp_path, capsys):
    from genlab.data import Source, check_files, data_root, fetch, get_spec, raw_dir

    spec = get_spec("fashion-mnist")
    good = raw_dir(spec, data_root())
    raw = raw_dir(spec, tmp_path)
    raw.mkdir(parents=True)
    for name in spec.files:
        (raw / name).write_bytes((good / name).read_bytes())
    damaged = raw / "train-labels-idx1-ubyte"
    data = bytearray(damaged.read_bytes())
    data[100] ^= 0xFF
    damaged.write_bytes(bytes(data))

    def copy_good(spec, raw):
        for name in spec.files:
            (raw / name).write_bytes((good / name).read_bytes())

    fetch(spec, tmp_path, [Source("a copy", (spec.name,), copy_good, str(good))])
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"genlab.fetch: fashion-mnist: train-labels-idx1-ubyte (damaged) in {raw} "
        f"provided by a copy ({good})"
    ]
    assert check_files(spec, raw) == []


def test_no_run_folder_is_written_when_no_source_has_the_data(tmp_path, monkeypatch, capsys):
    import genlab.fetch

    monkeypatch.setenv("GENLAB_DATA", str(tmp_path / "empty"))
    monkeypatch.setattr(genlab.fetch, "default_sources", lambda root: [])
    run_dir = tmp_path / "run"
    assert cli.main(["vae", "--epochs", "1", "--run-dir", str(run_dir)]) == 2
    assert "no source could provide mnist" in capsys.readouterr().err
    assert not run_dir.exists()


def test_a_run_never_mixes_quality_measured_on_other_sample_counts(tmp_path):
    config = {
        "train_limit": 256,
        "batch_size": 64,
        "epochs": 1,
        "eval_samples": 0,
        "quality_samples": 100,
    }
    train_gan(run_dir=tmp_path / "run", progress=False, **config)
    for changed in ({"quality_samples": 200}, {"quality_every": 2}):
        with pytest.raises(RunConflictError, match=rf"{next(iter(changed))}: "):
            train_gan(run_dir=tmp_path / "run", progress=False, **{**config, **changed})
