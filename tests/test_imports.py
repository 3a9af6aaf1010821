"""The package's structure: no import cycle among genlab's modules, no module of 400 lines or
more, and no private name imported from another module. Read from the sources with ``ast``
(nothing is imported), so a failure names the modules and the lines to change."""

from __future__ import annotations

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "genlab"
MAX_LINES = 400  # every module stays under this


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports(name: str, path: Path, known: set[str]) -> list[tuple[str, int, str]]:
    """The genlab modules that ``name`` imports, anywhere in it (module level, in functions,
    under ``if TYPE_CHECKING``): (module, line, the names taken from it)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(a.name, node.lineno, "") for a in node.names if a.name in known]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from the package up
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            if target.split(".")[0] != "genlab":
                continue
            for alias in node.names:
                submodule = f"{target}.{alias.name}"
                if submodule in known:  # from genlab import data: the module genlab.data
                    found.append((submodule, node.lineno, ""))
                elif target in known:
                    found.append((target, node.lineno, alias.name))
    return found


def graph() -> dict[str, set[str]]:
    mods = modules()
    known = set(mods)
    return {m: {t for t, _, _ in imports(m, p, known) if t != m} for m, p in mods.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """One cycle (``[a, b, ..., a]``) per strongly connected component of more than one
    module (Tarjan's algorithm, then the shortest way around from the component's first)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            connect(v)
    found = []
    for component in components:
        members, start = set(component), component[0]
        paths = {start: [start]}
        queue = [start]
        while queue:  # breadth first, inside the component, back to the start
            v = queue.pop(0)
            for w in sorted(edges[v] & members):
                if w == start:
                    found.append([*paths[v], start])
                    queue = []
                    break
                if w not in paths:
                    paths[w] = [*paths[v], w]
                    queue.append(w)
    return found


def test_the_cycle_finder_names_a_cycle():
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set(), "e": {"e"}}
    assert cycles(edges) == [["a", "b", "c", "a"]]


def test_genlab_has_no_import_cycle():
    found = cycles(graph())
    assert not found, "import cycles in genlab:\n" + "\n".join(" -> ".join(c) for c in found)


def test_the_graph_sees_imports_inside_functions():
    edges = graph()
    assert "genlab.course.site" in edges["genlab.course.pipeline"]  # imported in run_all
    assert "genlab.fetch" in edges["genlab.data"]


def test_no_private_name_is_imported_from_another_module():
    mods = modules()
    known = set(mods)
    private = [f"{path.relative_to(PACKAGE.parent)}:{line}: {name} from {target}"
               for module, path in mods.items()
               for target, line, name in imports(module, path, known)
               if name.startswith("_") and target != module]  # fmt: skip
    assert not private, "private names imported across modules:\n" + "\n".join(private)


def test_every_module_is_under_400_lines():
    long = {str(p.relative_to(PACKAGE.parent)): n for p in sorted(PACKAGE.rglob("*.py"))
            if (n := len(p.read_text().splitlines())) >= MAX_LINES}  # fmt: skip
    assert not long, f"modules of {MAX_LINES} lines or more: {long}"


# The course layer: the problems 4.2-5.6, their grids, answers, pages and executors. Everything
# else is the core (data, models, training, evaluation, run folders, the command line), which
# knows nothing of the course: it never imports the course layer.
COURSE = "genlab.course"


def layer(module: str) -> str:
    return "course" if module == COURSE or module.startswith(COURSE + ".") else "core"


def test_the_core_never_imports_the_course_layer():
    mods = modules()
    course = {m.removeprefix(COURSE + ".") for m in mods if layer(m) == "course"}
    assert {"grids", "pipeline", "report", "site"} <= course, f"the course layer holds {course}"
    upward = [f"{path.relative_to(PACKAGE.parent)}:{line}: imports {target}"
              for module, path in mods.items() if layer(module) == "core"
              for target, line, _ in imports(module, path, set(mods))
              if layer(target) == "course"]  # fmt: skip
    assert not upward, "the core imports the course layer:\n" + "\n".join(upward)


def test_the_core_names_no_problem():
    """The core knows nothing of problems 4.2-5.6: no string in it names one ("5.3", "4.3/...")."""
    named = [f"{path.relative_to(PACKAGE.parent)}:{node.lineno}: {node.value!r}"
             for module, path in modules().items() if layer(module) == "core"
             for node in ast.walk(ast.parse(path.read_text()))
             if isinstance(node, ast.Constant) and isinstance(node.value, str)
             and re.match(r"[45]\.[0-9](/|$)", node.value)]  # fmt: skip
    assert not named, "the core names a problem:\n" + "\n".join(named)


def test_the_layer_check_sees_an_upward_import(tmp_path):
    core = tmp_path / "runs.py"
    core.write_text("def f():\n    from genlab.course.grids import PROBLEMS\n")
    found = imports("genlab.runs", core, {"genlab.course.grids", "genlab.runs"})
    assert [(layer("genlab.runs"), layer(t)) for t, _, _ in found] == [("core", "course")]
