"""The functions behind the layers, as plain NumPy: sigmoid, softmax, log-softmax, softplus.

``torch.nn.functional`` holds the same names. Each is numerically stable for any finite
input (no overflow warnings, no NaN) and works on arrays of any shape. Where an
``exp`` may underflow to 0 (a far-negative argument) or, in ``sigmoid``, overflow to
inf, that is the correctly rounded step on the way to the right answer, so those
floating-point conditions are silenced here even under ``np.seterr(all="raise")``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["log_softmax", "sigmoid", "softmax", "softplus"]


def sigmoid(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Logistic sigmoid 1 / (1 + exp(-x)), exact at both ends, for any finite x.

    Four passes over one array: a new one, or ``out`` (which may be ``x`` itself). Where
    exp(-x) overflows (x below about -709 in float64) it becomes inf and 1 / (1 + inf) is
    exactly 0, the correctly rounded answer, so that overflow is expected and silenced;
    1 + exp(-x) never cancels, so the result keeps full relative precision elsewhere.
    """
    out = np.negative(x, out=np.empty_like(x) if out is None else out)
    with np.errstate(over="ignore", under="ignore"):
        np.exp(out, out=out)
    out += 1.0
    return np.reciprocal(out, out=out)


def softplus(x: np.ndarray) -> np.ndarray:
    """log(1 + exp(x)), computed as ``max(x, 0) + log1p(exp(-|x|))``: never overflows."""
    with np.errstate(under="ignore"):
        return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


def log_softmax(x: np.ndarray, axis: int) -> np.ndarray:
    """log(softmax(x)) along ``axis`` with the log-sum-exp trick (no overflow)."""
    shifted = x - np.max(x, axis=axis, keepdims=True)
    with np.errstate(under="ignore"):
        return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def softmax(x: np.ndarray, axis: int) -> np.ndarray:
    """softmax(x) along ``axis``, shifted by the maximum so exp never overflows."""
    with np.errstate(under="ignore"):
        e = np.exp(x - np.max(x, axis=axis, keepdims=True))
        e /= np.sum(e, axis=axis, keepdims=True)
    return e
