"""Let the course autograder's imports reach the one package implementation.

The CMU 11-785 autograder runs from the repository root with ``mytorch/`` (not the
root) on ``sys.path`` and does ``import activation, loss, linear, batchnorm``. Each of
those files starts by calling :func:`import_from_package` when it finds itself
imported that way: the package ``mytorch`` is imported from the repository root and
its module takes the place of the top-level one in ``sys.modules``. So
``activation.Sigmoid is mytorch.activation.Sigmoid`` and no class exists twice.
"""

from __future__ import annotations

import importlib
import os
import sys


def import_from_package(module_name: str) -> None:
    """Replace top-level ``module_name`` in ``sys.modules`` by ``mytorch.<module_name>``."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if root not in sys.path:
        # The course layout: this repository's own mytorch/ must win over any other.
        sys.path.insert(0, root)
    # The import system returns whatever sys.modules holds under the name once the
    # file has run, so the importer gets the package module.
    sys.modules[module_name] = importlib.import_module(f"mytorch.{module_name}")


def import_real_package(module_name: str) -> None:
    """Put the real third-party ``module_name`` (``onnx``, ``sklearn``) in ``sys.modules``.

    ``mytorch/onnx.py`` and ``mytorch/sklearn.py`` share their names with the packages
    they wrap; with ``mytorch/`` on ``sys.path`` (the course layout) ``import sklearn``
    would find this folder's file. This imports the real package with ``mytorch/``
    left out of the search path, and puts the repository root on ``sys.path`` so the
    rest of the shadowing file (which still runs, as a throw-away module) can import
    ``mytorch``.
    """
    here = os.path.dirname(os.path.abspath(__file__))
    saved_path = list(sys.path)
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != here]
    del sys.modules[module_name]
    try:
        sys.modules[module_name] = importlib.import_module(module_name)
    finally:
        sys.path[:] = saved_path
    root = os.path.dirname(here)
    if root not in sys.path:
        sys.path.insert(0, root)
