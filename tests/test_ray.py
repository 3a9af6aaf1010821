"""./run_all.sh --ray on a real two-node Ray cluster started here (no mocks), and the pieces of
genlab.course.cluster that need no cluster.

The cluster: a head node and a second node with one CPU each, each with its own scratch folder;
the second node's data root starts empty, so its data sets can only come from the driver.
To keep the suite's time, the Ray runs execute two points of the quick grid, one per node:
4.2/default (MNIST) and 5.5/course and 5.5/improved (Fashion-MNIST).
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import nbformat
import pytest

from genlab.course.cluster import inputs, make_task
from genlab.course.planning import plan
from genlab.course.ray_node import local_parameters, pack, restore_parameters, unpack
from genlab.data import SPECS, raw_dir
from genlab.fetch import check_files

ROOT = Path(__file__).resolve().parents[1]
PYTHON = ROOT / ".venv" / "bin" / "python"
POINTS = ["--quick", "--only", "4.2", "5.5"]
TIMING = ("seconds", "per_second", "updated", "evaluated", "created", "load")  # not figures


def run_all(*args: str, script: bool = False) -> subprocess.CompletedProcess:
    """./run_all.sh ARGS; without ``script``, its Python part alone (the set-up is done)."""
    cmd = [str(ROOT / "run_all.sh")] if script else [str(PYTHON), "-m", "genlab.course.pipeline"]
    return subprocess.run([*cmd, *args], capture_output=True, text=True, timeout=900, cwd=ROOT)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> dict[str, Any]:
    pytest.importorskip("ray")
    from ray.cluster_utils import Cluster

    tmp = tmp_path_factory.mktemp("ray")
    head = {"GENLAB_SCRATCH": str(tmp / "scratch-head")}
    other = {"GENLAB_SCRATCH": str(tmp / "scratch-other"), "GENLAB_DATA": str(tmp / "data")}
    nodes = Cluster(
        initialize_head=True,
        head_node_args={"num_cpus": 1, "include_dashboard": False, "env_vars": head},
    )
    try:
        nodes.add_node(num_cpus=1, env_vars=other)
        nodes.wait_for_nodes()
        yield {"address": nodes.address, "tmp": tmp, "data": tmp / "data"}
    finally:
        nodes.shutdown()


def run_killing(address: str, out: Path, kills: int, retries: int) -> dict[str, Any]:
    """./run_all.sh --ray on POINTS, killing the worker that runs 4.2/default (SIGKILL, a few
    seconds into each attempt) ``kills`` times: its exit status, output, the killed pids and
    the processes still working in a killed attempt's scratch folder a while after."""
    cmd = [
        str(PYTHON),
        "-m",
        "genlab.course.pipeline",
        "--ray",
        address,
        *POINTS,
        "--out",
        str(out),
    ]
    env = {**os.environ, "GENLAB_RAY_RETRIES": str(retries)}
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=ROOT
    )
    lines, killed, scratches, lefts = [], [], [], []
    for line in proc.stdout:
        lines.append(line)
        found = re.match(r"\[start\] 4\.2/default on .*pid (\d+)\).*  log there: (.*)", line)
        if found and len(killed) < kills:
            log = Path(found.group(2))  # in <scratch>/results/4.2/
            for _ in range(60):  # papermill has started executing cells: the middle of the point
                if log.exists() and "Executing Cell 2-" in log.read_text():
                    break
                time.sleep(0.5)
            killed.append(int(found.group(1)))
            scratches.append(str(log.parents[2]))
            os.kill(killed[-1], signal.SIGKILL)
            for _ in range(20):  # papermill and the kernel end within seconds, not at the end
                if not (left := working_in(scratches[-1:])):
                    break
                time.sleep(0.5)
            lefts += left
    code = proc.wait(timeout=900)
    log = (out / "4.2" / "default.log").read_text()
    return {"code": code, "output": "".join(lines), "killed": killed, "left": lefts, "log": log}


def working_in(folders: list[str]) -> list[str]:
    """The processes whose working directory lies in one of ``folders``."""
    left = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            cwd = os.readlink(proc / "cwd")
        except OSError:
            continue
        left += [f"{proc.name}: {cwd}" for f in folders if cwd.startswith(f)]
    return left


