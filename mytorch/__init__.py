"""MyTorch: feed-forward neural networks with every forward and backward pass written
by hand in NumPy.

Two faces of one core:

* ``mytorch.nn`` / ``mytorch.optim``: PyTorch's names and semantics;
* ``mytorch/activation.py``, ``loss.py``, ``linear.py``, ``batchnorm.py`` and the
  repository's ``hw1/``: the CMU 11-785 Homework 1 Part 1 API.
"""

from mytorch import nn, optim

__version__ = "0.1.0"

from mytorch.gradcheck import gradcheck  # noqa: E402
from mytorch.serialization import load, save  # noqa: E402
from mytorch.threads import get_num_threads, set_num_threads  # noqa: E402

__all__ = [
    "nn",
    "optim",
    "gradcheck",
    "save",
    "load",
    "get_num_threads",
    "set_num_threads",
    "__version__",
]
