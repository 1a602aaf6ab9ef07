"""Blocked, multi-threaded elementwise passes: same bits as one pass, every element once."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

from mytorch import optim
from mytorch.nn.parameter import Parameter
from mytorch.optim.adam import _adam_kernel
from mytorch.optim.kernels import compiled as numba_kernels
from mytorch.optim.kernels import threaded as threads


@pytest.fixture
def restore_threads():
    # These tests are about the NumPy kernels: keep the optional compiled loops out.
    before, compiled = threads.get_num_threads(), numba_kernels.enabled()
    numba_kernels.set_enabled(False)
    yield
    threads.set_num_threads(before)
    numba_kernels.set_enabled(compiled)


@pytest.fixture
def small_blocks(monkeypatch, restore_threads):
    # Many blocks of an odd size out of small arrays, so the tests stay quick.
    monkeypatch.setattr(threads, "BLOCK_BYTES", 8 * 1000)
    monkeypatch.setattr(threads, "PARALLEL_MIN_SIZE", 1)


def _adam_arrays(size: int, dtype, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    data, grad, exp_avg = (rng.standard_normal(size).astype(dtype) for _ in range(3))
    exp_avg_sq = rng.random(size).astype(dtype)
    return [data, grad, exp_avg, exp_avg_sq, exp_avg_sq, np.empty(size, dtype)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n_threads", [1, 2, 3])
@pytest.mark.parametrize("size", [1, 999, 1000, 12_345])
def test_blocked_adam_kernel_is_bit_identical_to_one_pass(small_blocks, dtype, n_threads, size):
    threads.set_num_threads(n_threads)
    args = (0.99, 0.9, 0.999, False, 1e-8, 1e-3)
    whole, blocked = _adam_arrays(size, dtype), _adam_arrays(size, dtype)
    blocked[4] = blocked[3]  # exp_avg_sq passed twice, as Adam does without AMSGrad
    whole[4] = whole[3]
    _adam_kernel(*whole, *args)
    threads.for_each_chunk(_adam_kernel, blocked, *args)
    for a, b in zip(whole[:4], blocked[:4], strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(whole[0], _adam_arrays(size, dtype)[0])  # it did update


@pytest.mark.parametrize("n_threads", [1, 2, 4])
def test_every_element_is_visited_exactly_once_and_work_is_shared(small_blocks, n_threads):
    threads.set_num_threads(n_threads)
    counts = np.zeros(10_007, dtype=np.int64)
    seen = set()

    def kernel(block: np.ndarray) -> None:
        seen.add(threading.get_ident())
        block += 1

    threads.for_each_chunk(kernel, [counts])
    np.testing.assert_array_equal(counts, np.ones_like(counts))
    # The caller takes one share; pool threads the rest (an idle one may take two).
    assert threading.get_ident() in seen
    assert len(seen) == 1 if n_threads == 1 else 2 <= len(seen) <= n_threads


def test_small_or_non_contiguous_arrays_are_passed_whole(restore_threads):
    threads.set_num_threads(2)
    calls = []

    def kernel(a: np.ndarray, b: np.ndarray) -> None:
        calls.append((a, b))

    big = np.zeros((1000, 1000))
    threads.for_each_chunk(kernel, [big[:, ::2], big[:, 1::2]], min_size=1)
    small = np.zeros(10)
    threads.for_each_chunk(kernel, [small, small])
    assert len(calls) == 2
    assert calls[0][0].shape == (1000, 500) and calls[1][0] is small


def test_an_error_in_a_worker_thread_reaches_the_caller(small_blocks):
    threads.set_num_threads(2)

    def kernel(block: np.ndarray) -> None:
        if block[0] > 5000:
            raise FloatingPointError("boom in a worker")

    with pytest.raises(FloatingPointError, match="boom in a worker"):
        threads.for_each_chunk(kernel, [np.arange(10_000, dtype=np.float64)])


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2", None])
def test_set_num_threads_rejects_what_is_not_a_positive_integer(bad, restore_threads):
    with pytest.raises(ValueError, match=r"set_num_threads: expected a positive integer"):
        threads.set_num_threads(bad)


def test_default_is_the_cpus_this_process_may_use(restore_threads, monkeypatch):
    monkeypatch.setattr(threads, "_num_threads", None)
    assert threads.get_num_threads() == len(__import__("os").sched_getaffinity(0))


@pytest.mark.parametrize(
    "make, make_torch",
    [
        (lambda ps: optim.Adam(ps, lr=1e-2), lambda ps: torch.optim.Adam(ps, lr=1e-2)),
        (
            lambda ps: optim.AdamW(ps, lr=1e-2, weight_decay=0.1, amsgrad=True),
            lambda ps: torch.optim.AdamW(ps, lr=1e-2, weight_decay=0.1, amsgrad=True),
        ),
        (
            lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-3),
            lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-3),
        ),
        (lambda ps: optim.SGD(ps, lr=0.1), lambda ps: torch.optim.SGD(ps, lr=0.1)),
        (
            lambda ps: optim.Adagrad(ps, lr=0.1, lr_decay=0.01),
            lambda ps: torch.optim.Adagrad(ps, lr=0.1, lr_decay=0.01),
        ),
        (
            lambda ps: optim.RMSprop(ps, lr=1e-2, momentum=0.5, centered=True),
            lambda ps: torch.optim.RMSprop(ps, lr=1e-2, momentum=0.5, centered=True),
        ),
        (lambda ps: optim.Adadelta(ps, lr=0.5), lambda ps: torch.optim.Adadelta(ps, lr=0.5)),
    ],
    ids=[
        "Adam",
        "AdamW-amsgrad",
        "SGD-nesterov",
        "SGD-plain",
        "Adagrad",
        "RMSprop-centered-momentum",
        "Adadelta",
    ],
)
def test_a_large_parameter_updated_on_threads_matches_one_thread_and_torch(
    make, make_torch, restore_threads, close
):
    # Large enough (above PARALLEL_MIN_SIZE) for the real block size and thread pool.
    size = threads.PARALLEL_MIN_SIZE * 3 + 17
    rng = np.random.default_rng(1)
    start = rng.standard_normal(size)
    grads = [rng.standard_normal(size) for _ in range(4)]
    results = []
    for n_threads in (1, 2):
        threads.set_num_threads(n_threads)
        param = Parameter(start.copy())
        opt = make([param])
        for grad in grads:
            param.grad = grad.copy()
            opt.step()
        results.append(param.data)
    np.testing.assert_array_equal(results[0], results[1])
    assert not np.array_equal(results[0], start)

    twin = torch.nn.Parameter(torch.from_numpy(start.copy()))
    torch_opt = make_torch([twin])
    for grad in grads:
        twin.grad = torch.from_numpy(grad.copy())
        torch_opt.step()
    close(results[0], twin.detach().numpy(), f"{type(opt).__name__} after 4 steps")


@pytest.mark.parametrize(
    "make",
    [lambda ps: optim.NotesAdam(ps, lr=1e-2), lambda ps: optim.NotesAdadelta(ps, lr=0.1)],
    ids=["NotesAdam", "NotesAdadelta"],
)
def test_the_notes_optimisers_give_the_same_bits_on_threads(make, restore_threads):
    size = threads.PARALLEL_MIN_SIZE * 2 + 5
    rng = np.random.default_rng(2)
    start = rng.standard_normal(size)
    grads = [rng.standard_normal(size) for _ in range(3)]
    results = []
    for n_threads in (1, 2):
        threads.set_num_threads(n_threads)
        param = Parameter(start.copy())
        opt = make([param])
        for grad in grads:
            param.grad = grad.copy()
            opt.step()
        results.append(param.data)
    np.testing.assert_array_equal(results[0], results[1])
    assert not np.array_equal(results[0], start)
