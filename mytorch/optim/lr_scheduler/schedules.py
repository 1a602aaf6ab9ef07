"""Schedules that follow the epoch count: Lambda, InverseTime, Step, Exponential, Cosine, Linear."""

from __future__ import annotations

import copy
import math
import types
from collections.abc import Callable, Sequence
from typing import Any

from mytorch.optim.lr_scheduler.scheduler import LRScheduler
from mytorch.optim.optimizer import Optimizer
from mytorch.validation import check_number, check_positive_int


class LambdaLR(LRScheduler):
    r"""Set each group's rate to its initial rate times ``lr_lambda(epoch)``.

    Parameters
    ----------
    optimizer : Optimizer
        The optimiser.
    lr_lambda : callable or list of callable
        ``f(epoch: int) -> float``, the factor for epoch ``epoch`` (0, 1, ...); or one such
        function per parameter group.
    last_epoch : int
        See :class:`LRScheduler`.

    Notes
    -----
    :math:`\eta_t = \eta_0 \cdot f(t)`. The functions themselves are not saved by
    ``state_dict()`` (only the ``__dict__`` of callable objects, as in PyTorch).

    Examples
    --------
    >>> from mytorch.optim import SGD
    >>> from mytorch.nn.parameter import Parameter
    >>> import numpy as np
    >>> opt = SGD([Parameter(np.zeros(2))], lr=1.0)
    >>> sched = LambdaLR(opt, lambda epoch: 0.5**epoch)
    >>> sched.step(); sched.step()
    >>> sched.get_last_lr()
    [0.25]
    """

    _not_saved = ("optimizer", "_is_initial", "lr_lambdas")

    def __init__(
        self,
        optimizer: Optimizer,
        lr_lambda: Callable[[int], float] | Sequence[Callable[[int], float]],
        last_epoch: int = -1,
    ) -> None:
        name = type(self).__name__
        n_groups = len(optimizer.param_groups) if isinstance(optimizer, Optimizer) else 1
        if isinstance(lr_lambda, (list, tuple)):
            if len(lr_lambda) != n_groups:
                raise ValueError(
                    f"{name}: expected {n_groups} lr_lambdas (one per parameter group), "
                    f"got {len(lr_lambda)}"
                )
            lambdas = list(lr_lambda)
        else:
            lambdas = [lr_lambda] * n_groups
        for fn in lambdas:
            if not callable(fn):
                raise TypeError(f"{name}: expected lr_lambda to be callable, got {fn!r}")
        self.lr_lambdas = lambdas
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        """Return ``base_lr * lr_lambda(last_epoch)`` for each group."""
        return [
            base_lr * fn(self.last_epoch)
            for fn, base_lr in zip(self.lr_lambdas, self.base_lrs, strict=True)
        ]

    def state_dict(self) -> dict[str, Any]:
        """Return the state; ``"lr_lambdas"`` holds ``None`` for plain functions."""
        state = super().state_dict()
        state["lr_lambdas"] = [
            None if isinstance(fn, types.FunctionType) else copy.deepcopy(vars(fn))
            for fn in self.lr_lambdas
        ]
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore the state, and the ``__dict__`` of callable-object lambdas."""
        state = dict(state_dict)
        saved_lambdas = state.pop("lr_lambdas", [None] * len(self.lr_lambdas))
        super().load_state_dict(state)
        for fn, saved in zip(self.lr_lambdas, saved_lambdas, strict=True):
            if saved is not None:
                vars(fn).update(copy.deepcopy(saved))


class InverseTimeLR(LRScheduler):
    r"""A decaying step size :math:`\eta(t) = \eta_0 / (1 + \text{decay}\cdot t)`.

    The lecture notes' SGD (000, sections 7.6 and 7.7.1) takes a step size
    :math:`\eta(t)` at update t and says to "decrease :math:`\eta` at an appropriate
    rate" for stochastic gradient descent to converge; they give no formula. This
    :math:`1/t` rate is MyTorch's choice (the classic rate of stochastic approximation,
    not from the notes). With ``decay=1`` it gives :math:`\eta_0, \eta_0/2,
    \eta_0/3, \dots` over steps 0, 1, 2, ... of the scheduler: per epoch by default,
    per update (the notes' t) with the trainer's ``schedule_interval='step'``.

    It equals ``LambdaLR(optimizer, lambda t: 1 / (1 + decay * t))`` (same arithmetic),
    but, unlike a lambda, its ``state_dict`` holds everything needed to resume.

    Parameters
    ----------
    optimizer : Optimizer
        The optimiser.
    decay : float
        How fast the rate falls, > 0. Default 1.0.
    last_epoch : int
        See :class:`LRScheduler`.

    Examples
    --------
    >>> from mytorch.optim import SGD
    >>> from mytorch.nn.parameter import Parameter
    >>> import numpy as np
    >>> opt = SGD([Parameter(np.zeros(2))], lr=0.3)
    >>> sched = InverseTimeLR(opt)
    >>> rates = []
    >>> for _ in range(3):
    ...     rates.append(round(sched.get_last_lr()[0], 6))
    ...     sched.step()
    >>> rates
    [0.3, 0.15, 0.1]
    """

    def __init__(self, optimizer: Optimizer, decay: float = 1.0, last_epoch: int = -1) -> None:
        self.decay = check_number(decay, type(self).__name__, "decay", low=0.0, low_inclusive=False)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        """Return ``base_lr / (1 + decay * last_epoch)`` for each group."""
        factor = 1.0 / (1.0 + self.decay * self.last_epoch)
        return [base_lr * factor for base_lr in self.base_lrs]


class StepLR(LRScheduler):
    r"""Multiply each group's rate by ``gamma`` every ``step_size`` epochs.

    Parameters
    ----------
    optimizer : Optimizer
        The optimiser.
    step_size : int
        Period of the decay, in epochs, > 0.
    gamma : float
        Factor of the decay, >= 0. Default 0.1.
    last_epoch : int
        See :class:`LRScheduler`.

    Notes
    -----
    :math:`\eta_t = \eta_0 \gamma^{\lfloor t / \text{step\_size} \rfloor}`, applied as a
    multiplication of the current rate at each multiple of ``step_size`` (so it composes
    with other changes to ``lr``, as in PyTorch).

    Examples
    --------
    >>> from mytorch.optim import SGD
    >>> from mytorch.nn.parameter import Parameter
    >>> import numpy as np
    >>> opt = SGD([Parameter(np.zeros(2))], lr=1.0)
    >>> sched = StepLR(opt, step_size=2, gamma=0.5)
    >>> rates = []
    >>> for _ in range(5):
    ...     rates.append(sched.get_last_lr()[0])
    ...     sched.step()
    >>> rates
    [1.0, 1.0, 0.5, 0.5, 0.25]
    """

    def __init__(
        self, optimizer: Optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1
    ) -> None:
        name = type(self).__name__
        self.step_size = check_positive_int(step_size, name, "step_size")
        self.gamma = check_number(gamma, name, "gamma", low=0.0)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        """Return the current rates, times ``gamma`` at a non-zero multiple of step_size."""
        groups = self.optimizer.param_groups
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return [group["lr"] for group in groups]
        return [group["lr"] * self.gamma for group in groups]


class ExponentialLR(LRScheduler):
    r"""Multiply each group's rate by ``gamma`` every epoch: :math:`\eta_t = \eta_0 \gamma^t`.

    Parameters
    ----------
    optimizer : Optimizer
        The optimiser.
    gamma : float
        Factor of the decay, >= 0.
    last_epoch : int
        See :class:`LRScheduler`.

    Examples
    --------
    >>> from mytorch.optim import SGD
    >>> from mytorch.nn.parameter import Parameter
    >>> import numpy as np
    >>> opt = SGD([Parameter(np.zeros(2))], lr=1.0)
    >>> sched = ExponentialLR(opt, gamma=0.5)
    >>> sched.step(); sched.step()
    >>> sched.get_last_lr()
    [0.25]
    """

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1) -> None:
        self.gamma = check_number(gamma, type(self).__name__, "gamma", low=0.0)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        """Return the current rates times ``gamma`` (unchanged at construction)."""
        groups = self.optimizer.param_groups
        if self._is_initial:
            return [group["lr"] for group in groups]
        return [group["lr"] * self.gamma for group in groups]


class CosineAnnealingLR(LRScheduler):
    r"""Anneal each group's rate from its initial value to ``eta_min`` along a cosine.

    Parameters
    ----------
    optimizer : Optimizer
        The optimiser.
    T_max : int
        Number of epochs of the half cosine, > 0. Past ``T_max`` the rate climbs back
        (the cosine continues; there are no restarts), as in PyTorch.
    eta_min : float
        Smallest rate, >= 0. Default 0.
    last_epoch : int
        See :class:`LRScheduler`.

    Notes
    -----
    The rates follow :math:`\eta_t = \eta_{min} + \tfrac12 (\eta_0 - \eta_{min})
    (1 + \cos(\pi t / T_{max}))`, computed, as PyTorch does, recursively from the
    current rate:

    .. math::

        \eta_t = \eta_{min} + (\eta_{t-1} - \eta_{min})
                 \frac{1 + \cos(\pi t / T_{max})}{1 + \cos(\pi (t - 1) / T_{max})}

    (with a special case where the denominator is 0).

    Examples
    --------
    >>> from mytorch.optim import SGD
    >>> from mytorch.nn.parameter import Parameter
    >>> import numpy as np
    >>> opt = SGD([Parameter(np.zeros(2))], lr=1.0)
    >>> sched = CosineAnnealingLR(opt, T_max=2)
    >>> sched.step()
    >>> round(sched.get_last_lr()[0], 6)
    0.5
    """

    def __init__(
        self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0, last_epoch: int = -1
    ) -> None:
        name = type(self).__name__
        self.T_max = check_positive_int(T_max, name, "T_max")
        self.eta_min = check_number(eta_min, name, "eta_min", low=0.0)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        """Return the next rates on the cosine, from the current ones."""
        groups = self.optimizer.param_groups
        epoch, t_max, eta_min = self.last_epoch, self.T_max, self.eta_min
        if self._is_initial:
            return [group["lr"] for group in groups]
        if (epoch - 1 - t_max) % (2 * t_max) == 0:
            # At the top of the cosine the ratio below is 0/0; step up from the bottom.
            return [
                group["lr"] + (base_lr - eta_min) * (1 - math.cos(math.pi / t_max)) / 2
                for base_lr, group in zip(self.base_lrs, groups, strict=True)
            ]
        return [
            (1 + math.cos(math.pi * epoch / t_max))
            / (1 + math.cos(math.pi * (epoch - 1) / t_max))
            * (group["lr"] - eta_min)
            + eta_min
            for group in groups
        ]


class LinearLR(LRScheduler):
    r"""Scale each group's rate by a factor going linearly from ``start_factor`` to
    ``end_factor`` over ``total_iters`` epochs (a linear warm-up with the defaults).

    Parameters
    ----------
    optimizer : Optimizer
        The optimiser.
    start_factor : float
        Factor at epoch 0, in (0, 1]. Default 1/3.
    end_factor : float
        Factor from epoch ``total_iters`` on, in [0, 1]. Default 1.0.
    total_iters : int
        Number of epochs of the ramp, > 0. Default 5.
    last_epoch : int
        See :class:`LRScheduler`.

    Notes
    -----
    :math:`\eta_t = \eta_0 (s + (e - s) \min(t, T) / T)`, applied as PyTorch does, by
    multiplying the current rate by the ratio of consecutive factors.

    Examples
    --------
    >>> from mytorch.optim import SGD
    >>> from mytorch.nn.parameter import Parameter
    >>> import numpy as np
    >>> opt = SGD([Parameter(np.zeros(2))], lr=1.0)
    >>> sched = LinearLR(opt, start_factor=0.25, total_iters=3)
    >>> rates = []
    >>> for _ in range(5):
    ...     rates.append(round(sched.get_last_lr()[0], 6))
    ...     sched.step()
    >>> rates
    [0.25, 0.5, 0.75, 1.0, 1.0]
    """

    def __init__(
        self,
        optimizer: Optimizer,
        start_factor: float = 1.0 / 3,
        end_factor: float = 1.0,
        total_iters: int = 5,
        last_epoch: int = -1,
    ) -> None:
        name = type(self).__name__
        self.start_factor = check_number(
            start_factor, name, "start_factor", low=0.0, low_inclusive=False, high=1.0
        )
        self.end_factor = check_number(end_factor, name, "end_factor", low=0.0, high=1.0)
        self.total_iters = check_positive_int(total_iters, name, "total_iters")
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        """Return the current rates times the ratio of this epoch's factor to the last's."""
        groups = self.optimizer.param_groups
        if self.last_epoch == 0:
            return [group["lr"] * self.start_factor for group in groups]
        if self._is_initial or self.last_epoch > self.total_iters:
            return [group["lr"] for group in groups]
        change = self.end_factor - self.start_factor
        ratio = 1.0 + change / (
            self.total_iters * self.start_factor + (self.last_epoch - 1) * change
        )
        return [group["lr"] * ratio for group in groups]
