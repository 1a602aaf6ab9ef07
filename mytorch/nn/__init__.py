"""``mytorch.nn``: PyTorch's layer, activation and loss names over MyTorch's one core.

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

from mytorch.activation import (
    ELU,
    GELU,
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
from mytorch.dropout import Dropout
from mytorch.loss import BCEWithLogitsLoss, CrossEntropyLoss, MSELoss, MultiMarginLoss, NLLLoss
from mytorch.module import Module
from mytorch.nn import init
from mytorch.nn.batchnorm import BatchNorm1d
from mytorch.nn.clip_grad import clip_grad_norm_, clip_grad_value_
from mytorch.nn.linear import Linear
from mytorch.parameter import Parameter
from mytorch.sequential import Sequential

__all__ = [
    "init",
    "clip_grad_norm_",
    "clip_grad_value_",
    "Module",
    "Parameter",
    "Sequential",
    "Linear",
    "BatchNorm1d",
    "Dropout",
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
    "MSELoss",
    "BCEWithLogitsLoss",
    "CrossEntropyLoss",
    "NLLLoss",
    "MultiMarginLoss",
]
