"""Gradient clipping: rescale or clamp the gradients in place before ``optimizer.step()``."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from mytorch.nn.parameter import Parameter
from mytorch.underflow import quiet_underflow
from mytorch.validation import check_number


def _gradients(parameters: Parameter | Iterable[Parameter], where: str) -> list[np.ndarray]:
    """The existing gradients of ``parameters`` (a Parameter or an iterable of them)."""
    if isinstance(parameters, Parameter):
        parameters = [parameters]
    elif isinstance(parameters, np.ndarray):
        raise TypeError(
            f"{where}: expected Parameters (e.g. model.parameters()), got a numpy.ndarray"
        )
    grads = []
    for index, param in enumerate(parameters):
        if not isinstance(param, Parameter):
            raise TypeError(
                f"{where}: expected Parameters, got {type(param).__name__} at position {index}"
            )
        if param.grad is not None:
            grads.append(param.grad)
    return grads


def _norm_type(norm_type: Any, where: str) -> float:
    try:
        value = float(norm_type)
    except (TypeError, ValueError):
        raise TypeError(
            f"{where}: expected norm_type to be a number or 'inf', got {norm_type!r}"
        ) from None
    if math.isnan(value) or value <= 0:
        raise ValueError(f"{where}: expected norm_type > 0 (or inf), got {norm_type!r}")
    return value


@quiet_underflow.wrap  # a tiny gradient's square rounds to 0, as it should
def _vector_norm(array: np.ndarray, norm_type: float) -> float:
    """The p-norm of ``array`` seen as one flat vector, as ``torch.linalg.vector_norm``."""
    flat = array.reshape(-1)
    if flat.size == 0:
        return 0.0
    if norm_type == math.inf:
        return float(np.max(np.abs(flat)))
    if norm_type == 2.0:
        return float(np.sqrt(np.dot(flat, flat)))
    if norm_type == 1.0:
        return float(np.sum(np.abs(flat)))
    return float(np.sum(np.abs(flat) ** norm_type) ** (1.0 / norm_type))


def clip_grad_norm_(
    parameters: Parameter | Iterable[Parameter],
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
    foreach: bool | None = None,
) -> float:
    r"""Rescale the gradients so that their joint norm is at most ``max_norm``, in place.

    As ``torch.nn.utils.clip_grad_norm_``: the norm is taken over all gradients together
    (as if concatenated into one vector); if it exceeds ``max_norm`` every gradient is
    multiplied by ``max_norm / (total_norm + 1e-6)``. Parameters without a gradient are
    skipped. Gradients keep their dtype.

    Parameters
    ----------
    parameters : Parameter or iterable of Parameter
        Whose ``grad`` to clip, e.g. ``model.parameters()``.
    max_norm : float
        Largest allowed norm, >= 0.
    norm_type : float
        The :math:`p` of the p-norm, > 0; ``float('inf')`` (or ``'inf'``) for the largest
        absolute value. Default 2.
    error_if_nonfinite : bool
        Raise instead of clipping when the total norm is NaN or infinite. Default False
        (then, as in PyTorch, the gradients are multiplied by the resulting NaN or 0).
    foreach : bool or None
        Accepted so that PyTorch code runs unchanged; ignored (NumPy has no multi-tensor
        kernels: each gradient is processed on its own either way).

    Returns
    -------
    float
        The total norm of the gradients *before* clipping (0.0 if there are none).

    Raises
    ------
    RuntimeError
        If ``error_if_nonfinite`` and the total norm is NaN or infinite (PyTorch's
        error type, so code written for PyTorch catches it).
    TypeError, ValueError
        For arguments of the wrong kind or out of range.

    Notes
    -----
    .. math::

        n = \Big\| \big(\|g_1\|_p, \dots, \|g_k\|_p\big) \Big\|_p, \qquad
        g_i \leftarrow g_i \cdot \min\!\Big(1, \frac{\text{max\_norm}}{n + 10^{-6}}\Big)

    The :math:`10^{-6}` keeps the division finite for zero gradients; it also means a
    clipped norm ends up slightly *below* ``max_norm``.

    Examples
    --------
    >>> w = Parameter(np.zeros(2))
    >>> w.grad = np.array([3.0, 4.0])
    >>> clip_grad_norm_([w], max_norm=1.0)
    5.0
    >>> w.grad.round(6)
    array([0.6, 0.8])
    """
    where = "clip_grad_norm_"
    grads = _gradients(parameters, where)
    max_norm = check_number(max_norm, where, "max_norm", low=0.0)
    norm_type = _norm_type(norm_type, where)
    if not isinstance(error_if_nonfinite, (bool, np.bool_)):
        raise TypeError(
            f"{where}: expected error_if_nonfinite to be True or False, got {error_if_nonfinite!r}"
        )
    if not grads:
        return 0.0

    with np.errstate(over="ignore", invalid="ignore"):
        norms = np.array([_vector_norm(grad, norm_type) for grad in grads])
        total_norm = _vector_norm(norms, norm_type)
    if error_if_nonfinite and not math.isfinite(total_norm):
        raise RuntimeError(
            f"{where}: the total {norm_type}-norm of the gradients is {total_norm}, so "
            "they cannot be clipped; set error_if_nonfinite=False to clip anyway"
        )
    # A NaN norm gives a NaN coefficient and an infinite one gives 0, as in PyTorch
    # (min keeps its first argument when the comparison with NaN is False).
    clip_coef = min(max_norm / (total_norm + 1e-6), 1.0)
    # Multiplying by 1.0 changes nothing, so the common no-clip case skips the pass.
    if clip_coef != 1.0:
        for grad in grads:
            grad *= clip_coef
    return total_norm


def clip_grad_value_(
    parameters: Parameter | Iterable[Parameter], clip_value: float, foreach: bool | None = None
) -> None:
    """Clamp every gradient entry to ``[-clip_value, clip_value]``, in place.

    As ``torch.nn.utils.clip_grad_value_``.

    Parameters
    ----------
    parameters : Parameter or iterable of Parameter
        Whose ``grad`` to clamp; parameters without a gradient are skipped.
    clip_value : float
        Largest allowed absolute value, >= 0.
    foreach : bool or None
        Accepted for PyTorch code; ignored, as in :func:`clip_grad_norm_`.

    Examples
    --------
    >>> w = Parameter(np.zeros(3))
    >>> w.grad = np.array([-2.0, 0.5, 3.0])
    >>> clip_grad_value_([w], 1.0)
    >>> w.grad
    array([-1. ,  0.5,  1. ])
    """
    where = "clip_grad_value_"
    grads = _gradients(parameters, where)
    clip_value = check_number(clip_value, where, "clip_value", low=0.0)
    for grad in grads:
        np.clip(grad, -clip_value, clip_value, out=grad)
