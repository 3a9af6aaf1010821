"""What made a number: one fingerprint of the code and the libraries behind it.

``fingerprint(entries)`` reads the source of every ``genlab`` module that the entry modules
import, directly or not (found in the sources with ``ast``, imports inside functions included,
nothing imported), digests each, and adds the versions of the libraries that change numbers
(``LIBRARIES``). Everything that records what made it uses this one function:

- a run folder records ``code = code_record(model)``: the modules that compute its numbers,
  found by following its trainer's imports (``RUN_ENTRIES``) except into ``NOT_RUN_CODE``: the
  model, its loss, its training loop, the run folder and resume (``genlab.runs``), the data
  pipeline, the config and the evaluation that measures it; not the other model, the plots
  (figures drawn from ``metrics.json`` when a notebook runs), the progress it prints, the
  memory estimate, this module
  or the course layer. A run whose recorded modules differ from this checkout's is never
  reopened as this code's result (``genlab.runs.Run.open``); its default folder name includes
  the digest, so changed code trains in a new folder;
- an executed notebook records the fingerprint of the modules its cells import
  (``genlab.course.executor.made_from``), as text: a notebook may show the code it runs;
- a Ray node is refused when its fingerprint of the whole package differs from the driver's.

For runs, a module's digest is of its syntax tree without docstrings, so whitespace, comments
and docstrings do not count; any other edit does, even one that changes no number (a
refactor). ``python -m genlab restamp RUN_DIR...`` then checks that the edit changes no number
and records the new fingerprint (``genlab.restamp``).
"""

from __future__ import annotations

import ast
import functools
import hashlib
import importlib.metadata
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

PACKAGE = Path(__file__).resolve().parent  # src/genlab
LIBRARIES = ("torch", "torchvision", "torchmetrics", "numpy")  # their versions change numbers
RUN_ENTRIES = {"vae": "genlab.train.vae", "gan": "genlab.train.gan"}
# What computes none of a run's numbers: its fingerprint does not follow imports into these
# (a module and everything under it). An edit to them retrains nothing.
NOT_RUN_CODE = {
    "vae": ("genlab.models.gan", "genlab.train.gan"),  # the other model
    "gan": ("genlab.models.vae", "genlab.train.vae"),
}
NO_NUMBERS = (
    "genlab.train.progress",  # the lines and the bar a run prints, drawn from its records
    "genlab.plots",
    "genlab.memory",
    "genlab.provenance",
    "genlab.restamp",
    "genlab.cli",
    "genlab.course",
)

Form = Literal["syntax", "text"]


class StaleCodeError(ValueError):
    """A run folder trained by other code than this checkout's; the message says which
    modules changed and how to train it again or check that its numbers still hold."""


def module_name(path: Path, package: Path = PACKAGE) -> str:
    parts = path.relative_to(package.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules(package: Path = PACKAGE) -> dict[str, Path]:
    """Every module of the package, by dotted name."""
    return {module_name(p, package): p for p in sorted(package.rglob("*.py"))}


def imports(
    name: str, source: str, known: set[str], is_package: bool = False
) -> list[tuple[str, int, str]]:
    """The modules of ``known`` that module ``name`` (source ``source``) imports, anywhere in
    it (module level, in functions, under ``if TYPE_CHECKING``): (module, line, name taken)."""
    package = name if is_package else name.rpartition(".")[0]
    found = []
    for node in import_statements(source):
        if isinstance(node, ast.Import):
            found += [(a.name, node.lineno, "") for a in node.names if a.name in known]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from the package up
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            for alias in node.names:
                submodule = f"{target}.{alias.name}"
                if submodule in known:  # from genlab import data: the module genlab.data
                    found.append((submodule, node.lineno, ""))
                elif target in known:
                    found.append((target, node.lineno, alias.name))
    return found


# A process computes many fingerprints of the same sources (./run_all.sh --dry-run: two per
# grid point); each source is parsed once. Keyed by the text, so an edited module is parsed anew.
@functools.cache
def import_statements(source: str) -> tuple[ast.Import | ast.ImportFrom, ...]:
    """Every import statement of ``source``, anywhere in it."""
    return tuple(
        n for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Import | ast.ImportFrom)
    )


def graph(package: Path = PACKAGE) -> dict[str, set[str]]:
    """Which modules each module of the package imports."""
    mods = modules(package)
    known = set(mods)
    return {
        m: {t for t, _, _ in imports(m, p.read_text(), known, p.name == "__init__.py") if t != m}
        for m, p in mods.items()
    }


