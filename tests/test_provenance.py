"""A run knows the code that trained it: a changed model is never shown with an old model's
results, from the command line or a notebook, and ``restamp`` keeps only runs whose first
epoch the new code reproduces bit-identically."""

from __future__ import annotations

import importlib
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import papermill
import pytest

pytestmark = pytest.mark.usefixtures("one_thread", "one_thread_kernels")

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--train-limit", "256", "--test-limit", "256", "--epochs", "1", "--eval-samples", "0"]


@pytest.fixture
def package(tmp_path: Path) -> Path:
    """A copy of the repository's code (src/genlab, pyproject.toml, notebooks) to edit."""
    copy = tmp_path / "repo"
    shutil.copytree(
        ROOT / "src" / "genlab",
        copy / "src" / "genlab",
        ignore=shutil.ignore_patterns("__pycache__", "weights"),
    )
    (copy / "src" / "genlab" / "evaluate" / "weights").symlink_to(
        ROOT / "src" / "genlab" / "evaluate" / "weights"
    )
    shutil.copy(ROOT / "pyproject.toml", copy)
    shutil.copytree(ROOT / "notebooks", copy / "notebooks")
    return copy


def env_of(package: Path) -> dict[str, str]:
    data = os.environ.get("GENLAB_DATA") or str(ROOT / "data")
    return {**os.environ, "PYTHONPATH": str(package / "src"), "GENLAB_DATA": data}


def genlab(package: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "genlab", *args],
        cwd=package,
        env=env_of(package),
        capture_output=True,
        text=True,
    )


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{path.name} no longer holds {old!r}: update this test"
    path.write_text(text.replace(old, new, 1))


def fresh_provenance(package: Path, monkeypatch) -> Any:
    """``genlab.provenance`` imported from the copy ``package``."""
    monkeypatch.syspath_prepend(str(package / "src"))
    for name in [m for m in sys.modules if m == "genlab" or m.startswith("genlab.")]:
        monkeypatch.delitem(sys.modules, name)
    provenance = importlib.import_module("genlab.provenance")
    assert provenance.PACKAGE == package / "src" / "genlab"
    return provenance


def test_the_digest_ignores_comments_docstrings_and_layout_but_not_code(package, monkeypatch):
    provenance = fresh_provenance(package, monkeypatch)
    vae = package / "src" / "genlab" / "models" / "vae.py"
    before = provenance.code_record("vae")
    text = vae.read_text()
    vae.write_text('"""Another docstring."""\n# a comment\n\n\n' + text.split('"""', 2)[2])
    assert provenance.code_record("vae") == before
    assert provenance.stale_reason(before, "vae") is None
    edit(vae, "F.relu(self.fc1(x))", "F.leaky_relu(self.fc1(x))")
    assert provenance.code_record("vae")["digest"] != before["digest"]
    assert provenance.changed_modules(before, "vae") == ["genlab.models.vae"]
    assert provenance.stale_reason(before, "vae") == (
        "its code changed since it was trained: genlab.models.vae"
    )
    assert provenance.stale_reason(None, "vae") == "it was trained before runs recorded their code"


def test_a_runs_fingerprint_is_the_code_that_computes_its_numbers(package, monkeypatch):
    provenance = fresh_provenance(package, monkeypatch)
    for model, other in (("vae", "gan"), ("gan", "vae")):
        modules = set(provenance.code_record(model)["modules"])
        assert modules == set(provenance.run_modules(model))
        assert modules < set(provenance.closure([provenance.RUN_ENTRIES[model]]))
        # its model, its loop and step, resume and the RNGs, the data, the config, the
        # classifier behind every per-epoch distance and the final evaluation
        assert {
            f"genlab.models.{model}",
            f"genlab.train.{model}",
            "genlab.train.common",
            "genlab.runs",
            "genlab.rngs",
            "genlab.data",
            "genlab.config",
            "genlab.evaluate.classifier",
            "genlab.evaluate.sampling",
        } <= modules
        # not the other model, the figures drawn from metrics.json, the bookkeeping, the pages
        assert not modules & {
            f"genlab.models.{other}",
            f"genlab.train.{other}",
            "genlab.plots",
            "genlab.memory",
            "genlab.provenance",
            "genlab.restamp",
        }
        assert not {m for m in modules if m.startswith("genlab.course")}
    # an import inside a function counts: the entry imports the final evaluation lazily
    assert "genlab.evaluate" in provenance.graph()["genlab.train.entry"]


