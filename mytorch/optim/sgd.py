"""Stochastic gradient descent: PyTorch's ``SGD`` (momentum, Nesterov momentum, weight
decay) and the lecture notes' ``NotesSGD`` (the learning rate inside the velocity)."""

from __future__ import annotations

from typing import Any

import numpy as np

from mytorch.nn.parameter import Parameter
from mytorch.optim.kernels import compiled
from mytorch.optim.optimizer import Optimizer, ParamsT, check_flag, check_hyperparameter


def _sgd_kernel(
    data: np.ndarray,
    direction: np.ndarray,
    buffer: np.ndarray,
    scratch: np.ndarray,
    lr: float,
    momentum: float,
    dampening: float,
    nesterov: bool,
    first: bool,
) -> None:
    """One SGD step on (a block of) one parameter, in place; elementwise.

    With ``momentum == 0`` ``buffer`` is ``direction`` itself and is not written;
    ``first`` says the momentum buffer was just set to the gradient.
    """
    if momentum != 0:
        if not first:
            buffer *= momentum
            if dampening == 0:
                buffer += direction
            else:
                np.multiply(direction, 1 - dampening, out=scratch)
                buffer += scratch
        if nesterov:
            np.multiply(buffer, momentum, out=scratch)
            scratch += direction
            direction = scratch
        else:
            direction = buffer
    np.multiply(direction, lr, out=scratch)
    data -= scratch


