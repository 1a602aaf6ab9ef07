"""The fully connected (affine) layer: the course's ``Linear`` and the maths of ``nn.Linear``.

Forward:  y = x W + b, with the course's W = weight.T of shape (in, out).
Backward: given delta = d(loss)/dy,
    d(loss)/dW = x^T delta,   d(loss)/db = sum over the batch of delta,
    d(loss)/dx = delta W^T.

One class holds the maths. The course's ``Linear`` keeps the course's conventions
(``weight_init_fn``/``bias_init_fn``, attributes ``W`` (in, out), ``b`` (1, out),
``dW``, ``db`` averaged over the batch, ``momentum_W``/``momentum_b``);
``mytorch.nn.Linear`` subclasses it with PyTorch's constructor and rules
(gradients summed and accumulated). Storage is PyTorch's: ``weight`` (out, in) and
``bias`` (out,), so ``state_dict()`` matches ``torch.nn.Linear``; the course's names
are views of the same arrays.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np

if not __package__:  # pragma: no cover - exercised by the course-autograder test in a subprocess
    # The course autograder puts mytorch/ on sys.path and runs `import linear`.
    from _course_import import import_from_package

    import_from_package(__name__)

from mytorch.module import Module
from mytorch.parameter import Parameter
from mytorch.validation import (
    check_dtype,
    check_finite,
    check_float_array,
    check_output_grad,
    check_positive_int,
    check_rng,
    require_forward,
)

__all__ = ["Linear"]

WeightInit = Callable[[int, int], np.ndarray]
BiasInit = Callable[[int], np.ndarray]


#: Weight matrices with at least this many entries get their gradient from the
#: transposed product (see ``weight_gradient``).
TRANSPOSED_GEMM_MIN_SIZE = 32768


def weight_gradient(delta: np.ndarray, x: np.ndarray, out: np.ndarray) -> np.ndarray:
    """Return delta^T x, shape (out_features, in_features), written into ``out``.

    Parameters
    ----------
    delta : numpy.ndarray, shape (N, out_features)
    x : numpy.ndarray, shape (N, in_features)
    out : numpy.ndarray, shape (out_features, in_features), C-contiguous

    Notes
    -----
    Two spellings of the same product, chosen by speed (bench/README.md): for large
    weights OpenBLAS is 13-24% faster computing x^T delta into the transpose of
    ``out`` than delta^T x into ``out``; for small ones, and for a batch of one (an
    outer product, which ``matmul`` leaves to a slow non-BLAS loop), ``np.dot`` wins.
    """
    if delta.shape[0] > 1 and out.size >= TRANSPOSED_GEMM_MIN_SIZE:
        return np.matmul(x.T, delta, out=out.T).T
    return np.dot(delta.T, x, out=out)


def bias_gradient(delta: np.ndarray) -> np.ndarray:
    """Return the sum of ``delta`` (N, out) over the batch, shape (out,), a new array.

    Computed as ones(N) @ delta: BLAS's matrix-vector product is 2-3x faster than
    ``delta.sum(axis=0)`` for the layer sizes MyTorch is for (5.8 -> 2.3 us for a
    100 x 64 batch).
    """
    return np.dot(_ones(delta.shape[0], delta.dtype), delta)


@functools.lru_cache(maxsize=16)
def _ones(n: int, dtype: np.dtype) -> np.ndarray:
    ones = np.ones(n, dtype)
    ones.flags.writeable = False
    return ones


class Linear(Module):
    """Fully connected layer y = x W + b (CMU 11-785 HW1P1 ``mytorch/linear.py``).

    Parameters
    ----------
    in_feature : int
        Size of each input sample.
    out_feature : int
        Size of each output sample.
    weight_init_fn : callable (in, out) -> array of shape (in, out), optional
        The course's weight initialiser, e.g. ``lambda i, o: np.random.randn(i, o)``.
        Default: PyTorch's U(-1/sqrt(in), 1/sqrt(in)) drawn from ``rng``.
    bias_init_fn : callable (out,) -> array of shape (1, out) or (out,), optional
        The course's bias initialiser, e.g. ``lambda o: np.zeros((1, o))``.
        Default: PyTorch's U(-1/sqrt(in), 1/sqrt(in)).
    bias : bool
        Whether the layer has a bias (keyword only; default True).
    dtype : numpy dtype
        float64 (default) or float32; parameters are cast to it.
    rng : numpy.random.Generator or int or None
        Source of the default initialisation.

    Attributes
    ----------
    weight : Parameter
        PyTorch layout, shape (out, in).
    bias : Parameter or None
        Shape (out,).
    W, b, dW, db : numpy.ndarray
        The course's views: W (in, out) = weight.T, b (1, out), dW (in, out) and
        db (1, out) the gradients of the batch-*mean* loss.
    momentum_W, momentum_b : numpy.ndarray
        The course's momentum buffers (used by ``hw1.MLP.step``), shapes of W and b.

    Shape:
        - Input: (N, in_feature), the layer's dtype.
        - Output: (N, out_feature).

    Notes
    -----
    The course's ``backward(delta)`` takes delta = d(sum of per-sample losses)/dy
    (what ``SoftmaxCrossEntropy.derivative()`` returns) and stores the gradients of
    the *mean* loss, dW = x^T delta / N and db = mean(delta), overwriting the last
    ones; it returns dx = delta W^T for the sum. ``nn.Linear`` instead adds
    x^T delta to ``weight.grad`` unscaled, as PyTorch does.

    Examples
    --------
    >>> layer = Linear(3, 2, lambda i, o: np.ones((i, o)), lambda o: np.zeros((1, o)))
    >>> layer.forward(np.array([[1.0, 2.0, 3.0]]))
    array([[6., 6.]])
    """

    #: The course's rules: gradients averaged over the batch and replacing the last
    #: ones, and momentum buffers kept in the layer. ``nn.Linear`` sets it False.
    course_conventions = True

    def __init__(
        self,
        in_feature: int,
        out_feature: int,
        weight_init_fn: WeightInit | None = None,
        bias_init_fn: BiasInit | None = None,
        *,
        bias: bool = True,
        dtype=np.float64,
        rng: np.random.Generator | int | None = None,
    ) -> None:
        super().__init__()
        where = type(self).__name__
        self.in_features = check_positive_int(in_feature, where, "in_features")
        self.out_features = check_positive_int(out_feature, where, "out_features")
        self.dtype = check_dtype(dtype, where)
        for name, fn in (("weight_init_fn", weight_init_fn), ("bias_init_fn", bias_init_fn)):
            if fn is not None and not callable(fn):
                raise TypeError(
                    f"{where}: expected {name} to be a callable or None, got {fn!r}"
                    + (" (pass bias=False as a keyword)" if isinstance(fn, bool) else "")
                )
        bound = 1.0 / np.sqrt(in_feature)
        generator = None
        if weight_init_fn is None:
            generator = check_rng(rng, where)
            weight = generator.uniform(-bound, bound, (out_feature, in_feature))
        else:
            weight = self._init_array(
                weight_init_fn(in_feature, out_feature), (in_feature, out_feature), "weight_init_fn"
            ).T
        self.weight = Parameter(np.ascontiguousarray(weight, dtype=self.dtype))
        if not bias:
            self.bias = None
        elif bias_init_fn is None:
            generator = generator or check_rng(rng, where)
            self.bias = Parameter(generator.uniform(-bound, bound, out_feature).astype(self.dtype))
        else:
            b = self._init_array(bias_init_fn(out_feature), (1, out_feature), "bias_init_fn")
            self.bias = Parameter(np.ascontiguousarray(b.reshape(out_feature), dtype=self.dtype))
        if self.course_conventions:
            self.momentum_W = np.zeros((in_feature, out_feature), dtype=self.dtype)
            self.momentum_b = np.zeros((1, out_feature), dtype=self.dtype)
        self.x: np.ndarray | None = None

    def _init_array(self, value, shape: tuple[int, int], name: str) -> np.ndarray:
        where = type(self).__name__
        value = np.asarray(value)
        if value.size != shape[0] * shape[1] or (value.ndim == 2 and value.shape != shape):
            raise ValueError(f"{where}: {name} returned shape {value.shape}, expected {shape}")
        if value.dtype.kind not in "fiu":
            raise TypeError(f"{where}: {name} returned dtype {value.dtype}, expected numbers")
        check_finite(value, where, name=name)
        return value.reshape(shape)

    # ------------------------------------------------------------------ forward/backward
    def forward(self, x: np.ndarray) -> np.ndarray:
        """Return x W + b, shape (N, out_features); remember x for backward."""
        check_float_array(
            x,
            type(self).__name__,
            features=self.in_features,
            dtype=self.dtype,
            finite=not self._input_is_trusted,
        )
        self.x = x
        out = x @ self.weight.data.T
        if self.bias is not None:
            out += self.bias.data
        return out

    def backward(self, delta: np.ndarray, need_input_grad: bool = True) -> np.ndarray | None:
        """Given delta = d(loss)/dy (N, out), store parameter gradients; return d(loss)/dx.

        With ``need_input_grad=False`` (a first layer, whose input is data) the product
        delta W^T is skipped and ``None`` is returned.
        """
        where = f"{type(self).__name__}.backward"
        require_forward(self.x, where)
        check_output_grad(
            delta,
            where,
            (self.x.shape[0], self.out_features),
            name="delta",
            ndim=2,
            dtype=self.dtype,
            allow_empty=False,
            finite=not self._input_is_trusted,
        )
        grad_bias = bias_gradient(delta) if self.bias is not None else None
        if not self.course_conventions and self.weight.grad is None:
            # The common case after zero_grad(): compute straight into a reused buffer.
            self.weight.grad = weight_gradient(delta, self.x, self.weight.grad_buffer())
            if grad_bias is not None:
                self.bias.accumulate_grad(grad_bias)
            return delta @ self.weight.data if need_input_grad else None
        grad_weight = weight_gradient(delta, self.x, np.empty(self.weight.shape, self.dtype))
        if self.course_conventions:
            batch = delta.shape[0]
            grad_weight /= batch
            self.weight.grad = grad_weight
            if grad_bias is not None:
                self.bias.grad = grad_bias / batch
        else:
            self.weight.accumulate_grad(grad_weight)
            if grad_bias is not None:
                self.bias.accumulate_grad(grad_bias)
        return delta @ self.weight.data if need_input_grad else None

    # ------------------------------------------------------------------ course names
    @property
    def W(self) -> np.ndarray:  # noqa: N802 - the course's name
        """Weights (in, out): a view of ``weight`` (out, in)."""
        return self.weight.data.T

    @W.setter
    def W(self, value: np.ndarray) -> None:  # noqa: N802
        self.weight.data[...] = np.asarray(value).T

    @property
    def b(self) -> np.ndarray:
        """Bias (1, out): a view of ``bias`` (out,)."""
        return self.bias.data.reshape(1, -1)

    @b.setter
    def b(self, value: np.ndarray) -> None:
        self.bias.data[...] = np.asarray(value).reshape(-1)

    @property
    def dW(self) -> np.ndarray:  # noqa: N802 - the course's name
        """Gradient of the loss w.r.t. W, shape (in, out)."""
        grad = self.weight.grad
        return np.zeros_like(self.W) if grad is None else grad.T

    @property
    def db(self) -> np.ndarray:
        """Gradient of the loss w.r.t. b, shape (1, out)."""
        grad = None if self.bias is None else self.bias.grad
        return np.zeros((1, self.out_features), self.dtype) if grad is None else grad.reshape(1, -1)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )
