"""Batch normalisation: the course's ``BatchNorm`` and the maths of ``nn.BatchNorm1d``.

Training forward, per feature over the batch of m samples (handout eqs. 1-4):
    mu = mean(x),  var = mean((x - mu)^2),  x_hat = (x - mu) / sqrt(var + eps),
    y = gamma x_hat + beta,
and the running averages used at inference (eqs. 5-6):
    running = alpha running + (1 - alpha) batch statistic   (alpha = 1 - momentum).
Backward (handout eqs. 7-10 and appendix C), with delta = d(loss)/dy:
    dgamma = sum delta x_hat,  dbeta = sum delta,  dx_hat = delta gamma,
    dvar  = -1/2 sum dx_hat (x - mu) (var + eps)^(-3/2),
    dmean = -sum dx_hat (var + eps)^(-1/2) - (2/m) dvar sum (x - mu),
    dx    = dx_hat (var + eps)^(-1/2) + dvar (2/m) (x - mu) + dmean / m.

The course's ``BatchNorm(in_feature, alpha=0.9)`` uses eps = 1e-8, the biased batch
variance for the running average and (1, F) attributes; ``mytorch.nn.BatchNorm1d``
subclasses it with PyTorch's defaults (eps = 1e-5, momentum = 0.1, unbiased running
variance, (F,) buffers, accumulated gradients).
"""

from __future__ import annotations

import numpy as np

if not __package__:  # pragma: no cover - exercised by the course-autograder test in a subprocess
    # The course autograder puts mytorch/ on sys.path and runs `import batchnorm`.
    from _course_import import import_from_package

    import_from_package(__name__)

from mytorch.module import Module
from mytorch.parameter import Parameter
from mytorch.validation import (
    check_dtype,
    check_float_array,
    check_number,
    check_output_grad,
    check_positive_int,
    require_forward,
)

__all__ = ["BatchNorm"]


class BatchNorm(Module):
    """Batch normalisation over the batch axis (CMU 11-785 HW1P1 ``mytorch/batchnorm.py``).

    Parameters
    ----------
    in_feature : int
        Number of features F.
    alpha : float
        Weight of the old running statistic in the running average (course default 0.9).
    eps : float
        Added to the variance before the square root (course: 1e-8).
    momentum : float or None, keyword only
        PyTorch's form of ``alpha`` (momentum = 1 - alpha); overrides ``alpha`` when
        given. ``None`` together with ``cumulative_average=True`` means a cumulative
        average, as PyTorch's ``momentum=None``.
    affine : bool
        Whether gamma and beta are learned.
    track_running_stats : bool
        Whether running statistics are kept (and used in eval mode).
    unbiased_running_var : bool
        Update the running variance with the unbiased batch variance (PyTorch) instead
        of the biased one (the handout).
    dtype : numpy dtype
        float64 (default) or float32.

    Attributes
    ----------
    weight, bias : Parameter
        gamma and beta, shape (F,) (PyTorch's names and layout).
    gamma, beta, dgamma, dbeta : numpy.ndarray
        The course's (1, F) views of the parameters and their gradients.
    running_mean, running_var : numpy.ndarray
        Running statistics, (1, F) views for the course (buffers of shape (F,)).
    mean, var, norm : numpy.ndarray
        Batch mean and variance (1, F) and x_hat (N, F) of the last training forward.

    Shape:
        - Input: (N, F); N > 1 in training mode.
        - Output: (N, F).

    Examples
    --------
    >>> bn = BatchNorm(2)
    >>> bn(np.array([[1.0, 2.0], [3.0, 6.0]]))
    array([[-1., -1.],
           [ 1.,  1.]])
    """

    #: The course's rules (gradients replace the last ones); ``nn.BatchNorm1d`` sets False.
    course_conventions = True

    def __init__(
        self,
        in_feature: int,
        alpha: float = 0.9,
        eps: float = 1e-8,
        *,
        momentum: float | None = None,
        cumulative_average: bool = False,
        affine: bool = True,
        track_running_stats: bool = True,
        unbiased_running_var: bool = False,
        dtype=np.float64,
    ) -> None:
        super().__init__()
        where = type(self).__name__
        self.num_features = check_positive_int(in_feature, where, "num_features")
        self.eps = check_number(eps, where, "eps", low=0, low_inclusive=False)
        if cumulative_average:
            self.momentum = None
        elif momentum is not None:
            self.momentum = check_number(momentum, where, "momentum", low=0, high=1)
        else:
            self.momentum = 1.0 - check_number(alpha, where, "alpha", low=0, high=1)
        self.alpha = None if self.momentum is None else 1.0 - self.momentum
        self.affine = bool(affine)
        self.track_running_stats = bool(track_running_stats)
        self.unbiased_running_var = bool(unbiased_running_var)
        self.dtype = check_dtype(dtype, where)
        features = self.num_features
        if self.affine:
            self.weight = Parameter(np.ones(features, dtype=self.dtype))
            self.bias = Parameter(np.zeros(features, dtype=self.dtype))
        else:
            self.weight = None
            self.bias = None
        if self.track_running_stats:
            self.register_buffer("running_mean", np.zeros(features, dtype=self.dtype))
            self.register_buffer("running_var", np.ones(features, dtype=self.dtype))
            self.register_buffer("num_batches_tracked", np.array(0, dtype=np.int64))
        self.x: np.ndarray | None = None
        self.norm: np.ndarray | None = None
        self.out: np.ndarray | None = None
        self.mean: np.ndarray | None = None
        self.var: np.ndarray | None = None
        self._inv_std: np.ndarray | None = None
        self._used_batch_stats = True

    def __call__(self, x: np.ndarray, eval: bool | None = None) -> np.ndarray:  # noqa: A002
        return self.forward(x, eval)

    # ------------------------------------------------------------------ forward/backward
    def forward(self, x: np.ndarray, eval: bool | None = None) -> np.ndarray:  # noqa: A002
        """Normalise ``x`` (N, F); ``eval=True`` (the course's flag) uses running statistics.

        ``eval=None`` follows the module's mode (``train()`` / ``eval()``).
        """
        where = type(self).__name__
        check_float_array(
            x,
            where,
            features=self.num_features,
            dtype=self.dtype,
            finite=not self._input_is_trusted,
        )
        evaluating = (not self.training) if eval is None else bool(eval)
        use_batch_stats = not (evaluating and self.track_running_stats)
        if use_batch_stats:
            m = x.shape[0]
            if m < 2:
                raise ValueError(
                    f"{where}: expected more than 1 sample per feature in training mode, "
                    f"got input of shape {x.shape}; use a batch of 2 or more, or eval()"
                )
            mean = np.add.reduce(x, axis=0) / m  # eq. 1
            norm = x - mean
            # eq. 2 as one fused reduction: sum over the batch of (x - mu)^2.
            var = np.einsum("ij,ij->j", norm, norm) / m
            inv_std = 1.0 / np.sqrt(var + self.eps)
            self.mean, self.var = mean.reshape(1, -1), var.reshape(1, -1)
            if self.track_running_stats and not evaluating:
                self._update_running_stats(m)
        else:
            # Inference: running statistics are constants, so gamma (x - mu) / sigma + beta
            # is one affine map x * scale + shift: two passes instead of four. x_hat is
            # only formed if backward asks for it.
            inv_std = 1.0 / np.sqrt(self._buffers["running_var"] + self.eps)
            scale = inv_std if self.weight is None else self.weight.data * inv_std
            shift = -self._buffers["running_mean"] * scale
            if self.bias is not None:
                shift += self.bias.data
            self.x, self._inv_std, self._used_batch_stats, self.norm = x, inv_std, False, None
            self.out = x * scale
            self.out += shift
            return self.out
        norm *= inv_std  # eq. 3: x_hat, kept for backward
        self.x = x
        self._inv_std = inv_std
        self._used_batch_stats = use_batch_stats
        self.norm = norm
        if self.weight is None:
            self.out = norm.copy()
        else:
            self.out = norm * self.weight.data  # eq. 4
            self.out += self.bias.data
        return self.out

    def _update_running_stats(self, m: int) -> None:
        tracked = self._buffers["num_batches_tracked"]
        tracked += 1
        factor = 1.0 / float(tracked) if self.momentum is None else self.momentum
        var = self.var * (m / (m - 1)) if self.unbiased_running_var else self.var
        for name, batch_value in (("running_mean", self.mean), ("running_var", var)):
            running = self._buffers[name]
            running *= 1.0 - factor
            running += factor * batch_value.reshape(-1)

    def backward(self, delta: np.ndarray) -> np.ndarray:
        """Given delta = d(loss)/dy (N, F), store dgamma, dbeta; return d(loss)/dx (N, F).

        Notes
        -----
        The handout's dvar and dmean (module docstring) simplify, because
        sum(x - mu) = 0 and x - mu = x_hat / inv_std, to

            dx = gamma inv_std (delta - dbeta / m - x_hat dgamma / m),

        with dbeta = sum delta and dgamma = sum delta x_hat: the same value in three
        passes over the batch instead of nine. With running statistics (eval mode)
        mu and var are constants and dx = gamma inv_std delta.
        """
        where = f"{type(self).__name__}.backward"
        require_forward(self.x, where)
        if self.norm is None:  # after an inference forward: form x_hat now
            self.norm = (self.x - self._buffers["running_mean"]) * self._inv_std
        check_output_grad(
            delta,
            where,
            self.norm.shape,
            name="delta",
            ndim=2,
            dtype=self.dtype,
            allow_empty=False,
            finite=not self._input_is_trusted,
        )
        norm = self.norm
        grad_beta = np.add.reduce(delta, axis=0)  # eq. 8
        grad_gamma = np.einsum("ij,ij->j", delta, norm)  # eq. 9
        scale = self._inv_std if self.weight is None else self.weight.data * self._inv_std
        if self._used_batch_stats:
            m = delta.shape[0]
            dx = norm * (grad_gamma / m)
            np.subtract(delta, dx, out=dx)
            dx -= grad_beta / m
            dx *= scale
        else:
            dx = delta * scale
        if self.affine:
            if self.course_conventions:
                self.weight.grad, self.bias.grad = grad_gamma, grad_beta
            else:
                self.weight.accumulate_grad(grad_gamma)
                self.bias.accumulate_grad(grad_beta)
        return dx

    # ------------------------------------------------------------------ course names
    @property
    def gamma(self) -> np.ndarray:
        """gamma (1, F): a view of ``weight``."""
        return self.weight.data.reshape(1, -1)

    @gamma.setter
    def gamma(self, value: np.ndarray) -> None:
        self.weight.data[...] = np.asarray(value).reshape(-1)

    @property
    def beta(self) -> np.ndarray:
        """beta (1, F): a view of ``bias``."""
        return self.bias.data.reshape(1, -1)

    @beta.setter
    def beta(self, value: np.ndarray) -> None:
        self.bias.data[...] = np.asarray(value).reshape(-1)

    @property
    def dgamma(self) -> np.ndarray:
        """d(loss)/d(gamma), (1, F): the sum over the batch of delta * x_hat."""
        grad = self.weight.grad
        return np.zeros((1, self.num_features), self.dtype) if grad is None else grad.reshape(1, -1)

    @property
    def dbeta(self) -> np.ndarray:
        """d(loss)/d(beta), (1, F): the sum over the batch of delta."""
        grad = self.bias.grad
        return np.zeros((1, self.num_features), self.dtype) if grad is None else grad.reshape(1, -1)

    @property
    def running_mean(self) -> np.ndarray:
        """Running mean E[x], (1, F) view of the (F,) buffer."""
        return self._buffers["running_mean"].reshape(1, -1)

    @property
    def running_var(self) -> np.ndarray:
        """Running variance Var[x], (1, F) view of the (F,) buffer."""
        return self._buffers["running_var"].reshape(1, -1)

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
            f"affine={self.affine}, track_running_stats={self.track_running_stats}"
        )
