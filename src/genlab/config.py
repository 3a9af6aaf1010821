"""One typed config per model: every parameter once, with its default, help line and check.

The configs are pydantic models, frozen and strict (``extra="forbid"``): the notebooks'
``parameters`` cells, the command line (argparse, generated from the fields) and the grids all
build them, and a value or a name that is not accepted is refused before anything runs, in one
line that names it and what would be accepted (with the field a misspelt name nearly spells).
Fields marked ``identity=False`` (where to run, how often to log) do not change what a run
computes, so they are left out of the run's hash and may differ on resume.
"""

from __future__ import annotations

import argparse
import difflib
import hashlib
import json
from typing import Any, ClassVar, Literal, TypeVar, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.fields import FieldInfo

from genlab.datasets import DATASETS, get_spec

C = TypeVar("C", bound="Config")
EVAL_HELP = "samples for the sample-quality metrics at the end of training (0: none)"
CUDA_GRAPH_HELP = "replay the training step as a CUDA graph: auto (on CUDA devices) | on | off"
DEVICES = ("auto", "cpu", "cuda", "mps")  # genlab.device.resolve_device's choices
Dataset = Literal[DATASETS]
Device = Literal[DEVICES]
CudaGraph = Literal["auto", "on", "off"]


# The largest integer a tensor's size or index holds (int64): a count above it cannot work on
# any machine, and would fail only after the run folder was written.
INDEX_MAX = 2**63 - 1
# The most epochs a run may ask for: a run writes two images and one record per epoch, and
# 10,000 epochs are 4 hours of the VAE and about 20 of the GAN on this project's 2-core CPU
# (1.5 s and 7 s an epoch); the course's longest run is 300.
EPOCHS_MAX = 10_000
# The most generator updates per discriminator update: each is a full step on a fresh batch of
# noise, so an epoch costs about g_steps times one of 1 step (7 s here: 100 steps are 12 minutes
# an epoch); the course trains 3.
G_STEPS_MAX = 100


def param(
    default: Any,
    help: str,
    *,
    ge: float | None = None,
    gt: float | None = None,
    le: float | None = None,
    lt: float | None = None,
    identity: bool = True,
) -> Any:
    """A config field: its default, a one-line help, and the bounds its value must keep
    (>= ``ge``, > ``gt``, <= ``le``, < ``lt``; a float is always finite, an integer at most
    ``INDEX_MAX`` unless a smaller ``le`` is given)."""
    if isinstance(default, int) and not isinstance(default, bool) and le is None:
        le = INDEX_MAX
    return Field(
        default,
        description=help,
        ge=ge,
        gt=gt,
        le=le,
        lt=lt,
        json_schema_extra={"identity": identity},
    )


# a notebook's own variables besides the config's fields (its parameters cell, what papermill
# injects): anything else with a plain value in a notebook that builds a config is refused
NOTEBOOK_VARIABLES = ("run_dir", "progress", "overrides", "results_dir", "quick", "config_json")


def did_you_mean(unknown: list[str], names: set[str]) -> str:
    """ "did you mean 'batch_size'? " for each unknown name that nearly spells one of ``names``."""
    hints = [
        f"{name}: did you mean {close[0]!r}? "
        for name in unknown
        if (close := difflib.get_close_matches(name, names, n=1))
    ]
    return "".join(hints)


def train_images(dataset: str, train_limit: int | None = 0) -> int:
    """How many training images an epoch of a run on ``dataset`` goes through: all of them,
    or the first ``train_limit`` (0 or None: all)."""
    size = get_spec(dataset).train_size
    return min(train_limit, size) if train_limit else size


class ConfigError(ValueError):
    """A parameter value that is not accepted; the message names it and what would be."""


