"""Batch normalisation, ``torch.nn.BatchNorm1d``.

Training forward, per feature over a batch of m samples (the CMU handout's eqs. 1-4;
the notes' section on batch normalisation). A batch is (N, C): N samples of C
features; an input (N, C, L) holds m = N L samples of its C features (one per position,
as PyTorch normalises it), and is normalised as the (N L, C) matrix of those samples.

    mu = mean(x),  var = mean((x - mu)^2),  x_hat = (x - mu) / sqrt(var + eps),
    y = gamma x_hat + beta,

and the running averages used at inference (eqs. 5-6):

    running = (1 - momentum) running + momentum batch_statistic.

Backward (eqs. 7-10), with delta = d(loss)/dy:

    dgamma = sum delta x_hat,   dbeta = sum delta,   dx_hat = delta gamma,
    dvar  = -1/2 sum dx_hat (x - mu) (var + eps)^(-3/2),
    dmean = -sum dx_hat (var + eps)^(-1/2) - (2/m) dvar sum (x - mu),
    dx    = dx_hat (var + eps)^(-1/2) + dvar (2/m) (x - mu) + dmean / m.

The course's ``BatchNorm`` (``mytorch/batchnorm.py``) is this layer with the course's
constructor, names and conventions.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from mytorch.nn.module import Module
from mytorch.nn.parameter import Parameter
from mytorch.validation import (
    check_device,
    check_dtype,
    check_float_array,
    check_number,
    check_output_grad,
    check_positive_int,
    require_forward,
)

__all__ = ["BatchNorm1d"]


class BatchNorm1d(Module):
    """Batch normalisation of (N, C) or (N, C, L) input (``torch.nn.BatchNorm1d``).

    Parameters
    ----------
    num_features : int
        C, the number of features.
    eps : float
        Added to the variance for stability.
    momentum : float or None
        Weight of the new batch statistic in the running average; ``None`` gives a
        cumulative average (PyTorch's ``momentum=None``).
    affine : bool
        Learn gamma (``weight``) and beta (``bias``).
    track_running_stats : bool
        Keep running statistics and use them in eval mode.
    device : None or 'cpu'
        PyTorch's argument; MyTorch computes on the CPU.
    dtype : numpy dtype or None
        float64 (default; also for None) or float32.
    bias : bool
        With ``affine``, learn beta too (keyword only, as in PyTorch); False keeps
        gamma alone (no ``bias`` parameter).

    Attributes
    ----------
    weight, bias : Parameter or None
        gamma and beta, shape (C,) (``bias`` is None with ``bias=False``).
    running_mean, running_var : numpy.ndarray
        Buffers of shape (C,); the running variance takes the *unbiased* batch variance,
        as in PyTorch.
    x, x_hat : numpy.ndarray
        The last input's samples and their normalised form, (m, C), kept for
        backward: the input itself for (N, C) input, its (N L, C) samples for (N, C, L).
    batch_mean, batch_var : numpy.ndarray
        The last training batch's statistics, (C,).

    Shape:
        - Input: (N, C) or (N, C, L); more than one sample per feature (N L > 1) in
          training mode. Output: the input's shape.

    Examples
    --------
    >>> bn = BatchNorm1d(3)
    >>> sorted(bn.state_dict())
    ['bias', 'num_batches_tracked', 'running_mean', 'running_var', 'weight']
    >>> bn(np.array([[1.0, 2.0, 0.0], [3.0, 6.0, 0.0]])).round(3)
    array([[-1., -1.,  0.],
           [ 1.,  1.,  0.]])
    """

    #: The input ranks taken: (N, C) or (N, C, L) (the course's BatchNorm: (N, C) only).
    input_ndim: int | tuple[int, ...] = (2, 3)

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        device: str | None = None,
        dtype: npt.DTypeLike = np.float64,
        *,
        bias: bool = True,
    ) -> None:
        super().__init__()
        where = type(self).__name__
        check_device(device, where)
        if not isinstance(bias, (bool, np.bool_)):
            raise TypeError(f"{where}: expected bias to be a bool, got {bias!r}")
        dtype = np.float64 if dtype is None else dtype
        self.num_features = check_positive_int(num_features, where, "num_features")
        self.eps = check_number(eps, where, "eps", low=0, low_inclusive=False)
        self.momentum = (
            None if momentum is None else check_number(momentum, where, "momentum", low=0, high=1)
        )
        self.affine = bool(affine)
        self.track_running_stats = bool(track_running_stats)
        self.dtype = check_dtype(dtype, where)
        features = self.num_features
        if self.affine:
            self.weight = Parameter(np.ones(features, dtype=self.dtype))
            self.bias = Parameter(np.zeros(features, dtype=self.dtype)) if bias else None
        else:
            self.weight = None
            self.bias = None
        if self.track_running_stats:
            self.register_buffer("running_mean", np.zeros(features, dtype=self.dtype))
            self.register_buffer("running_var", np.ones(features, dtype=self.dtype))
            self.register_buffer("num_batches_tracked", np.array(0, dtype=np.int64))
        self.x: np.ndarray | None = None
        self.x_hat: np.ndarray | None = None
        self.batch_mean: np.ndarray | None = None
        self.batch_var: np.ndarray | None = None
        self._inv_std: np.ndarray | None = None
        self._used_batch_stats = True
        self._input_shape: tuple[int, ...] | None = None  # of an (N, C, L) input

    # ------------------------------------------------------------------ forward/backward
    def forward(self, x: np.ndarray) -> np.ndarray:
        """Normalise ``x`` (N, C) or (N, C, L): batch statistics in training mode,
        running ones in eval."""
        return self.normalise(x, evaluating=not self.training)

    def normalise(self, x: np.ndarray, evaluating: bool) -> np.ndarray:
        """``forward`` with the mode given: running statistics iff ``evaluating`` (and kept)."""
        self._check_input(x)
        if x.ndim == 2:
            if self._input_shape is not None:  # (read first: a Module's setattr is slow)
                self._input_shape = None
            return self._normalise_samples(x, evaluating)
        # (N, C, L): the N L samples of C features as rows, and the result back.
        n, c, length = self._input_shape = x.shape
        y = self._normalise_samples(np.moveaxis(x, 1, -1).reshape(-1, c), evaluating)
        return np.moveaxis(y.reshape(n, length, c), -1, 1)

    def _check_input(self, x: np.ndarray) -> None:
        where = type(self).__name__
        check_float_array(x, where, ndim=self.input_ndim, dtype=self.dtype)
        if x.shape[1] != self.num_features:
            layout = "(N, {0})" if self.input_ndim == 2 else "(N, {0}) or (N, {0}, L)"
            raise ValueError(
                f"{where}: expected input with {self.num_features} features (shape "
                f"{layout.format(self.num_features)}), got shape {x.shape} "
                f"({x.shape[1]} features)"
            )

    def _normalise_samples(self, x: np.ndarray, evaluating: bool) -> np.ndarray:
        """Normalise the (m, C) samples ``x`` (eqs. 1-6)."""
        where = type(self).__name__
        if evaluating and self.track_running_stats:
            self.x = x
            return self._normalise_with_running_stats(x)
        m = x.shape[0]
        if m < 2:
            shape = x.shape if self._input_shape is None else self._input_shape
            raise ValueError(
                f"{where}: expected more than 1 sample per feature in training mode, "
                f"got input of shape {shape}; use a batch of 2 or more, or eval()"
            )
        mean = np.add.reduce(x, axis=0) / m  # eq. 1
        centred = x - mean
        var = np.einsum("ij,ij->j", centred, centred) / m  # eq. 2, one fused reduction
        inv_std = 1.0 / np.sqrt(var + self.eps)
        self.batch_mean, self.batch_var = mean, var
        if self.track_running_stats and not evaluating:
            self._update_running_stats(mean, var, m)
        x_hat = centred
        x_hat *= inv_std  # eq. 3
        self.x, self.x_hat, self._inv_std, self._used_batch_stats = x, x_hat, inv_std, True
        if self.weight is None:
            return x_hat.copy()
        y = x_hat * self.weight.data  # eq. 4
        if self.bias is not None:
            y += self.bias.data
        return y

    def _normalise_with_running_stats(self, x: np.ndarray) -> np.ndarray:
        # Inference: the statistics are constants, so gamma (x - mu) / sigma + beta is one
        # affine map x * scale + shift: two passes instead of four. x_hat is formed only
        # if backward asks for it.
        inv_std = 1.0 / np.sqrt(self._buffers["running_var"] + self.eps)
        scale = inv_std if self.weight is None else self.weight.data * inv_std
        shift = -self._buffers["running_mean"] * scale
        if self.bias is not None:
            shift += self.bias.data
        self._inv_std, self._used_batch_stats, self.x_hat = inv_std, False, None
        y = x * scale
        y += shift
        return y

    def running_var_update(self, batch_var: np.ndarray, m: int) -> np.ndarray:
        """The batch variance that enters the running variance: PyTorch's unbiased one."""
        return batch_var * (m / (m - 1))

    def _update_running_stats(self, mean: np.ndarray, var: np.ndarray, m: int) -> None:
        tracked = self._buffers["num_batches_tracked"]
        tracked += 1
        factor = 1.0 / float(tracked) if self.momentum is None else self.momentum
        new_values = (mean, self.running_var_update(var, m))
        for name, batch_value in zip(("running_mean", "running_var"), new_values, strict=True):
            running = self._buffers[name]
            running *= 1.0 - factor
            running += factor * batch_value  # eqs. 5-6

    def backward(self, delta: np.ndarray) -> np.ndarray:
        """Given delta = d(loss)/dy, store dgamma, dbeta; return d(loss)/dx (input's shape).

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
        if self.x_hat is None:  # after an inference forward: form x_hat now
            self.x_hat = (self.x - self._buffers["running_mean"]) * self._inv_std
        x_hat = self.x_hat
        shape = x_hat.shape if self._input_shape is None else self._input_shape
        check_output_grad(
            delta, where, shape, name="delta", ndim=len(shape), dtype=self.dtype, allow_empty=False
        )
        if self._input_shape is not None:  # (N, C, L): as the rows of its samples
            n, c, length = shape
            dx = self._backward_samples(np.moveaxis(delta, 1, -1).reshape(-1, c), x_hat)
            return np.moveaxis(dx.reshape(n, length, c), -1, 1)
        return self._backward_samples(delta, x_hat)

    def _backward_samples(self, delta: np.ndarray, x_hat: np.ndarray) -> np.ndarray:
        """Backward for (m, C) samples (eqs. 7-10, simplified as ``backward`` says)."""
        grad_beta = np.add.reduce(delta, axis=0)  # eq. 8
        grad_gamma = np.einsum("ij,ij->j", delta, x_hat)  # eq. 9
        scale = self._inv_std if self.weight is None else self.weight.data * self._inv_std
        if self._used_batch_stats:
            m = delta.shape[0]
            dx = x_hat * (grad_gamma / m)
            np.subtract(delta, dx, out=dx)
            dx -= grad_beta / m
            dx *= scale
        else:
            dx = delta * scale
        if self.affine:
            self.store_grad(self.weight, grad_gamma)
            if self.bias is not None:
                self.store_grad(self.bias, grad_beta)
        return dx

    def get_config(self) -> dict:
        config = {
            "num_features": self.num_features,
            "eps": self.eps,
            "momentum": self.momentum,
            "affine": self.affine,
            "track_running_stats": self.track_running_stats,
        }
        if self.affine and self.bias is None:
            # Only when off: model files written before ``bias`` existed have no such key.
            config["bias"] = False
        return config

    def extra_repr(self) -> str:
        bias = ", bias=False" if self.affine and self.bias is None else ""
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
            f"affine={self.affine}, track_running_stats={self.track_running_stats}{bias}"
        )
