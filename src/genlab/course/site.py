"""What graders open: ``index.html``, a page per problem over its notebooks, a summary per grid.

Everything here is read back from the results folder (executed notebooks, run folders'
``metrics.json`` and images); nothing is typed in. ``index.html`` is the short read: the
contents (each problem's finding), then per problem its answer and the course write-up's claims
from the same functions as its notebooks (``genlab.course.report.answers``), at most two key
figures and a link to the problem's page; then the glossary. ``<problem>/index.html`` shows the
problem's figures and one card per grid point (headline figures, images, a link to the executed
notebook beside it). This module gathers what the pages show; their structure and style are in
``templates/``. Every image is shown at its natural size, small sample grids at twice it
(pixelated), and opens alone when clicked (``page_images``: which images, at what size).
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Any

import nbformat
from markupsafe import Markup

from genlab.course.crops import reconstruction_crops
from genlab.course.grids import (
    PROBLEMS,
    VAE_GRID,
    VAE_VS_GAN,
    Problem,
    label,
)
from genlab.course.page_images import (
    ENLARGED_BELOW,
    caption,
    card_images,
    is_sample_grid,
    key_image,
    png_size,
    shown,
)
from genlab.course.report import capitalize, duration, train_seconds
from genlab.course.report.answers import answer_markdown, verdict_counts, writeup_table
from genlab.course.report.glossary import glossary_markdown
from genlab.course.report.stats import NATS, STATISTICS
from genlab.images import save_figure
from genlab.runs import atomic_write, read_json

# a card's figures, in the order shown: the last epoch's losses that no statistic declares,
# then the run's declared statistics, each named and written as the answers write it
EPOCH_FIGURES = {"train_loss": ("train loss", NATS), "d_real": ("D(x)", "")}
CARD_STATISTICS = (
    "test_loss",
    "generator_loss",
    "discriminator_loss",
    "d_fake",
    "sample_distance",
    "classes_covered",
    "conditional_accuracy",
)


def point_metrics(run_dir: Path) -> dict[str, Any] | None:
    path = run_dir / "metrics.json"
    return read_json(path) if path.exists() else None


def headlines(metrics: dict[str, Any] | None) -> dict[str, str]:
    """Label -> formatted value of a run's headline figures."""
    if metrics is None:
        return {}
    epochs = metrics.get("epochs", [])
    out = {"status": metrics.get("status", "?")}
    if "diverged" in metrics:
        out["status"] += (
            f" (epoch {metrics['diverged']['epoch']}, batch {metrics['diverged']['batch']})"
        )
    if "collapsed" in metrics:
        out["status"] += f" ({metrics['collapsed']['reason']})"
    out["epochs"] = f"{len(epochs)} / {metrics.get('config', {}).get('epochs', '?')}"
    for key, (name, unit) in EPOCH_FIGURES.items():
        if epochs and key in epochs[-1]:
            out[name] = with_unit(f"{epochs[-1][key]:.2f}", unit)
    for name in CARD_STATISTICS:
        stat = STATISTICS[name]
        if (value := stat.of(metrics)) is not None:
            out[stat.word] = with_unit(stat.format(value), stat.unit)
    if epochs:
        out["training time"] = f"{duration(train_seconds(metrics))} on {metrics.get('device', '?')}"
    return out


def with_unit(number: str, unit: str) -> str:
    return f"{number} {unit}" if unit else number


def comparison_headlines(run_dir: Path) -> dict[str, str]:
    """Problem 5.6's card: distance and classes covered of each compared run."""
    path = run_dir / "comparison.json"
    if not path.exists():
        return {}
    facts = {}
    for row in read_json(path):
        if row.get("frechet") is None:
            facts[f"{row['model']} {row['setting']}"] = row.get("status") or "not evaluated"
            continue
        text = f"Fréchet distance {STATISTICS['sample_distance'].format(row['frechet'])}"
        if row.get("classes_covered") is not None:
            text += f", {row['classes_covered']} of 10 classes"
        if row.get("conditional_accuracy") is not None:
            accuracy = STATISTICS["conditional_accuracy"].format(row["conditional_accuracy"])
            text += f", conditional accuracy {accuracy}"
        facts[f"{row['model']} ({row['setting']})"] = text
    return facts


