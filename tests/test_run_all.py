"""./run_all.sh --quick end to end, resumption, failures, and index.html in a browser."""

from __future__ import annotations

import functools
import http.server
import json
import shutil
import subprocess
import sys
import threading
import urllib.parse
import urllib.request
from pathlib import Path

import nbformat
import pytest

from genlab.course import executor
from genlab.course.executor import is_complete, staleness
from genlab.course.grids import PROBLEMS
from genlab.course.planning import plan

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


def run_all(*args: str, script: bool = True) -> subprocess.CompletedProcess:
    """./run_all.sh ARGS; with ``script=False`` its Python part alone, for what that part
    decides (refusals, --no-train), the set-up being done."""
    cmd = [str(ROOT / "run_all.sh")] if script else [sys.executable, "-m", "genlab.course.pipeline"]
    return subprocess.run([*cmd, *args], capture_output=True, text=True, timeout=1800, cwd=ROOT)


@pytest.fixture(scope="module")
def quick(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    out = tmp_path_factory.mktemp("results-quick")
    return out, run_all("--quick", "-j", "2", "--out", str(out))


def all_points(out: Path):
    return plan(out, quick=True)


@pytest.mark.slow
def test_quick_run_executes_every_notebook_and_writes_the_index(quick):
    out, done = quick
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    points = all_points(out)
    assert {p.problem for p in points} == set(PROBLEMS)
    for point in points:
        nb = nbformat.read(point.notebook, as_version=4)
        assert not nb.metadata.papermill.get("exception"), point.label
        assert nb.metadata.papermill.parameters == point.parameters
        assert f"[done] {point.label}" in done.stdout
        if point.config:  # the config the plan built travelled as itself and trained
            trained = json.loads((point.run_dir / "metrics.json").read_text())["config"]
            assert trained == json.loads(point.config.to_json()), point.label
    assert (out / "index.html").exists() and (out / "4.3" / "summary.png").exists()


@pytest.mark.slow
def test_quick_run_trains_first_so_each_notebook_executes_once(quick):
    """A point whose answer quotes its grid's other runs would execute a second time if those
    runs finished after it; ./run_all.sh trains them first (genlab/course/training.py)."""
    out, done = quick
    lines = done.stdout.splitlines()
    for point in all_points(out):
        starts = [line for line in lines if line.startswith(f"[start] {point.label}  log: ")]
        assert len(starts) == 1, (point.label, starts)
    assert any(line.startswith("[trained] ") for line in lines)
    assert not any(line.startswith("[train failed] ") for line in lines)


def markdown_outputs(notebook: Path) -> list[str]:
    nb = nbformat.read(notebook, as_version=4)
    return [
        o.data["text/markdown"]
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.outputs
        if "text/markdown" in o.get("data", {})
    ]


@pytest.mark.slow
def test_every_notebook_answers_from_all_of_its_grid_as_index_html_does(quick):
    """Each notebook shows the answer that index.html shows, from the same function, on the
    committed runs (a quick run's own numbers are in its table beside them)."""
    from genlab.course.report.answers import answer_markdown, writeup_table

    out, done = quick
    assert done.returncode == 0
    page = (out / "index.html").read_text()
    for point in all_points(out):
        answer = answer_markdown(point.problem)  # about the committed runs, on every page
        shown = "\n".join(markdown_outputs(point.notebook))
        assert answer in shown, point.label  # (then the quick run against it)
        assert writeup_table(point.problem) in shown, point.label
        assert f'id="answer-{point.problem}"' in page and f'id="writeup-{point.problem}"' in page


@pytest.mark.slow
def test_a_second_quick_run_skips_everything_complete(quick):
    out, first = quick
    assert first.returncode == 0
    stamps = {p.notebook: p.notebook.stat().st_mtime_ns for p in all_points(out)}
    again = run_all("--quick", "--out", str(out))
    assert again.returncode == 0, again.stdout[-3000:]
    assert "[start]" not in again.stdout
    for notebook, stamp in stamps.items():
        assert notebook.stat().st_mtime_ns == stamp
    assert again.stdout.count(" skipped ") == len(stamps)


@pytest.mark.slow
def test_an_executed_copy_of_an_older_notebook_is_executed_again(quick, tmp_path, monkeypatch):
    out, first = quick
    assert first.returncode == 0
    point = next(p for p in all_points(out) if p.problem == "4.2")
    assert is_complete(point)
    notebooks = tmp_path / "notebooks"  # notebooks/ as it will be after an edit
    shutil.copytree(executor.NOTEBOOKS, notebooks)
    nb = nbformat.read(notebooks / point.source_notebook, as_version=4)
    nb.cells[-1].source += "  # a newer wording"
    nbformat.write(nb, notebooks / point.source_notebook)
    monkeypatch.setattr(executor, "NOTEBOOKS", notebooks)
    assert staleness(point) == f"notebooks/{point.source_notebook} changed"
    monkeypatch.undo()
    assert is_complete(point)


@pytest.mark.slow
def test_reexecute_runs_the_notebooks_again_on_their_run_folders_without_training(quick):
    out, first = quick
    assert first.returncode == 0
    point = next(p for p in all_points(out) if p.problem == "4.2")
    metrics = (point.run_dir / "metrics.json").read_bytes()
    before = point.notebook.stat().st_mtime_ns
    again = run_all("--quick", "--out", str(out), "--only", "4.2", "--reexecute")
    assert again.returncode == 0, again.stdout[-3000:]
    assert "[done] 4.2/default" in again.stdout and is_complete(point)
    assert point.notebook.stat().st_mtime_ns > before
    assert (point.run_dir / "metrics.json").read_bytes() == metrics  # trained nothing


def test_bad_options_are_refused_with_the_accepted_values():
    done = run_all("--only", "4.4")
    assert done.returncode == 2 and "invalid choice: '4.4'" in done.stderr
    assert "4.2" in done.stderr and "5.6" in done.stderr
    done = run_all("-j", "0", script=False)
    assert done.returncode == 2 and "-j must be at least 1, got 0" in done.stderr


# --- index.html in a real browser --------------------------------------------------------


@pytest.fixture(scope="module")
def served(quick):
    out, _ = quick
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(out))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


