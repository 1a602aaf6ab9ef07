"""Old import paths of modules that moved, kept working without importing them early.

``import mytorch.sklearn`` (say) finds no file: the estimators live in
``mytorch/integrations/sklearn.py``, so that no module in ``mytorch/`` shares its name
with a package MyTorch imports (the course puts ``mytorch/`` itself on ``sys.path``).
The finder below answers for each old name by importing the new module and registering
it under the old name too, only when someone imports it.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
from types import ModuleType
from typing import Any

#: old dotted name -> new dotted name
MOVED = {
    "mytorch.module": "mytorch.nn.module",
    "mytorch.parameter": "mytorch.nn.parameter",
    "mytorch.sequential": "mytorch.nn.sequential",
    "mytorch.dropout": "mytorch.nn.dropout",
    "mytorch.nn.clip_grad": "mytorch.nn.utils.clip_grad",
    "mytorch.threads": "mytorch.optim.kernels.threaded",
    "mytorch.numba_kernels": "mytorch.optim.kernels.compiled",
    "mytorch.sklearn": "mytorch.integrations.sklearn",
    "mytorch.onnx": "mytorch.integrations.onnx",
    "mytorch.sweep": "mytorch.integrations.sweep",
    "mytorch.explain": "mytorch.tools.explain",
    "mytorch.diagnostics": "mytorch.tools.diagnostics",
    "mytorch.viz": "mytorch.tools.viz",
    "mytorch.plots": "mytorch.tools.plots",
}


class _AliasLoader(importlib.abc.Loader):
    def __init__(self, target: str) -> None:
        self.target = target

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        # The real module, with its own name and spec: the import system keeps the
        # attributes a module already has.
        return importlib.import_module(self.target)

    def exec_module(self, module: ModuleType) -> None:
        """Nothing to run: ``create_module`` returned the imported module."""


class AliasFinder(importlib.abc.MetaPathFinder):
    """Finds the old names in :data:`MOVED` (and only those)."""

    def find_spec(
        self, fullname: str, path: Any = None, target: Any = None
    ) -> importlib.machinery.ModuleSpec | None:
        new = MOVED.get(fullname)
        if new is None:
            return None
        return importlib.machinery.ModuleSpec(fullname, _AliasLoader(new))


def install() -> None:
    """Add the finder to ``sys.meta_path`` once (after the normal finders)."""
    if not any(isinstance(finder, AliasFinder) for finder in sys.meta_path):
        sys.meta_path.append(AliasFinder())
