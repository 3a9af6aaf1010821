"""Sampling from a run, and the evaluation of a run folder recorded in its ``metrics.json``.

- ``vae_images`` / ``gan_images``: seeded samples (``EVAL_SEED``) of a model, in [0, 1].
- ``evaluate_run(run_dir)``: loads a run's checkpoint, draws seeded samples (and, for the VAE,
  reconstructions of the test split) and records the metrics under ``"evaluation"`` in its
  ``metrics.json``; ``is_current`` says whether a recorded evaluation is one it would make now.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch
from torch import nn

from genlab.data import load
from genlab.device import resolve_device
from genlab.evaluate.classifier import CHUNK, Device, load_classifier
from genlab.evaluate.metrics import DEFAULT_N, EVAL_SEED, from_signed, image_metrics
from genlab.models.checkpoints import load_generator, load_vae
from genlab.runs import (
    CHECKPOINT,
    check_writable,
    load_metrics,
    run_checkpoint,
    write_metrics,
)

# bump when an evaluation's contents change (2: variety, portable names; 3: a weight-averaged
# GAN's generator also measured without the average)
EVALUATION_VERSION = 3


@torch.no_grad()
def vae_images(
    model: nn.Module,
    n: int,
    test_images: torch.Tensor,
    seed: int = EVAL_SEED,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Seeded prior samples (n) and reconstructions of ``test_images``, in [0, 1], on the CPU.

    ``model`` is a ``genlab.models.vae.VAE``; reconstructions are the decoder's means for a
    seeded draw of z from the encoder's posterior (as its forward pass does).
    """
    model.eval()
    device = next(model.parameters()).device
    generator = torch.Generator().manual_seed(seed)
    samples = [
        model.decode(torch.randn(len(c), model.latent_dim, generator=generator).to(device)).cpu()
        for c in torch.arange(n).split(CHUNK)
    ]
    recons = []
    for x in test_images.split(CHUNK):
        mu, logvar = model.encode(x.to(device).reshape(len(x), -1))
        eps = torch.randn(mu.shape, generator=generator).to(device)
        recons.append(model.decode(mu + eps * torch.exp(0.5 * logvar)).cpu())
    shape = (-1, 1, 28, 28)
    return torch.cat(samples).view(shape), torch.cat(recons).view(shape)


@torch.no_grad()
def gan_images(
    generator_net: nn.Module,
    n: int,
    seed: int = EVAL_SEED,
    batch_statistics: bool = False,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Seeded samples (n) of a ``genlab.models.gan.Generator`` in [0, 1] on the CPU, and for a
    conditional one the labels they were conditioned on (balanced: ``i % 10`` for sample i).

    The generator is put in eval mode (batch norm with its running statistics), or with
    ``batch_statistics`` in train mode (each chunk of samples normalised by its own).
    """
    generator_net.train(batch_statistics)
    device = next(generator_net.parameters()).device
    generator = torch.Generator().manual_seed(seed)
    num_classes = getattr(generator_net, "num_classes", 0)
    labels = torch.arange(n) % num_classes if num_classes else None
    images = []
    for idx in torch.arange(n).split(CHUNK):
        z = torch.randn(len(idx), generator_net.latent_dim, generator=generator).to(device)
        y = labels[idx].to(device) if labels is not None else None
        images.append(from_signed(generator_net(z, y)).cpu())
    return torch.cat(images).view(-1, 1, 28, 28), labels


def is_current(evaluation: dict[str, Any] | None, n: int) -> bool:
    """Whether a recorded evaluation is one ``evaluate_run`` would make now with ``n`` samples."""
    return (
        bool(evaluation)
        and evaluation.get("n") == n
        and (evaluation.get("version") == EVALUATION_VERSION)
    )


def evaluate_run(
    run_dir: str | os.PathLike,
    n: int = DEFAULT_N,
    device: Device = "auto",
    force: bool = False,
    write: bool = True,
    root: str | os.PathLike | None = None,
) -> dict[str, Any]:
    """Evaluate the model in a run folder's checkpoint; record it in ``metrics.json``.

    The result (also written under ``"evaluation"``, the rest of ``metrics.json`` kept) holds
    ``n``, ``seed``, ``epoch`` (of the checkpoint), ``classifier_digest``, ``dataset``,
    ``classifier_file``, ``classifier_test_accuracy``, ``samples`` (``image_metrics`` of n
    seeded samples; a cGAN's are balanced over the classes and include the conditional
    accuracy; for a GAN that kept a weight average, ``samples_without_average`` too, from the
    generator itself) and, for a VAE, ``reconstructions``
    (``image_metrics`` of the reconstructed test split, at most n images). An evaluation
    already recorded for the same checkpoint, n and classifier is returned unless ``force``.
    """
    run_dir = Path(run_dir)
    metrics = load_metrics(run_dir)
    if write:
        check_writable(run_dir)  # before the evaluation is computed
    config = metrics["config"]
    dataset, model = config["dataset"], config["model"]
    ckpt = run_dir / CHECKPOINT
    if not ckpt.exists():
        raise FileNotFoundError(f"{ckpt} not found: the run has no finished epoch to evaluate")
    device = resolve_device(device) if isinstance(device, str) else device
    clf = load_classifier(dataset, device, root)
    state = run_checkpoint(run_dir)
    key = {
        "version": EVALUATION_VERSION,
        "n": n,
        "seed": EVAL_SEED,
        "epoch": state["epoch"],
        "classifier_digest": clf.record["digest"],
    }
    before = metrics.get("evaluation")
    if not force and before and all(before.get(k) == v for k, v in key.items()):
        return before
    evaluation: dict[str, Any] = {
        **key,
        "dataset": dataset,
        "classifier_file": Path(clf.record["file"]).name,  # in the data root's classifiers/
        "classifier_test_accuracy": clf.record["test_accuracy"],
    }
    if model == "vae":
        vae = load_vae(config, state["trainer"], device)
        test = load(dataset, "test", root=root).pixels()[:n]
        samples, recons = vae_images(vae, n, test)
        evaluation["samples"] = image_metrics(samples, dataset, device=device, root=root)
        evaluation["reconstructions"] = image_metrics(recons, dataset, device=device, root=root)
    elif model == "gan":
        net = load_generator(config, state["trainer"], device)
        samples, labels = gan_images(net, n)
        evaluation["samples"] = image_metrics(samples, dataset, labels, device, root)
        if "generator_average" in state["trainer"]:  # like for like with a GAN that has none
            net = load_generator(config, state["trainer"], device, average=False)
            samples, labels = gan_images(net, n)
            evaluation["samples_without_average"] = image_metrics(
                samples, dataset, labels, device, root
            )
    else:
        raise ValueError(f"{run_dir}: unknown model {model!r} in metrics.json")
    evaluation["evaluated"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    if write:
        metrics = load_metrics(run_dir)  # fresh: keep everything else as it is now
        metrics["evaluation"] = evaluation
        write_metrics(run_dir, metrics)
    return evaluation