class Config(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)
    model: ClassVar[str] = "model"

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except ValidationError as e:
            raise ConfigError(self._refusal(e)) from None
        self.check()

    @classmethod
    def _refusal(cls, error: ValidationError) -> str:
        """pydantic's errors as one line: each bad value by name, the unknown names with the
        field each nearly spells, and the accepted names."""
        names = set(cls.model_fields)
        unknown = sorted(str(e["loc"][0]) for e in error.errors() if e["type"] == "extra_forbidden")
        if unknown:
            hints = did_you_mean(unknown, names)
            return (
                f"unknown {cls.model} parameter(s) {', '.join(unknown)}; "
                f"{hints}accepted: {', '.join(sorted(names))}"
            )
        return "; ".join(
            f"{cls.model} parameter {e['loc'][0]}={e['input']!r}: "
            f"{e['msg'][:1].lower()}{e['msg'][1:]}"
            for e in error.errors()
        )

    def check(self) -> None:
        """Checks that involve several fields or the data set (each model adds its own)."""
        for name in ("eval_samples", "quality_samples"):
            value = getattr(self, name, 0)
            if value == 1:  # a Fréchet distance needs a covariance, from at least 2 samples
                raise ConfigError(
                    f"{self.model} parameter {name}=1; accepted: 0 (none) or at least 2 "
                    "(the Fréchet distance needs the covariance of at least 2 samples)"
                )

    def train_images(self) -> int:
        """How many training images an epoch goes through (``train_limit`` of the data set)."""
        return train_images(self.dataset, getattr(self, "train_limit", 0))

    @classmethod
    def from_dict(cls: type[C], values: dict[str, Any]) -> C:
        """Build from a mapping; unknown names are an error that says which field was meant
        and lists the accepted ones."""
        return cls(**values)

    @classmethod
    def from_values(cls: type[C], values: dict[str, Any]) -> C:
        """The config of a notebook's parameters cell: the fields named in ``values`` (the
        notebook's ``globals()``), then ``values["overrides"]``, a dict of any other field.

        A plain value (a number, text, True/False or None) under a name that is no field and
        none of the notebook's own variables (``NOTEBOOK_VARIABLES``) is refused, with the
        fields and the one it nearly spells (``batchsize = 64``, ``learning_rate = 0.01``):
        dropped, it would leave the default in place without a word.

        ``values["config_json"]``, when set, is the whole config as ``./run_all.sh`` planned
        and validated it (``Config.to_json``): it is the config, and the cell's values give way.
        """
        if values.get("config_json"):
            return cls.from_json(values["config_json"])
        names = set(cls.model_fields)
        misspelt = sorted(
            k
            for k, v in values.items()
            if k not in names
            and k not in NOTEBOOK_VARIABLES
            and not k.startswith("_")
            and (v is None or isinstance(v, bool | int | float | str))
        )
        if misspelt:
            raise ConfigError(
                f"{', '.join(misspelt)} {'is not a' if len(misspelt) == 1 else 'are not'} "
                f"{cls.model} parameter{'' if len(misspelt) == 1 else 's'}; "
                f"{did_you_mean(misspelt, names)}accepted: {', '.join(sorted(names))}"
            )
        picked = {k: v for k, v in values.items() if k in names}
        return cls.from_dict({**picked, **values.get("overrides", {})})

    @classmethod
    def from_json(cls: type[C], text: str) -> C:
        """The config ``to_json`` wrote, validated again (a text may have been edited)."""
        values = json.loads(text)
        if not isinstance(values, dict) or values.pop("model", cls.model) != cls.model:
            raise ConfigError(f"config_json {text[:80]!r} is not a {cls.model} config's JSON")
        return cls.from_dict(values)

    def to_json(self) -> str:
        """The config as one JSON text, its model named: what travels from the plan to a
        notebook, read back by ``from_json``."""
        return json.dumps({"model": self.model, **self.to_dict()}, sort_keys=True)

    def replace(self: C, **changes: Any) -> C:
        return type(self).from_dict({**self.to_dict(), **changes})

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump()

    def identity(self) -> dict[str, Any]:
        """The values that decide what the run computes (its hash and its run folder)."""
        ident = {
            name: getattr(self, name)
            for name, info in type(self).model_fields.items()
            if info.json_schema_extra["identity"]
        }
        return {"model": self.model, **ident}

    def digest(self) -> str:
        blob = json.dumps(self.identity(), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:10]

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        """One flag per field (``--batch-size``), with its type, choices, default and help."""
        for name, info in cls.model_fields.items():
            flag = "--" + name.replace("_", "-")
            kind, choices = value_type(info)
            if kind is bool:
                parser.add_argument(
                    flag,
                    action=argparse.BooleanOptionalAction,
                    default=info.default,
                    help=info.description,
                )
            else:
                help = f"{info.description} (default: {info.default})"
                parser.add_argument(
                    flag, type=kind, default=info.default, choices=choices, help=help
                )

    @classmethod
    def from_namespace(cls: type[C], ns: argparse.Namespace) -> C:
        return cls(**{name: getattr(ns, name) for name in cls.model_fields})


def value_type(info: FieldInfo) -> tuple[type, tuple | None]:
    """A field's type (bool, int, float or str) and, for a ``Literal``, its accepted values."""
    if get_origin(info.annotation) is Literal:
        choices = get_args(info.annotation)
        return type(choices[0]), choices
    return info.annotation, None


