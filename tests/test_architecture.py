"""The layout rules of ``docs/architecture.md``, checked on the code as it is.

* Imports point one way between the tiers (``TIERS`` below, the table of the docs page)
  and there is no import circle anywhere in ``mytorch/`` (imports inside functions
  count too), and nothing inside the package imports the package root.
* No container, trainer, tool, workflow or integration tests ``isinstance`` against a
  concrete layer or loss class: they ask the module (``skips_input_grad``,
  ``forward_chain()``, ``stored_grad_scale()``, ``saturation_bounds``, ...).
* With ``mytorch/`` and ``hw1/`` on ``sys.path`` (the course autograder's layout) no
  file or folder there shadows the standard library or a package MyTorch or its extras
  import.
* No file in ``mytorch/`` is over 500 lines without a reason stated here.

The import graph is read from the source with ``ast`` (nothing is imported).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "mytorch"

#: Tiers from the bottom up: a module may import modules of a lower tier, or of its own
#: group (the same row). Rows of one tier may not import each other. The first matching
#: prefix decides a module's row, so more specific prefixes come first.
TIERS: list[tuple[str, int, tuple[str, ...]]] = [
    (
        "basics",
        0,
        ("mytorch.version", "mytorch.validation", "mytorch.underflow", "mytorch._aliases"),
    ),
    ("course import hook", 0, ("mytorch._course_import",)),
    ("layer kernels", 1, ("mytorch.nn.kernels", "mytorch.nn.functional")),
    ("optimiser kernels", 1, ("mytorch.optim.kernels",)),
    ("nn core", 2, ("mytorch.nn",)),
    ("optimisers", 3, ("mytorch.optim",)),
    (
        "data",
        3,
        ("mytorch.data", "mytorch.datasets", "mytorch.preprocessing", "mytorch.augmentation"),
    ),
    ("metrics", 3, ("mytorch.metrics",)),
    (
        "files",
        3,
        ("mytorch.files", "mytorch.checkpoint", "mytorch.serialization", "mytorch.run_lock"),
    ),
    ("speed tier", 4, ("mytorch.compiled",)),
    (
        "training loop",
        5,
        (
            "mytorch.callbacks",
            "mytorch.trainer",
            "mytorch.compiled_training",
            "mytorch.divergence",
            "mytorch.sample_weight",
            "mytorch.weight_averaging",
        ),
    ),
    (
        "course adapters",
        6,
        ("mytorch.activation", "mytorch.loss", "mytorch.linear", "mytorch.batchnorm", "hw1"),
    ),
    ("learner tools", 7, ("mytorch.tools",)),
    (
        "configuration",
        7,
        (
            "mytorch.config",
            "mytorch.config_file",
            "mytorch.toy_config",
            "mytorch.constraints",
            "mytorch.choices",
            "mytorch.setting",
        ),
    ),
    ("workflows", 8, ("mytorch.workflows",)),
    ("integrations", 9, ("mytorch.integrations",)),
    ("playground", 9, ("mytorch.playground",)),
    ("command line", 10, ("mytorch.cli",)),
    ("entry points", 11, ("mytorch.__main__",)),
]

#: Top-level names the course layout must not shadow (besides the standard library).
PROTECTED = {
    "sklearn",
    "onnx",
    "onnxruntime",
    "dask",
    "distributed",
    "torch",
    "jax",
    "numba",
    "matplotlib",
    "tqdm",
    "pooch",
    "scipy",
    "pandas",
    "threadpoolctl",
    "numpy",
    "pytest",
    "six",
    "tensorboardX",
    "tensorboard",
    "dask_ml",
}

#: Files allowed over 500 lines, with the reason.
LONG_FILES = {
    "mytorch/nn/init.py": "one function per initialiser of torch.nn.init, each with its "
    "formula and a runnable example; splitting would scatter one PyTorch module",
    "mytorch/nn/activation.py": "torch.nn's activations, one short class each with its "
    "forward and backward side by side (ReLU, Sigmoid and Tanh hand theirs to a named "
    "kernel); a learner reads them as a list, one class per activation",
}
MAX_LINES = 500


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _sources() -> dict[str, Path]:
    files = sorted(PACKAGE.rglob("*.py")) + sorted((ROOT / "hw1").glob("*.py"))
    return {_module_name(path): path for path in files if "__pycache__" not in path.parts}


SOURCES = _sources()


def _resolve(name: str) -> str | None:
    """The module ``name`` refers to: itself, or the package holding it (an attribute)."""
    while name:
        if name in SOURCES:
            return name
        name = name.rpartition(".")[0]
    return None


def _runtime_nodes(tree: ast.AST):
    """Every node, except those under ``if TYPE_CHECKING:`` (imports for annotations only,
    which never run)."""
    todo = [tree]
    while todo:
        node = todo.pop()
        yield node
        for child in ast.iter_child_nodes(node):
            if (
                isinstance(child, ast.If)
                and isinstance(child.test, ast.Name)
                and child.test.id == "TYPE_CHECKING"
            ):
                todo.extend(child.orelse)
                continue
            todo.append(child)


def _imports(module: str, path: Path) -> set[str]:
    """Every mytorch module ``module`` imports, at any depth of its code."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in _runtime_nodes(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # ``from package import submodule`` imports the submodule; ``from module
            # import name`` imports the module.
            names = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in SOURCES else base
                for alias in node.names
            ]
        for name in names:
            if name.split(".")[0] not in ("mytorch", "hw1"):
                continue
            target = _resolve(name)
            if target is not None and target != module:
                found.add(target)
    return found


