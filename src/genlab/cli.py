"""Command line: ``python -m genlab {data,evaluate,vae,gan} ...``; ``--help`` lists all.

- ``python -m genlab data fetch [DATASET...]``: fetch and verify the data sets
  (``genlab.fetch``).
- ``python -m genlab evaluate classifier [DATASET...]``: train (or load) the classifiers and
  print their accuracy and reference distances; ``python -m genlab evaluate run RUN_DIR...``:
  evaluate run folders and record it in their ``metrics.json`` (``genlab.evaluate``).
- ``python -m genlab restamp RUN_DIR...``: record this code in runs whose numbers it makes
  exactly as the recorded code does (``genlab.restamp``).
- ``python -m genlab vae|gan [--param value...]``: train one run (``genlab.config`` lists the
  parameters).
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from genlab.atomic import NoSpaceError
from genlab.config import Config, ConfigError, GANConfig, VAEConfig
from genlab.datasets import DATASETS, DataError
from genlab.provenance import StaleCodeError

MODELS: dict[str, type[Config]] = {"vae": VAEConfig, "gan": GANConfig}


def user_errors() -> tuple[type[Exception], ...]:
    """The errors shown in one line, exit status 2: the user's (config, data, device, run
    folder) or the machine's. Imported here, not above, so that ``data fetch`` and ``--help``
    do not import torch."""
    from genlab.device import DeviceError
    from genlab.runs import RunConflictError, RunDirError, RunFileError

    errors = (ConfigError, DataError, DeviceError, RunConflictError, RunFileError, NoSpaceError)
    errors = (*errors, RunDirError)
    return (*errors, StaleCodeError)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["data"]:
        return data_main(argv[1:])
    if argv[:1] == ["evaluate"]:
        return evaluate_main(argv[1:])
    if argv[:1] == ["restamp"]:
        return restamp_main(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m genlab", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(
        dest="model", required=True, metavar="{data,evaluate,restamp,vae,gan}"
    )
    sub.add_parser("data", help="fetch and verify the data sets (python -m genlab data fetch)")
    sub.add_parser("evaluate", help="classifiers and sample-quality metrics of run folders")
    sub.add_parser("restamp", help="record this code in runs whose numbers it does not change")
    for name, cls in MODELS.items():
        p = sub.add_parser(name, help=f"train a {name.upper()} ({cls.__doc__.splitlines()[0]})")
        cls.add_arguments(p)
        p.add_argument("--run-dir", default=None, help="run folder (default: results/runs/<hash>)")
        p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    args = parser.parse_args(attach_negative_values(argv))
    try:
        config = MODELS[args.model].from_namespace(args)
        from genlab.train import train_run

        run = train_run(config, run_dir=args.run_dir, progress=not args.no_progress)
    except user_errors() as e:  # a bug anywhere else shows its traceback
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # the run recorded it: status interrupted, its last checkpoint
        print(
            "\ninterrupted: the run keeps its last complete epoch; the same command resumes it",
            file=sys.stderr,
        )
        return 130
    if run.metrics["epochs"]:  # the curves, drawn from the records (training draws none)
        from genlab.plots import run_curves

        run_curves(run)
    print(f"{run.path}: {run.status}")
    return 0 if run.status == "complete" else 1


def attach_negative_values(argv: list[str]) -> list[str]:
    """``--lr -inf`` as ``--lr=-inf``: argparse reads a value that starts with ``-`` as an
    option unless it looks like a plain negative number (``-5`` yes, ``-inf`` or ``-1e-3``
    no), and would answer "expected one argument". The value is then checked like any other."""
    out: list[str] = []
    for arg in argv:
        previous = out[-1] if out else ""
        if previous.startswith("--") and "=" not in previous and _is_number(arg):
            out[-1] = f"{previous}={arg}"
        else:
            out.append(arg)
    return out


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return text.startswith("-")


def data_main(argv: list[str] | None = None) -> int:
    """``python -m genlab data fetch [DATASET...] [--root DIR]``."""
    from genlab.fetch import fetch

    parser = argparse.ArgumentParser(
        prog="python -m genlab data", description="Fetch and verify the data sets."
    )
    parser.add_argument("command", choices=["fetch"], help="fetch: fill the data root")
    parser.add_argument("datasets", nargs="*", default=list(DATASETS), help="default: all")
    parser.add_argument("--root", default=None, help="data root (default: $GENLAB_DATA or data/)")
    args = parser.parse_args(argv)
    try:
        for name in args.datasets:
            raw = fetch(name, args.root, verbose=True)
            print(f"{name}: verified in {raw}")
    except (DataError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


def restamp_main(argv: list[str]) -> int:
    """``python -m genlab restamp RUN_DIR...`` (``genlab.restamp``)."""
    from genlab import restamp

    parser = argparse.ArgumentParser(
        prog="python -m genlab restamp",
        description=restamp.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("run_dirs", nargs="+", help="run folders (holding metrics.json)")
    status = 0
    for run_dir in parser.parse_args(argv).run_dirs:
        try:
            print(restamp.restamp(run_dir), flush=True)
        except (ValueError, FileNotFoundError) as e:
            print(f"error: {e}", file=sys.stderr)
            status = 1
    return status


def _fmt(value: float) -> str:
    return f"{value:.3g}" if math.isfinite(value) else str(value)


def evaluate_main(argv: list[str] | None = None) -> int:
    """``python -m genlab evaluate {classifier,run} ...``."""
    from genlab import evaluate
    from genlab.runs import check_checkpoint, load_metrics

    parser = argparse.ArgumentParser(
        prog="python -m genlab evaluate",
        description=evaluate.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    c = sub.add_parser("classifier", help="train or load the classifiers; print their numbers")
    c.add_argument("datasets", nargs="*", default=list(DATASETS), help="default: all")
    r = sub.add_parser("run", help="evaluate run folders and record it in their metrics.json")
    r.add_argument("run_dirs", nargs="+")
    r.add_argument("--force", action="store_true", help="recompute a recorded evaluation")
    for p in (c, r):
        p.add_argument("--n", type=int, default=evaluate.DEFAULT_N, help="images per metric")
        p.add_argument("--device", default="auto", help="auto | cpu | cuda | mps")
    args = parser.parse_args(argv)
    if args.command == "classifier":
        for name in args.datasets:
            clf = evaluate.load_classifier(name, args.device)
            refs = evaluate.reference_distances(name, args.n, args.device)
            rec = clf.record
            print(
                f"{name}: test accuracy {rec['test_accuracy']:.2%} "
                f"(bar {rec['accuracy_bar']:.1%}), trained in {rec['train_seconds']:.0f} s; "
                f"Fréchet distance to the test split with n={args.n}: real train "
                f"{_fmt(refs['train_vs_test'])}, noise {_fmt(refs['noise_vs_test'])}"
            )
        return 0
    status = 0
    for run_dir in args.run_dirs:
        try:  # a damaged checkpoint is named with what to do, never a traceback
            check_checkpoint(Path(run_dir), load_metrics(run_dir))
            ev = evaluate.evaluate_run(run_dir, args.n, args.device, force=args.force)
        except (OSError, NotImplementedError, ValueError, KeyError) as e:  # NoSpaceError too
            print(f"{run_dir}: error: {e}", file=sys.stderr)
            status = 1
            continue
        s = ev["samples"]
        print(
            f"{run_dir}: Fréchet distance {_fmt(s['frechet_distance'])}, "
            f"{s['classes_covered']} classes covered, KL {_fmt(s['kl_from_uniform'])}"
            + (
                f", conditional accuracy {s['conditional_accuracy']:.2%}"
                if "conditional_accuracy" in s
                else ""
            )
        )
    return status
