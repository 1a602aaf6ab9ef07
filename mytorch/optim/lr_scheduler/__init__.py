r"""Learning-rate schedulers, as ``torch.optim.lr_scheduler``.

A scheduler changes ``group["lr"]`` of an optimiser's parameter groups as training goes
on. As in PyTorch, it is created after the optimiser (it records each group's rate as
``group["initial_lr"]``) and ``scheduler.step()`` is called once per epoch (or per
batch), *after* ``optimizer.step()``::

    for epoch in range(epochs):
        for x, y in batches:
            ...
            optimizer.step()
        scheduler.step()

``last_epoch`` counts the ``step()`` calls (creating the scheduler counts as the step to
epoch 0), and ``get_last_lr()`` gives the learning rates it set last. The lecture notes
only ask that the step size :math:`\eta(t)` decrease "at an appropriate rate" for
stochastic gradient descent to converge; :class:`InverseTimeLR` is the classic
:math:`\eta_0 / (1 + \text{decay}\, t)` schedule that does.

Each scheduler reproduces PyTorch's arithmetic (several update the current rate
recursively rather than from a closed form), so a run matches PyTorch's to rounding.
The state (``state_dict()``) holds only numbers, strings, lists and dicts.
"""

from mytorch.optim.lr_scheduler.plateau import ReduceLROnPlateau
from mytorch.optim.lr_scheduler.scheduler import LRScheduler
from mytorch.optim.lr_scheduler.schedules import (
    CosineAnnealingLR,
    ExponentialLR,
    InverseTimeLR,
    LambdaLR,
    LinearLR,
    StepLR,
)

__all__ = [
    "CosineAnnealingLR",
    "ExponentialLR",
    "InverseTimeLR",
    "LRScheduler",
    "LambdaLR",
    "LinearLR",
    "ReduceLROnPlateau",
    "StepLR",
]
