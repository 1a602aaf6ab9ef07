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

from __future__ import annotations

import copy
import math
import types
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from mytorch.optim.optimizer import Optimizer
from mytorch.validation import check_number, check_positive_int


def _check_non_negative_int(value: Any, where: str, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{where}: expected {name} to be a non-negative int, got {value!r}")
    if value < 0:
        raise ValueError(f"{where}: expected {name} to be a non-negative int, got {value}")
    return int(value)


class LRScheduler:
    """Base class of the schedulers: keeps ``last_epoch`` and writes ``group["lr"]``.

    Subclasses implement ``get_lr()``, the learning rates for epoch ``last_epoch``.

    Parameters
    ----------
    optimizer : Optimizer
        The optimiser whose learning rates are scheduled.
    last_epoch : int
        Index of the last epoch done. -1 (the default) starts a new schedule from each
        group's current ``lr``. A value >= 0 resumes one: each group must then already
        hold ``"initial_lr"`` (restore the optimiser's ``state_dict`` first). Prefer
        ``load_state_dict`` for resuming.

    Attributes
    ----------
    optimizer : Optimizer
        As given.
    base_lrs : list of float
        Each group's ``"initial_lr"``.
    last_epoch : int
        Number of ``step()`` calls since epoch 0.

    Raises
    ------
    TypeError
        If ``optimizer`` is not a :class:`~mytorch.optim.Optimizer`.
    ValueError
        If ``last_epoch`` >= 0 and a group has no ``"initial_lr"``.
    """

    # Attributes that are not part of the saved state.
    _not_saved: tuple[str, ...] = ("optimizer", "_is_initial")

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1) -> None:
        name = type(self).__name__
        if not isinstance(optimizer, Optimizer):
            raise TypeError(
                f"{name}: expected a mytorch.optim Optimizer, got {type(optimizer).__name__}"
            )
        if isinstance(last_epoch, bool) or not isinstance(last_epoch, int) or last_epoch < -1:
            raise ValueError(f"{name}: expected last_epoch to be an int >= -1, got {last_epoch!r}")
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for index, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise ValueError(
                        f"{name}: param_groups[{index}] has no 'initial_lr', which resuming "
                        f"with last_epoch={last_epoch} needs; load the optimiser's "
                        "state_dict first, or use last_epoch=-1 for a new schedule"
                    )
        self.optimizer = optimizer
        self.base_lrs: list[float] = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._last_lr: list[float] = [group["lr"] for group in optimizer.param_groups]
        # The constructor's step moves to epoch 0; some rules must not change the rate then.
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def get_lr(self) -> list[float]:
        """Return the learning rate of each group for epoch ``last_epoch``."""
        raise NotImplementedError(f"{type(self).__name__} does not implement get_lr()")

    def get_last_lr(self) -> list[float]:
        """Return the learning rates the last ``step()`` set, one per parameter group."""
        return list(self._last_lr)

    def step(self) -> None:
        """Advance one epoch and set each group's ``lr``.

        Call it after ``optimizer.step()``. (PyTorch's deprecated ``step(epoch)`` form is
        not provided.)
        """
        groups = self.optimizer.param_groups
        if len(groups) != len(self.base_lrs):
            raise ValueError(
                f"{type(self).__name__}.step: the optimiser has {len(groups)} parameter "
                f"groups but the scheduler was made for {len(self.base_lrs)}"
            )
        self.last_epoch += 1
        for index, (group, lr) in enumerate(zip(groups, self.get_lr(), strict=True)):
            # A user's lr_lambda may return anything; never hand the optimiser NaN or < 0.
            if not (
                isinstance(lr, (int, float, np.integer, np.floating))
                and math.isfinite(lr)
                and lr >= 0
            ):
                raise ValueError(
                    f"{type(self).__name__}.step: the new learning rate of "
                    f"param_groups[{index}] must be finite and >= 0, got {lr!r}"
                )
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in groups]

    def state_dict(self) -> dict[str, Any]:
        """Return the scheduler's state (everything but the optimiser) as a new dict."""
        return {
            key: copy.deepcopy(value)
            for key, value in vars(self).items()
            if key not in self._not_saved
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a state made by ``state_dict()`` of the same kind of scheduler.

        Load the optimiser's state too (before or after; the scheduler keeps its own
        copy of the rates) so that both continue from the same point.

        Raises
        ------
        TypeError
            If ``state_dict`` is not a dict.
        ValueError
            If it holds keys this scheduler does not have.
        """
        name = f"{type(self).__name__}.load_state_dict"
        if not isinstance(state_dict, dict):
            raise TypeError(f"{name}: expected a dict, got {type(state_dict).__name__}")
        unknown = sorted(set(state_dict) - set(self.state_dict()))
        if unknown:
            raise ValueError(
                f"{name}: unexpected keys {unknown}; is this the state of another scheduler?"
            )
        for key, value in state_dict.items():
            setattr(self, key, copy.deepcopy(value))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(last_epoch={self.last_epoch}, lr={self.get_last_lr()})"


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
    r"""The notes' decaying step size :math:`\eta(t) = \eta_0 / (1 + \text{decay}\cdot t)`.

    The lecture notes' SGD (sections 7.6 and 7.7.1) uses a step size :math:`\eta(t)` that
    decreases "at an appropriate rate" so that stochastic gradient descent converges; the
    classic rate is :math:`1/t`, which satisfies :math:`\sum_t \eta(t) = \infty` and
    :math:`\sum_t \eta(t)^2 < \infty`. With ``decay=1`` this scheduler gives
    :math:`\eta_0, \eta_0/2, \eta_0/3, \dots` over epochs 0, 1, 2, ..., i.e.
    :math:`\eta_0 / t` counting epochs from :math:`t = 1`.

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


