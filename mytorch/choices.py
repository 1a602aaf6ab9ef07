"""The names a run's settings choose from: activations, optimisers, schedules, inits, losses.

``mytorch/config.py`` declares each setting with one of these tables as its choices, and
the model builder (``mytorch/workflows/build.py``) turns a name back into the object.
"""

from __future__ import annotations

import re

from mytorch import nn
from mytorch.nn.loss import Loss

__all__ = [
    "ACTIVATIONS",
    "DTYPES",
    "INITS",
    "LOSSES",
    "OPTIMIZERS",
    "PREPROCESSING",
    "SCHEDULES",
    "SCHEDULE_INTERVALS",
]

#: Hidden activations by their ``mytorch train`` name.
ACTIVATIONS: dict[str, type[nn.Module]] = {
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,
    "elu": nn.ELU,
    "gelu": nn.GELU,
    "softplus": nn.Softplus,
    "identity": nn.Identity,
}
#: Optimisers (``mytorch.workflows.build.build_optimizer`` makes them): PyTorch's, and the
#: lecture notes' where those differ (``NotesSGD``, ``NotesAdam``, ``NotesAdadelta``).
OPTIMIZERS = (
    "sgd",
    "adam",
    "adamw",
    "rmsprop",
    "adagrad",
    "adadelta",
    "notes-sgd",
    "notes-adam",
    "notes-adadelta",
)
#: Learning-rate schedules (``mytorch.workflows.build.build_scheduler`` makes them).
SCHEDULES = ("none", "step", "exponential", "cosine", "plateau", "inverse-time", "warmup")
#: When a schedule is stepped: after every epoch, or after every update (the notes' eta(t)).
SCHEDULE_INTERVALS = ("epoch", "step")
#: Weight initialisations: chosen by the activation (``auto``, see
#: ``mytorch.workflows.build.resolve_init``), PyTorch's default, the course's N(0, 1), the
#: notes' Gaussian(0, 1/m) weights and Gaussian(0, 1) offsets, Xavier, Kaiming.
INITS = ("auto", "default", "course", "notes", "xavier", "kaiming")
#: Pre-processing of the inputs, fitted on the training split (``mytorch.preprocessing``;
#: the slides' zero-centring, normalising, PCA and whitening).
PREPROCESSING = ("none", "center", "standardize", "pca", "whiten-pca", "whiten-zca")
#: Precisions a network can train in.
DTYPES = ("float32", "float64")

#: Losses of ``mytorch.nn`` that cannot train a network's raw outputs, with the reason.
_NOT_ON_LOGITS = {"NLLLoss": "takes log-probabilities, not the logits a network ends in"}


def _loss_name(class_name: str) -> str:
    """``'CrossEntropyLoss'`` -> ``'cross_entropy'``, ``'MSELoss'`` -> ``'mse'``."""
    stem = class_name.removesuffix("Loss")
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", stem).lower()


#: Losses a two-class network (``mytorch toy``, the playground) can train with, by name:
#: every loss class ``mytorch.nn`` exports, so that one added there appears here.
LOSSES: dict[str, type[Loss]] = {
    _loss_name(name): value
    for name, value in sorted(vars(nn).items())
    if isinstance(value, type)
    and issubclass(value, Loss)
    and value is not Loss
    and name not in _NOT_ON_LOGITS
}
