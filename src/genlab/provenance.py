"""Which code trained a run: a digest of the source that decides its numbers.

A run folder records ``code`` in ``metrics.json``: one short digest per module of
``TRAINING_CODE[model]`` (the model and its loss, the training step and loop, seeding and the
data pipeline) and their combined digest. A run trained, or checked, with other code is never
reopened as this code's result (``genlab.runs.Run.open``): the default run folder of a config
includes the digest, so changed code trains in a new folder, and an explicit folder stops
with one line naming the modules that changed.

The digest is of each module's syntax tree without its docstrings, so whitespace, comments
and docstrings do not count; any other edit does, even one that changes no number (a
refactor). For those, ``python -m genlab restamp RUN_DIR...`` trains the first epoch of each
run again with the current code and, when every number of that epoch comes out bit-identical,
records the current digest in the run.
"""

from __future__ import annotations

import ast
import hashlib
import importlib
import inspect
from typing import Any

# The modules whose source decides a run's numbers, per model. The sample-quality evaluation
# at the end of a run is versioned apart (``genlab.evaluate``'s record carries its version and
# the classifier's digest); a GAN measures its samples every epoch, so its metrics are here.
_SHARED = ("genlab.train.loop", "genlab.train.cuda_graph", "genlab.device", "genlab.data",
           "genlab.models.build")  # fmt: skip
TRAINING_CODE: dict[str, tuple[str, ...]] = {
    "vae": ("genlab.models.vae", "genlab.train.vae", *_SHARED),
    "gan": (
        "genlab.models.gan",
        "genlab.train.gan",
        "genlab.evaluate.metrics",
        "genlab.evaluate.sampling",
        *_SHARED,
    ),
}


class StaleCodeError(ValueError):
    """A run folder trained by other code than this checkout's; the message says which
    modules changed and how to train it again or check that its numbers still hold."""


def module_digest(name: str) -> str:
    """The digest of module ``name``'s source, whitespace, comments and docstrings aside."""
    tree = ast.parse(inspect.getsource(importlib.import_module(name)))
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (
            isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            and body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            node.body = body[1:] or [ast.Pass()]
    return hashlib.sha256(ast.dump(tree).encode()).hexdigest()[:10]


def code_record(model: str) -> dict[str, Any]:
    """What ``metrics.json`` records under ``code``: the digest of every module of
    ``TRAINING_CODE[model]`` and one digest of them all."""
    modules = {name: module_digest(name) for name in TRAINING_CODE[model]}
    combined = hashlib.sha256(repr(sorted(modules.items())).encode()).hexdigest()[:10]
    return {"digest": combined, "modules": modules}


def changed_modules(recorded: dict[str, Any] | None, model: str) -> list[str] | None:
    """The modules whose code differs from ``recorded`` (a run's ``code``), ``[]`` when none
    does, or ``None`` when the run recorded no code (trained before runs recorded it)."""
    if not recorded:
        return None
    now, before = code_record(model)["modules"], recorded.get("modules", {})
    return [name for name in now if before.get(name) != now[name]]


def stale_reason(recorded: dict[str, Any] | None, model: str) -> str | None:
    """Why a run whose ``metrics.json`` records ``recorded`` is not this code's result, in a
    few words, or ``None`` when its code is this checkout's."""
    changed = changed_modules(recorded, model)
    if changed is None:
        return "it was trained before runs recorded their code"
    if changed:
        return f"its code changed since it was trained: {', '.join(changed)}"
    return None
