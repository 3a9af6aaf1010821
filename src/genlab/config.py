"""One typed config per model: every parameter once, with its default, help line and check.

The notebooks' ``parameters`` cells, the command line and the grids all build these. A config
is frozen (``replace`` makes another), and a name that is no field is refused everywhere, with
the field it nearly spells: in ``from_dict``, and among a notebook's variables in
``from_values``.
Fields marked ``identity=False`` (where to run, how often to log) do not change what a
run computes, so they are left out of the run's hash and may differ on resume.
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import hashlib
import json
import math
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

from genlab.data import DATASETS, get_spec
from genlab.device import DEVICES

C = TypeVar("C", bound="Config")
EVAL_HELP = "samples for the sample-quality metrics at the end of training (0: none)"
CUDA_GRAPH_HELP = "replay the training step as a CUDA graph: auto (on CUDA devices) | on | off"


def param(
    default: Any,
    help: str,
    *,
    choices: tuple | None = None,
    min: float | None = None,
    gt: float | None = None,
    max: float | None = None,
    lt: float | None = None,
    identity: bool = True,
) -> Any:
    """A config field: its default, a one-line help, and the check its value must pass (a
    float is always finite)."""
    meta = {"help": help, "choices": choices, "min": min, "gt": gt, "max": max, "lt": lt,
            "identity": identity}  # fmt: skip
    return field(default=default, metadata=meta)


MISSPELT = 0.75  # how close a notebook variable must spell a field to be taken for a misspelling


def did_you_mean(unknown: list[str], names: set[str]) -> str:
    """ "did you mean 'batch_size'? " for each unknown name that nearly spells one of ``names``."""
    hints = [f"{name}: did you mean {close[0]!r}? " for name in unknown
             if (close := difflib.get_close_matches(name, names, n=1))]  # fmt: skip
    return "".join(hints)


class ConfigError(ValueError):
    """A parameter value that is not accepted; the message names it and what would be."""


@dataclass(frozen=True)
class Config:
    model: ClassVar[str] = "model"

    def __post_init__(self) -> None:
        self.validate()

    @classmethod
    def fields(cls) -> tuple[dataclasses.Field, ...]:
        return dataclasses.fields(cls)

    def validate(self) -> None:
        for f in self.fields():
            value, meta, kind = getattr(self, f.name), f.metadata, _kind(f)
            if kind is bool:
                ok = isinstance(value, bool)
            elif kind is int:
                ok = isinstance(value, int) and not isinstance(value, bool)
            elif kind is float:
                ok = isinstance(value, int | float) and not isinstance(value, bool)
            else:
                ok = isinstance(value, str)
            if not ok:
                raise ConfigError(
                    f"{self.model} parameter {f.name}={value!r} must be of type {kind.__name__}"
                )
            if kind is float:
                if not math.isfinite(value):  # NaN would pass every comparison below
                    raise ConfigError(
                        f"{self.model} parameter {f.name}={value!r} must be a finite number"
                    )
                object.__setattr__(self, f.name, float(value))  # frozen: set once, here
            if meta["choices"] is not None and value not in meta["choices"]:
                accepted = ", ".join(map(str, meta["choices"]))
                raise ConfigError(
                    f"{self.model} parameter {f.name}={value!r}; accepted: {accepted}"
                )
            if meta["min"] is not None and value < meta["min"]:
                raise ConfigError(
                    f"{self.model} parameter {f.name}={value!r} must be >= {meta['min']}"
                )
            if meta["max"] is not None and value > meta["max"]:
                raise ConfigError(
                    f"{self.model} parameter {f.name}={value!r} must be <= {meta['max']}"
                )
            if meta["gt"] is not None and not value > meta["gt"]:
                raise ConfigError(
                    f"{self.model} parameter {f.name}={value!r} must be > {meta['gt']}"
                )
            if meta["lt"] is not None and not value < meta["lt"]:
                raise ConfigError(
                    f"{self.model} parameter {f.name}={value!r} must be < {meta['lt']}"
                )
        self.check()

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
        size = get_spec(self.dataset).train_size
        limit = getattr(self, "train_limit", 0)
        return min(limit, size) if limit else size

    @classmethod
    def from_dict(cls: type[C], values: dict[str, Any]) -> C:
        """Build from a mapping; unknown names are an error that says which field was meant
        and lists the accepted ones."""
        names = {f.name for f in cls.fields()}
        unknown = sorted(set(values) - names)
        if unknown:
            raise ConfigError(
                f"unknown {cls.model} parameter(s) {', '.join(unknown)}; "
                f"{did_you_mean(unknown, names)}accepted: {', '.join(sorted(names))}"
            )
        return cls(**values)

    @classmethod
    def from_values(cls: type[C], values: dict[str, Any]) -> C:
        """The config of a notebook's parameters cell: the fields named in ``values`` (the
        notebook's ``globals()``), then ``values["overrides"]``, a dict of any other field.

        A variable that is no field but nearly spells one (``batchsize = 64``) is refused:
        dropped, it would leave the default in place without a word."""
        names = {f.name for f in cls.fields()}
        misspelt = sorted(
            k for k, v in values.items()
            if k not in names and not k.startswith("_") and isinstance(v, bool | int | float | str)
            and difflib.get_close_matches(k, names, n=1, cutoff=MISSPELT)
        )  # fmt: skip
        if misspelt:
            raise ConfigError(
                f"{', '.join(misspelt)} {'is not a' if len(misspelt) == 1 else 'are not'} "
                f"{cls.model} parameter{'' if len(misspelt) == 1 else 's'}; "
                f"{did_you_mean(misspelt, names)}accepted: {', '.join(sorted(names))}"
            )
        picked = {k: v for k, v in values.items() if k in names}
        return cls.from_dict({**picked, **values.get("overrides", {})})

    def replace(self: C, **changes: Any) -> C:
        return type(self).from_dict({**self.to_dict(), **changes})

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def identity(self) -> dict[str, Any]:
        """The values that decide what the run computes (its hash and its run folder)."""
        ident = {f.name: getattr(self, f.name) for f in self.fields() if f.metadata["identity"]}
        return {"model": self.model, **ident}

    def digest(self) -> str:
        blob = json.dumps(self.identity(), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:10]

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        for f in cls.fields():
            flag = "--" + f.name.replace("_", "-")
            kind, meta = _kind(f), f.metadata
            if kind is bool:
                parser.add_argument(flag, action=argparse.BooleanOptionalAction,
                                    default=f.default, help=meta["help"])  # fmt: skip
            else:
                parser.add_argument(flag, type=kind, default=f.default, choices=meta["choices"],
                                    help=f"{meta['help']} (default: {f.default})")  # fmt: skip

    @classmethod
    def from_namespace(cls: type[C], ns: argparse.Namespace) -> C:
        return cls(**{f.name: getattr(ns, f.name) for f in cls.fields()})


def _kind(f: dataclasses.Field) -> type:
    return {"bool": bool, "int": int, "float": float, "str": str}[str(f.type)]


@dataclass(frozen=True)
class VAEConfig(Config):
    """The course's VAE (the classic PyTorch example); defaults are the course's."""

    model: ClassVar[str] = "vae"

    dataset: str = param("mnist", "data set", choices=DATASETS)
    batch_size: int = param(128, "input batch size for training", min=1)
    epochs: int = param(10, "number of epochs to train", min=1)
    lr: float = param(1e-3, "Adam learning rate", gt=0)
    latent_dim: int = param(20, "size of the latent code z", min=1)
    hidden_dim: int = param(400, "size of the hidden layer of encoder and decoder", min=1)
    seed: int = param(1, "random seed (weights, shuffling, sampling)", min=0, max=2**32 - 1)
    train_limit: int = param(0, "use only the first N training images (0: all 60,000)", min=0)
    test_limit: int = param(0, "use only the first N test images (0: all 10,000)", min=0)
    eval_samples: int = param(10_000, EVAL_HELP, min=0, identity=False)
    log_interval: int = param(10, "batches between progress updates", min=1, identity=False)
    no_cuda: bool = param(False, "disables CUDA training", identity=False)
    device: str = param("auto", "auto | cpu | cuda | mps", choices=DEVICES, identity=False)
    cuda_graph: str = param("auto", CUDA_GRAPH_HELP, choices=("auto", "on", "off"), identity=False)


@dataclass(frozen=True)
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

    dataset: str = param("fashion-mnist", "data set", choices=DATASETS)
    conditional: bool = param(False, "condition both networks on the class label (cGAN)")
    batch_size: int = param(64, "input batch size for training", min=1)
    epochs: int = param(40, "number of epochs to train", min=1)
    lr_g: float = param(2e-4, "generator Adam learning rate", gt=0)
    lr_d: float = param(2e-4, "discriminator Adam learning rate", gt=0)
    beta1: float = param(0.5, "Adam beta1 of both networks", min=0, lt=1)
    g_steps: int = param(1, "generator updates per discriminator update", min=1)
    latent_dim: int = param(100, "size of the noise vector z", min=1)
    embed_dim: int = param(10, "size of the label embedding (cGAN only)", min=1)
    d_label: str = param("concat", "how the cGAN's discriminator takes the label",
                         choices=("concat", "projection"))  # fmt: skip
    d_dropout: float = param(0.0, "dropout after each hidden layer of the discriminator",
                             min=0, lt=1)  # fmt: skip
    real_target: float = param(1.0, "discriminator's target for real images (<1: smoothing)",
                               gt=0, max=1)  # fmt: skip
    ema_decay: float = param(0.0, "sample from an exponential moving average of the generator's "
                             "weights with this decay per step (0: the generator itself)",
                             min=0, max=0.99999)  # fmt: skip
    seed: int = param(1, "random seed (weights, shuffling, noise)", min=0, max=2**32 - 10_001)
    train_limit: int = param(0, "use only the first N training images (0: all 60,000)", min=0)
    eval_samples: int = param(10_000, EVAL_HELP, min=0, identity=False)
    # part of a run's identity: a resumed run never mixes measurements of other sample counts
    quality_samples: int = param(2000, "samples for the quality measured during training (0: none)",
                                 min=0)  # fmt: skip
    quality_every: int = param(1, "epochs between two quality measurements during training",
                               min=1)  # fmt: skip
    log_interval: int = param(100, "batches between progress updates", min=1, identity=False)
    no_cuda: bool = param(False, "disables CUDA training", identity=False)
    device: str = param("auto", "auto | cpu | cuda | mps", choices=DEVICES, identity=False)
    cuda_graph: str = param("auto", CUDA_GRAPH_HELP, choices=("auto", "on", "off"), identity=False)

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
