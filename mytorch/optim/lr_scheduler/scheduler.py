"""The base class of every learning-rate scheduler (``torch.optim.lr_scheduler.LRScheduler``)."""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np

from mytorch.optim.optimizer import Optimizer


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

    #: True for a scheduler whose ``step(metric)`` takes the monitored value
    #: (``ReduceLROnPlateau``); the trainer then hands it the validation loss.
    monitors_metric = False

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
