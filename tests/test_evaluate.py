"""The evaluation module: the domain classifiers, the metrics' sanity on real data, run folders.

The classifiers are cached in the data root: the first run of these tests trains them (a few
minutes on a small CPU), later runs load them.
"""

from __future__ import annotations

import math

import pytest
import torch

from genlab import evaluate as ev
from genlab.config import GANConfig, VAEConfig
from genlab.data import DATASETS, load
from genlab.evaluate import classifier
from genlab.runs import load_metrics, read_json

pytestmark = pytest.mark.usefixtures("one_thread")

# --- pieces without a classifier (the fast tier) ----------------------------------------------


def test_the_package_keeps_the_names_of_the_former_module():
    from genlab.evaluate import classifier, metrics, sampling
    from genlab.models import checkpoints

    for name in ev.__all__:
        assert getattr(ev, name) is not None, name
    assert ev.load_generator is checkpoints.load_generator and ev.load_vae is checkpoints.load_vae
    assert ev.evaluate_run is sampling.evaluate_run and ev.image_metrics is metrics.image_metrics
    assert ev.load_classifier is classifier.load_classifier
    assert (ev.EVALUATION_VERSION, ev.EVAL_SEED, ev.CHUNK, ev.DEFAULT_N) == (3, 2024, 1000, 10_000)


def test_coverage_counts_classes_and_kl():
    one = ev.coverage(torch.zeros(1000, dtype=torch.long))
    assert one["classes_covered"] == 1
    assert one["class_histogram"] == [1.0] + [0.0] * 9
    assert one["kl_from_uniform"] == pytest.approx(math.log(10))
    even = ev.coverage(torch.arange(1000) % 10)
    assert even["classes_covered"] == 10 and even["kl_from_uniform"] == pytest.approx(0, abs=1e-12)
    # 4.9% of the samples is not coverage, 5% is
    preds = torch.cat([torch.zeros(951), torch.ones(49)]).long()
    assert ev.coverage(preds)["classes_covered"] == 1
    preds = torch.cat([torch.zeros(950), torch.ones(50)]).long()
    assert ev.coverage(preds)["classes_covered"] == 2


def test_conditional_accuracy_overall_and_per_class():
    labels = torch.tensor([0, 0, 1, 1, 2, 2, 2, 2])
    preds = torch.tensor([0, 1, 1, 1, 2, 0, 0, 0])
    out = ev.conditional_accuracy(preds, labels)
    assert out["conditional_accuracy"] == pytest.approx(4 / 8)
    assert out["conditional_accuracy_per_class"][:3] == pytest.approx([0.5, 1.0, 0.25])
    assert out["conditional_accuracy_per_class"][3:] == [None] * 7


def test_frechet_distance_of_gaussians():
    g = torch.Generator().manual_seed(0)
    a = torch.randn(20_000, 8, generator=g, dtype=torch.float64)
    b = torch.randn(20_000, 8, generator=g, dtype=torch.float64)
    assert ev.frechet_distance(a, a) == pytest.approx(0, abs=1e-6)
    # N(0, I) against N(mu, 4 I): |mu|^2 + d (1 + 4 - 2 * 2) = 4 + 8
    mu = torch.full((8,), 2 / math.sqrt(8), dtype=torch.float64)
    assert ev.frechet_distance(a, 2 * b + mu) == pytest.approx(12, rel=0.03)


def test_images_must_be_unit_range():
    signed = torch.rand(16, 1, 28, 28) * 2 - 1
    with pytest.raises(ValueError, match="from_signed"):
        ev.image_metrics(signed, "mnist")
    with pytest.raises(ValueError, match="shape"):
        ev.image_metrics(torch.rand(16, 1, 32, 32), "mnist")
    with pytest.raises(TypeError):
        ev.image_metrics(torch.zeros(16, 1, 28, 28, dtype=torch.uint8), "mnist")
    unit = ev.from_signed(signed)
    assert unit.min() >= 0 and unit.max() <= 1
    assert torch.allclose(ev.from_signed(torch.tensor([-1.0, 0.0, 1.0])), torch.tensor([0, 0.5, 1]))


