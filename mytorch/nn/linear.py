"""The fully connected (affine) layer, ``torch.nn.Linear``.

Forward, for a batch x of shape (N, in) (an input of shape (*, in), e.g. a single
sample (in,), is the batch of its rows, as in PyTorch: x reshaped to (-1, in)):

    y = x W^T + b                         W: (out, in), b: (out,)

Backward, given delta = d(loss)/dy of shape (N, out):

    d(loss)/dW = delta^T x                (out, in)
    d(loss)/db = sum over the batch of delta   (out,)
    d(loss)/dx = delta W                  (N, in)

The course's ``Linear`` (``mytorch/linear.py``) is this layer with the course's
constructor, names (``W`` = weight^T, ``dW``, ...) and gradient rule.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from mytorch.nn import kernels
from mytorch.nn.module import Module
from mytorch.nn.parameter import Parameter
from mytorch.validation import (
    check_device,
    check_dtype,
    check_float_array,
    check_output_grad,
    check_positive_int,
    check_rng,
    require_forward,
)

__all__ = ["Linear"]


class Linear(Module):
    """Fully connected layer y = x weight^T + bias (``torch.nn.Linear``).

    Gradients are d(loss)/d(weight) of whatever loss comes back, added up over backward
    calls until ``zero_grad()`` (PyTorch's rule, :meth:`Module.store_grad`).

    Parameters
    ----------
    in_features, out_features : int
        Input and output sizes.
    bias : bool
        Whether to learn an additive bias.
    device : None or 'cpu'
        PyTorch's argument; MyTorch computes on the CPU.
    dtype : numpy dtype or None
        float64 (default, NumPy's; also for None) or float32.
    rng : numpy.random.Generator or int or None
        Seed or Generator for PyTorch's default init, U(-1/sqrt(in), 1/sqrt(in)).

    Attributes
    ----------
    weight : Parameter
        Shape (out_features, in_features), PyTorch's layout.
    bias : Parameter or None
        Shape (out_features,).
    x : numpy.ndarray or None
        The last input, kept for backward.

    Shape:
        - Input: ``(*, in_features)``: any number of leading axes, none included.
        - Output: ``(*, out_features)``.

    Examples
    --------
    >>> layer = Linear(20, 30, rng=0)
    >>> layer(np.ones((128, 20))).shape
    (128, 30)
    >>> layer.weight.shape
    (30, 20)
    """

    skips_input_grad = True
    #: The input ranks taken (None: any rank >= 1; the course's Linear takes 2-D only).
    input_ndim: int | None = None

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        device: str | None = None,
        dtype: npt.DTypeLike = np.float64,
        *,
        rng: np.random.Generator | int | None = None,
    ) -> None:
        super().__init__()
        where = type(self).__name__
        if not isinstance(bias, (bool, np.bool_)):
            raise TypeError(f"{where}: expected bias to be a bool, got {bias!r}")
        self.in_features = check_positive_int(in_features, where, "in_features")
        self.out_features = check_positive_int(out_features, where, "out_features")
        check_device(device, where)
        self.dtype = check_dtype(np.float64 if dtype is None else dtype, where)
        generator = check_rng(rng, where)
        bound = 1.0 / np.sqrt(in_features)
        weight = generator.uniform(-bound, bound, (out_features, in_features))
        self.weight = Parameter(np.ascontiguousarray(weight, dtype=self.dtype))
        if bias:
            self.bias = Parameter(generator.uniform(-bound, bound, out_features).astype(self.dtype))
        else:
            self.bias = None
        self.x: np.ndarray | None = None

    # ------------------------------------------------------------------ forward/backward
    def forward(self, x: np.ndarray) -> np.ndarray:
        """Return y = x W^T + b, shape ``(*, out_features)``; keep x for backward."""
        check_float_array(
            x,
            type(self).__name__,
            ndim=self.input_ndim,
            features=self.in_features,
            dtype=self.dtype,
        )
        self.x = x
        y = x @ self.weight.data.T
        if self.bias is not None:
            y += self.bias.data
        return y

    def backward(self, delta: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        """Given delta = d(loss)/dy ``(*, out)``, store dW and db; return d(loss)/dx = delta W.

        With ``need_input_grad=False`` (a first layer, whose input is data) the product
        delta W is skipped and ``None`` is returned.
        """
        where = f"{type(self).__name__}.backward"
        require_forward(self.x, where)
        x = self.x
        shape = x.shape[:-1] + (self.out_features,)
        check_output_grad(
            delta, where, shape, name="delta", ndim=x.ndim, dtype=self.dtype, allow_empty=False
        )
        rows = delta
        if x.ndim != 2:  # (*, in): the batch of its rows
            x, rows = x.reshape(-1, self.in_features), delta.reshape(-1, self.out_features)
        # dW = delta^T x, computed into the weight's reusable gradient buffer
        self.store_grad(self.weight, kernels.weight_gradient(rows, x, self.weight.grad_buffer()))
        if self.bias is not None:
            self.store_grad(self.bias, kernels.batch_sum(rows))  # db = sum_n delta_n
        return delta @ self.weight.data if need_input_grad else None

    def get_config(self) -> dict:
        return {
            "in_features": self.in_features,
            "out_features": self.out_features,
            "bias": self.bias is not None,
        }

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )
