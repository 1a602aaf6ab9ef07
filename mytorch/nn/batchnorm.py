"""``nn.BatchNorm1d``: the core ``BatchNorm`` with PyTorch's defaults."""

from __future__ import annotations

import numpy as np

from mytorch.batchnorm import BatchNorm as _CoreBatchNorm

__all__ = ["BatchNorm1d"]


class BatchNorm1d(_CoreBatchNorm):
    """Batch normalisation of (N, C) input (``torch.nn.BatchNorm1d``).

    Same maths and code as the course's :class:`mytorch.batchnorm.BatchNorm`, with
    PyTorch's defaults: eps = 1e-5, momentum = 0.1 (``running = (1 - momentum) *
    running + momentum * batch``), the unbiased batch variance in the running
    variance, (C,) buffers and accumulated gradients. ``momentum=None`` gives a
    cumulative average.

    Parameters
    ----------
    num_features : int
        C, the number of features.
    eps : float
        Added to the variance for stability.
    momentum : float or None
        Weight of the new batch statistic in the running average.
    affine : bool
        Learn gamma (``weight``) and beta (``bias``).
    track_running_stats : bool
        Keep running statistics and use them in eval mode.
    dtype : numpy dtype
        float64 (default) or float32.

    Shape:
        - Input: (N, C). Output: (N, C).

    Examples
    --------
    >>> bn = BatchNorm1d(3)
    >>> sorted(bn.state_dict())
    ['bias', 'num_batches_tracked', 'running_mean', 'running_var', 'weight']
    """

    course_conventions = False

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        *,
        dtype=np.float64,
    ) -> None:
        super().__init__(
            num_features,
            eps=eps,
            momentum=momentum,
            cumulative_average=momentum is None,
            affine=affine,
            track_running_stats=track_running_stats,
            unbiased_running_var=True,
            dtype=dtype,
        )

    @property
    def running_mean(self) -> np.ndarray:
        """Running mean, shape (C,)."""
        return self._buffers.get("running_mean")

    @property
    def running_var(self) -> np.ndarray:
        """Running variance, shape (C,)."""
        return self._buffers.get("running_var")
