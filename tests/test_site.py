"""What a grader reads: ``results/index.html`` and each problem's page
``results/<problem>/index.html`` as ``course.site`` writes them from the templates, and every
committed HTML page.

The pages are written afresh from a copy of the committed ``results/`` (the run folders and
executed notebooks are read, nothing is trained) and opened in headless Chromium at 1400 px:
the index reads in a few minutes, the cards of the grid points are on the problem pages. The
committed pages are parsed as they are: tables rendered as tables, no sentence twice.
"""

from __future__ import annotations

import base64
import collections
import functools
import http.server
import json
import re
import shutil
import threading
import urllib.parse
import urllib.request
import zipfile
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest

from genlab.course.grids import PROBLEMS
from genlab.course.report.answers import verdict_counts
from genlab.course.report.stats import STATISTICS
from genlab.course.site import headlines, write_site

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results"
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
COMMITTED_PAGES = sorted(RESULTS.glob("**/*.html"))
# index.html at 1400 px: what a grader reads in about five minutes, on a 1000 px tall window
MAX_WORDS, MAX_SCREENS, SCREEN = 1500, 8, 1000


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """A copy of the committed results with ``index.html`` and the problem pages written by
    this checkout."""
    if not (RESULTS / "index.html").exists():
        pytest.fail("no committed results/ in this checkout: ./run_all.sh makes them")
    out = tmp_path_factory.mktemp("site") / "results"
    # file times kept: the notebooks' HTML is not rebuilt; a file a run is writing
    # (atomic_write's ``.<name>.<random>.tmp``) is left: it may be gone before it is copied
    shutil.copytree(RESULTS, out, ignore=shutil.ignore_patterns(".*.tmp"))
    write_site(out)
    return out


# --- the page's text, as a reader sees it -------------------------------------------------

BLOCKS = {
    "p",
    "li",
    "div",
    "section",
    "article",
    "header",
    "main",
    "figcaption",
    "figure",
    "blockquote",
    "br",
    "dd",
    "dt",
    "ol",
    "ul",
    "span",
    "summary",
    "details",
}
# code listings, tables and lists of values (a card's headline figures), the table of contents
# (it repeats each finding on purpose), headings
SKIPPED = {
    "script",
    "style",
    "table",
    "dl",
    "pre",
    "nav",
    "head",
    "svg",
    "math",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
}


class Page(HTMLParser):
    """A page's prose (outside tables, lists of values, code listings, headings and the table
    of contents) in blocks, and how many tables it has."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.blocks: list[str] = [""]
        self.tables = 0
        self.skipping: list[str] = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables += 1
        if tag in SKIPPED:
            self.skipping.append(tag)
        elif tag in BLOCKS and not self.skipping:
            self.blocks.append("")

    def handle_endtag(self, tag):
        if self.skipping and tag == self.skipping[-1]:
            self.skipping.pop()
        elif tag in BLOCKS and not self.skipping:
            self.blocks.append("")

    def handle_data(self, data):
        if not self.skipping:
            self.blocks[-1] += data

    def sentences(self) -> list[str]:
        """Sentences of at least six words, whitespace collapsed."""
        out = []
        for block in self.blocks:
            text = " ".join(block.replace("\u00b6", " ").split())
            for sentence in re.split(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])", text):
                if len(sentence.split()) >= 6:
                    out.append(sentence)
        return out


def markdown_tables(notebook: Path) -> int:
    """Markdown tables a notebook shows: in its Markdown cells and its Markdown outputs."""
    nb = nbformat.read(notebook, as_version=4)
    texts = [c.source for c in nb.cells if c.cell_type == "markdown"]
    texts += [
        o.data["text/markdown"]
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.outputs
        if "text/markdown" in o.get("data", {})
    ]
    return sum(len(TABLE_RULE.findall(t)) for t in texts)


TABLE_RULE = re.compile(r"^ *\|? *:?-{3,}:? *(\| *:?-{3,}:? *)+\|? *$", re.M)


def raw_table_rules(page: Page) -> list[str]:
    """Lines of a page's text that are a Markdown table's rule: a table not rendered."""
    lines = "\n".join(page.blocks).splitlines()
    return [line.strip() for line in lines if TABLE_RULE.search(line) or "|---" in line]


def page_ids(pages):
    return [p.relative_to(RESULTS).as_posix() for p in pages]


@pytest.mark.parametrize("page", COMMITTED_PAGES, ids=page_ids(COMMITTED_PAGES))
def test_every_markdown_table_of_a_committed_page_is_rendered_as_a_table(page):
    parsed = Page(page.read_text())
    left = raw_table_rules(parsed)
    assert not left, f"{page.name}: Markdown table rules left as text: {left[:3]}"
    notebook = page.with_suffix(".ipynb")
    if notebook.exists():
        expected = markdown_tables(notebook)
        assert parsed.tables >= expected, (
            f"{page.name}: {expected} Markdown tables in the notebook, {parsed.tables} <table>"
        )


def repeated_sentences(text: str) -> dict[str, int]:
    counts = collections.Counter(Page(text).sentences())
    return {s: n for s, n in counts.items() if n > 1}


@pytest.mark.parametrize("page", COMMITTED_PAGES, ids=page_ids(COMMITTED_PAGES))
def test_no_sentence_repeats_within_a_committed_page(page):
    repeated = repeated_sentences(page.read_text())
    assert not repeated, f"{page.relative_to(RESULTS)}: " + "; ".join(
        f"{n} times: {s!r}" for s, n in repeated.items()
    )


def test_the_sentence_splitter_finds_a_repeat_and_skips_tables_code_and_contents():
    text = """<nav><p>The first finding of the problem is stated here.</p></nav>
    <p>The first finding of the problem is stated here. Then another sentence that is long.</p>
    <table><tr><td>A cell that repeats a sentence of the page, word for word.</td></tr>
    <tr><td>A cell that repeats a sentence of the page, word for word.</td></tr></table>
    <pre>for x in range(10): print(x) # a listing line that repeats</pre>
    <pre>for x in range(10): print(x) # a listing line that repeats</pre>
    <li>Then another sentence that is long.</li><p>Too short. Too short.</p>"""
    assert repeated_sentences(text) == {"Then another sentence that is long.": 2}
    broken = "<p>| setting | device |\n|---|---|\n| a | auto | cpu |</p>"
    assert raw_table_rules(Page(broken)) == ["|---|---|"]
    assert not raw_table_rules(Page("<table><tr><td>a</td></tr></table><p>a | b</p>"))


# --- the pages written from the templates ---------------------------------------------------


def problem_pages(site: Path) -> list[Path]:
    return [site / p / "index.html" for p in PROBLEMS if (site / p).is_dir()]


class Links(HTMLParser):
    """A page's links (``href``), image sources (``src``) and element ids."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []
        self.sources: list[str] = []
        self.ids: set[str] = set()
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag in ("a", "link") and "href" in attrs:
            self.links.append(attrs["href"])
        if tag in ("img", "script") and "src" in attrs:
            self.sources.append(attrs["src"])


