"""A run knows the code that trained it: a changed model is never shown with an old model's
results, from the command line or a notebook, and ``restamp`` keeps only runs whose first
epoch the new code reproduces bit-identically."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import papermill
import pytest

from genlab.provenance import TRAINING_CODE, changed_modules, code_record, stale_reason

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--train-limit", "256", "--test-limit", "256", "--epochs", "1", "--eval-samples", "0"]


@pytest.fixture
def package(tmp_path: Path) -> Path:
    """A copy of the repository's code (src/genlab, pyproject.toml, notebooks) to edit."""
    copy = tmp_path / "repo"
    shutil.copytree(ROOT / "src" / "genlab", copy / "src" / "genlab",
                    ignore=shutil.ignore_patterns("__pycache__", "weights"))  # fmt: skip
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
    return subprocess.run([sys.executable, "-m", "genlab", *args], cwd=package,
                          env=env_of(package), capture_output=True, text=True)  # fmt: skip


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{path.name} no longer holds {old!r}: update this test"
    path.write_text(text.replace(old, new, 1))


def test_the_digest_ignores_comments_docstrings_and_layout_but_not_code(package, monkeypatch):
    monkeypatch.syspath_prepend(str(package / "src"))
    for name in [m for m in sys.modules if m == "genlab" or m.startswith("genlab.")]:
        monkeypatch.delitem(sys.modules, name)
    vae = package / "src" / "genlab" / "models" / "vae.py"
    before = code_record("vae")
    assert set(before["modules"]) == set(TRAINING_CODE["vae"])
    text = vae.read_text()
    vae.write_text('"""Another docstring."""\n# a comment\n\n\n' + text.split('"""', 2)[2])

    def now() -> dict:
        for name in [m for m in sys.modules if m.startswith("genlab.models.vae")]:
            del sys.modules[name]
        return code_record("vae")

    assert now() == before
    assert stale_reason(before, "vae") is None
    edit(vae, "F.relu(self.fc1(x))", "F.leaky_relu(self.fc1(x))")
    assert now()["digest"] != before["digest"]
    assert changed_modules(before, "vae") == ["genlab.models.vae"]
    assert stale_reason(before, "vae") == (
        "its code changed since it was trained: genlab.models.vae"
    )
    assert stale_reason(None, "vae") == "it was trained before runs recorded their code"


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
            str(package / "notebooks" / "4.2_vae_mnist.ipynb"), str(tmp_path / "out.ipynb"),
            parameters={"run_dir": str(run_dir), "epochs": 1, "progress": False,
                        "overrides": {"train_limit": 256, "test_limit": 256,
                                      "eval_samples": 0}},
            kernel_name="python3", cwd=str(package / "notebooks"), progress_bar=False,
        )  # fmt: skip


@pytest.mark.slow  # trains tiny runs
def test_restamp_keeps_a_refactor_and_refuses_a_change_of_numbers(package, tmp_path):
    runs = [tmp_path / "vae", tmp_path / "gan"]
    made = genlab(package, "vae", *TINY, "--run-dir", str(runs[0]), "--no-progress")
    assert made.returncode == 0, made.stderr
    gan = ["--train-limit", "256", "--epochs", "1", "--eval-samples", "0",
           "--quality-samples", "200"]  # fmt: skip
    made = genlab(package, "gan", *gan, "--run-dir", str(runs[1]), "--no-progress")
    assert made.returncode == 0, made.stderr

    loop = package / "src/genlab/train/loop.py"
    edit(loop, "seconds = time.perf_counter() - t0", "elapsed = time.perf_counter() - t0\n"
         "            seconds = elapsed")  # a refactor: no number changes  # fmt: skip
    assert genlab(package, "vae", *TINY, "--run-dir", str(runs[0])).returncode == 2
    done = genlab(package, "restamp", *map(str, runs))
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("reproduces bit-identically") == 2, done.stdout
    assert genlab(package, "vae", *TINY, "--run-dir", str(runs[0])).returncode == 0

    # a change of numbers: the restamp names what moved and records nothing
    edit(package / "src/genlab/models/vae.py", "F.relu(self.fc1(x))", "F.leaky_relu(self.fc1(x))")
    refused = genlab(package, "restamp", str(runs[0]))
    assert refused.returncode == 1
    assert "does not reproduce" in refused.stderr and "train_loss" in refused.stderr
    assert genlab(package, "vae", *TINY, "--run-dir", str(runs[0])).returncode == 2
