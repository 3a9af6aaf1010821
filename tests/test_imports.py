"""The package's structure: no import cycle among genlab's modules, no module of 400 lines or
more, and no private name imported from another module. Read from the sources with ``ast``
(``genlab.provenance``'s reader, the one behind every fingerprint), so a failure names
the modules and the lines to change."""

from __future__ import annotations

import ast
import graphlib
import re
import subprocess
import sys

import pytest

from genlab.provenance import PACKAGE, graph, imports, modules

MAX_LINES = 400  # every module stays under this


def cycle(edges: dict[str, set[str]]) -> list[str]:
    """One import cycle (``[a, b, ..., a]``), or ``[]`` (the standard library's graphlib)."""
    try:
        graphlib.TopologicalSorter(edges).prepare()
    except graphlib.CycleError as e:
        return list(reversed(e.args[1]))
    return []


def test_the_cycle_finder_names_a_cycle():
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set()}
    found = cycle(edges)
    assert found[0] == found[-1] and set(found) == {"a", "b", "c"}, found
    assert cycle({"a": {"b"}, "b": set()}) == []


def test_genlab_has_no_import_cycle():
    found = cycle(graph())
    assert not found, "an import cycle in genlab: " + " -> ".join(found)


def test_the_graph_sees_imports_inside_functions():
    edges = graph()
    assert "genlab.course.site" in edges["genlab.course.pipeline"]  # imported in run_all
    assert "genlab.fetch" in edges["genlab.data"]


def test_no_private_name_is_imported_from_another_module():
    mods = modules()
    known = set(mods)
    private = [
        f"{path.relative_to(PACKAGE.parent)}:{line}: {name} from {target}"
        for module, path in mods.items()
        for target, line, name in imports(module, path.read_text(), known, is_init(path))
        if name.startswith("_") and target != module
    ]
    assert not private, "private names imported across modules:\n" + "\n".join(private)


def test_every_module_is_under_400_lines():
    long = {
        str(p.relative_to(PACKAGE.parent)): n
        for p in sorted(PACKAGE.rglob("*.py"))
        if (n := len(p.read_text().splitlines())) >= MAX_LINES
    }
    assert not long, f"modules of {MAX_LINES} lines or more: {long}"


# The course layer: the problems 4.2-5.6, their grids, answers, pages and executors. Everything
# else is the core (data, models, training, evaluation, run folders, the command line), which
# knows nothing of the course: it never imports the course layer.
COURSE = "genlab.course"


def is_init(path) -> bool:
    return path.name == "__init__.py"


def layer(module: str) -> str:
    return "course" if module == COURSE or module.startswith(COURSE + ".") else "core"


def test_the_core_never_imports_the_course_layer():
    mods = modules()
    course = {m.removeprefix(COURSE + ".") for m in mods if layer(m) == "course"}
    assert {"grids", "pipeline", "report", "site"} <= course, f"the course layer holds {course}"
    upward = [
        f"{path.relative_to(PACKAGE.parent)}:{line}: imports {target}"
        for module, path in mods.items()
        if layer(module) == "core"
        for target, line, _ in imports(module, path.read_text(), set(mods), is_init(path))
        if layer(target) == "course"
    ]
    assert not upward, "the core imports the course layer:\n" + "\n".join(upward)


def test_the_core_names_no_problem():
    """The core knows nothing of problems 4.2-5.6: no string in it names one ("5.3", "4.3/...")."""
    named = [
        f"{path.relative_to(PACKAGE.parent)}:{node.lineno}: {node.value!r}"
        for module, path in modules().items()
        if layer(module) == "core"
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and re.match(r"[45]\.[0-9](/|$)", node.value)
    ]
    assert not named, "the core names a problem:\n" + "\n".join(named)


# The core's layers, lowest first: a module imports only modules of its own layer or below
# (the package's ``__init__``, a facade of names imported when used, sits above the core).
CORE_LAYERS = (
    ("atomic", "datasets", "rngs", "provenance", "records", "models.vae", "models.gan", "config",
     "fetch", "data", "device", "images"),
    ("models", "models.build", "models.checkpoints", "runs", "memory"),
    ("evaluate", "evaluate.classifier", "evaluate.metrics", "evaluate.sampling"),
    ("health",),
    ("train", "train.cuda_graph", "train.progress", "train.common", "train.entry", "train.vae",
     "train.gan"),
    ("plots", "restamp", "cli", "__main__", ""),
)  # fmt: skip


def core_layer(module: str) -> int:
    name = module.removeprefix("genlab").removeprefix(".")
    found = [i for i, names in enumerate(CORE_LAYERS) if name in names]
    assert found, f"{module} is in no layer of CORE_LAYERS: add it there"
    return found[0]


def test_no_core_module_imports_a_higher_layer():
    mods = {m: p for m, p in modules().items() if layer(m) == "core"}
    upward = [
        f"{path.relative_to(PACKAGE.parent)}:{line}: imports {target}"
        for module, path in mods.items()
        for target, line, _ in imports(module, path.read_text(), set(mods), is_init(path))
        if core_layer(target) > core_layer(module)
    ]
    assert not upward, "imports that climb a layer:\n" + "\n".join(upward)


def test_the_layer_check_sees_an_upward_import(tmp_path):
    core = tmp_path / "runs.py"
    core.write_text("def f():\n    from genlab.course.grids import PROBLEMS\n")
    found = imports("genlab.runs", core.read_text(), {"genlab.course.grids", "genlab.runs"})
    assert [(layer("genlab.runs"), layer(t)) for t, _, _ in found] == [("core", "course")]


@pytest.mark.parametrize(
    "code",
    [
        "import genlab.course.pipeline",  # ./run_all.sh's planning, refusals and dry runs
        "from genlab.cli import main; main(['data', 'fetch'])",  # every set-up call
        "from genlab import VAEConfig; VAEConfig(epochs=2)",
    ],
)
def test_what_plans_and_never_trains_imports_no_torch(code):
    """``import torch`` costs about 1.7 s of CPU a process (bench/import_genlab.py)."""
    check = f"import sys\n{code}\nassert 'torch' not in sys.modules, sorted(sys.modules)"
    done = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]


def test_the_package_names_are_imported_when_used():
    import genlab

    assert genlab.VAEConfig is genlab.config.VAEConfig and "load_metrics" in dir(genlab)
    with pytest.raises(AttributeError, match="no attribute 'VAEConfg'"):
        genlab.VAEConfg  # noqa: B018