def closure(entries: Iterable[str], exclude: Iterable[str] = ()) -> list[str]:
    """The entry modules and every package module they import, directly or not, except the
    modules of ``exclude`` and those under them (their imports are not followed). Importing
    ``a.b.c`` runs ``a/__init__`` and ``a/b/__init__`` too, so those count."""
    edges = graph()
    excluded = tuple(exclude)
    seen: set[str] = set()
    todo = list(entries)
    while todo:
        name = todo.pop()
        if name in seen or any(name == x or name.startswith(f"{x}.") for x in excluded):
            continue
        if name not in edges:
            raise ValueError(f"{name!r} is not a module of genlab")
        seen.add(name)
        parents = [".".join(name.split(".")[:i]) for i in range(1, name.count(".") + 1)]
        todo += [*edges[name], *(p for p in parents if p in edges)]
    return sorted(seen)


@functools.cache
def source_digest(source: str, form: Form = "syntax") -> str:
    """A short digest of a module's source: as text, or of its syntax tree without docstrings
    (whitespace, comments and docstrings aside)."""
    if form == "text":
        return hashlib.sha256(source.encode()).hexdigest()[:10]
    tree = ast.parse(source)
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


def module_digest(name: str, form: Form = "syntax") -> str:
    """The digest of package module ``name``'s source (``source_digest``)."""
    path = PACKAGE.parent.joinpath(*name.split("."))
    return source_digest(
        (path / "__init__.py" if path.is_dir() else path.with_suffix(".py")).read_text(), form
    )


def library_versions() -> dict[str, str]:
    found = {}
    for library in LIBRARIES:
        try:
            found[library] = importlib.metadata.version(library)
        except importlib.metadata.PackageNotFoundError:
            found[library] = "absent"
    return found


def fingerprint(
    entries: Iterable[str] | None = None, form: Form = "syntax", exclude: Iterable[str] = ()
) -> dict[str, Any]:
    """What made a number: the digest of every module in ``closure(entries, exclude)`` (every
    module of the package when ``entries`` is None), the library versions, and one digest of
    them all."""
    names = closure(entries, exclude) if entries is not None else sorted(modules())
    digests = {name: module_digest(name, form) for name in names}
    libraries = library_versions()
    combined = repr((sorted(digests.items()), sorted(libraries.items())))
    return {
        "digest": hashlib.sha256(combined.encode()).hexdigest()[:10],
        "modules": digests,
        "libraries": libraries,
    }


def run_modules(model: str) -> list[str]:
    """The modules that compute the numbers of a ``model`` run (the module docstring)."""
    return closure([RUN_ENTRIES[model]], (*NOT_RUN_CODE[model], *NO_NUMBERS))


def code_record(model: str) -> dict[str, Any]:
    """What a run's ``metrics.json`` records under ``code``: the fingerprint of the modules
    that compute its numbers (``run_modules``)."""
    return fingerprint([RUN_ENTRIES[model]], exclude=(*NOT_RUN_CODE[model], *NO_NUMBERS))


def changes(recorded: dict[str, Any] | None, now: dict[str, Any]) -> list[str] | None:
    """What differs between two fingerprints (the modules of ``now``, then libraries with both
    versions), ``[]`` when nothing does, or ``None`` when nothing was recorded. A module that
    ``recorded`` holds and ``now`` does not is no part of what ``now`` computes: not compared."""
    if not recorded:
        return None
    before = recorded.get("modules", {})
    found = [name for name in sorted(now["modules"]) if before.get(name) != now["modules"][name]]
    libraries = recorded.get("libraries", {})
    found += [
        f"{lib} {libraries.get(lib, 'unrecorded')} -> {version}"
        for lib, version in now["libraries"].items()
        if libraries.get(lib) != version
    ]
    return found


def changed_modules(recorded: dict[str, Any] | None, model: str) -> list[str] | None:
    """What differs between ``recorded`` (a run's ``code``) and this checkout's code and
    libraries for ``model`` (``changes``)."""
    return changes(recorded, code_record(model))


def stale_reason(recorded: dict[str, Any] | None, model: str) -> str | None:
    """Why a run whose ``metrics.json`` records ``recorded`` is not this code's result, in a
    few words, or ``None`` when its code is this checkout's."""
    changed = changed_modules(recorded, model)
    if changed is None:
        return "it was trained before runs recorded their code"
    if changed:
        return f"its code changed since it was trained: {', '.join(changed)}"
    return None
