"""``mytorch.nn``: layers, activations and losses with PyTorch's names, by hand in NumPy.

This is MyTorch's one core. Each layer is a file holding its equations in the module
docstring and ``forward`` / ``backward`` side by side; ``functional`` holds the plain
functions (sigmoid, softmax, ...), ``kernels`` the faster spellings some layers call,
``init`` the initialisers and ``utils`` gradient clipping and parameter vectors. The
course's files (``mytorch/linear.py``, ...) are adapters over these classes.

Examples
--------
>>> import numpy as np
>>> from mytorch import nn
>>> model = nn.Sequential(nn.Linear(784, 128, rng=0), nn.BatchNorm1d(128), nn.ReLU(),
...                       nn.Linear(128, 10, rng=1))
>>> criterion = nn.CrossEntropyLoss()
>>> x, y = np.zeros((32, 784)), np.zeros(32, dtype=np.int64)
>>> loss = criterion(model(x), y)
>>> _ = model.backward(criterion.backward())
"""

from mytorch.nn import init, utils
from mytorch.nn.activation import (
    ELU,
    GELU,
    Activation,
    Identity,
    LeakyReLU,
    LogSoftmax,
    ReLU,
    Sigmoid,
    Softmax,
    Softplus,
    Step,
    Tanh,
)
from mytorch.nn.batchnorm import BatchNorm1d
from mytorch.nn.dropout import Dropout, NotesDropout
from mytorch.nn.linear import Linear
from mytorch.nn.loss import (
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    HingeLoss,
    Loss,
    MSELoss,
    MultiMarginLoss,
    NLLLoss,
)
from mytorch.nn.module import Module
from mytorch.nn.parameter import Parameter
from mytorch.nn.sequential import Sequential
from mytorch.nn.utils import clip_grad_norm_, clip_grad_value_

__all__ = [
    "init",
    "utils",
    "clip_grad_norm_",
    "clip_grad_value_",
    "Module",
    "Parameter",
    "Sequential",
    "Linear",
    "BatchNorm1d",
    "Dropout",
    "NotesDropout",
    "Activation",
    "Identity",
    "Step",
    "Sigmoid",
    "Tanh",
    "ReLU",
    "LeakyReLU",
    "ELU",
    "GELU",
    "Softplus",
    "Softmax",
    "LogSoftmax",
    "Loss",
    "MSELoss",
    "BCEWithLogitsLoss",
    "CrossEntropyLoss",
    "NLLLoss",
    "MultiMarginLoss",
    "HingeLoss",
]
