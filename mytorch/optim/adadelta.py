"""Adadelta: PyTorch's (Zeiler, 2012) and the lecture notes' version, which differ.

The lecture notes (section 7.7.2.3) call "adadelta" the rule

    G_t = gamma G_{t-1} + (1 - gamma) g_t^2,      W_t = W_{t-1} - eta g_t / sqrt(G_t + eps)

which is RMSprop with eps inside the square root. Zeiler's Adadelta, the one PyTorch
implements, also keeps a moving average of the squared *updates* and uses its root as
the numerator, so that the step has the units of W and needs no learning rate. Both are
useful (the course asks for the notes' maths, users coming from PyTorch expect
``Adadelta`` to behave as there), and one class with a switch would carry a
hyper-parameter (``rho`` vs ``gamma``, default ``lr`` 1.0 vs a real step size) that
means different things in each mode. Hence two classes: :class:`Adadelta` is exactly
PyTorch's, :class:`NotesAdadelta` exactly the notes'.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mytorch.nn.parameter import Parameter
from mytorch.optim.optimizer import Optimizer, ParamsT, check_flag, check_hyperparameter


def _adadelta_kernel(
    data: np.ndarray,
    grad: np.ndarray,
    square_avg: np.ndarray,
    acc_delta: np.ndarray,
    std: np.ndarray,
    delta: np.ndarray,
    rho: float,
    eps: float,
    lr: float,
) -> None:
    """One Adadelta step on (a block of) one parameter, in place; elementwise.

    ``std`` and ``delta`` are scratch arrays.
    """
    square_avg *= rho
    np.multiply(grad, grad, out=std)
    std *= 1 - rho
    square_avg += std
    np.add(square_avg, eps, out=std)
    np.sqrt(std, out=std)

    np.add(acc_delta, eps, out=delta)
    np.sqrt(delta, out=delta)
    delta /= std
    delta *= grad

    acc_delta *= rho
    np.multiply(delta, delta, out=std)
    std *= 1 - rho
    acc_delta += std

    delta *= lr
    data -= delta


class Adadelta(Optimizer):
    r"""Adadelta (Zeiler, 2012), as ``torch.optim.Adadelta``.

    Parameters
    ----------
    params : iterable of Parameter or of dict
        Parameters to optimise, or parameter groups (see :class:`Optimizer`).
    lr : float
        Coefficient :math:`\eta` that scales the update, >= 0. Default 1.0.
    rho : float
        Decay :math:`\rho` of both moving averages, in [0, 1]. Default 0.9.
    eps : float
        Added inside both square roots, >= 0. Default 1e-6.
    weight_decay : float
        L2 penalty coefficient, >= 0, added to the gradient as ``weight_decay * W``.
        Default 0.
    maximize : bool
        Ascend the objective instead of descending it (keyword only).

    Notes
    -----
    With :math:`g_t` the (decayed, possibly negated) gradient and :math:`v_0 = u_0 = 0`:

    .. math::

        v_t &= \rho v_{t-1} + (1 - \rho) g_t^2 \\
        \Delta_t &= \frac{\sqrt{u_{t-1} + \epsilon}}{\sqrt{v_t + \epsilon}}\, g_t \\
        u_t &= \rho u_{t-1} + (1 - \rho) \Delta_t^2 \\
        W_t &= W_{t-1} - \eta\, \Delta_t

    **Difference from the lecture notes.** The notes' "adadelta" (section 7.7.2.3) is

    .. math::

        G_t = \gamma G_{t-1} + (1 - \gamma) g_t^2, \qquad
        W_t = W_{t-1} - \frac{\eta}{\sqrt{G_t + \epsilon}}\, g_t .

    :math:`G_t` is this class's :math:`v_t` (with :math:`\gamma = \rho`), but the notes
    use a fixed step size :math:`\eta` where Zeiler's rule uses
    :math:`\eta \sqrt{u_{t-1} + \epsilon}`, a moving root-mean-square of past updates
    that adapts the step size too. The notes' rule is really RMSprop (with
    :math:`\epsilon` inside the root); use :class:`NotesAdadelta` for it.

    Examples
    --------
    >>> from mytorch.nn.parameter import Parameter
    >>> w = Parameter(np.array([1.0, -2.0]))
    >>> opt = Adadelta([w])
    >>> w.grad = 2 * w.data
    >>> opt.step()
    >>> w.data.round(5)   # the first steps are about sqrt(eps / (1 - rho)) long
    array([ 0.99684, -1.99684])
    """

    kernel = staticmethod(_adadelta_kernel)
    kernel_scratch = 2

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1.0,
        rho: float = 0.9,
        eps: float = 1e-6,
        weight_decay: float = 0,
        *,
        maximize: bool = False,
    ) -> None:
        defaults = {
            "lr": lr,
            "rho": rho,
            "eps": eps,
            "weight_decay": weight_decay,
            "maximize": maximize,
        }
        super().__init__(params, defaults)

    def _check_hyperparameters(self, group: dict[str, Any], where: str) -> None:
        where = f"{type(self).__name__}{where}"
        for key in ("lr", "eps", "weight_decay"):
            check_hyperparameter(group, key, where)
        check_hyperparameter(group, "rho", where, high=1.0)
        check_flag(group, "maximize", where)

    def _init_state(self, param: Parameter, state: dict[str, Any], group: dict[str, Any]) -> None:
        state["step"] = 0
        state["square_avg"] = np.zeros_like(param.data)
        state["acc_delta"] = np.zeros_like(param.data)

    def _update(
        self, param: Parameter, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        rho, eps = group["rho"], group["eps"]
        state["step"] += 1
        grad = self._gradient(param, grad, group, group["weight_decay"])
        arrays = [param.data, grad, state["square_avg"], state["acc_delta"]]
        self._run_kernel(param, arrays, (rho, eps, group["lr"]))


def _notes_adadelta_kernel(
    data: np.ndarray,
    grad: np.ndarray,
    square_avg: np.ndarray,
    scratch: np.ndarray,
    gamma: float,
    eps: float,
    lr: float,
) -> None:
    """One step of the notes' Adadelta on (a block of) one parameter, in place; elementwise."""
    square_avg *= gamma
    np.multiply(grad, grad, out=scratch)
    scratch *= 1 - gamma
    square_avg += scratch
    np.add(square_avg, eps, out=scratch)
    np.sqrt(scratch, out=scratch)
    np.divide(grad, scratch, out=scratch)
    scratch *= lr
    data -= scratch


