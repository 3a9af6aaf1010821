"""What the repository promises about itself: clean, thin notebooks; grids that point at them."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from notebook_utils import clean_notebook

from genlab.course.executor import EXTRA_SEED_NOTEBOOK
from genlab.course.grids import PROBLEMS

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def test_every_problem_has_its_notebook_and_every_notebook_a_problem():
    # and one more: the other seeds of a grid point train with it
    expected = {p.notebook for p in PROBLEMS.values()} | {EXTRA_SEED_NOTEBOOK}
    assert {p.name for p in NOTEBOOKS} == expected


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebooks_are_kept_without_outputs(path):
    nb, _ = clean_notebook(path)
    nbformat.validate(nb)


def test_pre_commit_runs_the_checks_of_run_tests_with_the_locked_versions():
    """.pre-commit-config.yaml and ./run_tests.sh (CI) check the same things: ruff check and
    ruff format --check on the same folders, at the ruff of requirements.txt; and notebooks/
    stripped of outputs (nbstripout there, test_notebooks_are_kept_without_outputs here)."""
    hooks = (ROOT / ".pre-commit-config.yaml").read_text()
    ci = (ROOT / "run_tests.sh").read_text()
    ruff = re.search(r"^ruff==(\S+)$", (ROOT / "requirements.txt").read_text(), re.M)
    assert ruff and hooks.count(f'"ruff=={ruff.group(1)}"') == 2
    for check in ("ruff check", "ruff format --check"):
        assert f"entry: {check} " in hooks and f".venv/bin/{check} src tests bench scripts" in ci
    assert hooks.count("files: ^(src|tests|bench|scripts)/") == 2
    assert "entry: nbstripout" in hooks and r"files: ^notebooks/.*\.ipynb$" in hooks


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebooks_have_one_parameters_cell_and_no_model_code(path):
    nb, _ = clean_notebook(path)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    for forbidden in ("nn.Module", "nn.Linear", "optimizer.step", "class ", "def "):
        assert forbidden not in code, f"{path.name} defines {forbidden!r}: it belongs in genlab"
    assert "genlab" in code


def test_command_line_help_lists_every_parameter_with_its_default():
    done = subprocess.run(
        [sys.executable, "-m", "genlab", "vae", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    for flag in ("--batch-size", "--epochs", "--seed", "--log-interval", "--no-cuda", "--lr"):
        assert flag in done.stdout
    assert "(default: 128)" in done.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "genlab", "gan", "--g-steps", "0"], capture_output=True, text=True
    )
    assert bad.returncode == 2 and "g_steps=0: input should be greater" in bad.stderr


TRAINING = {p.notebook for p in PROBLEMS.values() if p.model}


@pytest.mark.parametrize("path", [p for p in NOTEBOOKS if p.name in TRAINING], ids=lambda p: p.name)
def test_problem_notebooks_show_the_code_that_trains_from_the_package(path):
    nb = nbformat.read(path, as_version=4)
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    shown = [i for i, source in enumerate(code) if "source_markdown(" in source]
    assert shown and shown[0] <= 3, f"{path.name}: the model and its step are shown near the top"
    assert "train_step" in code[shown[0]] and "loss" in code[shown[0]]


@pytest.mark.parametrize("problem", [p for p, spec in PROBLEMS.items() if spec.model])
def test_a_parameters_cell_holds_literal_defaults_that_are_its_configs(problem):
    """A student running a notebook by hand trains what ./run_all.sh's grid says it trains:
    every default is a literal equal to the config's (or to the value all grid points share),
    and every other name is one of the notebook's own three."""
    spec = PROBLEMS[problem]
    nb = nbformat.read(ROOT / "notebooks" / spec.notebook, as_version=4)
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    defaults = {}
    for node in ast.parse(cell.source).body:
        assert isinstance(node, ast.Assign), f"{problem}: only assignments, got {ast.dump(node)}"
        defaults[node.targets[0].id] = ast.literal_eval(node.value)  # a literal, nothing else
    expected = spec.notebook_defaults()
    fields = set(type(expected).model_fields)
    assert set(defaults) - fields == {"overrides", "config_json", "run_dir", "progress"}, problem
    for name in set(defaults) & fields:
        assert defaults[name] == getattr(expected, name), f"{problem}: {name}"
    for point in spec.points.values():  # every value a grid point sets is a visible parameter
        assert set(point) <= set(defaults), problem


@pytest.mark.slow
def test_a_notebook_run_by_hand_in_a_clone_leaves_git_status_clean(tmp_path):
    """A student's run (``run_dir = None``) trains into ``results/runs/``, which git ignores,
    like every other scratch output of running a notebook."""
    import os

    from genlab.data import data_root

    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    env = {**os.environ, "PYTHONPATH": str(clone / "src"), "GENLAB_DATA": str(data_root())}
    subprocess.run(
        [
            sys.executable,
            "-m",
            "papermill",
            "notebooks/4.2_vae_mnist.ipynb",
            str(tmp_path / "out.ipynb"),
            "--cwd",
            "notebooks",
            "-p",
            "epochs",
            "1",
            "-p",
            "train_limit",
            "512",
            "-p",
            "progress",
            "False",
            "-y",
            "overrides: {test_limit: 128, eval_samples: 0}",
        ],
        cwd=clone,
        env=env,
        check=True,
        capture_output=True,
    )
    assert [p.name for p in (clone / "results" / "runs").iterdir()]  # trained in the clone
    status = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"],
        cwd=clone,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert status == ""