def sections(text: str) -> dict[str, str]:
    """index.html's sections by id, as HTML."""
    parts = re.split(r'(?=<section id=")', text)
    return {
        re.match(r'<section id="([^"]+)"', part).group(1): part
        for part in parts
        if part.startswith("<section")
    }


def test_the_written_index_shows_every_problem_once_with_its_finding(site):
    text = (site / "index.html").read_text()
    parsed = Page(text)
    assert not repeated_sentences(text), repeated_sentences(text)
    assert not raw_table_rules(parsed)
    for problem_id in PROBLEMS:
        assert text.count(f'<section id="p{problem_id}">') == 1
        assert text.count(f'href="#p{problem_id}"') == 1  # its line in the contents
        assert text.count(f'id="answer-{problem_id}"') == 1
        assert text.count(f'id="writeup-{problem_id}"') == 1
        assert text.count(f'href="{problem_id}/index.html"') == 1  # its own page
    assert 'class="card"' not in text, "the cards are on the problem pages"
    sources = re.findall(r'<img src="([^"]+)"', text)
    assert len(sources) == len(set(sources)), "a figure shown twice"
    assert (site / "5.6" / "comparison" / "comparison.png").exists()
    assert sources.count("5.6/comparison/comparison.png") == 1
    prose = " ".join(Page(text).blocks[:3]).lower()  # the page's own words: no spatial ones
    assert not re.search(r"\b(above|below)\b", prose)


def test_the_write_up_summary_counts_the_verdicts_of_its_claims():
    from genlab.course.report.values import numbers
    from genlab.course.report.writeup import VERDICTS, judged

    for problem in PROBLEMS:
        counts = verdict_counts(problem)
        verdicts = [j.verdict for j in judged(problem, numbers(RESULTS))]
        assert sum(counts.values()) == len(verdicts) and list(counts) == [
            v for v in VERDICTS if v in verdicts
        ], problem


def last_epoch(run_dir: Path) -> int:
    return len(json.loads((run_dir / "metrics.json").read_text())["epochs"])