GRAPH = {module: _imports(module, path) for module, path in SOURCES.items()}


def _tier(module: str) -> tuple[str, int]:
    for row, rank, prefixes in TIERS:
        if any(module == p or module.startswith(p + ".") for p in prefixes):
            return row, rank
    if module in ("mytorch", "mytorch.__main__"):
        return "entry points", 11
    raise AssertionError(f"{module} is in no tier of TIERS: add it (and to the docs page)")


def test_every_module_has_a_tier():
    for module in SOURCES:
        _tier(module)


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    """Imports from one row of the tiers to a row of the same or a higher tier."""
    wrong = []
    for module, targets in sorted(graph.items()):
        row, rank = _tier(module)
        for target in sorted(targets):
            target_row, target_rank = _tier(target)
            if target_row != row and target_rank >= rank:
                wrong.append(f"{module} ({row}) imports {target} ({target_row})")
    return wrong


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components of two or more modules: import circles."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
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
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_imports_point_down_the_tiers():
    wrong = upward_imports(GRAPH)
    assert not wrong, "imports pointing up or sideways:\n" + "\n".join(wrong)


def test_nothing_inside_the_package_imports_the_package_root():
    offenders = [m for m, targets in GRAPH.items() if "mytorch" in targets and m != "mytorch"]
    assert not offenders, f"these import the package root (use the submodule): {offenders}"


def test_there_is_no_import_circle():
    # Only explicit imports are edges: ``from mytorch.nn import kernels`` is an edge to
    # mytorch.nn.kernels, not to the package mytorch/nn/__init__.py.
    assert {"mytorch.cli", "mytorch.nn.linear", "mytorch.workflows.train"} <= set(GRAPH)
    assert not circles(GRAPH), f"import circles: {circles(GRAPH)}"


def test_the_checks_find_what_they_look_for():
    # A circle, and an import pointing up (the core importing the trainer).
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert circles({"a": {"b"}, "b": set()}) == []
    wrong = upward_imports({"mytorch.nn.linear": {"mytorch.trainer", "mytorch.validation"}})
    assert wrong == ["mytorch.nn.linear (nn core) imports mytorch.trainer (training loop)"]
    sideways = upward_imports({"mytorch.tools.viz": {"mytorch.config"}})
    assert sideways == ["mytorch.tools.viz (learner tools) imports mytorch.config (configuration)"]


