"""Adagrad: a per-weight step size from the sum of all past squared gradients."""

from __future__ import annotations

from typing import Any

import numpy as np

from mytorch.nn.parameter import Parameter
from mytorch.optim.optimizer import Optimizer, ParamsT, check_flag, check_hyperparameter


def _adagrad_kernel(
    data: np.ndarray,
    grad: np.ndarray,
    accumulated: np.ndarray,
    scratch: np.ndarray,
    eps: float,
    step_size: float,
) -> None:
    """One Adagrad step on (a block of) one parameter, in place; elementwise."""
    np.multiply(grad, grad, out=scratch)
    accumulated += scratch
    np.sqrt(accumulated, out=scratch)
    scratch += eps
    np.divide(grad, scratch, out=scratch)
    scratch *= step_size
    data -= scratch


class Adagrad(Optimizer):
    r"""Adagrad, as ``torch.optim.Adagrad``.

    Parameters
    ----------
    params : iterable of Parameter or of dict
        Parameters to optimise, or parameter groups (see :class:`Optimizer`).
    lr : float
        Learning rate :math:`\eta`, >= 0. Default 1e-2.
    lr_decay : float
        Learning-rate decay :math:`\delta`, >= 0. Default 0.
    weight_decay : float
        L2 penalty coefficient, >= 0, added to the gradient as ``weight_decay * W``.
        Default 0.
    initial_accumulator_value : float
        Starting value of the sum of squares, >= 0. Default 0.
    eps : float
        Added to the square root to avoid dividing by zero, >= 0. Default 1e-10.
    maximize : bool
        Ascend the objective instead of descending it (keyword only).

    Notes
    -----
    With :math:`g_t` the (decayed, possibly negated) gradient at step :math:`t = 1, 2, ...`
    and :math:`S_0` = ``initial_accumulator_value``:

    .. math::

        \eta_t &= \eta / (1 + (t - 1)\delta) \\
        S_t &= S_{t-1} + g_t^2 \\
        W_t &= W_{t-1} - \eta_t\, g_t / (\sqrt{S_t} + \epsilon)

    The lecture notes' Adadelta (see :class:`~mytorch.optim.NotesAdadelta`) replaces the
    sum :math:`S_t` by a moving average, so that old gradients are forgotten.

    Examples
    --------
    >>> from mytorch.nn.parameter import Parameter
    >>> w = Parameter(np.array([1.0, -2.0]))
    >>> opt = Adagrad([w], lr=0.5)
    >>> w.grad = 2 * w.data
    >>> opt.step()
    >>> w.data.round(6)
    array([ 0.5, -1.5])
    """

    kernel = staticmethod(_adagrad_kernel)

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-2,
        lr_decay: float = 0,
        weight_decay: float = 0,
        initial_accumulator_value: float = 0,
        eps: float = 1e-10,
        *,
        maximize: bool = False,
    ) -> None:
        defaults = {
            "lr": lr,
            "lr_decay": lr_decay,
            "weight_decay": weight_decay,
            "initial_accumulator_value": initial_accumulator_value,
            "eps": eps,
            "maximize": maximize,
        }
        super().__init__(params, defaults)

    def _check_hyperparameters(self, group: dict[str, Any], where: str) -> None:
        where = f"{type(self).__name__}{where}"
        for key in ("lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps"):
            check_hyperparameter(group, key, where)
        check_flag(group, "maximize", where)

    def _init_state(self, param: Parameter, state: dict[str, Any], group: dict[str, Any]) -> None:
        state["step"] = 0
        state["sum"] = np.full_like(param.data, group["initial_accumulator_value"])

    def _update(
        self, param: Parameter, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        state["step"] += 1
        grad = self._gradient(param, grad, group, group["weight_decay"])
        step_size = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
        self._run_kernel(param, [param.data, grad, state["sum"]], (group["eps"], step_size))
