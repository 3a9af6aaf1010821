"""Problem 5.6, VAE versus GAN: the runs of 4.3, 5.3 and 5.5 side by side, measured.

The notebook ``5.6_vae_vs_gan.ipynb`` calls, in order:

- ``results_root(results_dir, quick)``: the results folder holding ``4.3/``, ``5.3/`` and
  ``5.5/`` (by default the repository's ``results/``, or ``results-quick/`` for a quick run,
  as ``./run_all.sh`` does).
- ``locate(results, quick, no_cuda, progress)``: one ``Source`` per compared run: the VAE of
  4.3 (``VAE_POINT``), the GAN of 5.3 in its four settings, the cGAN of 5.5. A finished (or
  diverged) run folder is reopened as it is and never retrained; an interrupted one resumes;
  a missing one is trained with its grid point's config
  (``genlab.course.grids.Problem.config``, with the ``--quick`` overrides when ``quick``), the
  config that problem's notebook builds.
- ``measure(sources, n, device, previous)``: one ``Row`` of numbers per run, plus the reference
  rows (real training images, uniform noise): ``genlab.evaluate.evaluate_run`` (Fréchet
  distance in the classifier's feature space, class histogram, classes covered, KL from
  uniform, a cGAN's conditional accuracy; a run without its checkpoint gives the evaluation its
  ``metrics.json`` recorded) and ``pixels.image_stats`` of the same seeded samples (background and
  sharpness; without a checkpoint, those of ``previous``, the ``comparison.json`` 5.6 saved
  before). 5.6 writes only its own folder: never another problem's run.
- ``table_markdown(rows)``, ``comparison_figure(sources, path)`` and ``histogram_figure(rows,
  path)``: the table and the two figures. The written answer is authored in
  ``genlab/course/answers/5.6.md`` and cites the compared runs over their seeds.
"""

from genlab.course.compare.figures import comparison_figure, histogram_figure
from genlab.course.compare.pixels import run_images
from genlab.course.compare.runs import (
    QUICK_EVAL_SAMPLES,
    Source,
    compared_points,
    locate,
    open_point,
    results_root,
    sample_count,
)
from genlab.course.compare.table import (
    CLASSES,
    COLUMNS,
    Picked,
    Row,
    measure,
    pick,
    reference_rows,
    save_rows,
    source_rows,
    table_markdown,
    top_class,
)
from genlab.course.grids import CGAN_POINT, GAN_POINT, MODELS, VAE_POINT
from genlab.course.report.measures import CORNER, DARK, image_stats

__all__ = [
    "CLASSES",
    "COLUMNS",
    "CORNER",
    "DARK",
    "CGAN_POINT",
    "GAN_POINT",
    "MODELS",
    "QUICK_EVAL_SAMPLES",
    "VAE_POINT",
    "Picked",
    "Row",
    "Source",
    "comparison_figure",
    "compared_points",
    "histogram_figure",
    "image_stats",
    "locate",
    "measure",
    "open_point",
    "pick",
    "reference_rows",
    "results_root",
    "run_images",
    "sample_count",
    "save_rows",
    "source_rows",
    "table_markdown",
    "top_class",
]
