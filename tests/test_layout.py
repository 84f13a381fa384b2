"""The layout STYLE.md describes: no import cycle among console's modules, views import no other view."""

from __future__ import annotations

import ast
from pathlib import Path

CONSOLE = Path(__file__).resolve().parent.parent / "console"


def _module_name(path: Path) -> str:
    parts = path.relative_to(CONSOLE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(path): path for path in CONSOLE.rglob("*.py")}


def _imports(name: str, *, module_level: bool) -> set[str]:
    """console.* modules that name imports: at module level only, or anywhere in the file."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    if module_level:
        # Statements that run on import: the module's body, and the bodies of its if/try blocks.
        nodes, pending = [], list(tree.body)
        while pending:
            node = pending.pop()
            nodes.append(node)
            if isinstance(node, ast.If | ast.Try):
                pending.extend([*node.body, *node.orelse, *getattr(node, "finalbody", [])])
                pending.extend(s for handler in getattr(node, "handlers", []) for s in handler.body)
    else:
        nodes = list(ast.walk(tree))
    found = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            for alias in node.names:
                submodule = f"{source}.{alias.name}"
                found.add(submodule if submodule in MODULES else source)
    return {m for m in found if m in MODULES and m != name}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph as a path, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                return stack[stack.index(target):] + [target]
            if target not in state and (found := visit(target)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_console_modules_import_each_other_without_a_cycle():
    graph = {name: _imports(name, module_level=True) for name in MODULES}
    assert _cycle(graph) is None


def test_the_cycle_check_sees_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_views_import_no_other_view():
    allowed = {"console.views.base"}
    for name in MODULES:
        if name.startswith("console.views."):  # views/__init__.py registers them all
            others = {m for m in _imports(name, module_level=False) if m.startswith("console.views")}
            assert others <= allowed, f"{name} imports {sorted(others - allowed)}"


def test_the_old_grab_bag_modules_are_gone():
    for name in ("console.services.applications", "console.services.reissue", "console.services.disaster",
                 "console.reports.runs"):
        assert name not in MODULES
    assert "console.reports.catalogue" in MODULES and MODULES["console.reports.catalogue"].name == "__init__.py"