class SGD(Optimizer):
    r"""Stochastic gradient descent (optionally with momentum), as ``torch.optim.SGD``.

    Parameters
    ----------
    params : iterable of Parameter or of dict
        Parameters to optimise, or parameter groups (see :class:`Optimizer`).
    lr : float
        Learning rate :math:`\eta`, >= 0. Default 1e-3.
    momentum : float
        Momentum factor :math:`\mu`, >= 0. Default 0 (plain SGD).
    dampening : float
        Dampening :math:`\tau` of the momentum: the new gradient enters the buffer with
        weight :math:`1 - \tau`. Default 0.
    weight_decay : float
        L2 penalty coefficient :math:`\lambda_{wd}`, >= 0, added to the gradient as
        :math:`\lambda_{wd} W`. Default 0.
    nesterov : bool
        Use Nesterov momentum (needs ``momentum > 0`` and ``dampening == 0``).
    maximize : bool
        Ascend the objective instead of descending it (keyword only).

    Raises
    ------
    ValueError
        If a hyper-parameter is negative or not finite, or ``nesterov`` is asked for
        without momentum or with dampening.
    TypeError
        If a flag is not a bool or a number is not a number.

    Notes
    -----
    With :math:`g_t` the gradient (negated if ``maximize``) at step :math:`t`:

    .. math::

        g_t &\leftarrow g_t + \lambda_{wd} W_{t-1} \\
        b_1 &= g_1, \qquad b_t = \mu\, b_{t-1} + (1 - \tau)\, g_t \\
        d_t &= g_t + \mu\, b_t \ \text{(nesterov)} \quad \text{or} \quad d_t = b_t \\
        W_t &= W_{t-1} - \eta\, d_t

    (without momentum, :math:`d_t = g_t`). Note that the buffer starts as the first
    gradient itself, with no dampening, exactly as in PyTorch.

    **The lecture notes' weight decay** (section 7.8.1). The notes penalise
    :math:`\lambda \|W\|^2`, whose gradient is :math:`2\lambda W`, so one step is
    :math:`W_t = W_{t-1}(1 - 2\lambda\eta) - \eta \nabla_W \mathcal{L}`. That is this rule
    with ``weight_decay = 2 * lambda`` (PyTorch's coefficient multiplies :math:`W`, not
    :math:`\|W\|^2`). PyTorch, and this class, decay every parameter in the group, biases
    included; the notes' penalty is on the weights, so put the biases in a group of their
    own with ``"weight_decay": 0`` to follow them exactly.

    **The lecture notes' momentum.** The notes write :math:`V_t = \gamma V_{t-1} + \eta
    \nabla_W J`, :math:`W_t = W_{t-1} - V_t`. With a constant :math:`\eta` this is exactly
    ``SGD(params, lr=eta, momentum=gamma)``: :math:`V_t = \eta\, b_t`; with a schedule
    the two differ, and :class:`NotesSGD` is the notes' form. Their second form, a
    moving average :math:`M_t = \gamma M_{t-1} + (1-\gamma) g_t` with step :math:`\eta'`,
    is ``momentum=gamma, dampening=gamma, lr=eta'`` from the second step on; PyTorch's
    buffer starts at :math:`g_1` rather than :math:`(1-\gamma) g_1`, so the first step
    is :math:`1/(1-\gamma)` times larger.

    Examples
    --------
    >>> from mytorch.nn.parameter import Parameter
    >>> w = Parameter(np.array([1.0, -2.0]))
    >>> opt = SGD([w], lr=0.1, momentum=0.9)
    >>> for _ in range(2):
    ...     w.grad = 2 * w.data          # gradient of ||w||^2
    ...     opt.step()
    >>> w.data.round(4)
    array([ 0.46, -0.92])
    """

    kernel = staticmethod(_sgd_kernel)
    compiled_kernel = staticmethod(compiled.sgd_update)

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        momentum: float = 0,
        dampening: float = 0,
        weight_decay: float = 0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "dampening": dampening,
            "weight_decay": weight_decay,
            "nesterov": nesterov,
            "maximize": maximize,
        }
        super().__init__(params, defaults)

    def _check_hyperparameters(self, group: dict[str, Any], where: str) -> None:
        where = f"{type(self).__name__}{where}"
        check_hyperparameter(group, "lr", where)
        check_hyperparameter(group, "momentum", where)
        check_hyperparameter(group, "dampening", where, low=None)
        check_hyperparameter(group, "weight_decay", where)
        check_flag(group, "nesterov", where)
        check_flag(group, "maximize", where)
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError(
                f"{where}: nesterov=True needs momentum > 0 and dampening = 0, got "
                f"momentum={group['momentum']} and dampening={group['dampening']}"
            )

    def _update(
        self, param: Parameter, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        momentum = group["momentum"]
        direction = self._gradient(param, grad, group, group["weight_decay"])
        buffer, first = direction, False
        if momentum != 0:
            buffer = state.get("momentum_buffer")
            if buffer is None:
                # PyTorch's rule: the buffer starts at the first gradient, undamped.
                buffer = state["momentum_buffer"] = np.array(
                    direction, dtype=param.data.dtype, copy=True
                )
                first = True
        self._run_kernel(param, [param.data, direction, buffer], self.kernel_numbers(group, first))

    @staticmethod
    def kernel_numbers(group: dict[str, Any], first: bool) -> tuple:
        """The numbers ``_sgd_kernel`` takes: ``(lr, momentum, dampening, nesterov, first)``;
        ``first`` says the momentum buffer was just set to the gradient."""
        return group["lr"], group["momentum"], group["dampening"], group["nesterov"], first


def _notes_sgd_kernel(
    data: np.ndarray,
    grad: np.ndarray,
    velocity: np.ndarray,
    scratch: np.ndarray,
    lr: float,
    momentum: float,
) -> None:
    """One step of the notes' momentum on (a block of) one parameter, in place; elementwise.

    V_t = momentum V_{t-1} + lr grad;  W_t = W_{t-1} - V_t. With ``momentum == 0``,
    ``velocity`` is a scratch array (V_t = lr grad, nothing is kept).
    """
    if momentum == 0:
        np.multiply(grad, lr, out=velocity)
    else:
        velocity *= momentum
        np.multiply(grad, lr, out=scratch)
        velocity += scratch
    data -= velocity


class NotesSGD(Optimizer):
    r"""The lecture notes' SGD with momentum (000, sections 7.6 and 7.7.2.2): :math:`\eta`
    inside the velocity.

    Parameters
    ----------
    params : iterable of Parameter or of dict
        Parameters to optimise, or parameter groups (see :class:`Optimizer`).
    lr : float
        Step size :math:`\eta`, >= 0 (the notes give no default, and neither does this
        class). A learning-rate scheduler may change it at every update: the notes'
        :math:`\eta(t)`.
    momentum : float
        :math:`\gamma`, >= 0. Default 0: the notes' plain SGD update
        :math:`W = W - \eta(t)\, \partial loss / \partial W`. "Often :math:`\gamma` is set
        to be something like 0.9."
    weight_decay : float
        L2 penalty coefficient, >= 0, added to the gradient as ``weight_decay * W``
        (the notes' :math:`\lambda \|W\|^2` of section 7.8.1 is ``weight_decay =
        2 * lambda``; MyTorch adds it to the gradient as :class:`SGD` does). Default 0.

    Notes
    -----
    With :math:`g_t = \nabla_W J(W_{t-1})` and :math:`\eta_t` the learning rate of the
    group when step t is taken:

    .. math::

        V_0 &= 0 \\
        V_t &= \gamma V_{t-1} + \eta_t g_t \\
        W_t &= W_{t-1} - V_t

    **Relation to** :class:`SGD` (PyTorch's form, :math:`b_t = \gamma b_{t-1} + g_t`,
    :math:`W_t = W_{t-1} - \eta_t b_t`, :math:`b_1 = g_1`): while :math:`\eta` is
    constant, :math:`V_t = \eta b_t` and the two take the same steps
    (``NotesSGD(params, lr=eta, momentum=gamma)`` equals
    ``SGD(params, lr=eta, momentum=gamma)``). When a schedule changes :math:`\eta`,
    PyTorch's next step multiplies the whole accumulated buffer by the new rate, so past
    gradients are re-weighted at once; here :math:`V_t = \sum_s \gamma^{t-s} \eta_s g_s`
    keeps each gradient at the rate of its own step, and a new rate changes only the
    steps after it.

    The state of a parameter is ``{"velocity": V}`` (none without momentum).

    Examples
    --------
    >>> from mytorch.nn.parameter import Parameter
    >>> w = Parameter(np.array([1.0, -2.0]))
    >>> opt = NotesSGD([w], lr=0.1, momentum=0.9)
    >>> for _ in range(2):
    ...     w.grad = 2 * w.data          # gradient of ||w||^2
    ...     opt.step()
    >>> w.data.round(4)
    array([ 0.46, -0.92])
    """

    kernel = staticmethod(_notes_sgd_kernel)

    def __init__(
        self, params: ParamsT, lr: float, momentum: float = 0.0, weight_decay: float = 0.0
    ) -> None:
        defaults = {"lr": lr, "momentum": momentum, "weight_decay": weight_decay}
        super().__init__(params, defaults)

    def _check_hyperparameters(self, group: dict[str, Any], where: str) -> None:
        where = f"{type(self).__name__}{where}"
        for key in ("lr", "momentum", "weight_decay"):
            check_hyperparameter(group, key, where)

    def _update(
        self, param: Parameter, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        momentum = group["momentum"]
        grad = self._gradient(param, grad, group, group["weight_decay"])
        if momentum == 0:
            velocity = self._workspace(param, 2)  # V_t = lr g, kept nowhere
        else:
            velocity = state.get("velocity")
            if velocity is None:
                velocity = state["velocity"] = np.zeros_like(param.data)  # V_0 = 0
        self._run_kernel(param, [param.data, grad, velocity], (group["lr"], momentum))