def test_an_edit_to_a_plot_or_the_other_model_leaves_a_run_current(package, monkeypatch):
    provenance = fresh_provenance(package, monkeypatch)
    vae, gan = provenance.code_record("vae"), provenance.code_record("gan")
    edit(package / "src/genlab/plots.py", '"sample quality during', '"Sample quality during')
    (package / "src/genlab/models/gan.py").write_text(
        (package / "src/genlab/models/gan.py").read_text() + "\nEDITED = 1\n"
    )
    assert provenance.stale_reason(vae, "vae") is None
    assert provenance.stale_reason(gan, "gan") == (
        "its code changed since it was trained: genlab.models.gan"
    )


def planned(package: Path) -> dict[str, str]:
    """What ``./run_all.sh --dry-run`` with the code of ``package`` plans for the committed
    results: each point's action."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "genlab.course.pipeline",
            "--dry-run",
            "--out",
            str(ROOT / "results"),
        ],
        cwd=package,
        env=env_of(package),
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    return {line.split()[1]: line.split()[0] for line in done.stdout.splitlines()}


def test_a_plot_title_edit_trains_nothing_and_a_gan_edit_no_vae(package):
    """An edit costs what it changes: the committed runs are this code's; a figure's title
    re-executes notebooks and retrains nothing; the GAN's model retrains the GANs alone."""
    assert "train" not in planned(package).values()
    edit(package / "src/genlab/plots.py", '"sample quality during', '"Sample quality during')
    assert "train" not in planned(package).values()
    gan = package / "src/genlab/models/gan.py"
    gan.write_text(gan.read_text() + "\nEDITED = 1\n")
    trained = {label for label, action in planned(package).items() if action == "train"}
    assert {"5.3/equal_lr", "5.5/course"} <= trained
    assert not {label for label in trained if label.startswith("4.")}, trained


@pytest.mark.parametrize("module", ["evaluate/classifier.py", "runs.py"])
def test_an_edit_to_the_classifier_or_the_run_folder_makes_a_run_stale(
    package, monkeypatch, module
):
    provenance = fresh_provenance(package, monkeypatch)
    before = provenance.code_record("gan")
    path = package / "src" / "genlab" / module
    path.write_text(path.read_text() + "\nEDITED = 1\n")
    name = "genlab." + module.removesuffix(".py").replace("/", ".")
    assert provenance.stale_reason(before, "gan") == (
        f"its code changed since it was trained: {name}"
    )


def test_another_library_version_makes_a_run_stale(package, monkeypatch):
    provenance = fresh_provenance(package, monkeypatch)
    before = provenance.code_record("vae")
    assert set(before["libraries"]) == {"torch", "torchvision", "torchmetrics", "numpy"}
    real = importlib.metadata.version
    monkeypatch.setattr(
        importlib.metadata,
        "version",
        lambda name: "9.9.9" if name == "torchmetrics" else real(name),
    )
    reason = provenance.stale_reason(before, "vae")
    assert reason == (
        f"its code changed since it was trained: torchmetrics "
        f"{before['libraries']['torchmetrics']} -> 9.9.9"
    )