# --- the classifiers ------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("dataset", DATASETS)
def test_classifier_reaches_its_accuracy_bar(dataset):
    clf = ev.load_classifier(dataset)  # trained and cached on the first call
    rec = clf.record
    print(f"{dataset}: {rec['test_accuracy']:.2%}, trained in {rec['train_seconds']:.0f} s")
    assert rec["test_accuracy"] >= ev.ACCURACY_BAR[dataset] == rec["accuracy_bar"]
    path = ev.classifier_path(dataset)
    assert rec["file"] == str(path) and path.exists()
    assert path.name == f"{dataset}-{ev.classifier_params(dataset).digest()}.pt"
    side = read_json(path.with_suffix(".json"))
    assert side["classifier"]["test_accuracy"] == rec["test_accuracy"]
    # the cached weights give the recorded accuracy
    test = load(dataset, "test")
    _, preds = clf.embed(test.pixels())
    assert preds.eq(test.labels).float().mean().item() == pytest.approx(
        rec["test_accuracy"], abs=2e-4
    )
    assert clf.num_features == clf.features(test.pixels()[:2].to(_device(clf))).shape[1]


def test_building_the_classifier_draws_nothing_from_the_global_generator(tmp_path, monkeypatch):
    """Built on the meta device with its saved weights assigned: a GAN that measures its
    quality during training has the same random stream as one that does not."""
    monkeypatch.setattr(classifier, "_BUILT", {})  # built anew in this test, not reused
    monkeypatch.setattr(classifier, "_CLASSIFIERS", {})
    torch.manual_seed(0)
    before = torch.random.get_rng_state()
    clf = ev.load_classifier("fashion-mnist", verbose=False)
    assert torch.equal(before, torch.random.get_rng_state())
    assert _device(clf).type == "cpu" and not any(p.is_meta for p in clf.parameters())
    saved = torch.load(ev.classifier_path("fashion-mnist"), weights_only=True)["state_dict"]
    assert all(torch.equal(clf.state_dict()[k], v) for k, v in saved.items())


def _device(module: torch.nn.Module) -> torch.device:
    return next(module.parameters()).device


# --- the metrics on real data ---------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("dataset", DATASETS)
def test_metrics_of_real_images(dataset):
    test = load(dataset, "test")
    refs = ev.reference_distances(dataset)
    print(f"{dataset}: reference distances {refs}")
    m = ev.image_metrics(test.pixels(), dataset, labels=test.labels)
    assert m["n"] == 10_000 and m["reference_distances"] == refs
    # the test split against itself: zero; train against test: small; noise: far larger
    assert m["frechet_distance"] == pytest.approx(0, abs=1e-3 * refs["train_vs_test"] + 1e-6)
    assert 0 < refs["train_vs_test"] < 0.02 * refs["noise_vs_test"]
    # the real test split covers the 10 classes, nearly uniformly
    assert m["classes_covered"] == 10 and m["kl_from_uniform"] < 0.01
    assert sum(m["class_histogram"]) == pytest.approx(1)
    # conditioned on the true labels: the classifier's test accuracy
    clf = ev.load_classifier(dataset)
    assert m["conditional_accuracy"] == pytest.approx(clf.record["test_accuracy"], abs=2e-4)
    assert min(m["conditional_accuracy_per_class"]) > 0.5
    # the test split is the reference of the within-class variety: exactly as varied as itself
    assert m["within_class_variety_per_class"] == pytest.approx([1.0] * 10)
    # a "generator" of one class only: mode collapse
    ones = test.pixels()[test.labels == 1]
    m1 = ev.image_metrics(ones, dataset, reference=False)
    assert m1["classes_covered"] == 1 and m1["kl_from_uniform"] > 2
    assert m1["frechet_distance"] > 10 * refs["train_vs_test"]
    # the references are cached beside the classifier
    side = read_json(ev.classifier_path(dataset).with_suffix(".json"))
    assert side["reference_distances"][str(ev.DEFAULT_N)] == refs