TRAIN_HERE = """
import sys
from pathlib import Path
import torch
from genlab.course.grids import PROBLEMS
from genlab.course.planning import plan
from genlab.train import train_run
torch.set_num_threads(1)  # as each node, and each notebook of ./run_all.sh -j 2, trains
for point in plan(Path(sys.argv[1]), ["4.2", "5.5"], quick=True):
    config = PROBLEMS[point.problem].config(point.name, quick=True)
    train_run(config, point.run_dir, progress=False)
"""


@pytest.fixture(scope="module")
def local(tmp_path_factory) -> Path:
    """The configs the Ray points train, trained here in one fresh process: what each point's
    notebook calls (``train_run``), without the notebooks around it."""
    out = tmp_path_factory.mktemp("local")
    subprocess.run([str(PYTHON), "-c", TRAIN_HERE, str(out)], check=True, timeout=600, cwd=ROOT)
    return out


@pytest.fixture(scope="module")
def killed_then_resumed(cluster) -> dict[str, Any]:
    """A first Ray run whose 4.2 worker is killed twice (one retry allowed), then a second
    that executes what failed, then a third that has nothing left to do."""
    out = cluster["tmp"] / "results"
    first = run_killing(cluster["address"], out, kills=2, retries=1)
    second = run_all("--ray", cluster["address"], *POINTS, "--out", str(out))
    third = run_all("--ray", cluster["address"], *POINTS, "--out", str(out))
    return {"out": out, "first": first, "second": second, "third": third}


def figures(metrics: Any) -> Any:
    """metrics.json without its clock readings."""
    if isinstance(metrics, dict):
        return {k: figures(v) for k, v in metrics.items() if not any(t in k for t in TIMING)}
    return [figures(v) for v in metrics] if isinstance(metrics, list) else metrics


@pytest.mark.slow
def test_a_killed_worker_is_retried_then_reported_while_the_other_point_finishes(
    killed_then_resumed,
):
    first = killed_then_resumed["first"]
    output, killed, out = first["output"], first["killed"], killed_then_resumed["out"]
    assert len(killed) == 2 and killed[0] != killed[1], output
    assert first["code"] == 1, output
    assert first["left"] == []  # papermill and its kernel ended with their worker
    assert "(retry 1 of 1)" in output  # Ray's max_retries started it again, on some node
    summary = output[output.index("\ngrid point ") :]
    rows = {
        line.split()[0]: line.split()[1]
        for line in summary.splitlines()[2:]
        if line.startswith(("4.2/", "5.5/"))
    }
    assert rows == {"4.2/default": "failed", "5.5/course": "done", "5.5/improved": "done"}, summary
    assert "after 2 attempt(s)" in summary
    log = first["log"]  # the failure, where each attempt ran
    assert "attempt 1:" in log and "attempt 2:" in log and "1 retries allowed" in log
    assert (out / "5.5" / "improved" / "metrics.json").exists()


@pytest.mark.slow
def test_the_next_run_executes_the_failed_point_and_the_one_after_skips_every_point(
    killed_then_resumed,
):
    second, third = killed_then_resumed["second"], killed_then_resumed["third"]
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    assert "[done] 4.2/default" in second.stdout and "[start] 5.5/" not in second.stdout
    assert third.returncode == 0, third.stdout[-3000:] + third.stderr[-3000:]
    assert "[start]" not in third.stdout and third.stdout.count(" skipped ") == 3  # 4.2, 5.5 x 2


@pytest.mark.slow
def test_ray_figures_are_bit_identical_to_the_same_configs_trained_here(killed_then_resumed, local):
    out = killed_then_resumed["out"]
    for point in plan(out, ["4.2", "5.5"], quick=True):
        ray_metrics = json.loads((point.run_dir / "metrics.json").read_text())
        here = json.loads((local / point.problem / point.name / "metrics.json").read_text())
        assert figures(ray_metrics) == figures(here), point.label
        assert ray_metrics["status"] == "complete"


@pytest.mark.slow
def test_executed_notebooks_are_the_drivers_and_name_no_scratch_folder(
    killed_then_resumed, cluster
):
    out = killed_then_resumed["out"]
    for point in plan(out, ["4.2", "5.5"], quick=True):
        nb = nbformat.read(point.notebook, as_version=4)
        assert nb.metadata.papermill.parameters == point.parameters
        assert not nb.metadata.papermill.get("exception")
        for text in (point.notebook.read_text(), point.log.read_text()):
            assert "scratch-" not in text, point.label
        assert (point.run_dir / "checkpoint.pt").exists()  # returned with the run folder


