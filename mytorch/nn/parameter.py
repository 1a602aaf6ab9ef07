"""A trainable array and its gradient."""

from __future__ import annotations

import numpy as np


class Parameter:
    """A trainable array of a module, with the gradient that ``backward`` leaves for it.

    PyTorch users know this as ``torch.nn.Parameter``. Here there is no autograd: a
    module's ``backward`` writes the gradient into ``grad`` itself, and an optimiser
    reads ``grad`` and updates ``data`` in place.

    Parameters
    ----------
    data : numpy.ndarray
        The values. The array is kept as given (no copy), so a module's views of it
        (the course's ``Linear.W`` is ``weight.data.T``) stay in step with it.

    Attributes
    ----------
    data : numpy.ndarray
        The values, any shape, a floating dtype.
    grad : numpy.ndarray or None
        d(loss)/d(data), same shape and dtype as ``data``; ``None`` until a backward
        pass has produced one (or after ``zero_grad(set_to_none=True)``). A backward
        pass after ``zero_grad()`` may write the new gradient into the array the
        previous one lived in (no allocation per step): copy ``grad`` to keep it.

    Examples
    --------
    >>> p = Parameter(np.zeros((2, 3)))
    >>> p.shape, p.grad is None
    ((2, 3), True)
    """

    __slots__ = ("data", "grad", "_spare")

    def __init__(self, data: np.ndarray) -> None:
        if not isinstance(data, np.ndarray) or not np.issubdtype(data.dtype, np.floating):
            raise TypeError(
                "Parameter: expected a floating-point numpy.ndarray, "
                f"got {type(data).__name__} with dtype {getattr(data, 'dtype', None)}"
            )
        self.data = data
        self.grad: np.ndarray | None = None
        self._spare: np.ndarray | None = None

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of ``data``."""
        return self.data.shape

    @property
    def dtype(self) -> np.dtype:
        """Dtype of ``data``."""
        return self.data.dtype

    def grad_buffer(self) -> np.ndarray:
        """An array of ``data``'s shape and dtype (contents unset) to compute a gradient in.

        The same array comes back step after step, so a layer can write each step's
        gradient with ``out=`` instead of allocating (a large fresh array costs page
        faults every step). It is never ``grad`` itself: while ``grad`` holds the last
        gradient (accumulation without ``zero_grad()``), a new array is made.
        """
        spare = self._spare
        if (
            spare is None
            or spare is self.grad
            or spare.shape != self.data.shape
            or spare.dtype != self.data.dtype
        ):
            # C order whatever data's layout: np.dot writes only into C-contiguous arrays.
            spare = self._spare = np.empty(self.data.shape, self.data.dtype)
        return spare

    def accumulate_grad(self, grad: np.ndarray) -> None:
        """Add ``grad`` to ``self.grad`` (or set it, if there is none yet).

        This is PyTorch's rule: gradients add up over backward passes until
        ``zero_grad`` clears them, which is what makes gradient accumulation work.
        """
        if self.grad is None:
            self.grad = grad
        else:
            self.grad += grad

    def __repr__(self) -> str:
        return f"Parameter(shape={self.data.shape}, dtype={self.data.dtype})"
