"""What bench/install.py and bench/import_nbformat.py share: two ways timed alternately in one
run, their medians, and the table printed and written (no torch imported)."""

from __future__ import annotations

import argparse
import os
import platform
import statistics
from collections.abc import Callable
from pathlib import Path


def arguments(doc: str, repeats: int, extra: dict[str, str] | None = None) -> argparse.Namespace:
    """``--repeats``, ``--out`` and an option ``--NAME`` for each of ``extra`` (its default),
    the script's first docstring line as its description."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=repeats)
    parser.add_argument("--out", default=None, help="also write the table to this file")
    for name, default in (extra or {}).items():
        parser.add_argument(f"--{name}", default=default)
    return parser.parse_args()


def alternate(ways: dict[str, Callable[[], float]], repeats: int) -> dict[str, list[float]]:
    """Each way's seconds, ``repeats`` times, the ways taking turns (so that the machine's
    load falls on both alike)."""
    times: dict[str, list[float]] = {way: [] for way in ways}
    for _ in range(repeats):
        for way, seconds in ways.items():
            times[way].append(seconds())
    return times


def medians(times: dict[str, list[float]]) -> list[float]:
    return [statistics.median(t) for t in times.values()]


def machine() -> str:
    return f"{platform.processor() or platform.machine()} ({os.cpu_count()} CPUs)"


def show(lines: list[str], out: str | None) -> None:
    print("\n".join(lines))
    if out:
        Path(out).write_text("\n".join(lines) + "\n")
