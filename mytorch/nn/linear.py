"""``nn.Linear``: the core ``Linear`` with PyTorch's constructor and gradient rules."""

from __future__ import annotations

import numpy as np

from mytorch.linear import Linear as _CoreLinear

__all__ = ["Linear"]


class Linear(_CoreLinear):
    """Fully connected layer y = x weight^T + bias (``torch.nn.Linear``).

    Same maths and code as the course's :class:`mytorch.linear.Linear`; only the
    defaults differ: gradients are d(loss)/d(weight) of whatever loss comes back
    (no averaging) and add up over backward calls until ``zero_grad()``.

    Parameters
    ----------
    in_features, out_features : int
        Input and output sizes.
    bias : bool
        Whether to learn an additive bias.
    dtype : numpy dtype
        float64 (default, NumPy's) or float32.
    rng : numpy.random.Generator or int or None
        Seed or Generator for PyTorch's default init, U(-1/sqrt(in), 1/sqrt(in)).

    Shape:
        - Input: (N, in_features). Output: (N, out_features).

    Examples
    --------
    >>> layer = Linear(20, 30, rng=0)
    >>> layer(np.ones((128, 20))).shape
    (128, 30)
    >>> layer.weight.shape
    (30, 20)
    """

    course_conventions = False

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        *,
        dtype=np.float64,
        rng: np.random.Generator | int | None = None,
    ) -> None:
        if not isinstance(bias, (bool, np.bool_)):
            raise TypeError(f"Linear: expected bias to be a bool, got {bias!r}")
        super().__init__(in_features, out_features, bias=bool(bias), dtype=dtype, rng=rng)
