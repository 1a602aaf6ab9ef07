"""Imports inside ``mytorch/`` point one way: no module imports, even inside a function,
a module that imports it back; the configuration and the workflows need no optional
package to be imported."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "mytorch"


def _modules() -> dict[str, Path]:
    modules = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def _imported(module: str, path: Path) -> set[str]:
    """Every ``mytorch`` name ``module`` imports, at its top or inside a function."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = module if path.name == "__init__.py" else module.rpartition(".")[0]
                for _ in range(node.level - 1):
                    package = package.rpartition(".")[0]
                base = f"{package}.{base}" if base else package
            # "from a import b" imports a.b when b is a module, else a.
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return {name for name in names if name == "mytorch" or name.startswith("mytorch.")}


def import_graph() -> dict[str, set[str]]:
    """module -> the modules of ``mytorch/`` it imports (its own packages left out: a
    module's package is imported before it anyway)."""
    modules = _modules()

    def resolve(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph = {}
    for module, path in modules.items():
        targets = {resolve(name) for name in _imported(module, path)}
        graph[module] = {t for t in targets if t and t != module and not module.startswith(t + ".")}
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph`` (as a path that ends where it starts), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                return path[path.index(target) :] + [target]
            if target not in state and (found := visit(target)):
                return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_import_graph_of_mytorch_has_no_cycle():
    graph = import_graph()
    assert {"mytorch.cli", "mytorch.config", "mytorch.workflows.train"} <= set(graph)
    cycle = _cycle(graph)
    assert cycle is None, " -> ".join(cycle)


def test_the_layers_point_downwards():
    graph = import_graph()
    above_cli = [module for module, targets in graph.items() if "mytorch.cli" in targets]
    assert above_cli == ["mytorch.__main__"]
    for module in ("mytorch.config", "mytorch.constraints"):
        assert all(
            not t.startswith(("mytorch.workflows", "mytorch.integrations", "mytorch.tools"))
            for t in graph[module]
        ), (module, graph[module])
    workflows = [m for m in graph if m.startswith("mytorch.workflows")]
    assert all(not t.startswith("mytorch.integrations") for m in workflows for t in graph[m])


def test_a_cycle_is_found_where_there_is_one():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_config_cli_and_workflows_import_without_optional_packages():
    code = (
        "import sys\n"
        "for name in ('sklearn', 'matplotlib', 'tqdm', 'dask', 'distributed', 'torch',\n"
        "             'pooch', 'scipy', 'threadpoolctl'):\n"
        "    sys.modules[name] = None\n"
        "import mytorch.config, mytorch.constraints, mytorch.cli\n"
        "import mytorch.workflows.build, mytorch.workflows.train, mytorch.workflows.evaluate\n"
        "import mytorch.workflows.toy, mytorch.workflows.report, mytorch.integrations.sweep\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, timeout=60)
