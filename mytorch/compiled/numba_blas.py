"""NumPy's own BLAS, called from numba's compiled loops.

numba's ``np.dot`` calls SciPy's OpenBLAS, a second library with a pool of threads of its
own beside NumPy's. OpenBLAS's idle threads spin for about a tenth of a second after a
product, so a whole numba epoch that starts after NumPy's BLAS ran (the input's check,
the caller's products) has two pools contending for the same cores, and every product
waits for a descheduled thread: measured on 2 cores, hw1's epoch (batch 100) took
1,000-1,070 us a step that way, against 530 us once NumPy's threads had gone to sleep.

NumPy's wheels ship OpenBLAS with 64-bit integers and prefixed names
(``scipy_cblas_dgemm64_``). :func:`gemm_address` finds that function in the library NumPy
loaded, and :func:`gemm` (a numba intrinsic) calls it through its address, so the whole
epoch's products run on NumPy's one pool of threads, with the bits of NumPy's ``matmul``
(the same library and the same arguments). Where NumPy was built another way (MKL, a
system BLAS) the address is 0 and the loops use ``np.dot``.

The address is an argument, not a constant baked into the code, so numba can cache the
compiled loops on disk.
"""

from __future__ import annotations

import ctypes
from functools import cache
from pathlib import Path

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

__all__ = ["ROW_MAJOR", "NO_TRANS", "TRANS", "gemm", "gemm_address"]

# CBLAS's enumerations.
ROW_MAJOR, NO_TRANS, TRANS = 101, 111, 112
_SYMBOLS = {
    np.dtype(np.float64): "scipy_cblas_dgemm64_",
    np.dtype(np.float32): "scipy_cblas_sgemm64_",
}


def _numpy_blas_libraries() -> list[Path]:
    """The OpenBLAS files shipped inside NumPy's wheel (Linux, macOS, Windows layouts)."""
    package = Path(np.__file__).parent
    folders = [package.parent / "numpy.libs", package / ".dylibs", package.parent / "numpy.libs"]
    return sorted(
        path
        for folder in folders
        if folder.is_dir()
        for path in folder.iterdir()
        if "openblas64" in path.name
    )


@cache
def gemm_address(dtype: np.dtype) -> int:
    """The address of NumPy's ``cblas_?gemm`` (64-bit integers) for ``dtype``, or 0."""
    symbol = _SYMBOLS.get(np.dtype(dtype))
    if symbol is None:
        return 0
    for path in _numpy_blas_libraries():
        try:
            library = ctypes.CDLL(str(path))  # already loaded by NumPy: the same copy
            function = getattr(library, symbol)
        except (OSError, AttributeError):
            continue
        return int(ctypes.cast(function, ctypes.c_void_p).value or 0)
    return 0


@intrinsic
def _call(typingctx, address, transpose_a, transpose_b, m, n, k, a, lda, b, ldb, c, ldc):  # noqa: ARG001
    """cblas_?gemm(RowMajor, ta, tb, m, n, k, 1, a, lda, b, ldb, 0, c, ldc) at ``address``."""
    real = a.dtype
    signature = types.void(address, transpose_a, transpose_b, m, n, k, a, lda, b, ldb, c, ldc)

    def codegen(context, builder, sig, args):
        address, transpose_a, transpose_b, m, n, k, a, lda, b, ldb, c, ldc = args
        i32, i64 = ir.IntType(32), ir.IntType(64)
        scalar = context.get_value_type(real)
        pointer = scalar.as_pointer()
        # (order, transa, transb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
        arguments = [i32, i32, i32, i64, i64, i64, scalar, pointer, i64, pointer, i64]
        function_type = ir.FunctionType(ir.VoidType(), [*arguments, scalar, pointer, i64])
        function = builder.inttoptr(address, function_type.as_pointer())

        def data(array_value, array_type):
            array = context.make_array(array_type)(context, builder, array_value)
            return builder.bitcast(array.data, pointer)

        array_types = sig.args[6], sig.args[8], sig.args[10]
        builder.call(
            function,
            [
                ir.Constant(i32, ROW_MAJOR),
                builder.trunc(transpose_a, i32),
                builder.trunc(transpose_b, i32),
                m,
                n,
                k,
                ir.Constant(scalar, 1.0),
                data(a, array_types[0]),
                lda,
                data(b, array_types[1]),
                ldb,
                ir.Constant(scalar, 0.0),
                data(c, array_types[2]),
                ldc,
            ],
        )
        return context.get_dummy_value()

    return signature, codegen


@njit(cache=True, nogil=True)
def gemm(address, a, transpose_a, b, transpose_b, c):  # pragma: no cover - compiled
    """``c = op(a) @ op(b)`` through the ``cblas_?gemm`` at ``address`` (``op`` is the
    transpose where its flag is set); ``a``, ``b`` and ``c`` are C-contiguous and of
    one dtype, ``c`` of the product's shape."""
    m, n = c.shape
    k = a.shape[0] if transpose_a else a.shape[1]
    _call(
        address,
        TRANS if transpose_a else NO_TRANS,
        TRANS if transpose_b else NO_TRANS,
        m,
        n,
        k,
        a,
        a.shape[1],
        b,
        b.shape[1],
        c,
        c.shape[1],
    )