@pytest.mark.slow
def test_within_class_variety_of_real_features():
    clf = ev.load_classifier("fashion-mnist")
    test = load("fashion-mnist", "test")
    feats, _ = clf.embed(test.pixels())
    half = len(test) // 2
    a, b = (feats[:half], test.labels[:half]), (feats[half:], test.labels[half:])
    v = ev.within_class_variety(*a, *b)
    assert 0.95 < v["within_class_variety"] < 1.05
    assert all(0.9 < x < 1.1 for x in v["within_class_variety_per_class"])
    assert ev.within_class_variety(*a, *a)["within_class_variety"] == pytest.approx(1)
    # a class with fewer than 2 samples is None and left out of the mean
    classes = torch.tensor([0] * 39 + [1])
    v = ev.within_class_variety(feats[:40], classes, *b)
    assert v["within_class_variety_per_class"][1:] == [None] * 9
    assert v["within_class_variety"] == v["within_class_variety_per_class"][0] > 0
    assert ev.within_class_variety(feats[:1], classes[:1], *b)["within_class_variety"] is None


@pytest.mark.slow
def test_within_class_variety_of_images():
    dataset = "fashion-mnist"
    train = load(dataset, "train")
    # real training images against the test split, by their labels and by the predictions
    images, labels = train.pixels()[:3000], train.labels[:3000]
    for given in (labels, None):
        m = ev.image_metrics(images, dataset, labels=given, reference=False)
        assert 0.9 < m["within_class_variety"] < 1.1, m["within_class_variety_per_class"]
        assert None not in m["within_class_variety_per_class"]
    # one image repeated: no variety, in the one class it falls into
    m = ev.image_metrics(images[:1].repeat(1000, 1, 1, 1), dataset, reference=False)
    assert m["within_class_variety"] < 0.05
    assert sum(x is not None for x in m["within_class_variety_per_class"]) == 1
    # a "cGAN" that draws one image per class: every class covered, still no variety
    firsts = torch.tensor([int((labels == c).nonzero()[0]) for c in range(10)])
    cgan_labels = torch.arange(1000) % 10
    m = ev.image_metrics(images[firsts[cgan_labels]], dataset, cgan_labels, reference=False)
    assert m["classes_covered"] == 10 and m["conditional_accuracy"] > 0.5
    assert m["within_class_variety"] < 0.05
    assert None not in m["within_class_variety_per_class"]


# --- run folders ----------------------------------------------------------------------------


@pytest.mark.slow
def test_evaluate_vae_run(tmp_path):
    from genlab.train.vae import train_vae

    config = VAEConfig(
        epochs=1, train_limit=512, test_limit=256, device="cpu", eval_samples=0
    )  # evaluated below, by hand
    run = train_vae(config, run_dir=tmp_path / "vae", progress=False)
    before = load_metrics(run.path)
    result = ev.evaluate_run(run.path, n=512, device="cpu")
    metrics = load_metrics(run.path)
    assert metrics["evaluation"] == result
    assert {k: v for k, v in metrics.items() if k != "evaluation"} == before
    assert result["n"] == 512 and result["epoch"] == 1 and result["dataset"] == "mnist"
    for part in ("samples", "reconstructions"):
        m = result[part]
        assert m["n"] == 512 and len(m["class_histogram"]) == 10
        assert 0 <= m["classes_covered"] <= 10 and m["kl_from_uniform"] >= 0
        # a VAE of one epoch on 512 images is far from the real data
        assert math.isfinite(m["frechet_distance"])
        assert m["frechet_distance"] > m["reference_distances"]["train_vs_test"]
        assert len(m["within_class_variety_per_class"]) == 10
    assert "conditional_accuracy" not in result["samples"]
    # recorded: returned as is; reproducible when forced
    assert ev.evaluate_run(run.path, n=512, device="cpu") == result
    again = ev.evaluate_run(run.path, n=512, device="cpu", force=True, write=False)
    for part in ("samples", "reconstructions"):
        assert again[part]["frechet_distance"] == pytest.approx(result[part]["frechet_distance"])
        assert again[part]["class_histogram"] == result[part]["class_histogram"]


