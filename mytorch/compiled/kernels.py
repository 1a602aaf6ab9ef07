"""The fused steps of the compiled step, by backend: in-place NumPy passes or numba loops.

Both implementations have one interface (``FUSED_ACTIVATIONS``, ``bias_activation``,
``times_derivative``):

* ``numpy_kernels.NumpyKernels``: the passes of the reference layers, in place on the
  step's own buffers, with the reference's exact bits;
* ``numba_loops.NumbaKernels``: one compiled loop per step where that gives the same
  bits (bias + ReLU, every derivative); see there.

Each works on a C-contiguous (N, F) array of float32 or float64.
"""

from __future__ import annotations

from typing import Any

from mytorch.compiled.numpy_kernels import NumpyKernels

__all__ = ["NumpyKernels", "for_backend"]


def for_backend(backend: str) -> Any:
    """The kernels of ``backend`` ("numpy" or "numba")."""
    if backend == "numba":
        from mytorch.compiled.numba_loops import NumbaKernels

        return NumbaKernels
    return NumpyKernels