def test_the_index_shows_at_most_two_key_figures_per_problem(site):
    """5.5 shows both cGANs' class grids: the answer's claims are about both."""
    last_42, last_55 = last_epoch(site / "4.2" / "default"), last_epoch(site / "5.5" / "improved")
    expected = {
        "4.2": [f"4.2/default/reconstruction_{n}.png" for n in (1, last_42)],
        "4.3": ["4.3/summary.png", "4.3/crops.png"],
        "5.3": ["5.3/summary.png"],
        "5.5": [f"5.5/{point}/sample_{last_55}.png" for point in ("course", "improved")],
        "5.6": ["5.6/comparison/comparison.png", "5.6/comparison/class_histograms.png"],
    }
    found = sections((site / "index.html").read_text())
    for problem_id, sources in expected.items():
        assert Links(found[f"p{problem_id}"]).sources == sources, problem_id
    assert not Links(found["glossary"]).sources


def test_every_problem_page_has_a_card_per_grid_point(site):
    for problem_id, problem in PROBLEMS.items():
        page = site / problem_id / "index.html"
        assert page.exists(), f"no page for {problem_id}"
        text = page.read_text()
        assert text.count('<article class="card"') == len(problem.points), problem_id
        for point in problem.points:
            assert text.count(f'<article class="card" id="card-{problem_id}-{point}">') == 1
            assert text.count(f'href="{point}.html"') == 1, f"{problem_id}/{point}: notebook"
        assert not repeated_sentences(text), repeated_sentences(text)
        assert not raw_table_rules(Page(text))
        sources = Links(text).sources
        assert len(sources) == len(set(sources)), f"{problem_id}: a figure shown twice"
    five_six = Links((site / "5.6" / "index.html").read_text()).sources
    assert five_six == ["comparison/comparison.png", "comparison/class_histograms.png"]
    assert Links((site / "4.3" / "index.html").read_text()).sources[0] == "summary.png"


def test_a_card_names_and_writes_each_statistic_as_the_answers_do():
    """A card's figures are the declared statistics, by their glossary names and in their one
    format (a run's classes covered is a count: 10, never 10.0)."""
    metrics = json.loads((RESULTS / "5.5" / "improved" / "metrics.json").read_text())
    facts = headlines(metrics)
    for name in ("generator_loss", "d_fake", "sample_distance", "conditional_accuracy"):
        stat = STATISTICS[name]
        assert facts[stat.word].split(" ")[0] == stat.format(stat.of(metrics)), name
    assert facts["classes covered"] == "10 of 10"
    assert facts["D(x)"] == f"{metrics['epochs'][-1]['d_real']:.2f}"


def test_every_link_and_image_of_the_index_and_problem_pages_is_a_file_of_the_results(site):
    for page in [site / "index.html", *problem_pages(site)]:
        parsed = Links(page.read_text())
        assert parsed.links and parsed.sources, page
        for ref in parsed.links + parsed.sources:
            url = urllib.parse.urlparse(ref)
            where = f"{page.relative_to(site)}: {ref}"
            assert not (url.scheme or url.netloc), f"{where} leaves the results folder"
            target = page.parent / urllib.parse.unquote(url.path) if url.path else page
            assert target.is_file(), f"{where}: no such file"
            assert site.resolve() in target.resolve().parents, f"{where} leaves the results"
            if url.fragment:  # a section of a page
                assert url.fragment in Links(target.read_text()).ids, f"{where}: no such id"


@pytest.mark.slow
def test_the_template_is_in_the_built_wheel(tmp_path):
    """``pip install .`` (not editable) must carry the template: pyproject's package-data."""
    pytest.importorskip("setuptools")
    import subprocess
    import sys

    source = tmp_path / "genlab"  # a copy: the build writes build/ and egg-info beside it
    shutil.copytree(
        ROOT / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
    )
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path / "dist"),
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    (wheel,) = (tmp_path / "dist").glob("genlab-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    templates = sorted((ROOT / "src" / "genlab" / "course" / "templates").glob("*.j2"))
    assert {"index.html.j2", "problem.html.j2", "base.html.j2"} <= {t.name for t in templates}
    for template in templates:
        assert f"genlab/course/templates/{template.name}" in names


# --- index.html in Chromium at 1400 px ---------------------------------------------------------


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # one line per image otherwise
        pass


class QuietServer(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):  # the browser dropping a connection
        pass


@pytest.fixture(scope="module")
def served(site):
    handler = functools.partial(QuietHandler, directory=str(site))
    server = QuietServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


@pytest.fixture(scope="module")
def chromium():
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        pytest.skip(
            "Debian's chromium and chromium-driver are not installed (./run_tests.sh installs them)"
        )
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

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
        "--window-size=1400,1000",
        "--force-device-scale-factor=1",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(120)
    yield driver
    driver.quit()


IMAGES = """return [...document.images].map(img => {
  const box = img.getBoundingClientRect();
  return {src: img.getAttribute('src'), complete: img.complete, natural: img.naturalWidth,
          shown: box.width, enlarged: img.classList.contains('enlarged'),
          rendering: getComputedStyle(img).imageRendering};
});"""


WORDS = "return document.body.innerText.split(/\\s+/).filter(w => w).length"


def load(driver, url: str) -> None:
    """Open a page and wait until every image has loaded (or failed to)."""
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(url)
    WebDriverWait(driver, 60).until(
        lambda d: d.execute_script("return [...document.images].every(i => i.complete)")
    )


def screenshot(driver, path: Path) -> int:
    """The whole page at the window's width, as a PNG; returns its height."""
    height = driver.execute_script("return document.documentElement.scrollHeight")
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot",
        {
            "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": 1400, "height": height, "scale": 1},
        },
    )
    path.write_bytes(base64.b64decode(shot["data"]))
    return height


