"""A parameter's path: declared once in a config class, it reaches the command line, the
notebook's config and the run's config.json with no other edit."""

from __future__ import annotations

import argparse
import json

import pytest

from genlab import ConfigError, VAEConfig, health
from genlab.config import param, train_images
from genlab.train.vae import train_vae


class VAEWithDropout(VAEConfig):
    """The course's VAE with one more parameter, as a student would add it."""

    dropout: float = param(0.0, "dropout before the decoder's output layer", ge=0, le=0.9)


def test_a_new_field_reaches_the_cli_help_and_its_parsed_value():
    parser = argparse.ArgumentParser()
    VAEWithDropout.add_arguments(parser)
    help_text = " ".join(parser.format_help().split())
    assert "--dropout DROPOUT dropout before the decoder's output layer (default: 0.0)" in help_text
    config = VAEWithDropout.from_namespace(parser.parse_args(["--dropout", "0.25"]))
    assert config.dropout == 0.25 and config.batch_size == VAEConfig().batch_size
    with pytest.raises(ConfigError, match=r"dropout=0\.95: .* less than or equal to 0\.9"):
        VAEWithDropout(dropout=0.95)


def test_a_new_field_reaches_a_notebooks_config_and_the_runs_config_json(tmp_path):
    notebook_globals = {
        "batch_size": 64,
        "dropout": 0.25,
        "display": print,
        "run_dir": None,
        "overrides": {"train_limit": 256, "test_limit": 128},
    }
    config = VAEWithDropout.from_values(notebook_globals)
    assert (config.dropout, config.batch_size, config.train_limit) == (0.25, 64, 256)
    run = train_vae(
        config.replace(epochs=1, eval_samples=0, device="cpu"),
        run_dir=tmp_path / "run",
        progress=False,
    )
    saved = json.loads((run.path / "config.json").read_text())
    assert saved["dropout"] == 0.25 and saved["model"] == "vae"
    # a different value is a different run: its own hash, so never mixed up with this one
    assert config.replace(dropout=0.5).digest() != config.digest()


def test_a_run_saved_before_a_field_existed_opens_with_the_fields_default(tmp_path):
    from genlab.runs import Run, RunConflictError

    run = tmp_path / "run"
    run.mkdir()
    old = {k: v for k, v in VAEWithDropout().identity().items() if k != "dropout"}
    (run / "config.json").write_text(json.dumps(old))  # as written before the field was added
    assert Run.open(run, VAEWithDropout()).config.dropout == 0.0
    with pytest.raises(RunConflictError, match=r"dropout: 0\.0 -> 0\.5"):
        Run.open(run, VAEWithDropout(dropout=0.5))


def test_an_epoch_goes_through_the_data_set_or_its_train_limit():
    """One count of an epoch's images, for a config and for a run's recorded config: a limit
    above the data set's size is the whole set, in images and in Adam steps alike."""
    assert train_images("mnist") == 60_000 == VAEConfig().train_images()
    assert train_images("fashion-mnist", 256) == 256 == VAEConfig(train_limit=256).train_images()
    assert train_images("mnist", 100_000) == 60_000
    recorded = {"dataset": "mnist", "train_limit": 100_000, "batch_size": 128}
    assert health.images_per_epoch(recorded) == 60_000
    assert health.steps_per_epoch(recorded) == 469  # ceil(60,000 / 128), not of 100,000
    assert health.steps_per_epoch({"dataset": "mnist", "batch_size": 128}) == 469