def notebook_html(notebook: Path, out: Path) -> Path | None:
    """The notebook as HTML beside it (nbconvert), rebuilt only when the notebook whose digest
    it records (in a ``<meta>``) is not this one: clocks decide nothing.

    nbconvert inlines about 260 kB of the same stylesheet into every page; here it goes once
    into ``out/notebook-<hash of its text>.css``, which each page links to.
    """
    if not notebook.exists():
        return None
    target = notebook.with_suffix(".html")
    digest = hashlib.sha256(notebook.read_bytes()).hexdigest()
    made_from = f'<meta name="genlab-notebook" content="{digest}">\n'
    if target.exists() and made_from in target.read_text(errors="replace"):
        return target
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter().from_notebook_node(nbformat.read(notebook, as_version=4))
    head, end_head, rest = body.partition("</head>")
    css = "\n".join(HEAD_STYLE.findall(head))
    stylesheet = out / f"notebook-{hashlib.sha256(css.encode()).hexdigest()[:12]}.css"
    if not stylesheet.exists():
        atomic_write(stylesheet, lambda f: f.write(css.encode()))
    link = Path(os.path.relpath(stylesheet, target.parent)).as_posix()
    head = HEAD_STYLE.sub("", head) + f'<link rel="stylesheet" href="{link}">\n' + made_from
    page = head + end_head + rest
    atomic_write(target, lambda f: f.write(page.encode()))
    return target


HEAD_STYLE = re.compile(r'<style type="text/css">\s*(.*?)</style>\s*', re.S)


def notebook_failed(notebook: Path) -> bool:
    meta = nbformat.read(notebook, as_version=4).metadata.get("papermill", {})
    return bool(meta.get("exception"))


PAGE_WIDTH, SUMMARY_DPI = 1250, 110  # pixels: what index.html has for a figure at 1400 px


def grid_summary(out: Path, problem_id: str) -> Path | None:
    """Every grid point of a problem side by side: key image, headline figures, time.

    Only where the key images are sample grids: a labelled figure (the cGAN's class grid)
    drawn again through matplotlib garbles its text, so its cards show it, at natural size."""
    import matplotlib.image as mpimg
    from matplotlib.figure import Figure

    problem = PROBLEMS[problem_id]
    path = out / problem_id / "summary.png"
    if not is_sample_grid(problem, Path(problem.key_image)):
        path.unlink(missing_ok=True)  # one an older version wrote
        return None
    panels = []
    for name in problem.points:
        run_dir = out / problem_id / name
        metrics = point_metrics(run_dir)
        image = key_image(problem, run_dir, metrics)
        if image is not None:
            facts = headlines(metrics)
            lines = [label(problem_id, name)] + [
                f"{k}: {v}" for k, v in facts.items() if k not in ("epochs", "status")
            ]
            panels.append((image, "\n".join(lines)))
    if len(panels) < 2:
        return None
    images = [mpimg.imread(image) for image, _ in panels]
    wide = images[0].shape[1] > 2 * images[0].shape[0]  # reconstructions: one point per row
    n = len(panels)
    if wide:
        fig = Figure(figsize=(11, 1.6 * n + 0.6), layout="compressed")
        axes = [fig.add_subplot(n, 1, i + 1) for i in range(n)]
    else:  # at most PAGE_WIDTH pixels wide: index.html shows it at its natural size
        fig = Figure(figsize=(min(3.6 * n, PAGE_WIDTH / SUMMARY_DPI), 5.6), layout="compressed")
        axes = [fig.add_subplot(1, n, i + 1) for i in range(n)]
    for ax, image, (_, text) in zip(axes, images, panels, strict=True):
        ax.imshow(image, cmap="gray", interpolation="nearest")
        if wide:
            ax.text(-0.02, 0.5, text, transform=ax.transAxes, ha="right", va="center", fontsize=8)
        else:
            ax.set_title(text, fontsize=8, loc="left")
        ax.axis("off")
    fig.suptitle(f"{problem_id}: {problem.title}")
    save_figure(fig, path, dpi=SUMMARY_DPI)
    return path


def write_site(out: Path) -> Path:
    """Write the grid summaries, each problem's page ``out/<problem>/index.html`` (from
    ``templates/problem.html.j2``) and ``out/index.html`` (from ``templates/index.html.j2``);
    return the index's path."""
    env = _environment()
    problems = []
    for problem_id, problem in PROBLEMS.items():
        folder = out / problem_id
        if not folder.is_dir():
            continue
        answer = answer_markdown(problem_id)  # about the committed runs, on every page
        writeup = writeup_table(problem_id)
        figures = [grid_summary(out, problem_id), *problem_figures(out, problem_id)]
        figures = [p for p in figures if p is not None and p.exists()]
        cards = [card(out, problem_id, problem, name) for name in problem.points]
        about = {"id": problem_id, "title": problem.title, "finding": finding(answer)}
        page = env.get_template("problem.html.j2").render(
            root="../",
            problem={
                **about,
                "figures": [shown(p, folder) for p in figures],
                "cards": cards,
                "enlarged": any(g["enlarged"] for c in cards for g in c["grids"]),
            },
        )
        atomic_write(folder / "index.html", lambda f, page=page: f.write(page.encode()))
        problems.append(
            {
                **about,
                "answer": Markup(_markdown(answer)),
                "writeup": Markup(_markdown(writeup)),
                "tally": verdict_counts(problem_id),
                "figures": key_figures(out, problem_id, figures),
                "page": f"{problem_id}/index.html",
                "troubles": [f"{c['title']}: {c['trouble']}" for c in cards if c["trouble"]],
            }
        )
    page = env.get_template("index.html.j2").render(
        root="", problems=problems, glossary=Markup(_markdown(glossary_markdown()))
    )
    css = env.get_template("site.css.j2").render()
    atomic_write(out / "site.css", lambda f: f.write(css.encode()))
    index = out / "index.html"
    atomic_write(index, lambda f: f.write(page.encode()))
    pages = "".join(p.read_text() for p in out.glob("*/*.html"))
    for stylesheet in out.glob("notebook-*.css"):  # left by another nbconvert
        if stylesheet.name not in pages:
            stylesheet.unlink()
    return index


