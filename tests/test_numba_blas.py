"""NumPy's own BLAS called from numba (``mytorch/compiled/numba_blas.py``) and the whole
compiled epoch's vectorised sigmoid (``numba_loops._sigmoid_rows``).

The products must be NumPy's ``matmul`` bit for bit (the same library, the same
arguments) in every orientation the epoch uses; the sigmoid within 2 ulp of the
reference's, with its ends (NaN, +-inf, overflow) the same.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("numba", reason="the compiled loops need the optional fast extra")

from mytorch import nn, optim  # noqa: E402
from mytorch.compiled import (  # noqa: E402
    compile_step,
    epoch,
    numba_blas,  # noqa: E402
)
from mytorch.compiled.numba_loops import _sigmoid_rows  # noqa: E402
from mytorch.nn.functional import sigmoid  # noqa: E402

DTYPES = [np.float64, np.float32]


def _address(dtype):
    addresses = numba_blas.blas_addresses(np.dtype(dtype))
    if not numba_blas._numpy_blas_libraries():
        pytest.skip("this NumPy was not built with its own OpenBLAS wheel library")
    assert addresses.dtype == np.int64 and (addresses != 0).all()
    return addresses


@pytest.mark.parametrize("dtype", DTYPES)
def test_gemm_is_numpys_matmul_bit_for_bit_in_every_orientation(dtype):
    address = _address(dtype)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((37, 91)).astype(dtype)
    weight = rng.standard_normal((13, 91)).astype(dtype)
    delta = rng.standard_normal((37, 13)).astype(dtype)
    cases = [
        (x, False, weight, True, x @ weight.T),  # forward: x W^T
        (delta, True, x, False, delta.T @ x),  # weight gradient: delta^T x
        (delta, False, weight, False, delta @ weight),  # input gradient: delta W
        (x[5:17], False, weight, True, x[5:17] @ weight.T),  # a batch: rows of X
        (x[4:5], False, weight, True, x[4:5] @ weight.T),  # batch size 1
        (delta[2:3], False, weight, False, delta[2:3] @ weight),
        (delta[2:3], True, x[2:3], False, delta[2:3].T @ x[2:3]),  # an outer product
    ]
    # One row times a large matrix (the matrix-vector product), both orientations.
    big = rng.standard_normal((600, 500)).astype(dtype)
    row, column_row = x[:1, :1].repeat(500, axis=1).copy(), delta[:1, :1].repeat(600, axis=1).copy()
    cases += [
        (row, False, big, True, row @ big.T),
        (column_row, False, big, False, column_row @ big),
    ]
    for a, transpose_a, b, transpose_b, expected in cases:
        out = np.full(expected.shape, np.nan, dtype)
        numba_blas.gemm(address, a, transpose_a, b, transpose_b, out)
        np.testing.assert_array_equal(out, expected)


def test_an_unknown_dtype_has_no_address():
    assert (numba_blas.blas_addresses(np.dtype(np.float16)) == 0).all()


@pytest.mark.parametrize("dtype", DTYPES)
def test_the_whole_epoch_on_numpys_blas_or_numbas_gives_the_same_training(dtype, monkeypatch):
    _address(dtype)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((96, 20)).astype(dtype)
    y = rng.integers(0, 5, 96)
    models = [
        nn.Sequential(
            nn.Linear(20, 16, rng=0, dtype=dtype),
            nn.Sigmoid(),
            nn.Linear(16, 5, rng=1, dtype=dtype),
        )
        for _ in range(2)
    ]
    steps = [
        compile_step(
            m,
            nn.CrossEntropyLoss(),
            optim.SGD(m.parameters(), lr=0.1, momentum=0.9),
            backend="numba",
        )
        for m in models
    ]
    losses = [steps[0].run_epoch(x, y, 16)]
    # np.dot: SciPy's BLAS
    monkeypatch.setattr(numba_blas, "blas_addresses", lambda dtype: np.zeros(2, np.int64))
    losses.append(steps[1].run_epoch(x, y, 16))
    assert epoch.plain_layers(steps[1]) is not None
    tol = 1e-12 if dtype == np.float64 else 1e-5
    assert losses[1] == pytest.approx(losses[0], rel=tol)
    for a, b in zip(models[0].parameters(), models[1].parameters(), strict=True):
        np.testing.assert_allclose(b.data, a.data, rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", DTYPES)
def test_the_vectorised_sigmoid_is_the_references_within_two_ulp(dtype):
    rng = np.random.default_rng(2)
    z = (rng.standard_normal((64, 33)) * 12).astype(dtype)
    bias = (rng.standard_normal(33) * 3).astype(dtype)
    expected = nn.Sigmoid()((z + bias).astype(np.float64))  # the exact value, rounded once
    got = z.copy()
    _sigmoid_rows(got, bias, True, np.empty((2, 33)), np.empty(33, np.int64))
    assert got.dtype == dtype
    ulp = np.spacing(np.abs(expected).astype(dtype)).astype(np.float64)
    assert np.max(np.abs(got - expected) / ulp) <= 2.0  # both round: up to 1 ulp each


@pytest.mark.parametrize("dtype", DTYPES)
def test_the_vectorised_sigmoid_keeps_the_references_ends(dtype):
    edges = np.array([[np.nan, np.inf, -np.inf, 800.0, -800.0, 0.0, -0.0, 40.0, -40.0]], dtype)
    got = edges.copy()
    _sigmoid_rows(got, edges[0], False, np.empty((2, 9)), np.empty(9, np.int64))
    expected = sigmoid(edges.astype(np.float64)).astype(dtype)  # the reference's function
    np.testing.assert_allclose(got, expected, rtol=float(np.finfo(dtype).eps), atol=0)
    assert np.isnan(got[0, 0])


def test_without_numpys_own_blas_library_the_address_is_0(monkeypatch, tmp_path):
    # NumPy built against MKL or a system BLAS: no such file, or a file without the
    # symbol; the epoch then uses np.dot.
    numba_blas._addresses.cache_clear()
    try:
        monkeypatch.setattr(numba_blas, "_numpy_blas_libraries", lambda: [])
        assert (numba_blas.blas_addresses(np.dtype(np.float64)) == 0).all()
        numba_blas._addresses.cache_clear()
        not_a_library = tmp_path / "libscipy_openblas64_-fake.so"
        not_a_library.write_bytes(b"not a shared library")
        monkeypatch.setattr(numba_blas, "_numpy_blas_libraries", lambda: [not_a_library])
        assert (numba_blas.blas_addresses(np.dtype(np.float32)) == 0).all()
    finally:
        numba_blas._addresses.cache_clear()


@pytest.mark.parametrize("shuffle", [False, True])
def test_the_whole_epoch_of_an_f_ordered_x_is_that_of_a_c_ordered_one(shuffle):
    # The compiled products take row-major batches: scikit-learn's checks, for one, pass
    # Fortran-ordered data, which must train exactly as the same data in C order.
    rng = np.random.default_rng(4)
    x = rng.standard_normal((50, 20))
    y = rng.integers(0, 5, 50)
    models = [
        nn.Sequential(nn.Linear(20, 16, rng=0), nn.ReLU(), nn.Linear(16, 5, rng=1))
        for _ in range(2)
    ]
    steps = [
        compile_step(m, nn.CrossEntropyLoss(), optim.Adam(m.parameters(), lr=0.01), backend="numba")
        for m in models
    ]
    for data, step in zip((x, np.asfortranarray(x)), steps, strict=True):
        assert step.compiles_whole_epochs
        for epoch_index in range(2):
            step.run_epoch(data, y, 8, shuffle=shuffle, rng=epoch_index)
    for a, b in zip(models[0].parameters(), models[1].parameters(), strict=True):
        np.testing.assert_array_equal(b.data, a.data)
