"""Weight averaging: ``AveragedModel``, ``update_bn`` and ``SWALR``, as ``torch.optim.swa_utils``.

Averaging the weights a run passes through finds a flatter point than the last one,
which usually generalises better:

* **SWA** (stochastic weight averaging, Izmailov et al., 2018): the plain average of the
  weights after each epoch from some epoch on, usually with a constant or cyclic rate
  (:class:`SWALR`);
* **EMA** (an exponential moving average): ``avg = decay avg + (1 - decay) param`` after
  every update (:func:`get_ema_multi_avg_fn`).

The averaged model's BatchNorm statistics belong to the last weights, not to the
average: recompute them with :func:`update_bn` (one pass over the training data), or
average the buffers as well (``use_buffers=True``, the usual choice for EMA).

Examples
--------
>>> import numpy as np
>>> from mytorch import nn, optim
>>> from mytorch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
>>> model = nn.Sequential(nn.Linear(2, 2, rng=0))
>>> ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(0.9))
>>> model[0].weight.data += 1.0
>>> ema.update_parameters(model)
>>> int(ema.n_averaged)
1
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from mytorch.nn.module import Module
from mytorch.optim.lr_scheduler.scheduler import LRScheduler
from mytorch.optim.optimizer import Optimizer
from mytorch.validation import check_number

__all__ = ["AveragedModel", "SWALR", "get_ema_avg_fn", "get_ema_multi_avg_fn", "update_bn"]

MultiAvgFn = Callable[[list[np.ndarray], list[np.ndarray], int], None]
AvgFn = Callable[[np.ndarray, np.ndarray, int], np.ndarray]


def get_ema_multi_avg_fn(decay: float = 0.999) -> MultiAvgFn:
    """An averaging rule for :class:`AveragedModel`: ``avg = decay avg + (1 - decay) p``.

    As ``torch.optim.swa_utils.get_ema_multi_avg_fn``: in place on every averaged array.
    """
    decay = check_number(decay, "get_ema_multi_avg_fn", "decay", low=0.0, high=1.0)

    def ema_update(averaged: list[np.ndarray], current: list[np.ndarray], n: int) -> None:
        for avg, value in zip(averaged, current, strict=True):
            # PyTorch's lerp_: avg + (1 - decay) (value - avg)
            avg += (1.0 - decay) * (value - avg)

    return ema_update


def get_ema_avg_fn(decay: float = 0.999) -> AvgFn:
    """The same rule as :func:`get_ema_multi_avg_fn`, one array at a time (returns the new
    average), as ``torch.optim.swa_utils.get_ema_avg_fn``."""
    decay = check_number(decay, "get_ema_avg_fn", "decay", low=0.0, high=1.0)

    def ema_update(averaged: np.ndarray, current: np.ndarray, n: int) -> np.ndarray:
        return decay * averaged + (1.0 - decay) * current

    return ema_update


class AveragedModel(Module):
    """A copy of ``model`` whose parameters are the average of those it is shown.

    Parameters
    ----------
    model : Module
        The model whose weights are averaged; a deep copy is kept as ``module``.
    avg_fn : callable (averaged, current, n) -> new average, optional
        One array at a time. Default (and without ``multi_avg_fn``): the equal average
        ``avg + (p - avg) / (n + 1)``, SWA's.
    multi_avg_fn : callable (averaged list, current list, n) -> None, optional
        All arrays at once, in place (e.g. :func:`get_ema_multi_avg_fn`).
    use_buffers : bool
        Average the floating buffers (BatchNorm's running statistics) as well (integer
        ones, ``num_batches_tracked``, are copied); otherwise, as in PyTorch, every buffer
        is copied from ``model`` at each update (then recompute the running statistics
        for the averaged weights with :func:`update_bn`).

    Attributes
    ----------
    module : Module
        The averaged model; calling the AveragedModel runs it.
    n_averaged : numpy.ndarray
        0-d int64 buffer: how many models have been averaged (saved in ``state_dict``).

    Notes
    -----
    The first :meth:`update_parameters` copies the weights; each later one applies the
    rule, with ``n`` the number averaged so far. ``state_dict()`` has PyTorch's keys
    (``module.0.weight``, ..., ``n_averaged``).
    """

    n_averaged: np.ndarray  # a buffer (registered in __init__), declared for type checkers

    def __init__(
        self,
        model: Module,
        avg_fn: AvgFn | None = None,
        multi_avg_fn: MultiAvgFn | None = None,
        use_buffers: bool = False,
    ) -> None:
        super().__init__()
        if not isinstance(model, Module):
            raise TypeError(f"AveragedModel: expected a Module, got {type(model).__name__}")
        self.module = copy.deepcopy(model)
        self.register_buffer("n_averaged", np.array(0, dtype=np.int64))
        self.avg_fn = avg_fn
        self.multi_avg_fn = multi_avg_fn
        self.use_buffers = bool(use_buffers)

    def forward(self, *inputs: Any) -> Any:
        """The averaged model's forward."""
        return self.module(*inputs)

    def backward(self, grad_output: np.ndarray, **options: Any) -> Any:
        """The averaged model's backward (for evaluation code that needs it)."""
        return self.module.backward(grad_output, **options)

    def forward_chain(self) -> list[tuple[str, Module]]:
        return self.module.forward_chain()

    def _arrays(self, model: Module) -> list[np.ndarray]:
        arrays = [p.data for p in model.parameters()]
        if self.use_buffers:
            arrays += [b for _, b in model.named_buffers() if b.dtype.kind == "f"]
        return arrays

    def update_parameters(self, model: Module) -> None:
        """Fold ``model``'s current weights (and buffers, with ``use_buffers``) into the
        average."""
        averaged, current = self._arrays(self.module), self._arrays(model)
        if len(averaged) != len(current) or any(
            a.shape != c.shape for a, c in zip(averaged, current, strict=True)
        ):
            raise ValueError(
                "AveragedModel.update_parameters: the model's parameters do not match "
                "the averaged model's (another architecture?)"
            )
        n = int(self.n_averaged)
        if n == 0:
            for avg, value in zip(averaged, current, strict=True):
                np.copyto(avg, value)
        elif self.multi_avg_fn is not None:
            self.multi_avg_fn(averaged, current, n)
        else:
            for avg, value in zip(averaged, current, strict=True):
                if self.avg_fn is None:
                    avg += (value - avg) * (1.0 / (n + 1))  # the equal average, PyTorch's lerp
                else:
                    np.copyto(avg, self.avg_fn(avg, value, n))
        for (_, mine), (_, theirs) in zip(
            self.module.named_buffers(), model.named_buffers(), strict=True
        ):
            if not self.use_buffers or mine.dtype.kind != "f":
                np.copyto(mine, theirs)  # kept in step with the model, not averaged
        self.n_averaged += 1