class VAEConfig(Config):
    """The course's VAE (the classic PyTorch example); defaults are the course's."""

    model: ClassVar[str] = "vae"

    dataset: Dataset = param("mnist", "data set")
    batch_size: int = param(128, "input batch size for training", ge=1)
    epochs: int = param(10, "number of epochs to train", ge=1, le=EPOCHS_MAX)
    lr: float = param(1e-3, "Adam learning rate", gt=0)
    latent_dim: int = param(20, "size of the latent code z", ge=1)
    hidden_dim: int = param(400, "size of the hidden layer of encoder and decoder", ge=1)
    seed: int = param(1, "random seed (weights, shuffling, sampling)", ge=0, le=2**32 - 1)
    train_limit: int = param(0, "use only the first N training images (0: all 60,000)", ge=0)
    test_limit: int = param(0, "use only the first N test images (0: all 10,000)", ge=0)
    eval_samples: int = param(10_000, EVAL_HELP, ge=0, identity=False)
    log_interval: int = param(10, "batches between progress updates", ge=1, identity=False)
    no_cuda: bool = param(False, "disables CUDA training", identity=False)
    device: Device = param("auto", "auto | cpu | cuda | mps", identity=False)
    cuda_graph: CudaGraph = param("auto", CUDA_GRAPH_HELP, identity=False)


class GANConfig(Config):
    """The GAN of problem 5.3 and, with ``conditional=True``, the cGAN of 5.5.

    The course fixes no number of epochs. 40 by default, read off the quality measured after
    every epoch in ``scripts/gan_study.py`` (``results/5.5/ablation.md``, on an H200): with
    equal learning rates the Fréchet distance was still falling at epoch 40 (13.7 there, its
    best 11.5 at epoch 39), the conditional GAN reached its best distance at epochs 36-40, and
    the other settings flattened between epochs 24 and 39. 40 epochs is what the 2-core CPU
    can afford for all five runs within the hour of ``./run_all.sh``.
    """

    model: ClassVar[str] = "gan"

    dataset: Dataset = param("fashion-mnist", "data set")
    conditional: bool = param(False, "condition both networks on the class label (cGAN)")
    batch_size: int = param(64, "input batch size for training", ge=1)
    epochs: int = param(40, "number of epochs to train", ge=1, le=EPOCHS_MAX)
    lr_g: float = param(2e-4, "generator Adam learning rate", gt=0)
    lr_d: float = param(2e-4, "discriminator Adam learning rate", gt=0)
    beta1: float = param(0.5, "Adam beta1 of both networks", ge=0, lt=1)
    g_steps: int = param(1, "generator updates per discriminator update", ge=1, le=G_STEPS_MAX)
    latent_dim: int = param(100, "size of the noise vector z", ge=1)
    embed_dim: int = param(10, "size of the label embedding (cGAN only)", ge=1)
    d_label: Literal["concat", "projection"] = param(
        "concat", "how the cGAN's discriminator takes the label"
    )
    d_dropout: float = param(
        0.0, "dropout after each hidden layer of the discriminator", ge=0, lt=1
    )
    real_target: float = param(
        1.0, "discriminator's target for real images (<1: smoothing)", gt=0, le=1
    )
    ema_decay: float = param(
        0.0,
        "sample from an exponential moving average of the generator's "
        "weights with this decay per step (0: the generator itself)",
        ge=0,
        le=0.99999,
    )
    seed: int = param(1, "random seed (weights, shuffling, noise)", ge=0, le=2**32 - 10_001)
    train_limit: int = param(0, "use only the first N training images (0: all 60,000)", ge=0)
    eval_samples: int = param(10_000, EVAL_HELP, ge=0, identity=False)
    # part of a run's identity: a resumed run never mixes measurements of other sample counts
    quality_samples: int = param(
        2000, "samples for the quality measured during training (0: none)", ge=0
    )
    quality_every: int = param(1, "epochs between two quality measurements during training", ge=1)
    log_interval: int = param(100, "batches between progress updates", ge=1, identity=False)
    no_cuda: bool = param(False, "disables CUDA training", identity=False)
    device: Device = param("auto", "auto | cpu | cuda | mps", identity=False)
    cuda_graph: CudaGraph = param("auto", CUDA_GRAPH_HELP, identity=False)

    def check(self) -> None:
        super().check()
        # batch norm in training mode normalises over the batch: one image has no spread
        if self.batch_size < 2:
            raise ConfigError(
                f"gan parameter batch_size={self.batch_size}; accepted: at least 2 (the "
                "generator's batch norm needs 2 images per batch)"
            )
        n = self.train_images()
        if n % self.batch_size == 1:
            fix = "train_limit" if self.train_limit else "batch_size"
            raise ConfigError(
                f"gan parameters train_limit={self.train_limit}, batch_size={self.batch_size} "
                f"leave a last batch of 1 image ({n} = {n // self.batch_size} x "
                f"{self.batch_size} + 1), which the generator's batch norm cannot normalise; "
                f"change {fix} so that {n} is not 1 more than a multiple of the batch size"
            )
