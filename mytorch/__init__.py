"""MyTorch: feed-forward neural networks with every forward and backward pass written
by hand in NumPy.

Two faces of one core:

* ``mytorch.nn`` / ``mytorch.optim``: PyTorch's names and semantics;
* ``mytorch/activation.py``, ``loss.py``, ``linear.py``, ``batchnorm.py`` and the
  repository's ``hw1/``: the CMU 11-785 Homework 1 Part 1 API, adapters over ``nn``.

``docs/architecture.md`` maps the folders and which way imports point.
"""

from mytorch import _aliases

_aliases.install()

from mytorch import nn, optim  # noqa: E402
from mytorch.compiled import compile_predict, compile_step  # noqa: E402
from mytorch.optim.kernels.threaded import get_num_threads, set_num_threads  # noqa: E402
from mytorch.serialization import load, save  # noqa: E402
from mytorch.tools.gradcheck import gradcheck  # noqa: E402
from mytorch.validation import assume_finite  # noqa: E402
from mytorch.version import __version__  # noqa: E402

__all__ = [
    "nn",
    "optim",
    "gradcheck",
    "compile_step",
    "compile_predict",
    "save",
    "load",
    "assume_finite",
    "get_num_threads",
    "set_num_threads",
    "__version__",
]
