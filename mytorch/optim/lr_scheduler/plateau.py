"""``ReduceLROnPlateau``: lower the rates when a monitored metric stops improving."""

from __future__ import annotations

import math
from collections.abc import Sequence

from mytorch.optim.lr_scheduler.scheduler import LRScheduler, _check_non_negative_int
from mytorch.optim.optimizer import Optimizer
from mytorch.validation import check_number


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

    monitors_metric = True

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