@pytest.mark.slow
@pytest.mark.skipif(
    not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()),
    reason="Debian's chromium and chromium-driver are not installed (./run_tests.sh installs them)",
)
def test_index_loads_in_chromium_with_every_link_and_image(served):
    from selenium import webdriver
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        driver.set_page_load_timeout(120)
        driver.get(served + "index.html")
        assert driver.title == "genlab results"
        sections = driver.find_elements(By.CSS_SELECTOR, "section h2")
        assert [s.text.split(":")[0] for s in sections] == [*PROBLEMS, "Glossary"]
        for problem in PROBLEMS:  # each problem's answer and write-up table, rendered
            answer = driver.find_element(By.ID, f"answer-{problem}")
            assert answer.text.startswith("Answer") and len(answer.text) > 80, problem
            writeup = driver.find_element(By.ID, f"writeup-{problem}")
            assert writeup.find_elements(By.TAG_NAME, "td") or "no claim" in writeup.text
        toc = [
            a.get_attribute("href").split("#")[1]  # a map: one line per problem, linked
            for a in driver.find_elements(By.CSS_SELECTOR, "nav#contents a")
        ]
        assert toc == [*(f"p{p}" for p in PROBLEMS), "glossary"]
        assert all(driver.find_elements(By.ID, target) for target in toc)
        notebooks = []
        for page in ["index.html", *(f"{p}/index.html" for p in PROBLEMS)]:
            driver.get(served + page)  # the index, then each problem's page with its cards
            images = driver.find_elements(By.TAG_NAME, "img")
            assert images, page
            for img in images:
                loaded = driver.execute_script(
                    "return arguments[0].complete && arguments[0].naturalWidth > 0", img
                )
                assert loaded, (page, img.get_attribute("src"))
            links = [a.get_attribute("href") for a in driver.find_elements(By.TAG_NAME, "a")]
            for link in links:  # every image opens at full size, every notebook link works
                assert urllib.parse.urlparse(link).netloc == urllib.parse.urlparse(served).netloc
                with urllib.request.urlopen(link.split("#")[0]) as response:
                    assert response.status == 200
            images_linked = {img.get_attribute("src") for img in images} <= set(links)
            assert images_linked, f"{page}: an image that does not open at full size"
            if page != "index.html":
                notebooks += [k for k in links if k.endswith(".html") and "index.html" not in k]
        links = notebooks
        assert len(links) == sum(len(p.points) for p in PROBLEMS.values())
        for link in links:
            assert urllib.parse.urlparse(link).netloc == urllib.parse.urlparse(served).netloc
            with urllib.request.urlopen(link) as response:
                assert response.status == 200
            cells = []
            for _ in range(3):  # a page Chromium could not fetch shows its error page: retry
                driver.get(link)  # the notebook's HTML renders its cells (CDN scripts fail here)
                try:
                    cells = WebDriverWait(driver, 20).until(
                        lambda d: d.find_elements(By.CSS_SELECTOR, ".jp-Cell")
                    )
                    break
                except TimeoutException:
                    continue
            assert driver.current_url == link and cells
            styled = driver.execute_script(  # nbconvert's stylesheet, shared by the pages
                "return [...document.styleSheets].some(s => s.href && "
                "s.href.includes('/notebook-') && s.cssRules.length > 100)"
            )
            assert styled, f"{link} did not load its stylesheet"
    finally:
        driver.quit()