@pytest.mark.slow
def test_the_node_without_data_received_the_drivers_verified_files(killed_then_resumed, cluster):
    data = cluster["data"]
    for spec in SPECS.values():  # the node with the empty data root ran points of each
        assert check_files(spec, raw_dir(spec, data)) == [], spec.name
    assert not (data / "downloads").exists()  # nothing was downloaded there
    assert list((data / "classifiers").glob("*.pt"))


@pytest.mark.slow
def test_an_address_nobody_answers_is_a_clear_error_before_anything_is_written(tmp_path):
    pytest.importorskip("ray")
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = tmp_path / "results"
    done = run_all("--ray", f"127.0.0.1:{port}", *POINTS, "--out", str(out), script=True)
    assert done.returncode == 2, done.stdout[-2000:] + done.stderr[-2000:]
    assert f"no Ray cluster answers at '127.0.0.1:{port}'" in done.stderr
    assert "ray start --head" in done.stderr
    assert not out.exists()


# --- without a cluster -----------------------------------------------------------------------


def test_a_point_takes_its_checkpoint_and_the_runs_it_reads_without_theirs(tmp_path):
    points = {p.label: p for p in plan(tmp_path, quick=True)}
    for label in ("4.3/bs64_ep10", "4.3/bs128_ep10", "5.3/equal_lr", "5.5/improved"):
        folder = points[label].run_dir
        folder.mkdir(parents=True)
        (folder / "metrics.json").write_text("{}")
        (folder / "checkpoint.pt").write_bytes(b"state")
    sent = tmp_path / "sent"

    def names(label: str) -> set[str]:
        unpack(inputs(points[label]), sent / label)
        return {str(p.relative_to(sent / label)) for p in (sent / label).rglob("*") if p.is_file()}

    assert names("4.3/bs64_ep10") == {  # its own checkpoint (resume), not its grid's
        "4.3/bs64_ep10/metrics.json",
        "4.3/bs64_ep10/checkpoint.pt",
        "4.3/bs128_ep10/metrics.json",
    }
    assert names("5.5/improved") == {
        "5.5/improved/metrics.json",
        "5.5/improved/checkpoint.pt",
        "5.3/equal_lr/metrics.json",
    }
    # another seed of a point reads its own run folder only
    replica = next(p for p in plan(tmp_path) if p.name == "seeds/equal_lr-seed2")
    replica.run_dir.mkdir(parents=True)
    (replica.run_dir / "checkpoint.pt").write_bytes(b"state")
    points[replica.label] = replica
    assert names(replica.label) == {"5.3/seeds/equal_lr-seed2/checkpoint.pt"}
    assert "5.3/equal_lr/checkpoint.pt" in names("5.6/comparison")  # 5.6 samples from them


def test_a_results_folder_outside_the_repository_maps_into_the_scratch_and_back(tmp_path):
    point = next(p for p in plan(tmp_path / "out", ["5.6"], quick=True))
    task = make_task(point, 1, "digest")
    assert task.results is None and point.parameters["run_dir"].startswith("/")
    here = local_parameters(task, tmp_path / "scratch")
    assert here["run_dir"] == "../results/5.6/comparison" and here["results_dir"] == "../results"
    assert {k: v for k, v in here.items() if "_dir" not in k} == {
        k: v for k, v in point.parameters.items() if "_dir" not in k
    }
    inside = next(p for p in plan(ROOT / "results-quick", ["4.2"], quick=True))
    assert local_parameters(make_task(inside, 1, "d"), tmp_path) == inside.parameters

    nb = nbformat.v4.new_notebook(metadata={"papermill": {"parameters": here}})
    nb.cells = [
        nbformat.v4.new_code_cell(
            'run_dir = "../results/5.6/comparison"', metadata={"tags": ["injected-parameters"]}
        )
    ]
    nbformat.write(nb, tmp_path / "executed.ipynb")
    restore_parameters(tmp_path / "executed.ipynb", point.parameters, "out/5.6/comparison.ipynb")
    back = nbformat.read(tmp_path / "executed.ipynb", as_version=4)
    assert back.metadata.papermill.parameters == point.parameters
    assert f'run_dir = "{point.parameters["run_dir"]}"' in back.cells[0].source


def test_unpacked_files_take_the_drivers_clock_not_the_senders(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "metrics.json").write_text("{}")
    os.utime(tmp_path / "a" / "metrics.json", (0, 0))  # a node whose clock is far behind
    unpack(pack(tmp_path, [tmp_path / "a"]), tmp_path / "b")
    assert (tmp_path / "b" / "a" / "metrics.json").stat().st_mtime > time.time() - 60
