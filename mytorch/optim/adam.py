"""Adam and AdamW (PyTorch's rules) and the lecture notes' Adam, which puts eps elsewhere."""

from __future__ import annotations

from typing import Any

import numpy as np

from mytorch.nn.parameter import Parameter
from mytorch.optim.kernels import compiled
from mytorch.optim.optimizer import (
    Optimizer,
    ParamsT,
    check_betas,
    check_flag,
    check_hyperparameter,
)


def _adam_kernel(
    data: np.ndarray,
    grad: np.ndarray,
    exp_avg: np.ndarray,
    exp_avg_sq: np.ndarray,
    max_exp_avg_sq: np.ndarray,
    scratch: np.ndarray,
    decay: float,
    beta1: float,
    beta2: float,
    amsgrad: bool,
    eps: float,
    step_size: float,
) -> None:
    """One Adam step on (a block of) one parameter, in place; elementwise.

    ``max_exp_avg_sq`` is the second moment the denominator uses: the running maximum
    with AMSGrad, otherwise ``exp_avg_sq`` itself. ``decay`` is AdamW's weight shrink.
    """
    if decay != 1.0:
        data *= decay
    # exp_avg += (1 - beta1) * (grad - exp_avg), PyTorch's lerp_
    np.subtract(grad, exp_avg, out=scratch)
    scratch *= 1 - beta1
    exp_avg += scratch
    exp_avg_sq *= beta2
    np.multiply(grad, grad, out=scratch)
    scratch *= 1 - beta2
    exp_avg_sq += scratch
    if amsgrad:
        np.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
    np.sqrt(max_exp_avg_sq, out=scratch)
    scratch += eps
    np.divide(exp_avg, scratch, out=scratch)
    scratch *= step_size
    data -= scratch


