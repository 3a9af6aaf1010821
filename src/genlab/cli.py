"""Command line: ``python -m genlab {data,evaluate,vae,gan} ...``; ``--help`` lists all."""

from __future__ import annotations

import argparse
import sys

from genlab.config import Config, ConfigError, GANConfig, VAEConfig
from genlab.data import DataError
from genlab.runs import RunConflictError

MODELS: dict[str, type[Config]] = {"vae": VAEConfig, "gan": GANConfig}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["data"]:
        from genlab.data import main as data_main

        return data_main(argv[1:])
    if argv[:1] == ["evaluate"]:
        from genlab.evaluate import main as evaluate_main

        return evaluate_main(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m genlab", description=__doc__)
    sub = parser.add_subparsers(dest="model", required=True, metavar="{data,evaluate,vae,gan}")
    sub.add_parser("data", help="fetch and verify the data sets (python -m genlab data fetch)")
    sub.add_parser("evaluate", help="classifiers and sample-quality metrics of run folders")
    for name, cls in MODELS.items():
        p = sub.add_parser(name, help=f"train a {name.upper()} ({cls.__doc__.splitlines()[0]})")
        cls.add_arguments(p)
        p.add_argument("--run-dir", default=None, help="run folder (default: results/runs/<hash>)")
        p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    args = parser.parse_args(argv)
    try:
        config = MODELS[args.model].from_namespace(args)
        if args.model == "vae":
            from genlab.train.vae import train_vae as train
        else:
            from genlab.train.gan import train_gan as train
        run = train(config, run_dir=args.run_dir, progress=not args.no_progress)
    except (ConfigError, DataError, RunConflictError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"{run.path}: {run.status}")
    return 0 if run.status == "complete" else 1
