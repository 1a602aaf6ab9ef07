"""NumPy's own BLAS, called from numba's compiled loops.

numba's ``np.dot`` calls SciPy's OpenBLAS, a second library with a pool of threads of its
own beside NumPy's. OpenBLAS's idle threads spin for up to about 0.2 s after a product,
so a whole numba epoch that starts after NumPy's BLAS ran (the input's check, the
caller's products) has two pools contending for the same cores, and every product waits
for a descheduled thread: measured on 2 cores, hw1's epoch (batch 100) took 1,000-1,800
us a step that way, against 530 us once NumPy's threads had gone to sleep.

NumPy's wheels ship OpenBLAS with 64-bit integers and prefixed names
(``scipy_cblas_dgemm64_``). :func:`blas_addresses` finds the matrix-matrix and
matrix-vector products in the library NumPy loaded, and :func:`gemm` calls them through
their addresses (numba intrinsics), so the whole epoch's products run on NumPy's one pool
of threads, with the bits of NumPy's ``matmul`` (the same library and the same
arguments). Where NumPy was built another way (MKL, a system BLAS) the addresses are 0
and :func:`gemm` uses numba's ``np.dot``.

The addresses are arguments, not constants baked into the code, so numba can cache the
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

__all__ = ["ROW_MAJOR", "NO_TRANS", "TRANS", "blas_addresses", "gemm"]

# CBLAS's enumerations.
ROW_MAJOR, NO_TRANS, TRANS = 101, 111, 112
#: (matrix-matrix, matrix-vector) products by dtype, as NumPy's wheel names them.
_SYMBOLS = {
    np.dtype(np.float64): ("scipy_cblas_dgemm64_", "scipy_cblas_dgemv64_"),
    np.dtype(np.float32): ("scipy_cblas_sgemm64_", "scipy_cblas_sgemv64_"),
}


def _numpy_blas_libraries() -> list[Path]:
    """The OpenBLAS files shipped inside NumPy's wheel: ``numpy.libs`` beside the package
    (Linux and Windows wheels), ``numpy/.dylibs`` (macOS)."""
    package = Path(np.__file__).parent
    folders = [package.parent / "numpy.libs", package / ".dylibs"]
    return sorted(
        path
        for folder in folders
        if folder.is_dir()
        for path in folder.iterdir()
        if "openblas64" in path.name
    )


@cache
def _addresses(dtype: np.dtype) -> tuple[int, int]:
    symbols = _SYMBOLS.get(np.dtype(dtype))
    if symbols is None:
        return 0, 0
    for path in _numpy_blas_libraries():
        try:
            library = ctypes.CDLL(str(path))  # already loaded by NumPy: the same copy
            functions = [getattr(library, symbol) for symbol in symbols]
        except (OSError, AttributeError):
            continue
        gemm_at, gemv_at = (int(ctypes.cast(f, ctypes.c_void_p).value or 0) for f in functions)
        return gemm_at, gemv_at
    return 0, 0


def blas_addresses(dtype: np.dtype) -> np.ndarray:
    """The addresses of NumPy's ``cblas_?gemm`` and ``cblas_?gemv`` (64-bit integers) for
    ``dtype``, as an int64 array of two for :func:`gemm`; zeros where there are none."""
    return np.array(_addresses(np.dtype(dtype)), np.int64)


def _data_pointer(context, builder, value, array_type, pointer):
    """The first element's address of the array ``value`` (numba type ``array_type``),
    as ``pointer``: what a BLAS routine takes for a matrix or vector."""
    array = context.make_array(array_type)(context, builder, value)
    return builder.bitcast(array.data, pointer)


@intrinsic
def _call_gemm(typingctx, address, transpose_a, transpose_b, m, n, k, a, lda, b, ldb, c, ldc):  # noqa: ARG001
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

        def data(index):  # the data pointer of the array argument at ``index``
            return _data_pointer(context, builder, args[index], sig.args[index], pointer)

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
                data(6),
                lda,
                data(8),
                ldb,
                ir.Constant(scalar, 0.0),
                data(10),
                ldc,
            ],
        )
        return context.get_dummy_value()

    return signature, codegen


@intrinsic
def _call_gemv(typingctx, address, transpose, m, n, a, lda, x, y):  # noqa: ARG001
    """cblas_?gemv(RowMajor, trans, m, n, 1, a, lda, x, 1, 0, y, 1) at ``address``."""
    real = a.dtype
    signature = types.void(address, transpose, m, n, a, lda, x, y)

    def codegen(context, builder, sig, args):
        address, transpose, m, n, a, lda, x, y = args
        i32, i64 = ir.IntType(32), ir.IntType(64)
        scalar = context.get_value_type(real)
        pointer = scalar.as_pointer()
        # (order, trans, m, n, alpha, a, lda, x, incx, beta, y, incy)
        arguments = [i32, i32, i64, i64, scalar, pointer, i64, pointer, i64]
        function_type = ir.FunctionType(ir.VoidType(), [*arguments, scalar, pointer, i64])
        function = builder.inttoptr(address, function_type.as_pointer())

        def data(index):  # the data pointer of the array argument at ``index``
            return _data_pointer(context, builder, args[index], sig.args[index], pointer)

        one = ir.Constant(i64, 1)
        builder.call(
            function,
            [
                ir.Constant(i32, ROW_MAJOR),
                builder.trunc(transpose, i32),
                m,
                n,
                ir.Constant(scalar, 1.0),
                data(4),
                lda,
                data(6),
                one,
                ir.Constant(scalar, 0.0),
                data(7),
                one,
            ],
        )
        return context.get_dummy_value()

    return signature, codegen


@njit(cache=True, nogil=True)
def gemm(blas, a, transpose_a, b, transpose_b, c):  # pragma: no cover - compiled
    """``c = op(a) @ op(b)`` through NumPy's BLAS at the addresses ``blas`` (from
    :func:`blas_addresses`; ``op`` is the transpose where its flag is set); ``a``, ``b``
    and ``c`` are of one dtype and row-major (C-contiguous, or rows of such an array: the
    leading dimension is taken from the row stride), ``c`` of the product's shape. With
    no addresses (zeros: NumPy has no OpenBLAS of its own), numba's ``np.dot``, on
    SciPy's BLAS.

    A single row (batch size 1) goes to the matrix-vector product, as NumPy's ``matmul``
    sends it (the same bits): OpenBLAS's matrix-matrix product with one row packs all of
    ``b`` first, and for large ``b`` that costs far more than the product (measured: 353
    against 31 us for 1024 x 1024).
    """
    if blas[0] == 0:
        if transpose_a and transpose_b:
            np.dot(a.T, b.T, c)
        elif transpose_a:
            np.dot(a.T, b, c)
        elif transpose_b:
            np.dot(a, b.T, c)
        else:
            np.dot(a, b, c)
        return
    m, n = c.shape
    lda, ldb, ldc = (
        a.strides[0] // a.itemsize,
        b.strides[0] // b.itemsize,
        c.strides[0] // c.itemsize,
    )
    if m == 1 and not transpose_a and blas[1] != 0:
        if transpose_b:  # c^T = b a^T, b of shape (n, k)
            _call_gemv(blas[1], NO_TRANS, n, b.shape[1], b, ldb, a, c)
        else:  # c^T = b^T a^T, b of shape (k, n)
            _call_gemv(blas[1], TRANS, b.shape[0], n, b, ldb, a, c)
        return
    k = a.shape[0] if transpose_a else a.shape[1]
    _call_gemm(
        blas[0],
        TRANS if transpose_a else NO_TRANS,
        TRANS if transpose_b else NO_TRANS,
        m,
        n,
        k,
        a,
        lda,
        b,
        ldb,
        c,
        ldc,
    )