@pytest.mark.slow  # trains tiny runs, executes a notebook
def test_a_changed_model_is_never_reopened(package, tmp_path, monkeypatch):
    run_dir = tmp_path / "run"
    first = genlab(package, "vae", *TINY, "--run-dir", str(run_dir), "--no-progress")
    assert first.returncode == 0, first.stderr
    assert genlab(package, "vae", *TINY, "--run-dir", str(run_dir)).returncode == 0  # reopened
    default = genlab(package, "vae", *TINY, "--no-progress")
    assert default.returncode == 0, default.stderr

    # a student's change: one more hidden layer's worth of difference in the encoder
    edit(package / "src/genlab/models/vae.py", "F.relu(self.fc1(x))", "F.leaky_relu(self.fc1(x))")
    again = genlab(package, "vae", *TINY, "--run-dir", str(run_dir), "--no-progress")
    assert again.returncode == 2
    assert again.stderr.count("\n") == 1, again.stderr  # one line
    assert "genlab.models.vae" in again.stderr and "restamp" in again.stderr
    # the default folder is the config's and the code's: the changed model trains anew
    changed = genlab(package, "vae", *TINY, "--no-progress")
    assert changed.returncode == 0, changed.stderr
    assert changed.stdout.split(":")[0] != default.stdout.split(":")[0]
    assert "reopened" not in changed.stdout

    for name, value in env_of(package).items():  # the kernel's environment: the edited copy
        monkeypatch.setenv(name, value)
    with pytest.raises(papermill.PapermillExecutionError, match="StaleCodeError"):
        papermill.execute_notebook(
            str(package / "notebooks" / "4.2_vae_mnist.ipynb"),
            str(tmp_path / "out.ipynb"),
            parameters={
                "run_dir": str(run_dir),
                "epochs": 1,
                "progress": False,
                "overrides": {"train_limit": 256, "test_limit": 256, "eval_samples": 0},
            },
            kernel_name="python3",
            cwd=str(package / "notebooks"),
            progress_bar=False,
        )


def commit(package: Path) -> None:
    """Make the copy a git repository holding its code: restamp finds the recorded code there."""
    run = {"cwd": package, "check": True, "capture_output": True}
    subprocess.run(["git", "init", "-q"], **run)
    subprocess.run(["git", "add", "-A"], **run)
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "c"], **run
    )


@pytest.mark.slow  # trains tiny runs
def test_restamp_keeps_a_refactor_and_refuses_a_change_of_numbers(package, tmp_path):
    commit(package)
    runs = [tmp_path / "vae", tmp_path / "gan"]
    made = genlab(package, "vae", *TINY, "--run-dir", str(runs[0]), "--no-progress")
    assert made.returncode == 0, made.stderr
    gan = [
        "--train-limit",
        "256",
        "--epochs",
        "1",
        "--eval-samples",
        "0",
        "--quality-samples",
        "200",
    ]
    made = genlab(package, "gan", *gan, "--run-dir", str(runs[1]), "--no-progress")
    assert made.returncode == 0, made.stderr

    common = package / "src/genlab/train/common.py"
    edit(common, "run.add_epoch(record)", "run.add_epoch(dict(record))")  # a refactor
    assert genlab(package, "vae", *TINY, "--run-dir", str(runs[0])).returncode == 2
    done = genlab(package, "restamp", *map(str, runs))
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("this code makes the recorded code's numbers") == 2, done.stdout
    restamped = json.loads((runs[0] / "metrics.json").read_text())["code"]["restamped"]
    assert restamped["check"].startswith("epochs 1-1, the final evaluation, the checkpoint")
    assert genlab(package, "vae", *TINY, "--run-dir", str(runs[0])).returncode == 0
    commit(package)  # the refactor is the code the runs now record

    # a change of numbers: the restamp names what moved and records nothing
    edit(package / "src/genlab/models/vae.py", "F.relu(self.fc1(x))", "F.leaky_relu(self.fc1(x))")
    refused = genlab(package, "restamp", str(runs[0]))
    assert refused.returncode == 1
    assert "does not make the numbers" in refused.stderr and "train_loss" in refused.stderr
    assert genlab(package, "vae", *TINY, "--run-dir", str(runs[0])).returncode == 2
