"""RMSprop: divide each weight's step by a moving root-mean-square of its gradients."""

from __future__ import annotations

from typing import Any

import numpy as np

from mytorch.nn.parameter import Parameter
from mytorch.optim.optimizer import Optimizer, ParamsT, check_flag, check_hyperparameter


def _rmsprop_kernel(
    data: np.ndarray,
    grad: np.ndarray,
    square_avg: np.ndarray,
    grad_avg: np.ndarray,
    buffer: np.ndarray,
    scratch: np.ndarray,
    alpha: float,
    eps: float,
    lr: float,
    centered: bool,
    momentum: float,
) -> None:
    """One RMSprop step on (a block of) one parameter, in place; elementwise.

    ``grad_avg`` is used when ``centered``, ``buffer`` when ``momentum > 0``; either is
    ``square_avg`` itself (and unused) otherwise, so that every array has one shape.
    """
    square_avg *= alpha
    np.multiply(grad, grad, out=scratch)
    scratch *= 1 - alpha
    square_avg += scratch
    if centered:
        # grad_avg += (1 - alpha) * (grad - grad_avg), PyTorch's lerp_
        np.subtract(grad, grad_avg, out=scratch)
        scratch *= 1 - alpha
        grad_avg += scratch
        np.multiply(grad_avg, grad_avg, out=scratch)
        np.subtract(square_avg, scratch, out=scratch)
        np.sqrt(scratch, out=scratch)
    else:
        np.sqrt(square_avg, out=scratch)
    scratch += eps
    np.divide(grad, scratch, out=scratch)
    if momentum > 0:
        buffer *= momentum
        buffer += scratch
        np.multiply(buffer, lr, out=scratch)
    else:
        scratch *= lr
    data -= scratch


class RMSprop(Optimizer):
    r"""RMSprop, as ``torch.optim.RMSprop``.

    Parameters
    ----------
    params : iterable of Parameter or of dict
        Parameters to optimise, or parameter groups (see :class:`Optimizer`).
    lr : float
        Learning rate :math:`\eta`, >= 0. Default 1e-2.
    alpha : float
        Smoothing constant :math:`\alpha` of the moving averages, in [0, 1]. Default 0.99.
    eps : float
        Added to the denominator, >= 0. Default 1e-8.
    weight_decay : float
        L2 penalty coefficient, >= 0, added to the gradient as ``weight_decay * W``.
        Default 0.
    momentum : float
        Momentum factor :math:`\mu`, >= 0. Default 0.
    centered : bool
        Divide by an estimate of the gradient's standard deviation instead of its root
        mean square. Default False.
    maximize : bool
        Ascend the objective instead of descending it (keyword only).

    Notes
    -----
    With :math:`g_t` the (decayed, possibly negated) gradient and :math:`v_0 = \bar g_0 =
    b_0 = 0`:

    .. math::

        v_t &= \alpha v_{t-1} + (1 - \alpha) g_t^2 \\
        \bar g_t &= \alpha \bar g_{t-1} + (1 - \alpha) g_t \quad \text{(centered only)} \\
        s_t &= \sqrt{v_t - \bar g_t^2} + \epsilon \ \text{(centered)} \quad \text{or} \quad
              \sqrt{v_t} + \epsilon \\
        b_t &= \mu b_{t-1} + g_t / s_t, \qquad W_t = W_{t-1} - \eta\, b_t
              \quad \text{(momentum > 0)} \\
        W_t &= W_{t-1} - \eta\, g_t / s_t \quad \text{(otherwise)}

    This is the lecture notes' "Adadelta" (section 7.7.2.3) up to where :math:`\epsilon`
    goes: the notes divide by :math:`\sqrt{G_t + \epsilon}`, RMSprop by
    :math:`\sqrt{v_t} + \epsilon`. :class:`~mytorch.optim.NotesAdadelta` is the notes'
    form exactly.

    Examples
    --------
    >>> from mytorch.nn.parameter import Parameter
    >>> w = Parameter(np.array([1.0, -2.0]))
    >>> opt = RMSprop([w], lr=0.01, alpha=0.75)
    >>> w.grad = 2 * w.data
    >>> opt.step()
    >>> w.data.round(4)
    array([ 0.98, -1.98])
    """

    kernel = staticmethod(_rmsprop_kernel)

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum: float = 0,
        centered: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        defaults = {
            "lr": lr,
            "alpha": alpha,
            "eps": eps,
            "weight_decay": weight_decay,
            "momentum": momentum,
            "centered": centered,
            "maximize": maximize,
        }
        super().__init__(params, defaults)

    def _check_hyperparameters(self, group: dict[str, Any], where: str) -> None:
        where = f"{type(self).__name__}{where}"
        for key in ("lr", "eps", "weight_decay", "momentum"):
            check_hyperparameter(group, key, where)
        # PyTorch only asks alpha >= 0; above 1 the "average" of squares turns negative.
        check_hyperparameter(group, "alpha", where, high=1.0)
        check_flag(group, "centered", where)
        check_flag(group, "maximize", where)

    def _init_state(self, param: Parameter, state: dict[str, Any], group: dict[str, Any]) -> None:
        state["step"] = 0
        state["square_avg"] = np.zeros_like(param.data)
        if group["momentum"] > 0:
            state["momentum_buffer"] = np.zeros_like(param.data)
        if group["centered"]:
            state["grad_avg"] = np.zeros_like(param.data)

    def _update(
        self, param: Parameter, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        alpha = group["alpha"]
        state["step"] += 1
        grad = self._gradient(param, grad, group, group["weight_decay"])
        square_avg = state["square_avg"]
        # A group may switch to centered or momentum after a step; start its state then.
        if group["centered"] and "grad_avg" not in state:
            state["grad_avg"] = np.zeros_like(param.data)
        if group["momentum"] > 0 and "momentum_buffer" not in state:
            state["momentum_buffer"] = np.zeros_like(param.data)
        grad_avg = state["grad_avg"] if group["centered"] else square_avg
        buffer = state["momentum_buffer"] if group["momentum"] > 0 else square_avg
        numbers = (alpha, group["eps"], group["lr"], group["centered"], group["momentum"])
        self._run_kernel(param, [param.data, grad, square_avg, grad_avg, buffer], numbers)