@pytest.mark.slow
def test_a_failing_point_is_reported_while_the_others_complete(quick):
    """Runs last: it leaves one failed point in the quick results."""
    out, first = quick
    assert first.returncode == 0
    # a bad value is refused before anything runs or is written
    refused = run_all(
        "--quick",
        "--only",
        "4.3",
        "--out",
        str(out),
        "--set",
        "4.3/bs64_ep10:batch_size=0",
        script=False,
    )
    assert refused.returncode == 2 and "batch_size=0: input should be" in refused.stderr
    assert "[start]" not in refused.stdout
    import torch

    if torch.cuda.is_available():
        pytest.skip("the failure below needs a machine without CUDA")
    failed = run_all(
        "--quick", "--only", "4.2", "4.3", "--out", str(out), "--set", "4.3/bs64_ep10:device=cuda"
    )
    assert failed.returncode != 0
    summary = failed.stdout[failed.stdout.index("\ngrid point ") :]
    rows = {
        line.split()[0]: line.split()[1]
        for line in summary.strip().splitlines()[1:]
        if line.startswith(("4.2/", "4.3/"))
    }
    assert rows.pop("4.3/bs64_ep10") == "failed"
    assert set(rows.values()) == {"skipped"} and len(rows) == 6  # complete, untouched
    assert "no CUDA GPU is available" in summary
    nb = nbformat.read(out / "4.3" / "bs64_ep10.ipynb", as_version=4)
    assert nb.metadata.papermill.exception  # papermill wrote the notebook with its error
    assert "failed" in (out / "index.html").read_text()


def test_no_train_executes_only_points_with_a_finished_run(tmp_path):
    """``--no-train`` re-renders what has been trained and trains nothing: a grid point without
    a finished run is listed, not executed."""
    done = run_all("--only", "4.3", "--no-train", "--out", str(tmp_path), script=False)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    listed = [line for line in done.stdout.splitlines() if line.startswith("[untrained]")]
    assert len(listed) == len(PROBLEMS["4.3"].run_names()) == 18  # 6 points, 3 seeds each
    assert "[untrained] 4.3/seeds/bs64_ep10-seed2" in done.stdout
    assert not list(tmp_path.glob("4.3/*.ipynb")) and not (tmp_path / "4.3" / "bs64_ep10").exists()


def test_logs_leave_out_the_kernels_known_harmless_lines_and_keep_the_rest(tmp_path):
    from genlab.course.processes import HARMLESS, run_logged

    lines = [
        *(f"[IPKernelApp] WARNING | {HARMLESS[0]}. Use IPC", HARMLESS[1]),
        "Executing Cell 1",
        "[IPKernelApp] ERROR | Exception in message handler:",
    ]
    script = "; ".join(f"print({line!r})" for line in lines)
    log = tmp_path / "point.log"
    assert run_logged(["python3", "-c", script], {}, tmp_path, log) == 0
    assert log.read_text().splitlines() == lines[2:]  # a real error stays


MISSPELT = [
    ("batchsize=64", "did you mean 'batch_size'"),
    ("4.3:lr_g=0.1", "did you mean 'lr'"),
    ("5.6:epochs=3", "accepted: eval_samples"),
]


@pytest.mark.parametrize(("target", "hint"), MISSPELT)
def test_a_misspelt_set_is_refused_naming_the_parameter_before_anything_is_written(
    tmp_path, target, hint
):
    """``--set batchsize=64`` would otherwise be dropped and the default batch size trained."""
    refused = run_all(
        "--set", target, "--out", str(tmp_path / "results"), "--dry-run", script=False
    )
    assert refused.returncode == 2 and hint in refused.stderr, refused.stderr[-500:]
    assert refused.stderr.count("\n") <= 6 and not (tmp_path / "results").exists()
