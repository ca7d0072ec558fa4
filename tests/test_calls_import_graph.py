"""The shape of calls and agents (issue 13): agents own agent state and never import calls;
calls orchestrates and imports agents; ``calls.realtime`` is a leaf; no two modules of the two
apps import each other, directly or round a circle — counting imports inside functions, which
hide a circle from Python but not from a reader."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = ("calls", "agents")
FIRST_PARTY = {
    path.parent.name for path in ROOT.glob("*/apps.py") if path.parent.name not in {".venv", "node_modules"}
} | {"contactcenter"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _sources() -> dict[str, Path]:
    """The modules of calls and agents, their tests and migrations left out."""
    found = {}
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            relative = path.relative_to(ROOT / app).parts
            if relative[0] in {"tests", "migrations"}:
                continue
            found[_module_name(path)] = path
    return found


def _imports(name: str, path: Path) -> set[str]:
    """Every module ``name`` imports, at module level or inside a function (``import a.b`` and
    ``from a import b`` give ``a.b`` when that is a module of the project, else ``a``)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                origin = ".".join(base + ([node.module] if node.module else []))
            else:
                origin = node.module or ""
            found.add(origin)
            for alias in node.names:
                candidate = f"{origin}.{alias.name}"
                relative = Path(*candidate.split("."))
                if (ROOT / relative).with_suffix(".py").exists() or (ROOT / relative / "__init__.py").exists():
                    found.add(candidate)
    return found


def _graph() -> dict[str, set[str]]:
    sources = _sources()
    return {name: _imports(name, path) for name, path in sources.items()}


def _top(module: str) -> str:
    return module.split(".")[0]


def test_the_agents_app_never_imports_calls():
    offending = {
        name: sorted(target for target in targets if _top(target) == "calls")
        for name, targets in _graph().items()
        if name.startswith("agents")
    }
    assert {name: targets for name, targets in offending.items() if targets} == {}


def test_realtime_is_a_leaf_importing_no_app():
    imported = _graph()["calls.realtime"]
    assert sorted(target for target in imported if _top(target) in FIRST_PARTY) == []


def test_no_module_of_calls_or_agents_is_part_of_an_import_circle():
    graph = _graph()
    local = {name: {t for t in targets if t in graph and t != name} for name, targets in graph.items()}
    circles = []
    # Tarjan's strongly connected components: any with two modules or more is a circle.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in local[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for node in sorted(local):
        if node not in index:
            visit(node)
    assert circles == []


def test_the_guard_sees_lazy_imports(tmp_path):
    """The parser counts an import inside a function (the kind that hid the old circle)."""
    module = tmp_path / "lazy.py"
    module.write_text("def f():\n    from calls.services import events\n", encoding="utf-8")
    assert "calls.services.events" in _imports("agents.lazy", module)
