"""Optimisers and learning-rate schedulers, with PyTorch's names, arguments and rules.

``SGD``, ``Adagrad``, ``RMSprop``, ``Adadelta``, ``Adam`` and ``AdamW`` match
``torch.optim`` (same defaults, same update, same ``param_groups`` / ``state_dict``);
``NotesSGD`` (momentum with the learning rate inside the velocity), ``NotesAdadelta`` and
``NotesAdam`` are the lecture notes' versions where those differ.
Schedulers live in :mod:`mytorch.optim.lr_scheduler`.

Examples
--------
>>> from mytorch import optim
>>> from mytorch.nn.parameter import Parameter
>>> import numpy as np
>>> w = Parameter(np.ones(3))
>>> opt = optim.Adam([w], lr=1e-2)
>>> sched = optim.lr_scheduler.StepLR(opt, step_size=10, gamma=0.5)
>>> for epoch in range(3):
...     w.grad = 2 * w.data
...     opt.step()
...     sched.step()
"""

from mytorch.optim import lr_scheduler, swa_utils
from mytorch.optim.adadelta import Adadelta, NotesAdadelta
from mytorch.optim.adagrad import Adagrad
from mytorch.optim.adam import Adam, AdamW, NotesAdam
from mytorch.optim.optimizer import Optimizer
from mytorch.optim.rmsprop import RMSprop
from mytorch.optim.sgd import SGD, NotesSGD

__all__ = [
    "Adadelta",
    "Adagrad",
    "Adam",
    "AdamW",
    "NotesAdadelta",
    "NotesAdam",
    "NotesSGD",
    "Optimizer",
    "RMSprop",
    "SGD",
    "lr_scheduler",
    "swa_utils",
]