@pytest.mark.slow
@pytest.mark.parametrize("conditional", [False, True], ids=["gan", "cgan"])
def test_evaluate_gan_run(tmp_path, conditional):
    from genlab.train.gan import train_gan

    config = GANConfig(
        epochs=1,
        train_limit=256,
        conditional=conditional,
        device="cpu",
        eval_samples=0,
        ema_decay=0.9 if conditional else 0.0,
    )
    # evaluated below, by hand; the cGAN keeps a weight average, the GAN none
    run = train_gan(config, run_dir=tmp_path / "gan", progress=False)
    result = ev.evaluate_run(run.path, n=500, device="cpu")
    assert load_metrics(run.path)["evaluation"] == result
    m = result["samples"]
    assert m["n"] == 500 and result["dataset"] == "fashion-mnist"
    assert math.isfinite(m["frechet_distance"]) and len(m["class_histogram"]) == 10
    assert "reconstructions" not in result
    if conditional:
        assert 0 <= m["conditional_accuracy"] <= 1
        assert len(m["conditional_accuracy_per_class"]) == 10
        assert None not in m["conditional_accuracy_per_class"]  # balanced: 50 per class
        assert None not in m["within_class_variety_per_class"]
        assert m["within_class_variety"] >= 0
        # the average and the generator itself, each measured: two different sets of samples
        raw = result["samples_without_average"]
        assert set(raw) == set(m) and raw["frechet_distance"] != m["frechet_distance"]
    else:
        assert "conditional_accuracy" not in m
        assert "samples_without_average" not in result
    # the samples are drawn from a seeded generator: the same images again
    net = ev.load_generator(
        load_metrics(run.path)["config"],
        torch.load(run.path / "checkpoint.pt", weights_only=True)["trainer"],
        "cpu",
    )
    a, labels_a = ev.gan_images(net, 20)
    b, labels_b = ev.gan_images(net, 20)
    assert torch.equal(a, b) and (labels_a is None) == (not conditional)
    assert a.min() >= 0 and a.max() <= 1


def test_evaluate_run_without_checkpoint(tmp_path):
    from genlab.runs import Run

    run = Run.open(tmp_path / "empty", VAEConfig(epochs=1))
    run.update()
    with pytest.raises(FileNotFoundError, match="checkpoint"):
        ev.evaluate_run(run.path)


def test_the_shipped_classifier_replaces_one_trained_here(tmp_path, monkeypatch):
    monkeypatch.setenv("GENLAB_DATA", str(tmp_path))
    path = ev.classifier_path("fashion-mnist", tmp_path)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"weights trained on another machine")
    path.with_suffix(".json").write_text('{"reference_distances": {"10": {}}}')
    clf = ev.load_classifier("fashion-mnist", "cpu", tmp_path, verbose=False)
    shipped = classifier.SHIPPED / path.name
    assert path.read_bytes() == shipped.read_bytes()
    assert "reference_distances" not in read_json(path.with_suffix(".json"))  # measured with it
    assert clf.record["test_accuracy"] >= ev.ACCURACY_BAR["fashion-mnist"]


def test_damaged_shipped_weights_are_refused(tmp_path, monkeypatch):
    weights = tmp_path / "weights"
    weights.mkdir()
    name = ev.classifier_path("mnist", tmp_path).name
    (weights / name).write_bytes(b"a git-lfs pointer, say")
    (weights / "SHA256SUMS").write_text(f"{'0' * 64}  {name}\n")
    monkeypatch.setattr(classifier, "SHIPPED", weights)
    with pytest.raises(OSError, match="damaged"):
        ev.load_classifier("mnist", "cpu", tmp_path / "data", verbose=False)
    assert not (tmp_path / "data" / "classifiers" / name).exists()


def test_the_cache_lock_keeps_out_another_process_until_released(tmp_path):
    import subprocess
    import sys

    path = ev.classifier_path("mnist", tmp_path)
    other = (
        "import sys\nfrom filelock import FileLock, Timeout\n"
        "try:\n    FileLock(sys.argv[1]).acquire(timeout=0)\nexcept Timeout:\n    sys.exit(3)"
    )

    def another_process_gets_it() -> bool:
        done = subprocess.run([sys.executable, "-c", other, str(path.with_suffix(".lock"))])
        assert done.returncode in (0, 3)
        return done.returncode == 0

    with classifier.cache_lock(path):
        assert path.parent.is_dir() and not another_process_gets_it()
    assert another_process_gets_it()
