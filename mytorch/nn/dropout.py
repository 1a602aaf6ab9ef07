"""Dropout: randomly zero units during training (the notes' regulariser, 000 section 7.8.2).

Two forms that agree in expectation: :class:`Dropout`, PyTorch's inverted dropout (drop
probability p, kept units scaled by 1 / (1 - p) in training, nothing done at test time),
and :class:`NotesDropout`, the lecture notes' (keep probability, kept units left as they
are in training, every activation scaled by the keep probability at test time).
"""

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

__all__ = ["Dropout", "NotesDropout"]


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


class NotesDropout(Module):
    r"""The lecture notes' dropout (000, section 7.8.2): 0/1 masks, scaled at test time.

    In training, each unit is kept with probability ``keep_prob`` and its activation
    left unscaled, :math:`a = f(z) * d` with :math:`d` a vector of 0s and 1s; in
    evaluation every activation is multiplied by ``keep_prob``, "to achieve the same
    average activation levels" (the notes multiply the weights that follow by it,
    which gives the next layer the same input). Backward multiplies by the same mask
    (evaluation: by ``keep_prob``).

    Parameters
    ----------
    keep_prob : float
        Probability that a unit is kept, in [0, 1]. The notes call it p and say "it is
        common to set p to 0.5". (They also say a unit is zeroed "with probability p";
        the test-time factor p keeps the average activation only if p is the keep
        probability, so MyTorch reads p as that and names it ``keep_prob``.)
    rng : numpy.random.Generator or int or None
        Source of the masks; an int seeds a new Generator (reproducible masks).

    Shape:
        - Input: any shape. Output: same shape.

    Notes
    -----
    **Relation to** :class:`Dropout` (PyTorch's inverted dropout, whose ``p`` is the
    *drop* probability): ``NotesDropout(k)`` and ``Dropout(p=1 - k)`` keep a unit with
    the same probability k. For an input x, both give in expectation what they give at
    test time: :math:`E[d x] = k x` (``NotesDropout``: training and evaluation both
    average :math:`k x`) and :math:`E[d x / k] = x` (``Dropout``). So a network trained
    with one computes exactly what the other computes with the next layer's weights
    multiplied (``NotesDropout``) or divided (``Dropout``) by k. With the same ``rng``
    seed the two drop the same units (a unit is kept where a uniform draw u in [0, 1)
    has u >= 1 - k, as ``Dropout`` draws), and in training
    ``NotesDropout(k)(x) == k * Dropout(1 - k)(x)`` to rounding.

    Examples
    --------
    >>> drop = NotesDropout(0.5, rng=0)
    >>> drop(np.ones((1, 4)))
    array([[1., 0., 0., 0.]])
    >>> drop.eval()(np.ones((1, 4)))
    array([[0.5, 0.5, 0.5, 0.5]])
    """

    def __init__(
        self, keep_prob: float = 0.5, rng: np.random.Generator | int | None = None
    ) -> None:
        super().__init__()
        self.keep_prob = check_number(keep_prob, "NotesDropout", "keep_prob", low=0, high=1)
        self.rng = check_rng(rng, "NotesDropout")
        self.mask: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Return x * d (d: 0s and 1s, kept with probability keep_prob) in training mode,
        x * keep_prob in evaluation mode."""
        check_float_array(x, "NotesDropout", ndim=None, allow_empty=True)
        if not self.training:
            self.mask = np.asarray(self.keep_prob, dtype=x.dtype)  # a 0-d mask
            return x * self.mask
        if self.keep_prob == 1:
            self.mask = np.ones((), dtype=x.dtype)
            return x.copy()
        # The same comparison as Dropout's (u >= drop probability), so that one seed
        # drops the same units in both.
        draws = self.rng.random(x.shape, dtype=x.dtype)
        self.mask = (draws >= 1.0 - self.keep_prob).astype(x.dtype)
        return x * self.mask

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        """Return grad_output * d (evaluation: grad_output * keep_prob)."""
        where = "NotesDropout.backward"
        require_forward(self.mask, where)
        shape = self.mask.shape if self.mask.ndim else None
        check_output_grad(grad_output, where, shape)
        return grad_output * self.mask

    def get_config(self) -> dict:
        return {"keep_prob": self.keep_prob}

    def extra_repr(self) -> str:
        return f"keep_prob={self.keep_prob}"