def update_bn(loader: Iterable[Any], model: Module) -> None:
    """Recompute every BatchNorm's running statistics with one pass over ``loader``.

    As ``torch.optim.swa_utils.update_bn``: each BatchNorm's running mean and variance
    are reset and set to the cumulative average over the batches (momentum None for the
    pass), in training mode; the model's mode and the layers' momenta are then restored.

    Parameters
    ----------
    loader : iterable
        Batches ``x`` or ``(x, y, ...)`` (the first element is the input), e.g. a
        ``mytorch.data.DataLoader`` over the training data.
    model : Module
        The model (an :class:`AveragedModel` too).
    """
    norms = [
        m
        for m in model.modules()
        if "running_mean" in m._buffers and m._buffers.get("running_mean") is not None
    ]
    if not norms:
        return
    momenta = {}
    for norm in norms:
        norm._buffers["running_mean"][...] = 0.0
        norm._buffers["running_var"][...] = 1.0
        norm._buffers["num_batches_tracked"][...] = 0
        momenta[id(norm)] = norm.momentum
        norm.momentum = None
    was_training = model.training
    model.train()
    try:
        for batch in loader:
            x = batch[0] if isinstance(batch, (tuple, list)) else batch
            model(x)
    finally:
        for norm in norms:
            norm.momentum = momenta[id(norm)]
        model.train(was_training)


class SWALR(LRScheduler):
    """Anneal each group's rate to ``swa_lr`` over ``anneal_epochs``, then hold it
    (``torch.optim.swa_utils.SWALR``).

    Parameters
    ----------
    optimizer : Optimizer
    swa_lr : float or list of float
        The rate to reach (one per group, or one for all).
    anneal_epochs : int
        Epochs of the annealing (>= 0).
    anneal_strategy : {'cos', 'linear'}
        The shape of the annealing.
    last_epoch : int
        As for every scheduler.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        swa_lr: float | list[float],
        anneal_epochs: int = 10,
        anneal_strategy: str = "cos",
        last_epoch: int = -1,
    ) -> None:
        name = type(self).__name__
        groups = len(optimizer.param_groups) if isinstance(optimizer, Optimizer) else 1
        rates = list(swa_lr) if isinstance(swa_lr, (list, tuple)) else [swa_lr] * groups
        if len(rates) != groups:
            raise ValueError(f"{name}: expected {groups} swa_lr values, got {len(rates)}")
        self.swa_lrs = [check_number(r, name, "swa_lr", low=0.0) for r in rates]
        if isinstance(anneal_epochs, bool) or not isinstance(anneal_epochs, int):
            raise TypeError(f"{name}: expected anneal_epochs to be an int, got {anneal_epochs!r}")
        if anneal_epochs < 0:
            raise ValueError(f"{name}: expected anneal_epochs >= 0, got {anneal_epochs}")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(
                f"{name}: expected anneal_strategy 'cos' or 'linear', got {anneal_strategy!r}"
            )
        self.anneal_epochs = anneal_epochs
        self.anneal_strategy = anneal_strategy
        if isinstance(optimizer, Optimizer):
            for group, rate in zip(optimizer.param_groups, self.swa_lrs, strict=True):
                group["swa_lr"] = rate
        super().__init__(optimizer, last_epoch)

    def _anneal(self, t: float) -> float:
        if self.anneal_strategy == "cos":
            return (1 - math.cos(math.pi * t)) / 2
        return t

    def get_lr(self) -> list[float]:
        # PyTorch's recursion from the previous rate, so a run matches it to rounding
        # (its step count less one is our last_epoch).
        step = self.last_epoch
        if self.anneal_epochs == 0:
            step = max(1, step)
        prev_t = max(0, min(1, (step - 1) / max(1, self.anneal_epochs)))
        prev_alpha = self._anneal(prev_t)
        prev_lrs = [
            self._get_initial_lr(group["lr"], group["swa_lr"], prev_alpha)
            for group in self.optimizer.param_groups
        ]
        t = max(0, min(1, step / max(1, self.anneal_epochs)))
        alpha = self._anneal(t)
        return [
            group["swa_lr"] * alpha + lr * (1 - alpha)
            for group, lr in zip(self.optimizer.param_groups, prev_lrs, strict=True)
        ]

    @staticmethod
    def _get_initial_lr(lr: float, swa_lr: float, alpha: float) -> float:
        if alpha == 1:
            return swa_lr
        return (lr - alpha * swa_lr) / (1 - alpha)