class ReduceLROnPlateau(LRScheduler):
    """Multiply the rates by ``factor`` when a metric has stopped improving.

    Unlike the other schedulers, ``step(metric)`` takes the monitored value (say, the
    validation loss) once per epoch.

    Parameters
    ----------
    optimizer : Optimizer
        The optimiser.
    mode : {"min", "max"}
        Whether the metric should go down (a loss) or up (an accuracy). Default "min".
    factor : float
        ``new_lr = lr * factor``, in [0, 1). Default 0.1.
    patience : int
        Number of epochs without improvement tolerated; the rates drop on the next one.
        Default 10.
    threshold : float
        Smallest change that counts as an improvement, >= 0. Default 1e-4.
    threshold_mode : {"rel", "abs"}
        ``"rel"``: better than ``best * (1 -+ threshold)``; ``"abs"``: better than
        ``best -+ threshold``. Default "rel".
    cooldown : int
        Epochs to wait after a reduction before counting bad epochs again. Default 0.
    min_lr : float or list of float
        Lower bound on the rate (one per group, or one for all), >= 0. Default 0.
    eps : float
        A reduction smaller than ``eps`` is skipped. Default 1e-8.

    Notes
    -----
    ``best`` starts at +inf (or -inf), which JSON writes as ``Infinity``; Python's
    ``json`` module reads it back.

    Examples
    --------
    >>> from mytorch.optim import SGD
    >>> from mytorch.nn.parameter import Parameter
    >>> import numpy as np
    >>> opt = SGD([Parameter(np.zeros(2))], lr=1.0)
    >>> sched = ReduceLROnPlateau(opt, patience=1)
    >>> for loss in [3.0, 2.0, 2.0, 2.0]:
    ...     sched.step(loss)
    >>> sched.get_last_lr()
    [0.1]
    """

    def __init__(
        self,
        optimizer: Optimizer,
        mode: str = "min",
        factor: float = 0.1,
        patience: int = 10,
        threshold: float = 1e-4,
        threshold_mode: str = "rel",
        cooldown: int = 0,
        min_lr: float | Sequence[float] = 0,
        eps: float = 1e-8,
    ) -> None:
        name = type(self).__name__
        if not isinstance(optimizer, Optimizer):
            raise TypeError(
                f"{name}: expected a mytorch.optim Optimizer, got {type(optimizer).__name__}"
            )
        if mode not in ("min", "max"):
            raise ValueError(f"{name}: expected mode 'min' or 'max', got {mode!r}")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(
                f"{name}: expected threshold_mode 'rel' or 'abs', got {threshold_mode!r}"
            )
        self.optimizer = optimizer
        self.factor = check_number(factor, name, "factor", low=0.0, high=1.0, high_inclusive=False)
        self.patience = _check_non_negative_int(patience, name, "patience")
        self.threshold = check_number(threshold, name, "threshold", low=0.0)
        self.threshold_mode = threshold_mode
        self.cooldown = _check_non_negative_int(cooldown, name, "cooldown")
        self.eps = check_number(eps, name, "eps", low=0.0)
        self.mode = mode
        n_groups = len(optimizer.param_groups)
        if isinstance(min_lr, (list, tuple)):
            if len(min_lr) != n_groups:
                raise ValueError(
                    f"{name}: expected {n_groups} min_lr values (one per group), got {len(min_lr)}"
                )
            self.default_min_lr: float | None = None
            self.min_lrs = [check_number(v, name, "min_lr", low=0.0) for v in min_lr]
        else:
            self.default_min_lr = check_number(min_lr, name, "min_lr", low=0.0)
            self.min_lrs = [self.default_min_lr] * n_groups
        self.mode_worse = math.inf if mode == "min" else -math.inf
        self.best = self.mode_worse
        self.num_bad_epochs = 0
        self.cooldown_counter = 0
        self.last_epoch = 0
        self._last_lr = [group["lr"] for group in optimizer.param_groups]
        self._is_initial = False

    def step(self, metrics: float) -> None:  # type: ignore[override]
        """Record this epoch's metric and reduce the rates if it has plateaued.

        Parameters
        ----------
        metrics : float
            The monitored value (a Python or numpy number, or a 0-d array).
        """
        try:
            current = float(metrics)
        except (TypeError, ValueError):
            raise TypeError(
                f"{type(self).__name__}.step: expected the metric as a number, got {metrics!r}"
            ) from None
        self.last_epoch += 1
        if self._is_better(current):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # bad epochs during the cooldown do not count
        if self.num_bad_epochs > self.patience:
            self._reduce_lr()
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    @property
    def in_cooldown(self) -> bool:
        """Whether the scheduler is waiting after a reduction."""
        return self.cooldown_counter > 0

    def _is_better(self, value: float) -> bool:
        if self.mode == "min" and self.threshold_mode == "rel":
            return value < self.best * (1.0 - self.threshold)
        if self.mode == "min":
            return value < self.best - self.threshold
        if self.threshold_mode == "rel":
            return value > self.best * (self.threshold + 1.0)
        return value > self.best + self.threshold

    def _reduce_lr(self) -> None:
        groups = self.optimizer.param_groups
        if len(groups) != len(self.min_lrs):
            if self.default_min_lr is None:
                raise ValueError(
                    f"{type(self).__name__}.step: the optimiser has {len(groups)} parameter "
                    f"groups but min_lr has {len(self.min_lrs)} values; set min_lrs to match"
                )
            self.min_lrs = [self.default_min_lr] * len(groups)
        for group, min_lr in zip(groups, self.min_lrs, strict=True):
            old_lr = float(group["lr"])
            new_lr = max(old_lr * self.factor, min_lr)
            if old_lr - new_lr > self.eps:
                group["lr"] = new_lr
