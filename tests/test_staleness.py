"""Re-runs by content, not by clock: an executed notebook records a digest of what it was made
from (the notebook's source, its parameters, the records of the runs it quotes, the
fingerprint of the code it imports), and is stale exactly when that digest changes. Executed
notebooks are made here without papermill (the source notebook with papermill's metadata), so
this is fast."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import nbformat
import pytest

from genlab.course import executor
from genlab.course.executor import PROBLEMS, is_complete, made_from, staleness, stamp
from genlab.course.pipeline import main
from genlab.course.planning import plan
from genlab.course.ray_node import PointResult
from genlab.provenance import closure

ROOT = Path(__file__).resolve().parents[1]
OTHER_RECORD = '{"status": "complete", "config": {"x": 1}}'  # new records of a finished run
EPOCH = {"epoch": 1, "seconds": 1.0, "images_per_second": 1.0, "load_1min": 0.0}  # one recorded


def execute_without_papermill(point: executor.Point) -> None:
    """The executed notebook as papermill and the executor leave it, its cells not run."""
    nb = nbformat.read(executor.NOTEBOOKS / point.source_notebook, as_version=4)
    nb.metadata["papermill"] = {
        "end_time": "2026-12-03T00:00:00",
        "exception": None,
        "parameters": point.parameters,
    }
    stamp(nb, made_from(point))
    point.notebook.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, point.notebook)


@pytest.fixture
def results(tmp_path, monkeypatch):
    """A results folder where every run finished and every point's notebook is complete; the
    notebooks are a copy of notebooks/ (``executor.NOTEBOOKS``) that a test may edit."""
    notebooks = tmp_path / "notebooks"
    shutil.copytree(ROOT / "notebooks", notebooks)
    monkeypatch.setattr(executor, "NOTEBOOKS", notebooks)
    out = tmp_path / "results"
    for problem, spec in PROBLEMS.items():
        for name in spec.run_names():
            run = out / problem / name
            run.mkdir(parents=True)
            (run / "metrics.json").write_text(
                json.dumps({"status": "complete", "config": {"run": name}})
            )
            if not spec.model:
                (run / "comparison.json").write_text("[]")
    points = plan(out)
    for point in points:
        execute_without_papermill(point)
    assert all(is_complete(p) for p in points)
    return out, points, notebooks


def stale(points: list[executor.Point]) -> set[str]:
    return {p.label for p in points if not is_complete(p)}


def test_a_changed_notebook_makes_its_points_stale_and_no_other(results):
    out, points, notebooks = results
    path = notebooks / PROBLEMS["4.2"].notebook
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_markdown_cell("One more sentence."))
    nbformat.write(nb, path)
    assert stale(points) == {"4.2/default"}
    assert staleness(points[0]) == "notebooks/4.2_vae_mnist.ipynb changed"
    extra = notebooks / executor.EXTRA_SEED_NOTEBOOK
    extra.write_text(extra.read_text().replace('"source": [', '"source": [\n"# edited\\n",', 1))
    seeds = {p.label for p in points if p.source == executor.EXTRA_SEED_NOTEBOOK}
    assert seeds and stale(points) == {"4.2/default"} | seeds


def test_changed_parameters_make_exactly_the_points_that_receive_them_stale(results):
    out, points, _ = results
    before = {p.label: p.parameters for p in points}
    changed = plan(out, sets={"4.3/bs128_ep10": {"eval_samples": 5000}})
    affected = {p.label for p in changed if p.parameters != before[p.label]}
    assert "4.3/bs128_ep10" in affected and "4.3/bs64_ep10" not in affected
    assert stale(changed) == affected  # the point and its other seeds, which train like it
    assert staleness(changed[[p.label for p in changed].index("4.3/bs128_ep10")]) == (
        "its parameters changed"
    )


def test_a_quoted_runs_records_make_the_points_that_quote_it_stale(results):
    out, points, _ = results
    (out / "4.3" / "bs128_ep10" / "metrics.json").write_text(
        '{"status": "complete", "config": {"x": 1}}'
    )
    others = {f"4.3/{n}" for n in PROBLEMS["4.3"].points} - {"4.3/bs128_ep10"}
    assert stale(points) == others | {"5.6/comparison"}  # not itself, nor any seed, 4.2, 5.x
    point = next(p for p in points if p.label == "4.3/bs64_ep10")
    assert staleness(point) == "quoted runs changed: 4.3/bs128_ep10"
    # a run that appears, or disappears, is a change too
    (out / "5.6" / "comparison" / "comparison.json").unlink()
    (out / "5.6" / "comparison" / "metrics.json").unlink()
    assert stale(points) == others | {"5.6/comparison"}  # 5.5 quotes no 5.6 number
    (out / "5.3" / "seeds" / "g_faster-seed2" / "metrics.json").unlink()
    gans = {f"5.3/{n}" for n in PROBLEMS["5.3"].points} | {"5.5/course", "5.5/improved"}
    assert stale(points) == others | {"5.6/comparison"} | gans


def test_the_same_records_written_again_later_change_nothing(results):
    out, points, _ = results
    path = out / "4.3" / "bs128_ep10" / "metrics.json"
    path.write_bytes(path.read_bytes())
    os.utime(path, (2e9, 2e9))  # far in the future: clocks decide nothing
    assert stale(points) == set()


def test_a_new_version_of_report_makes_every_point_stale(results, monkeypatch):
    _, points, _ = results
    monkeypatch.setattr(executor, "code_version", lambda nb: "another")
    assert stale(points) == {p.label for p in points}
    assert staleness(points[0]) == "the code it imports changed"


def test_a_notebooks_code_is_every_module_its_cells_reach():
    """Not report/ alone: the grids, 5.6's comparison, the config's help and the libraries."""
    nb = nbformat.read(executor.NOTEBOOKS / "5.6_vae_vs_gan.ipynb", as_version=4)
    reached = set(closure(executor.notebook_modules(nb)))
    assert {
        "genlab.course.grids",
        "genlab.course.compare.table",
        "genlab.config",
        "genlab.course.report.answers",
    } <= reached


def test_a_notebook_without_a_digest_or_that_failed_is_stale(results):
    _, points, _ = results
    point = points[0]
    nb = nbformat.read(point.notebook, as_version=4)
    del nb.metadata[executor.STAMP]
    nbformat.write(nb, point.notebook)
    assert "before notebooks recorded" in staleness(point)
    nb.metadata.papermill["exception"] = True
    nbformat.write(nb, point.notebook)
    assert "failed" in staleness(point)


def test_the_ray_driver_records_what_the_local_executor_records(results):
    from genlab.course.cluster import write_result

    out, points, _ = results
    point = next(p for p in points if p.label == "4.3/bs64_ep10")
    local = nbformat.read(point.notebook, as_version=4)
    (out / "4.3" / "bs128_ep10" / "metrics.json").write_text(
        '{"status": "complete", "config": {"x": 1}}'
    )
    assert not is_complete(point)
    made = made_from(point)
    del local.metadata[executor.STAMP]
    result = PointResult(0, "node", 1.0, nbformat.writes(local).encode(), b"log", None)
    write_result(point, result, made)  # the Ray path: the notebook that came back, stamped
    assert is_complete(point)
    execute_without_papermill(point)  # the local path, on the same inputs
    assert nbformat.read(point.notebook, as_version=4).metadata[executor.STAMP] == {
        "digest": executor.digest(made),
        "made_from": made,
    }


def files(folder: Path) -> dict[str, tuple[int, bytes]]:
    return {
        str(p): (p.stat().st_mtime_ns, p.read_bytes())
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_dry_run_lists_every_point_with_its_reason_and_writes_nothing(results, capsys):
    out, points, _ = results
    shutil.rmtree(out / "4.2" / "default")  # never trained (4.2 quotes no other problem)
    (out / "4.2" / "default.ipynb").unlink()
    (out / "4.3" / "bs128_ep10" / "metrics.json").write_text(
        '{"status": "complete", "config": {"x": 1}}'
    )
    before = files(out)
    assert main(["--dry-run", "--out", str(out)]) == 0
    assert files(out) == before
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(points)
    rows = {line.split()[1]: (line.split()[0], line.split(maxsplit=2)[2]) for line in lines}
    assert rows["4.2/default"] == ("train", "not executed yet; no finished run")
    assert rows["4.3/bs128_ep10"] == ("skip", "complete, made from the same inputs")
    assert rows["4.3/bs64_ep10"] == ("execute", "quoted runs changed: 4.3/bs128_ep10")
    assert rows["5.6/comparison"][0] == "execute"
    assert {a for a, _ in rows.values()} == {"skip", "execute", "train"}
    assert main(["--dry-run", "--reexecute", "--no-train", "--out", str(out)]) == 0
    rows = {ln.split()[1]: ln.split()[0] for ln in capsys.readouterr().out.splitlines()}
    assert rows["4.3/bs64_ep20"] == "execute" and rows["4.2/default"] == "skip"
    assert main(["--dry-run", "--force", "--only", "4.3", "5.6", "--out", str(out)]) == 0
    rows = {ln.split()[1]: ln.split()[0] for ln in capsys.readouterr().out.splitlines()}
    assert rows.pop("5.6/comparison") == "execute" and set(rows.values()) == {"train"}
    assert files(out) == before


def test_dry_run_on_a_fresh_folder_trains_everything_and_creates_nothing(tmp_path, capsys):
    assert main(["--dry-run", "--quick", "--out", str(tmp_path / "fresh")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines and all(ln.split()[0] in ("train", "execute") for ln in lines)
    assert not (tmp_path / "fresh").exists()


def test_a_run_trained_by_other_code_is_trained_again_and_nothing_else(
    results, monkeypatch, capsys
):
    """A point whose run folder holds another code's run (genlab.provenance) trains again;
    the points quoting it wait for its new records, as for any retrained run."""
    from genlab import provenance

    out, points, _ = results
    trained = {
        "status": "complete",
        "epochs": [EPOCH],
        "config": {"model": "vae"},
        "code": provenance.code_record("vae"),
    }
    (out / "4.2" / "default" / "metrics.json").write_text(json.dumps(trained))
    for point in points:
        execute_without_papermill(point)
    assert stale(points) == set()
    digest = provenance.module_digest
    monkeypatch.setattr(
        provenance,
        "module_digest",  # a student edits the VAE
        lambda name, *form: "edited" if name == "genlab.models.vae" else digest(name, *form),
    )
    assert stale(points) == {"4.2/default"}
    assert main(["--dry-run", "--out", str(out)]) == 0
    rows = {ln.split()[1]: ln.split(maxsplit=2) for ln in capsys.readouterr().out.splitlines()}
    action, _, why = rows["4.2/default"]
    assert action == "train" and "genlab.models.vae" in why, why
    assert {r[0] for label, r in rows.items() if label != "4.2/default"} == {"skip"}
    kept = f"4.2/superseded/default.code-{trained['code']['digest']}"
    assert f"its trained run is kept: moved to {kept}/" in why, why

    # executed: the trained run is moved aside whole, never deleted, and trains anew
    before = (out / "4.2" / "default" / "metrics.json").read_bytes()
    point = next(p for p in points if p.label == "4.2/default")
    assert executor.clear(point, force=False)
    assert not point.run_dir.exists()
    assert (out / kept / "metrics.json").read_bytes() == before


def test_force_moves_a_finished_run_aside_and_never_deletes_it(results, capsys):
    out, points, _ = results
    run = out / "4.2" / "default"
    trained = {"status": "complete", "epochs": [EPOCH], "config": {"model": "vae"}}
    from genlab import provenance

    trained["code"] = provenance.code_record("vae")
    (run / "metrics.json").write_text(json.dumps(trained))
    (run / "sample_1.png").write_bytes(b"an image")
    assert main(["--dry-run", "--force", "--only", "4.2", "--out", str(out)]) == 0
    line = capsys.readouterr().out.splitlines()[0]
    assert line.split()[:2] == ["train", "4.2/default"]
    assert "--force; its trained run is kept: moved to 4.2/superseded/default.forced-" in line
    point = next(p for p in points if p.label == "4.2/default")
    assert executor.clear(point, force=True) and not run.exists()
    [kept] = (out / "4.2" / "superseded").iterdir()
    assert kept.name.startswith("default.forced-")
    assert (kept / "sample_1.png").read_bytes() == b"an image"
    # a folder with no trained epoch is left where it is: nothing to keep
    run.mkdir()
    (run / "metrics.json").write_text(json.dumps({"status": "running", "config": {}, "epochs": []}))
    assert executor.clear(point, force=True) and run.exists()
    assert len(list((out / "4.2" / "superseded").iterdir())) == 1


def test_no_code_path_deletes_a_run_folder():
    """Every ``rmtree`` in the package removes a temporary folder or a scratch copy, never a
    results run folder: a run trained again is moved aside (``executor.clear``)."""
    allowed = {
        "course/cluster.py": 3,  # the driver's fresh copy and the swapped-out one (the same run)
        "course/ray_node.py": 1,  # a node's scratch folder
    }
    found = {}
    for path in sorted((ROOT / "src" / "genlab").rglob("*.py")):
        n = path.read_text().count("rmtree(")
        if n:
            found[path.relative_to(ROOT / "src" / "genlab").as_posix()] = n
    assert found == allowed


def test_a_notebooks_page_is_rebuilt_by_its_content_not_its_clock(tmp_path):
    from genlab.course.site import notebook_html

    notebook = tmp_path / "extra_seed.ipynb"
    shutil.copy(executor.NOTEBOOKS / "extra_seed.ipynb", notebook)
    page = notebook_html(notebook, tmp_path)
    os.utime(page, (0, 0))  # older than the notebook: a clock would rebuild it
    assert notebook_html(notebook, tmp_path) == page and page.stat().st_mtime == 0
    nb = nbformat.read(notebook, as_version=4)
    nb.cells.append(nbformat.v4.new_markdown_cell("A new cell."))
    nbformat.write(nb, notebook)
    os.utime(notebook, (0, 0))  # older than the page: a clock would keep it
    assert "A new cell." in notebook_html(notebook, tmp_path).read_text()
