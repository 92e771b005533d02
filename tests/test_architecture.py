"""The package's shape, as ARCHITECTURE.md describes it: no import cycle, and each stage imports
only the stages below it.

Every import counts: at the top of a module, inside a function, and under TYPE_CHECKING, since
the names a module uses are part of what it knows.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "generator"

LAYERS = [
    {"generator", "generator.errors", "generator.addresses"},
    {"generator.markdown"},
    {"generator.catalog"},
    {"generator.config", "generator.strings"},
    {"generator.site"},
    {"generator.store"},
    {"generator.pipeline"},
    {"generator.commands", "generator.__main__"},
]
"""From the bottom up: a module may import its own layer's modules and those of the layers below."""


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """Return the modules of the package that a file imports, wherever the import stands."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("generator")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("generator") and not node.level:
            found.add(node.module)
            # `from generator.site import search` imports the module generator.site.search
            found |= {f"{node.module}.{alias.name}" for alias in node.names
                      if _is_module(f"{node.module}.{alias.name}")}
    return found


def _is_module(name: str) -> bool:
    path = PACKAGE.parent.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def import_graph() -> dict[str, set[str]]:
    modules = {module_name(path): path for path in PACKAGE.rglob("*.py")}
    return {name: {target for target in imports_of(path) if target in modules and target != name}
            for name, path in modules.items()}


def layer_of(module: str) -> int:
    """Return the index in LAYERS of the most specific entry naming the module or a package of it."""
    best, best_length = -1, -1
    for index, names in enumerate(LAYERS):
        for name in names:
            if (module == name or module.startswith(name + ".")) and len(name) > best_length:
                best, best_length = index, len(name)
    return best


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """Return one import cycle as a list of modules, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(module: str) -> list[str] | None:
        state[module] = 1
        stack.append(module)
        for target in sorted(graph[module]):
            if state.get(target) == 1:
                return stack[stack.index(target):] + [target]
            if target not in state and (cycle := visit(target)):
                return cycle
        stack.pop()
        state[module] = 2
        return None

    for module in sorted(graph):
        if module not in state and (cycle := visit(module)):
            return cycle
    return None


def test_the_package_has_no_import_cycle() -> None:
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_every_module_belongs_to_a_layer() -> None:
    unplaced = [module for module in import_graph() if layer_of(module) < 0]
    assert not unplaced, f"add these to LAYERS (and to ARCHITECTURE.md): {unplaced}"


def test_each_stage_imports_only_the_stages_below_it() -> None:
    upward = sorted(f"{module} imports {target}" for module, targets in import_graph().items()
                    for target in targets if layer_of(target) > layer_of(module))
    assert not upward, "imports against the layers:\n" + "\n".join(upward)


def test_the_checks_see_a_cycle_and_an_upward_import() -> None:
    """The checks above can fail: a made-up graph with both faults is caught."""
    graph = {"generator.site.a": {"generator.pipeline.b"}, "generator.pipeline.b": {"generator.site.a"}}
    assert find_cycle(graph) == ["generator.pipeline.b", "generator.site.a", "generator.pipeline.b"]
    assert layer_of("generator.pipeline.b") > layer_of("generator.site.a")


@pytest.mark.parametrize("folder", sorted(p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()))
def test_every_stage_is_in_the_architecture_document(folder: str) -> None:
    text = (PACKAGE.parent / "ARCHITECTURE.md").read_text(encoding="utf-8")
    assert f"`generator/{folder}/`" in text
