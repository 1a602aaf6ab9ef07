"""Dropout: randomly zero units during training (the notes' regulariser)."""

from __future__ import annotations

import numpy as np

from mytorch.nn.module import Module
from mytorch.validation import (
    check_float_array,
    check_number,
    check_output_grad,
    check_rng,
    require_forward,
)

__all__ = ["Dropout"]


class Dropout(Module):
    """Inverted dropout (PyTorch's ``Dropout``).

    In training mode each element is kept with probability 1 - p and scaled by
    1 / (1 - p), so the expected output equals the input and nothing needs rescaling
    at test time; in eval mode the input passes through unchanged.

    Parameters
    ----------
    p : float
        Probability of zeroing an element, in [0, 1].
    rng : numpy.random.Generator or int or None
        Source of the masks; an int seeds a new Generator (reproducible masks).

    Shape:
        - Input: any shape. Output: same shape.

    Examples
    --------
    >>> drop = Dropout(0.5, rng=0)
    >>> sorted(set(drop(np.ones((1, 8))).ravel().tolist()))  # zeroed, or scaled by 1 / (1 - p)
    [0.0, 2.0]
    """

    def __init__(self, p: float = 0.5, rng: np.random.Generator | int | None = None) -> None:
        super().__init__()
        self.p = check_number(p, "Dropout", "p", low=0, high=1)
        self.rng = check_rng(rng, "Dropout")
        self.mask: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Return x * mask / (1 - p) in training mode, x in eval mode."""
        check_float_array(x, "Dropout", ndim=None, allow_empty=True)
        if not self.training or self.p == 0:
            self.mask = np.ones((), dtype=x.dtype)
            return x
        if self.p == 1:
            self.mask = np.zeros_like(x)
            return self.mask.copy()
        # The mask already holds the 1/(1-p) scale, so backward is one multiply.
        keep = self.rng.random(x.shape, dtype=x.dtype) >= self.p
        self.mask = keep * x.dtype.type(1.0 / (1.0 - self.p))
        return x * self.mask

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        """Return grad_output * mask (the same units are dropped and scaled)."""
        where = "Dropout.backward"
        require_forward(self.mask, where)
        # A 0-d mask (evaluation, or p = 0) fits any shape.
        shape = self.mask.shape if self.mask.ndim else None
        check_output_grad(grad_output, where, shape)
        return grad_output * self.mask

    def get_config(self) -> dict:
        return {"p": self.p}

    def extra_repr(self) -> str:
        return f"p={self.p}"