def test_config_cli_and_workflows_import_without_optional_packages():
    code = (
        "import sys\n"
        "for name in ('sklearn', 'matplotlib', 'tqdm', 'dask', 'distributed', 'torch',\n"
        "             'pooch', 'scipy', 'threadpoolctl', 'numba', 'onnx', 'tensorboardX'):\n"
        "    sys.modules[name] = None\n"
        "import mytorch.config, mytorch.constraints, mytorch.cli\n"
        "import mytorch.workflows.build, mytorch.workflows.train, mytorch.workflows.evaluate\n"
        "import mytorch.workflows.toy, mytorch.workflows.report, mytorch.integrations.sweep\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, timeout=60)


def _concrete_classes() -> set[str]:
    from mytorch import batchnorm, linear, loss
    from mytorch.nn import loss as core_loss
    from mytorch.nn import registry

    names = set(registry.MODULE_TYPES)
    names |= {name for name in core_loss.__all__ if name != "Loss"}
    names |= {"SoftmaxCrossEntropy", "BatchNorm"}
    assert {"Linear", "Sequential", "ReLU", "CrossEntropyLoss"} <= names
    del batchnorm, linear, loss  # imported to be sure the names above exist
    return names


#: Where a type test against a concrete layer would mean "branching on layer kinds".
NO_TYPE_TESTS = (
    "mytorch.nn.sequential",
    "mytorch.trainer",
    "mytorch.callbacks",
    "mytorch.weight_averaging",
    "mytorch.tools",
    "mytorch.workflows",
    "mytorch.integrations",
    "mytorch.cli",
)


def _class_names(node: ast.expr) -> list[str]:
    if isinstance(node, ast.Tuple):
        return [name for element in node.elts for name in _class_names(element)]
    if isinstance(node, ast.Name):
        return [node.id]
    if isinstance(node, ast.Attribute):
        return [node.attr]
    return []


def test_no_container_trainer_or_tool_tests_a_concrete_layer_type():
    concrete = _concrete_classes()
    found = []
    for module, path in SOURCES.items():
        if not any(module == p or module.startswith(p + ".") for p in NO_TYPE_TESTS):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in ("isinstance", "issubclass")
                and len(node.args) == 2
            ):
                hits = sorted(set(_class_names(node.args[1])) & concrete)
                if hits:
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno} tests {hits}")
    assert not found, "type tests against concrete layers:\n" + "\n".join(found)


def test_the_course_rules_live_in_one_hook_not_in_a_flag():
    users = [
        str(path.relative_to(ROOT))
        for path in SOURCES.values()
        if "course_conventions" in path.read_text()
    ]
    assert not users, f"course_conventions is gone; ask the layer instead: {users}"


def _top_level_names(folder: Path) -> set[str]:
    names = set()
    for entry in folder.iterdir():
        if entry.name.startswith(".") or entry.name == "__pycache__":
            continue
        if entry.is_dir() and (entry / "__init__.py").exists():
            names.add(entry.name)
        elif entry.suffix == ".py" and entry.stem != "__init__":
            names.add(entry.stem)
    return names


@pytest.mark.parametrize("folder", ["mytorch", "hw1"])
def test_nothing_on_the_course_sys_path_shadows_a_package_we_import(folder):
    names = _top_level_names(ROOT / folder)
    assert {"activation", "loss", "linear", "batchnorm"} <= _top_level_names(PACKAGE)
    clashes = names & (PROTECTED | set(sys.stdlib_module_names))
    assert not clashes, f"{folder}/ would shadow {sorted(clashes)} on the course's sys.path"


def test_no_file_is_over_500_lines_without_a_reason():
    long = {}
    for path in PACKAGE.rglob("*.py"):
        lines = len(path.read_text().splitlines())
        relative = str(path.relative_to(ROOT))
        if lines > MAX_LINES and relative not in LONG_FILES:
            long[relative] = lines
    assert not long, f"over {MAX_LINES} lines with no stated reason: {long}"
    for relative, reason in LONG_FILES.items():
        assert (ROOT / relative).exists() and reason, relative


def test_the_architecture_page_names_every_tier():
    page = (ROOT / "docs" / "architecture.md").read_text()
    for _row, _, prefixes in TIERS:
        for prefix in prefixes:
            last = prefix.rpartition(".")[2]
            named = (prefix.replace(".", "/"), f"{last}.py", f"{last}/")
            assert any(name in page for name in named), f"docs/architecture.md misses {prefix}"
