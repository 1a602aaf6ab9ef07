"""The course's ``Linear`` (CMU 11-785 HW1P1 ``mytorch/linear.py``) over ``nn.Linear``.

An adapter: the maths is :class:`mytorch.nn.Linear`'s. This file holds only what the
course fixes on top of it:

* the constructor ``Linear(in_feature, out_feature, weight_init_fn, bias_init_fn)``;
* the names ``W`` (in, out) = weight^T, ``b`` (1, out), ``dW``, ``db``, as views of
  PyTorch-layout storage, and the momentum buffers ``momentum_W``, ``momentum_b``
  that ``hw1.MLP.step`` uses;
* the course's gradient rule (:meth:`Linear.store_grad`): ``backward(delta)`` takes
  delta = d(sum of per-sample losses)/dy and stores the gradients of the batch *mean*,
  dW = x^T delta / N and db = mean(delta), replacing the last ones.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

if not __package__:  # pragma: no cover - exercised by the course-autograder test in a subprocess
    # The course autograder puts mytorch/ on sys.path and runs `import linear`.
    from _course_import import import_from_package

    import_from_package(__name__)

from mytorch import nn
from mytorch.nn.parameter import Parameter
from mytorch.validation import check_finite, check_positive_int, check_rng

__all__ = ["Linear"]

WeightInit = Callable[[int, int], np.ndarray]
BiasInit = Callable[[int], np.ndarray]


class Linear(nn.Linear):
    """Fully connected layer y = x W + b with the course's API.

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
    ``backward(delta)`` returns dx = delta W^T for the summed loss, as the course's
    ``SoftmaxCrossEntropy.derivative()`` hands it on, while dW and db are those of the
    *mean* loss (``hw1.MLP.step`` then uses them with the learning rate as given).

    Examples
    --------
    >>> layer = Linear(3, 2, lambda i, o: np.ones((i, o)), lambda o: np.zeros((1, o)))
    >>> layer.forward(np.array([[1.0, 2.0, 3.0]]))
    array([[6., 6.]])
    """

    skips_input_grad = False  # the course's backward always returns dx
    input_ndim = 2  # the course's layout: a batch (N, in_feature), never reshaped

    def __init__(
        self,
        in_feature: int,
        out_feature: int,
        weight_init_fn: WeightInit | None = None,
        bias_init_fn: BiasInit | None = None,
        *,
        bias: bool = True,
        dtype: npt.DTypeLike = np.float64,
        rng: np.random.Generator | int | None = None,
    ) -> None:
        where = type(self).__name__
        check_positive_int(in_feature, where, "in_features")
        check_positive_int(out_feature, where, "out_features")
        for name, fn in (("weight_init_fn", weight_init_fn), ("bias_init_fn", bias_init_fn)):
            if fn is not None and not callable(fn):
                raise TypeError(
                    f"{where}: expected {name} to be a callable or None, got {fn!r}"
                    + (" (pass bias=False as a keyword)" if isinstance(fn, bool) else "")
                )
        # With the course's own initialisers nothing is drawn from ``rng``.
        super().__init__(
            in_feature,
            out_feature,
            bias=bool(bias),
            dtype=dtype,
            rng=rng if weight_init_fn is None else 0,
        )
        if weight_init_fn is not None:
            weight = self._init_array(
                weight_init_fn(in_feature, out_feature), (in_feature, out_feature), "weight_init_fn"
            )
            self.weight.data[...] = weight.T
            if self.bias is not None and bias_init_fn is None:
                bound = 1.0 / np.sqrt(in_feature)
                self.bias.data[...] = check_rng(rng, where).uniform(-bound, bound, out_feature)
        if self.bias is not None and bias_init_fn is not None:
            b = self._init_array(bias_init_fn(out_feature), (1, out_feature), "bias_init_fn")
            self.bias.data[...] = b.reshape(out_feature)
        self.momentum_W = np.zeros((in_feature, out_feature), dtype=self.dtype)
        self.momentum_b = np.zeros((1, out_feature), dtype=self.dtype)

    def _init_array(self, value: Any, shape: tuple[int, int], name: str) -> np.ndarray:
        where = type(self).__name__
        value = np.asarray(value)
        if value.size != shape[0] * shape[1] or (value.ndim == 2 and value.shape != shape):
            raise ValueError(f"{where}: {name} returned shape {value.shape}, expected {shape}")
        if value.dtype.kind not in "fiu":
            raise TypeError(f"{where}: {name} returned dtype {value.dtype}, expected numbers")
        check_finite(value, where, name=name)
        return value.reshape(shape)

    # ------------------------------------------------------------------ the course's rule
    def store_grad(self, param: Parameter, grad: np.ndarray) -> None:
        """Keep the gradient of the batch-mean loss, replacing the last one (the course's rule)."""
        grad /= self.x.shape[0]
        param.grad = grad

    def stored_grad_scale(self, batch_size: int) -> float:
        return 1.0 / batch_size

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
        """Gradient of the mean loss w.r.t. W, shape (in, out)."""
        grad = self.weight.grad
        return np.zeros_like(self.W) if grad is None else grad.T

    @property
    def db(self) -> np.ndarray:
        """Gradient of the mean loss w.r.t. b, shape (1, out)."""
        grad = None if self.bias is None else self.bias.grad
        return np.zeros((1, self.out_features), self.dtype) if grad is None else grad.reshape(1, -1)