@pytest.mark.slow
def test_index_at_1400_px_reads_in_five_minutes(site, served, chromium):
    """What a grader sees of index.html: few words, a few screens; the write-up tables and the
    glossary open on demand, the cards are on the problem pages."""
    driver = chromium
    load(driver, served + "index.html")
    assert driver.execute_script("return window.innerWidth") == 1400
    words = driver.execute_script(WORDS)
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.execute_script("document.querySelectorAll('details').forEach(d => d.open = true)")
    opened = driver.execute_script(WORDS)
    opened_height = driver.execute_script("return document.documentElement.scrollHeight")
    print(
        f"index.html at 1400 px: {words} visible words, {height} px tall "
        f"({height / SCREEN:.1f} screens of {SCREEN} px); every part opened: {opened} words, "
        f"{opened_height} px"
    )
    assert words < MAX_WORDS
    assert height < MAX_SCREENS * SCREEN


@pytest.mark.slow
def test_every_page_at_1400_px_shows_every_figure_at_least_at_its_natural_width(
    site, served, chromium, tmp_path
):
    driver = chromium
    pages = ["index.html", *(p.relative_to(site).as_posix() for p in problem_pages(site))]
    shown_anywhere = 0
    for name in pages:
        load(driver, served + name)
        if name == "index.html":
            assert driver.title == "genlab results"
            driver.save_screenshot(str(tmp_path / "index-1400-first-screen.png"))
        else:
            assert driver.title.startswith(name.split("/")[0] + ": "), driver.title
        assert driver.execute_script("return window.innerWidth") == 1400
        height = screenshot(driver, tmp_path / (name.replace("/", "-")[: -len(".html")] + ".png"))
        print(f"screenshot of {name} at 1400 px: {tmp_path} ({height} px tall)")

        images = driver.execute_script(IMAGES)
        shown_anywhere += len(images)
        for img in images:
            assert img["complete"] and img["natural"] > 0, f"{name}: {img['src']} did not load"
            if img["enlarged"]:  # a sample grid, enlarged on purpose, its pixels kept sharp
                assert img["shown"] > img["natural"], img
                assert img["rendering"] == "pixelated", img
            else:  # a plot or labelled figure: never shrunk, never pixelated
                assert img["shown"] >= img["natural"], img
                assert img["rendering"] == "auto", img
        assert len({img["src"] for img in images}) == len(images), f"{name}: a figure twice"
        # nothing wider than the window but a figure's own box, which scrolls sideways
        page_width = driver.execute_script("return document.documentElement.scrollWidth")
        assert page_width <= 1400, name

        # every link of the page (images at full size, notebooks, the other pages) answers
        links = driver.execute_script("return [...document.links].map(a => a.href)")
        for link in {link.split("#")[0] for link in links}:
            assert urllib.parse.urlparse(link).netloc == urllib.parse.urlparse(served).netloc
            with urllib.request.urlopen(link) as response:
                assert response.status == 200, link
    assert shown_anywhere >= sum(len(p.points) for p in PROBLEMS.values())

    # the table of contents: one line per problem, each link lands on its section
    driver.get(served + "index.html")
    toc = driver.execute_script(
        "return [...document.querySelectorAll('nav#contents li a')].map(a => a.hash)"
    )
    assert toc == [*(f"#p{p}" for p in PROBLEMS if (site / p).is_dir()), "#glossary"]
    for target in toc:
        found = driver.execute_script(
            "return document.getElementById(decodeURIComponent(arguments[0].slice(1))) !== null",
            target,
        )
        assert found, f"the contents link {target} leads nowhere"
        driver.get(served + "index.html" + target)
        top = driver.execute_script(
            "return document.getElementById(decodeURIComponent(location.hash.slice(1)))"
            ".getBoundingClientRect().top"
        )
        at_bottom = driver.execute_script(
            "return scrollY + innerHeight >= document.documentElement.scrollHeight - 2"
        )
        assert abs(top) < 2 or (at_bottom and 0 <= top < 1000), f"{target}: {top} px down"
