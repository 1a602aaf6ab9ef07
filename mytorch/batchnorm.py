"""The course's ``BatchNorm`` (CMU 11-785 HW1P1 ``mytorch/batchnorm.py``) over ``nn.BatchNorm1d``.

An adapter: the maths (handout eqs. 1-10) is :class:`mytorch.nn.BatchNorm1d`'s. This
file holds what the course fixes on top of it:

* the constructor ``BatchNorm(in_feature, alpha=0.9)`` with eps = 1e-8, where
  ``running = alpha running + (1 - alpha) batch_statistic`` (momentum = 1 - alpha);
* the *biased* batch variance in the running variance (eq. 6; PyTorch uses the
  unbiased one);
* ``forward(x, eval=False)``: the course's flag instead of ``train()`` / ``eval()``;
* the names ``gamma``, ``beta``, ``dgamma``, ``dbeta``, ``running_mean``,
  ``running_var``, ``mean``, ``var`` (all (1, F)), ``norm`` (x_hat) and ``out``;
* gradients that replace the last ones instead of adding up.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

if not __package__:  # pragma: no cover - exercised by the course-autograder test in a subprocess
    # The course autograder puts mytorch/ on sys.path and runs `import batchnorm`.
    from _course_import import import_from_package

    import_from_package(__name__)

from mytorch import nn
from mytorch.nn.parameter import Parameter
from mytorch.validation import check_number

__all__ = ["BatchNorm"]


class BatchNorm(nn.BatchNorm1d):
    """Batch normalisation over the batch axis with the course's API.

    Parameters
    ----------
    in_feature : int
        Number of features F.
    alpha : float
        Weight of the old running statistic in the running average (course default 0.9).
    eps : float
        Added to the variance before the square root (course: 1e-8).
    momentum : float or None
        PyTorch's form of ``alpha`` (momentum = 1 - alpha); overrides ``alpha`` when
        given (keyword only).
    affine : bool
        Whether gamma and beta are learned (keyword only).
    track_running_stats : bool
        Whether running statistics are kept (and used in eval mode; keyword only).
    dtype : numpy dtype
        float64 (default) or float32 (keyword only).

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
    out : numpy.ndarray
        The last output.

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

    input_ndim = 2  # the course's layout: a batch (N, F), never reshaped

    def __init__(
        self,
        in_feature: int,
        alpha: float = 0.9,
        eps: float = 1e-8,
        *,
        momentum: float | None = None,
        affine: bool = True,
        track_running_stats: bool = True,
        dtype: npt.DTypeLike = np.float64,
    ) -> None:
        where = type(self).__name__
        super().__init__(
            in_feature,
            eps=eps,
            momentum=0.1 if momentum is None else momentum,
            affine=affine,
            track_running_stats=track_running_stats,
            dtype=dtype,
        )
        if momentum is None:
            self.momentum = 1.0 - check_number(alpha, where, "alpha", low=0, high=1)
        self.alpha = 1.0 - self.momentum
        self.out: np.ndarray | None = None

    def __call__(self, x: np.ndarray, eval: bool | None = None) -> np.ndarray:  # noqa: A002
        return self.forward(x, eval)

    def forward(self, x: np.ndarray, eval: bool | None = None) -> np.ndarray:  # noqa: A002
        """Normalise ``x`` (N, F); ``eval=True`` (the course's flag) uses running statistics.

        ``eval=None`` follows the module's mode (``train()`` / ``eval()``).
        """
        self.out = self.normalise(x, evaluating=(not self.training) if eval is None else bool(eval))
        return self.out

    # ------------------------------------------------------------------ the course's rules
    def running_var_update(self, batch_var: np.ndarray, m: int) -> np.ndarray:
        """The handout's eq. 6 averages the biased batch variance."""
        return batch_var

    def store_grad(self, param: Parameter, grad: np.ndarray) -> None:
        """The course keeps the last backward's dgamma and dbeta (they replace, not add)."""
        param.grad = grad

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

    @property
    def norm(self) -> np.ndarray | None:
        """x_hat (N, F) of the last forward (the handout's name)."""
        return self.x_hat

    @property
    def mean(self) -> np.ndarray | None:
        """The last training batch's mean, (1, F)."""
        return None if self.batch_mean is None else self.batch_mean.reshape(1, -1)

    @property
    def var(self) -> np.ndarray | None:
        """The last training batch's (biased) variance, (1, F)."""
        return None if self.batch_var is None else self.batch_var.reshape(1, -1)