def _environment():
    from jinja2 import Environment, PackageLoader, StrictUndefined

    return Environment(
        loader=PackageLoader("genlab.course"),
        autoescape=True,
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )


def key_figures(out: Path, problem_id: str, figures: list[Path]) -> list[dict[str, Any]]:
    """At most two figures index.html shows for a problem: its grid summary, else its first
    figure (5.6's comparison), else the key image of each of its first two points (5.5's two
    cGANs), or of its one point the first and last epoch where its card shows both (4.2's
    reconstructions); never the loss curves. A point's image is captioned with what it shows,
    and with the point's short name (its label's words before any parenthesis) where the
    problem has several points."""
    if figures:
        return [shown(f, out) for f in figures[:2]]  # their titles are in them
    problem = PROBLEMS[problem_id]
    if not problem.model:
        return []
    pairs = []  # (point, image)
    for name in list(problem.points)[:2]:
        run_dir = out / problem_id / name
        images = card_images(problem, run_dir, point_metrics(run_dir))
        key = [(name, p) for p in images if p.name != "loss_curves.png"]
        pairs += key[-1:] if len(problem.points) > 1 else key[:2]
    shown_images = []
    for name, path in pairs:
        enlarge = is_sample_grid(problem, path) and png_size(path)[1] <= ENLARGED_BELOW
        text = caption(path)
        if len(problem.points) > 1:
            text = f"{label(problem_id, name).split(' (')[0]}: {text}"
        shown_images.append(shown(path, out, text, enlarge))
    return shown_images


def problem_figures(out: Path, problem_id: str) -> list[Path]:
    """Figures of a problem shown under its answer, beside its grid summary: 4.3's crops of
    two test images as every setting reconstructs them (made here), 5.6's figures."""
    if problem_id == VAE_GRID:
        return [p for p in [reconstruction_crops(out, problem_id)] if p is not None]
    if problem_id == VAE_VS_GAN:
        folder = out / VAE_VS_GAN / "comparison"
        return [folder / "comparison.png", folder / "class_histograms.png"]
    return []


def _markdown(text: str) -> str:
    import mistune

    return mistune.html(text)


def card(out: Path, problem_id: str, problem: Problem, name: str) -> dict[str, Any]:
    """One grid point as its problem's page (``out/<problem>/index.html``) shows it: its
    headline figures, images and executed notebook, every path relative to that page; and its
    trouble ("not run", "notebook failed") for index.html, else None."""
    folder = out / problem_id
    notebook = folder / f"{name}.ipynb"
    run_dir = folder / name
    metrics = point_metrics(run_dir)
    page = notebook_html(notebook, out)
    facts = headlines(metrics) if metrics else comparison_headlines(run_dir)
    trouble = None
    if page is None:
        facts, trouble = {"status": "not run"}, "not run"
    elif notebook_failed(notebook):
        facts["notebook"] = "failed (the error is shown in the notebook)"
        trouble = "notebook failed"
    images = card_images(problem, run_dir, metrics)
    grids = [p for p in images if is_sample_grid(problem, p)]
    return {
        "name": name,
        "title": label(problem_id, name),
        "facts": facts,
        "grids": [shown(p, folder, caption(p), png_size(p)[1] <= ENLARGED_BELOW) for p in grids],
        "plots": [shown(p, folder, caption(p)) for p in images if p not in grids],
        "notebook": page.relative_to(folder).as_posix() if page else None,
        "trouble": trouble,
    }


def finding(answer: str) -> str:
    """The answer's finding, as plain text: its first sentence (every answer leads with it,
    in bold)."""
    text = re.sub(r"[*`]", "", answer.strip().split("\n")[0])
    return capitalize(re.split(r"(?<=\.)\s", text, maxsplit=1)[0])
