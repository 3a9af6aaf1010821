"""Measure what the eye judges: a domain classifier per data set, and metrics of generated images.

- ``genlab.evaluate.classifier``: the classifier (a small CNN trained by the project on each
  data set's training split), its training and its file cache in the data root.
- ``genlab.evaluate.metrics``: Fréchet distance in the classifier's feature space, class
  histogram and coverage, KL from uniform, within-class variety, conditional accuracy,
  ``image_metrics`` and the ``reference_distances``.
- ``genlab.evaluate.sampling``: seeded samples of a run's model and ``evaluate_run``, which
  records a run's evaluation in its ``metrics.json``.

Every public name is importable from ``genlab.evaluate`` itself. ``python -m genlab evaluate
classifier`` trains (or loads) the classifiers and prints their accuracy and reference
distances; ``python -m genlab evaluate run RUN_DIR...`` evaluates runs (``genlab.cli``).
"""

from genlab.evaluate.classifier import (
    ACCURACY_BAR,
    CHUNK,
    CLASSIFIER_VERSION,
    EPOCHS,
    NUM_CLASSES,
    Classifier,
    ClassifierParams,
    classifier_dir,
    classifier_params,
    classifier_path,
    load_classifier,
    train_classifier,
)
from genlab.evaluate.metrics import (
    COVERAGE_SHARE,
    DEFAULT_N,
    EVAL_SEED,
    VARIETY_CAP,
    conditional_accuracy,
    coverage,
    frechet_distance,
    from_signed,
    image_metrics,
    reference_distances,
    within_class_variety,
)
from genlab.evaluate.sampling import (
    EVALUATION_VERSION,
    evaluate_run,
    gan_images,
    is_current,
    vae_images,
)
from genlab.models.checkpoints import load_generator, load_vae

__all__ = [
    "ACCURACY_BAR",
    "CHUNK",
    "CLASSIFIER_VERSION",
    "COVERAGE_SHARE",
    "DEFAULT_N",
    "EPOCHS",
    "EVALUATION_VERSION",
    "EVAL_SEED",
    "NUM_CLASSES",
    "VARIETY_CAP",
    "Classifier",
    "ClassifierParams",
    "classifier_dir",
    "classifier_params",
    "classifier_path",
    "conditional_accuracy",
    "coverage",
    "evaluate_run",
    "frechet_distance",
    "from_signed",
    "gan_images",
    "image_metrics",
    "is_current",
    "load_classifier",
    "load_generator",
    "load_vae",
    "reference_distances",
    "train_classifier",
    "vae_images",
    "within_class_variety",
]
