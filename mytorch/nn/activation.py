"""Activation functions f applied to a pre-activation z (``torch.nn``'s names).

An elementwise activation computes f(z) in ``forward`` and keeps it as ``state``;
``derivative()`` returns f'(z) from what was kept, and ``backward(grad_output)`` is the
chain rule, grad_output * f'(z). ``state`` and ``derivative()`` are also the names the
CMU 11-785 course API reads (``mytorch/activation.py`` re-exports these classes).
Softmax and LogSoftmax are not elementwise: their backward applies the Jacobian.
"""

from __future__ import annotations

import math

import numpy as np

from mytorch.nn import kernels
from mytorch.nn.functional import log_softmax, sigmoid, softmax, softplus
from mytorch.nn.module import Module
from mytorch.validation import (
    check_float_array,
    check_number,
    check_output_grad,
    require_forward,
)

__all__ = [
    "Activation",
    "Identity",
    "Step",
    "Sigmoid",
    "Tanh",
    "ReLU",
    "LeakyReLU",
    "ELU",
    "GELU",
    "Softplus",
    "Softmax",
    "LogSoftmax",
]


class Activation(Module):
    """Base class of elementwise activations f applied to a pre-activation z.

    A subclass defines ``function(z, out)`` (f itself) and ``derivative()`` (f'(z) from
    the kept ``state``, or from the kept input for the functions whose output does not
    determine f'). ``backward`` is the chain rule for every one of them.

    Parameters
    ----------
    inplace : bool
        Write f(z) over z itself instead of a new array (PyTorch's ``inplace``): saves
        an allocation and a pass over memory when nothing else needs z, e.g. right after
        a ``Linear``, whose output no one keeps. Only the activations whose derivative
        comes from their output accept it.

    Shape:
        - Input: any shape (0-d included), float32 or float64.
        - Output: same shape and dtype as the input (an array, 0-d for a 0-d input).

    Attributes
    ----------
    state : numpy.ndarray or None
        The last output f(z) (the course's name). ``derivative()`` reads it.
    """

    #: Whether f'(z) can be computed from f(z) alone, so that z may be overwritten.
    supports_inplace = False
    #: Outputs below the first or above the second bound lie in f's flat tails, where
    #: its slope is under a fifth of its peak (None: f has no flat tails). Training
    #: diagnostics count them as saturated.
    saturation_bounds: tuple[float, float] | None = None
    #: True if a unit whose output is 0 for every input passes no gradient back (ReLU's
    #: "dead" units).
    dies_at_zero = False
    #: False for modules that pass values through or normalise the output layer
    #: (Identity, Softmax, LogSoftmax): they have no hidden units to diagnose.
    transforms_units = True

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        if not isinstance(inplace, (bool, np.bool_)):
            raise TypeError(
                f"{type(self).__name__}: expected inplace to be a bool, got {inplace!r}"
            )
        if inplace and not self.supports_inplace:
            raise ValueError(
                f"{type(self).__name__}: inplace=True is not supported (its derivative "
                "needs the input, which an in-place forward would overwrite)"
            )
        self.inplace = bool(inplace)
        self.state: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Return f(x) and remember what ``derivative`` needs."""
        check_float_array(x, type(self).__name__, ndim=None, allow_empty=True)
        # asarray: NumPy's functions give a scalar, not an array, for a 0-d input.
        self.state = np.asarray(self.function(x, out=x if self.inplace else None))
        return self.state

    def function(self, x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """f(x), into ``out`` when given. Subclasses must override this."""
        raise NotImplementedError(f"{type(self).__name__} does not implement function()")

    def derivative(self) -> np.ndarray:
        """Return f'(z) elementwise for the last forward input z, shape of the input."""
        raise NotImplementedError(f"{type(self).__name__} does not implement derivative()")

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        """Return d(loss)/dz = d(loss)/df * f'(z) (elementwise chain rule)."""
        self._check_grad_output(grad_output)
        return np.asarray(grad_output * self.derivative())

    def _check_grad_output(self, grad_output: np.ndarray) -> None:
        """Raise unless forward has run and ``grad_output`` matches the output."""
        where = f"{type(self).__name__}.backward"
        require_forward(self.state, where)
        check_output_grad(grad_output, where, self.state.shape)

    def _saved(self) -> np.ndarray:
        require_forward(self.state, f"{type(self).__name__}.derivative")
        return self.state

    def get_config(self) -> dict:
        return {"inplace": True} if self.inplace else {}

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class Identity(Activation):
    """f(z) = z, f'(z) = 1.

    Examples
    --------
    >>> Identity()(np.array([-1.0, 2.0]))
    array([-1.,  2.])
    """

    transforms_units = False

    def function(self, x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        return x

    def derivative(self) -> np.ndarray:
        return np.ones_like(self._saved())

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        self._check_grad_output(grad_output)
        return grad_output  # times f'(z) = 1


class Step(Activation):
    """The notes' step function (000, section 7.3): f(z) = 0 if z < 0, 1 otherwise.

    So f(0) = 1, as the notes define it (``torch.heaviside(z, 1)``). f'(z) = 0 everywhere
    MyTorch uses it: the notes say the derivative "is zero everywhere except at the
    discontinuity (and there it is undefined)", which is why a network of step units
    cannot be trained by gradient descent; at z = 0 MyTorch takes 0 as well.
    """

    def function(self, x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        return (x >= 0).astype(x.dtype)

    def derivative(self) -> np.ndarray:
        return np.zeros_like(self._saved())


class Sigmoid(Activation):
    """f(z) = 1 / (1 + exp(-z)), f'(z) = f(z) (1 - f(z)).

    Computed without overflow for ``|z|`` up to the dtype's range (no warnings, no NaN).
    ``inplace=True`` (MyTorch's addition; PyTorch's ``Sigmoid`` has no such option)
    overwrites z with f(z).

    Examples
    --------
    >>> Sigmoid()(np.array([0.0, 1e4, -1e4]))
    array([0.5, 1. , 0. ])
    """

    supports_inplace = True
    saturation_bounds = (0.05, 0.95)  # |z| > 2.94: slope < 0.048 of at most 0.25

    def function(self, x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        return sigmoid(x, out=out)

    def derivative(self) -> np.ndarray:
        s = self._saved()
        return s * (1.0 - s)

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        """Return grad_output * s (1 - s): ``grad_output * derivative()``, in one new array."""
        self._check_grad_output(grad_output)
        return kernels.sigmoid_backward(grad_output, self.state)


class Tanh(Activation):
    """f(z) = tanh(z), f'(z) = 1 - tanh(z)^2.

    ``inplace=True`` (MyTorch's addition, as for ``Sigmoid``) overwrites z with f(z).
    """

    supports_inplace = True
    saturation_bounds = (-0.95, 0.95)  # |z| > 1.83: slope < 0.098 of at most 1

    def function(self, x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        return np.tanh(x, out=out)

    def derivative(self) -> np.ndarray:
        t = self._saved()
        return 1.0 - t * t

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        """Return grad_output * (1 - t^2): ``grad_output * derivative()``, in one new array."""
        self._check_grad_output(grad_output)
        return kernels.tanh_backward(grad_output, self.state)


class ReLU(Activation):
    """f(z) = max(z, 0), f'(z) = 1 if z > 0 else 0 (so f'(0) = 0, the course's choice).

    ``inplace=True`` overwrites z with f(z), as PyTorch's ``ReLU(inplace=True)``.
    """

    supports_inplace = True
    dies_at_zero = True

    def function(self, x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        return np.maximum(x, 0, out=out)

    def derivative(self) -> np.ndarray:
        # f(z) > 0 exactly where z > 0, so the output is enough to get f'.
        return (self._saved() > 0).astype(self.state.dtype)

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        """Return grad_output * (y > 0): ``grad_output * derivative()``, in one new array."""
        self._check_grad_output(grad_output)
        return kernels.relu_backward(grad_output, self.state)


class _InputActivation(Activation):
    """An activation whose derivative needs the input z, not only the output."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.input = x
        return super().forward(x)

    def _saved_input(self) -> np.ndarray:
        require_forward(self.state, f"{type(self).__name__}.derivative")
        return self.input


class LeakyReLU(_InputActivation):
    """f(z) = z if z > 0 else negative_slope * z (PyTorch's ``LeakyReLU``).

    Parameters
    ----------
    negative_slope : float
        Slope for z <= 0 (default 0.01). f'(0) = negative_slope, as in PyTorch.
    inplace : bool
        PyTorch's argument; only False is supported (the derivative needs the input).
    """

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False) -> None:
        super().__init__(inplace)
        self.negative_slope = check_number(negative_slope, "LeakyReLU", "negative_slope")

    def function(self, x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        return np.where(x > 0, x, x * self.negative_slope)

    def derivative(self) -> np.ndarray:
        z = self._saved_input()
        return np.where(z > 0, 1.0, self.negative_slope).astype(z.dtype)

    def get_config(self) -> dict:
        return {"negative_slope": self.negative_slope}

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class ELU(_InputActivation):
    """f(z) = z if z > 0 else alpha (exp(z) - 1) (PyTorch's ``ELU``).

    Parameters
    ----------
    alpha : float
        Scale of the negative part (default 1.0).
    inplace : bool
        PyTorch's argument; only False is supported (the derivative needs the input).
    """

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__(inplace)
        self.alpha = check_number(alpha, "ELU", "alpha")

    def function(self, x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        # expm1 of min(z, 0): accurate near 0 and never overflows for large positive z.
        return np.where(x > 0, x, self.alpha * np.expm1(np.minimum(x, 0)))

    def derivative(self) -> np.ndarray:
        z = self._saved_input()
        return np.where(z > 0, 1.0, self.alpha * np.exp(np.minimum(z, 0))).astype(z.dtype)

    def get_config(self) -> dict:
        return {"alpha": self.alpha}

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"


_erf = np.frompyfunc(math.erf, 1, 1)


class GELU(_InputActivation):
    """f(z) = z Phi(z), Phi the standard normal CDF (PyTorch's ``GELU``).

    Parameters
    ----------
    approximate : {'none', 'tanh'}
        ``'none'`` uses the exact error function (NumPy has none, so ``math.erf`` is
        applied elementwise: exact but slower); ``'tanh'`` uses PyTorch's tanh
        approximation 0.5 z (1 + tanh(sqrt(2/pi) (z + 0.044715 z^3))).
    """

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: expected approximate 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    _K = math.sqrt(2.0 / math.pi)

    def _cdf(self, z: np.ndarray) -> np.ndarray:
        if self.approximate == "tanh":
            return 0.5 * (1.0 + np.tanh(self._K * (z + 0.044715 * z**3)))
        erf = np.asarray(_erf(z / math.sqrt(2.0)), dtype=np.float64)  # a float for 0-d z
        return (0.5 * (1.0 + erf)).astype(z.dtype)

    def function(self, x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        return x * self._cdf(x)

    def derivative(self) -> np.ndarray:
        z = self._saved_input()
        if self.approximate == "tanh":
            inner = self._K * (z + 0.044715 * z**3)
            t = np.tanh(inner)
            d_inner = self._K * (1.0 + 3 * 0.044715 * z * z)
            return 0.5 * (1.0 + t) + 0.5 * z * (1.0 - t * t) * d_inner
        pdf = np.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)
        return (self._cdf(z) + z * pdf).astype(z.dtype)

    def get_config(self) -> dict:
        return {"approximate": self.approximate}

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class Softplus(_InputActivation):
    """f(z) = log(1 + exp(beta z)) / beta, linear where beta z > threshold (PyTorch's).

    Computed as ``max(z, 0) + log1p(exp(-|z|))`` (scaled by beta), which never overflows.

    Parameters
    ----------
    beta : float
        Sharpness (default 1).
    threshold : float
        Above ``beta * z > threshold`` the function is z itself, as in PyTorch (default 20).
    """

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__()
        self.beta = check_number(beta, "Softplus", "beta", low=0, low_inclusive=False)
        self.threshold = check_number(threshold, "Softplus", "threshold")

    def function(self, x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        bz = self.beta * x
        smooth = softplus(bz) / self.beta
        return np.where(bz > self.threshold, x, smooth).astype(x.dtype, copy=False)

    def derivative(self) -> np.ndarray:
        z = self._saved_input()
        bz = self.beta * z
        return np.where(bz > self.threshold, 1.0, sigmoid(bz)).astype(z.dtype)

    def get_config(self) -> dict:
        return {"beta": self.beta, "threshold": self.threshold}

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


#: The most axes a NumPy array can have: a ``dim`` beyond them fits no input.
_MAX_AXES = 64


def _check_dim(dim: int | None, where: str) -> int | None:
    if dim is not None and (isinstance(dim, bool) or not isinstance(dim, (int, np.integer))):
        raise TypeError(f"{where}: expected dim to be an int or None, got {dim!r}")
    if dim is not None and not -_MAX_AXES <= dim < _MAX_AXES:
        raise ValueError(
            f"{where}: dim {dim} is beyond the axes of any input (NumPy arrays have at most "
            f"{_MAX_AXES})"
        )
    return None if dim is None else int(dim)


def _softmax_dim(ndim: int, dim: int | None, where: str) -> int | None:
    """The axis to normalise (None for a 0-d input, whose dim may be 0 or -1, as in
    PyTorch: its softmax is 1)."""
    if dim is None:
        # PyTorch's implicit choice for dim=None (it warns; we document it instead).
        dim = 0 if ndim in (0, 1, 3) else 1
    if not -max(ndim, 1) <= dim < max(ndim, 1):
        raise ValueError(f"{where}: dim {dim} is out of range for a {ndim}-D input")
    return None if ndim == 0 else dim % ndim


class Softmax(Activation):
    """softmax(z)_j = exp(z_j) / sum_k exp(z_k) along ``dim`` (PyTorch's ``Softmax``).

    Not elementwise: ``backward`` applies the Jacobian, diag(s) - s s^T, without
    building it: grad_z = s * (g - sum(g * s)).

    Parameters
    ----------
    dim : int or None
        Axis to normalise, of any input shape; a 0-d input (dim 0 or -1) gives 1.
        ``None`` picks PyTorch's implicit choice (0 for 0-, 1- and 3-D input, else 1).
    """

    transforms_units = False

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = _check_dim(dim, type(self).__name__)

    def forward(self, x: np.ndarray) -> np.ndarray:
        check_float_array(x, "Softmax", ndim=None, allow_empty=True)
        self._axis = _softmax_dim(x.ndim, self.dim, "Softmax")
        self.state = np.asarray(softmax(x, self._axis))
        return self.state

    def derivative(self) -> np.ndarray:
        """Return the Jacobian ds/dz of each sample, shape (N, C, C) for 2-D input (dim=1)."""
        s = self._saved()
        if s.ndim != 2 or self._axis != 1:
            raise ValueError("Softmax.derivative: the Jacobian is only built for 2-D input, dim=1")
        return np.einsum("ij,jk->ijk", s, np.eye(s.shape[1], dtype=s.dtype)) - np.einsum(
            "ij,ik->ijk", s, s
        )

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        self._check_grad_output(grad_output)
        s = self.state
        return np.asarray(
            s * (grad_output - np.sum(grad_output * s, axis=self._axis, keepdims=True))
        )

    def get_config(self) -> dict:
        return {"dim": self.dim}

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Activation):
    """log_softmax(z)_j = z_j - log sum_k exp(z_k) along ``dim`` (PyTorch's ``LogSoftmax``).

    ``backward``: grad_z = g - softmax(z) * sum(g).

    Parameters
    ----------
    dim : int or None
        Axis to normalise, of any input shape; a 0-d input (dim 0 or -1) gives 0.
        ``None`` picks PyTorch's implicit choice (0 for 0-, 1- and 3-D input, else 1).
    """

    transforms_units = False

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = _check_dim(dim, type(self).__name__)

    def forward(self, x: np.ndarray) -> np.ndarray:
        check_float_array(x, "LogSoftmax", ndim=None, allow_empty=True)
        self._axis = _softmax_dim(x.ndim, self.dim, "LogSoftmax")
        self.state = np.asarray(log_softmax(x, self._axis))
        return self.state

    def derivative(self) -> np.ndarray:
        """Return the Jacobian of each sample, I - 1 s^T, shape (N, C, C) for 2-D input."""
        s = np.exp(self._saved())
        if s.ndim != 2 or self._axis != 1:
            raise ValueError(
                "LogSoftmax.derivative: the Jacobian is only built for 2-D input, dim=1"
            )
        eye = np.eye(s.shape[1], dtype=s.dtype)
        return eye[None, :, :] - s[:, None, :]

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        self._check_grad_output(grad_output)
        log_s = self.state
        return np.asarray(
            grad_output - np.exp(log_s) * np.sum(grad_output, axis=self._axis, keepdims=True)
        )

    def get_config(self) -> dict:
        return {"dim": self.dim}

    def extra_repr(self) -> str:
        return f"dim={self.dim}"