class NotesAdadelta(Optimizer):
    r"""The lecture notes' "adadelta" (section 7.7.2.3): a moving average of squared gradients.

    Not PyTorch's :class:`Adadelta` (see the module docstring for why both exist).

    Parameters
    ----------
    params : iterable of Parameter or of dict
        Parameters to optimise, or parameter groups (see :class:`Optimizer`).
    lr : float
        Step size :math:`\eta`, >= 0. The notes give no default; 1e-2 is RMSprop's.
    gamma : float
        Decay :math:`\gamma` of the moving average, in [0, 1). Default 0.9.
    eps : float
        Added to :math:`G` inside the square root, >= 0. Default 1e-8.
    weight_decay : float
        L2 penalty coefficient, >= 0, added to the gradient as ``weight_decay * W``
        (the notes' :math:`\lambda \|W\|^2` is ``weight_decay = 2 * lambda``). Default 0.

    Notes
    -----
    With :math:`g_{t,j}` the gradient of weight :math:`j` and :math:`G_{0,j} = 0`:

    .. math::

        G_{t,j} &= \gamma G_{t-1,j} + (1 - \gamma) g_{t,j}^2 \\
        W_{t,j} &= W_{t-1,j} - \frac{\eta}{\sqrt{G_{t,j} + \epsilon}}\, g_{t,j}

    This equals ``RMSprop(lr=eta, alpha=gamma)`` except that RMSprop adds
    :math:`\epsilon` after the square root; with ``eps=0`` the two coincide.

    Examples
    --------
    >>> from mytorch.nn.parameter import Parameter
    >>> w = Parameter(np.array([1.0, -2.0]))
    >>> opt = NotesAdadelta([w], lr=0.01, gamma=0.75)
    >>> w.grad = 2 * w.data
    >>> opt.step()
    >>> w.data.round(4)
    array([ 0.98, -1.98])
    """

    kernel = staticmethod(_notes_adadelta_kernel)

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-2,
        gamma: float = 0.9,
        eps: float = 1e-8,
        weight_decay: float = 0,
    ) -> None:
        defaults = {"lr": lr, "gamma": gamma, "eps": eps, "weight_decay": weight_decay}
        super().__init__(params, defaults)

    def _check_hyperparameters(self, group: dict[str, Any], where: str) -> None:
        where = f"{type(self).__name__}{where}"
        for key in ("lr", "eps", "weight_decay"):
            check_hyperparameter(group, key, where)
        check_hyperparameter(group, "gamma", where, high=1.0, high_inclusive=False)

    def _init_state(self, param: Parameter, state: dict[str, Any], group: dict[str, Any]) -> None:
        state["step"] = 0
        state["square_avg"] = np.zeros_like(param.data)

    def _update(
        self, param: Parameter, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        gamma = group["gamma"]
        state["step"] += 1
        grad = self._gradient(param, grad, group, group["weight_decay"])
        arrays = [param.data, grad, state["square_avg"]]
        self._run_kernel(param, arrays, (gamma, group["eps"], group["lr"]))