class Adam(Optimizer):
    r"""Adam (Kingma & Ba, 2015), as ``torch.optim.Adam``.

    Parameters
    ----------
    params : iterable of Parameter or of dict
        Parameters to optimise, or parameter groups (see :class:`Optimizer`).
    lr : float
        Learning rate :math:`\eta`, >= 0. Default 1e-3.
    betas : tuple of float
        Decays :math:`(B_1, B_2)` of the moving averages of the gradient and of its
        square, each in [0, 1). Default (0.9, 0.999).
    eps : float
        Added to the denominator, >= 0. Default 1e-8.
    weight_decay : float
        Weight-decay coefficient :math:`\lambda_{wd}`, >= 0. Default 0. Added to the
        gradient (L2 penalty) unless ``decoupled_weight_decay``.
    amsgrad : bool
        Divide by the largest second-moment estimate seen so far (Reddi et al., 2018)
        instead of the current one. Default False.
    maximize : bool
        Ascend the objective instead of descending it (keyword only).
    decoupled_weight_decay : bool
        Shrink the weights directly, :math:`W \leftarrow W (1 - \eta \lambda_{wd})`, before
        the Adam step, instead of adding :math:`\lambda_{wd} W` to the gradient; this is
        :class:`AdamW` (keyword only). Default False.

    Notes
    -----
    With :math:`g_t` the (possibly decayed and negated) gradient and :math:`m_0 = v_0 = 0`:

    .. math::

        m_t &= B_1 m_{t-1} + (1 - B_1) g_t \\
        v_t &= B_2 v_{t-1} + (1 - B_2) g_t^2 \\
        \hat v_t &= \max(\hat v_{t-1}, v_t) \ \text{(amsgrad)} \quad \text{or} \quad v_t \\
        W_t &= W_{t-1} - \frac{\eta}{1 - B_1^t}\,
               \frac{m_t}{\sqrt{\hat v_t} / \sqrt{1 - B_2^t} + \epsilon}

    **Difference from the lecture notes** (section 7.7.2.4). The notes' moving averages
    and bias corrections :math:`\hat m_t = m_t / (1 - B_1^t)`,
    :math:`\hat v_t = v_t / (1 - B_2^t)` are the same, but their step is

    .. math::

        W_t = W_{t-1} - \frac{\eta}{\sqrt{\hat v_t + \epsilon}}\, \hat m_t ,

    with :math:`\epsilon` *inside* the square root; PyTorch (and the Adam paper) divide
    by :math:`\sqrt{\hat v_t} + \epsilon`. With the suggested :math:`\epsilon = 10^{-8}`
    the notes' step is smaller by a relative :math:`\approx \epsilon / (2 \hat v_t)`, which
    matters only for gradients of about :math:`10^{-3}` or less; as
    :math:`\hat v_t \to 0` its denominator tends to :math:`10^{-4}` instead of
    :math:`10^{-8}`, so its steps are up to :math:`10^4` times smaller. With
    :math:`\epsilon = 0` the two coincide. :class:`NotesAdam` is the notes' form exactly.

    Examples
    --------
    >>> from mytorch.nn.parameter import Parameter
    >>> w = Parameter(np.array([1.0, -2.0]))
    >>> opt = Adam([w], lr=0.1)
    >>> w.grad = 2 * w.data
    >>> opt.step()
    >>> w.data.round(6)   # the first Adam step is lr * sign(grad)
    array([ 0.9, -1.9])
    """

    kernel = staticmethod(_adam_kernel)
    compiled_kernel = staticmethod(compiled.adam_update)

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
        decoupled_weight_decay: bool = False,
    ) -> None:
        defaults = {
            "lr": lr,
            "betas": betas,
            "eps": eps,
            "weight_decay": weight_decay,
            "amsgrad": amsgrad,
            "maximize": maximize,
            "decoupled_weight_decay": decoupled_weight_decay,
        }
        super().__init__(params, defaults)

    def _check_hyperparameters(self, group: dict[str, Any], where: str) -> None:
        where = f"{type(self).__name__}{where}"
        for key in ("lr", "eps", "weight_decay"):
            check_hyperparameter(group, key, where)
        check_betas(group, where)
        for key in ("amsgrad", "maximize", "decoupled_weight_decay"):
            check_flag(group, key, where)

    def _init_state(self, param: Parameter, state: dict[str, Any], group: dict[str, Any]) -> None:
        state["step"] = 0
        state["exp_avg"] = np.zeros_like(param.data)
        state["exp_avg_sq"] = np.zeros_like(param.data)
        if group["amsgrad"]:
            state["max_exp_avg_sq"] = np.zeros_like(param.data)

    def _update(
        self, param: Parameter, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        state["step"] += 1
        decoupled = group["decoupled_weight_decay"]
        grad = self._gradient(param, grad, group, 0.0 if decoupled else group["weight_decay"])
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        if group["amsgrad"]:
            # A group may switch amsgrad on after a step; track the maximum from then.
            if "max_exp_avg_sq" not in state:
                state["max_exp_avg_sq"] = np.zeros_like(param.data)
            max_exp_avg_sq = state["max_exp_avg_sq"]
        else:
            max_exp_avg_sq = exp_avg_sq
        arrays = [param.data, grad, exp_avg, exp_avg_sq, max_exp_avg_sq]
        self._run_kernel(param, arrays, self.kernel_numbers(group, state["step"]))

    @staticmethod
    def kernel_numbers(group: dict[str, Any], step: int) -> tuple:
        """The numbers ``_adam_kernel`` takes for step number ``step`` (counted from 1):
        ``(decay, beta1, beta2, amsgrad, eps, step_size)``."""
        lr, weight_decay = group["lr"], group["weight_decay"]
        beta1, beta2 = group["betas"]
        decay = 1 - lr * weight_decay if group["decoupled_weight_decay"] else 1.0
        # Python floats, so float32 parameters stay float32.
        bias_correction1 = 1 - beta1**step
        bias_correction2_sqrt = (1 - beta2**step) ** 0.5
        # PyTorch's lr / bc1 * m / (sqrt(v) / sqrt(bc2) + eps), with sqrt(bc2) moved out
        # of the denominator: lr sqrt(bc2) / bc1 * m / (sqrt(v) + eps sqrt(bc2)). Same
        # value (to rounding), one pass over the parameters fewer.
        step_size = lr * bias_correction2_sqrt / bias_correction1
        eps = group["eps"] * bias_correction2_sqrt
        return decay, beta1, beta2, group["amsgrad"], eps, step_size


class AdamW(Adam):
    r"""Adam with decoupled weight decay (Loshchilov & Hutter, 2019), as ``torch.optim.AdamW``.

    Identical to ``Adam(..., decoupled_weight_decay=True)``: before each Adam step the
    weights shrink, :math:`W \leftarrow W (1 - \eta \lambda_{wd})`, instead of
    :math:`\lambda_{wd} W` being added to the gradient, so the decay is not rescaled by
    Adam's per-weight step sizes. Note the default ``weight_decay`` is 1e-2, not 0.

    Parameters
    ----------
    params : iterable of Parameter or of dict
        Parameters to optimise, or parameter groups (see :class:`Optimizer`).
    lr : float
        Learning rate, >= 0. Default 1e-3.
    betas : tuple of float
        Decays of the two moving averages, each in [0, 1). Default (0.9, 0.999).
    eps : float
        Added to the denominator, >= 0. Default 1e-8.
    weight_decay : float
        Decoupled weight-decay coefficient :math:`\lambda_{wd}`, >= 0. Default 1e-2. The
        lecture notes' factor :math:`(1 - 2\lambda\eta)` is ``weight_decay = 2 * lambda``.
    amsgrad : bool
        Use the AMSGrad maximum (see :class:`Adam`). Default False.
    maximize : bool
        Ascend the objective instead of descending it (keyword only).

    Examples
    --------
    >>> from mytorch.nn.parameter import Parameter
    >>> w = Parameter(np.array([1.0, -2.0]))
    >>> opt = AdamW([w], lr=0.1, weight_decay=0.5)
    >>> w.grad = 2 * w.data
    >>> opt.step()
    >>> w.data.round(6)   # shrunk by 1 - 0.1 * 0.5, then the Adam step
    array([ 0.85, -1.8 ])
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        super().__init__(
            params,
            lr,
            betas,
            eps,
            weight_decay,
            amsgrad,
            maximize=maximize,
            decoupled_weight_decay=True,
        )

    def _check_hyperparameters(self, group: dict[str, Any], where: str) -> None:
        super()._check_hyperparameters(group, where)
        if not group["decoupled_weight_decay"]:
            raise ValueError(
                f"{type(self).__name__}{where}: decoupled_weight_decay must stay True "
                "(use Adam for L2 weight decay)"
            )


def _notes_adam_kernel(
    data: np.ndarray,
    grad: np.ndarray,
    exp_avg: np.ndarray,
    exp_avg_sq: np.ndarray,
    scratch: np.ndarray,
    beta1: float,
    beta2: float,
    bias_correction2: float,
    eps: float,
    step_size: float,
) -> None:
    """One step of the notes' Adam on (a block of) one parameter, in place; elementwise.

    ``bias_correction2`` is 1 - B_2^t; ``step_size`` is eta / (1 - B_1^t).
    """
    exp_avg *= beta1
    np.multiply(grad, 1 - beta1, out=scratch)
    exp_avg += scratch
    exp_avg_sq *= beta2
    np.multiply(grad, grad, out=scratch)
    scratch *= 1 - beta2
    exp_avg_sq += scratch
    # scratch = sqrt(v_hat + eps), then the step eta * m_hat / scratch
    np.divide(exp_avg_sq, bias_correction2, out=scratch)
    scratch += eps
    np.sqrt(scratch, out=scratch)
    np.divide(exp_avg, scratch, out=scratch)
    scratch *= step_size
    data -= scratch


class NotesAdam(Optimizer):
    r"""The lecture notes' Adam (section 7.7.2.4): :math:`\epsilon` inside the square root.

    Not PyTorch's :class:`Adam`, which divides by :math:`\sqrt{\hat v_t} + \epsilon`; see
    its Notes for when the two differ.

    Parameters
    ----------
    params : iterable of Parameter or of dict
        Parameters to optimise, or parameter groups (see :class:`Optimizer`).
    lr : float
        Step size :math:`\eta`, >= 0. Default 1e-3.
    betas : tuple of float
        :math:`(B_1, B_2)`, each in [0, 1). Default (0.9, 0.999), the values the notes
        quote from the paper.
    eps : float
        :math:`\epsilon`, >= 0. Default 1e-8.
    weight_decay : float
        L2 penalty coefficient, >= 0, added to the gradient as ``weight_decay * W``
        (the notes' :math:`\lambda \|W\|^2` is ``weight_decay = 2 * lambda``). Default 0.

    Notes
    -----
    With :math:`g_{t,j}` the gradient of weight :math:`j` and :math:`m_0 = v_0 = 0`:

    .. math::

        m_{t,j} &= B_1 m_{t-1,j} + (1 - B_1) g_{t,j} \\
        v_{t,j} &= B_2 v_{t-1,j} + (1 - B_2) g_{t,j}^2 \\
        \hat m_{t,j} &= m_{t,j} / (1 - B_1^t), \qquad \hat v_{t,j} = v_{t,j} / (1 - B_2^t) \\
        W_{t,j} &= W_{t-1,j} - \frac{\eta}{\sqrt{\hat v_{t,j} + \epsilon}}\, \hat m_{t,j}

    Examples
    --------
    >>> from mytorch.nn.parameter import Parameter
    >>> w = Parameter(np.array([1.0, -2.0]))
    >>> opt = NotesAdam([w], lr=0.1)
    >>> w.grad = 2 * w.data
    >>> opt.step()
    >>> w.data.round(6)
    array([ 0.9, -1.9])
    """

    kernel = staticmethod(_notes_adam_kernel)

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
    ) -> None:
        defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay}
        super().__init__(params, defaults)

    def _check_hyperparameters(self, group: dict[str, Any], where: str) -> None:
        where = f"{type(self).__name__}{where}"
        for key in ("lr", "eps", "weight_decay"):
            check_hyperparameter(group, key, where)
        check_betas(group, where)

    def _init_state(self, param: Parameter, state: dict[str, Any], group: dict[str, Any]) -> None:
        state["step"] = 0
        state["exp_avg"] = np.zeros_like(param.data)
        state["exp_avg_sq"] = np.zeros_like(param.data)

    def _update(
        self, param: Parameter, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        beta1, beta2 = group["betas"]
        state["step"] += 1
        step = state["step"]
        grad = self._gradient(param, grad, group, group["weight_decay"])
        arrays = [param.data, grad, state["exp_avg"], state["exp_avg_sq"]]
        step_size = group["lr"] / (1 - beta1**step)
        self._run_kernel(param, arrays, (beta1, beta2, 1 - beta2**step, group["eps"], step_size))
