"""The compiled step's BLAS threads (``mytorch/compiled/blas_threads.py``).

"as set" (the default) leaves the BLAS alone; a number or "fastest" sets it for each call
and puts it back after (an error too); "fastest" keeps the faster setting and leaves
small batches untimed. Training on one thread agrees with training on two within the
compiled step's tolerance, and a whole epoch cut into timed pieces is bit for bit one call.
"""

from __future__ import annotations

import copy
import time

import numpy as np
import pytest

from mytorch import nn, optim
from mytorch.compiled import compile_step
from mytorch.compiled.blas_threads import AS_SET, FASTEST, SMALL_PRODUCT, BlasThreads


class FakeLibrary:
    """A BLAS as threadpoolctl shows it: ``num_threads`` and ``set_num_threads``."""

    def __init__(self, threads: int) -> None:
        self.num_threads = threads
        self.settings: list[int] = []

    def set_num_threads(self, threads: int) -> None:
        self.num_threads = threads
        self.settings.append(threads)


def _choice(libraries, one_thread_seconds, as_set_seconds, widest=SMALL_PRODUCT):
    threads = BlasThreads(widest, FASTEST)
    threads._libraries = libraries

    def work():
        one = all(library.num_threads == 1 for library in libraries)
        time.sleep(one_thread_seconds if one else as_set_seconds)
        return "result"

    calls = 0
    while threads.deciding("step", 1):
        assert threads.run("step", 1, work) == "result"
        assert [library.num_threads for library in libraries] == [2] * len(libraries)
        calls += 1
    return threads, calls


def test_one_thread_is_kept_when_it_is_faster_and_the_blas_is_put_back_after_each_call():
    libraries = [FakeLibrary(2), FakeLibrary(2)]
    threads, calls = _choice(libraries, 0.001, 0.008)
    assert threads.chosen == {("step", 1): 1}
    assert calls == 1 + 4 * threads.trials  # a warm-up, then pairs of calls per setting
    before = list(libraries[0].settings)
    threads.run("step", 1, lambda: None)
    assert libraries[0].settings[len(before) :] == [1, 2]  # one thread, then put back


def test_a_choice_is_timed_again_when_its_lifetime_is_over():
    libraries = [FakeLibrary(2)]
    threads, _ = _choice(libraries, 0.001, 0.008)
    threads.lifetime = 0.0  # every choice expires at once
    threads.run("step", 1, lambda: None)
    assert ("step", 1) not in threads.chosen  # timing again, with no warm-up call
    assert sum(map(len, threads._times[("step", 1)].values())) == 0  # the pair settles first


def test_the_blas_setting_is_kept_when_one_thread_is_not_faster():
    libraries = [FakeLibrary(2)]
    threads, _ = _choice(libraries, 0.008, 0.001)
    assert threads.chosen == {("step", 1): AS_SET}
    settings = list(libraries[0].settings)
    threads.run("step", 1, lambda: None)
    assert libraries[0].settings == settings  # nothing set any more


def test_an_error_inside_a_one_thread_call_still_puts_the_blas_back():
    library = FakeLibrary(4)
    threads = BlasThreads(SMALL_PRODUCT, 1)
    threads._libraries = [library]

    def fail():
        assert library.num_threads == 1
        raise ArithmeticError("inside")

    with pytest.raises(ArithmeticError, match="inside"):
        threads.run("step", 1, fail)
    assert library.num_threads == 4


def test_as_set_the_default_never_touches_the_blas_and_a_number_caps_it():
    library = FakeLibrary(4)
    threads = BlasThreads(SMALL_PRODUCT)
    threads._libraries = [library]
    assert threads.setting == AS_SET and not threads.deciding("step", 1)
    threads.run("step", 1, lambda: None)
    assert library.settings == []
    capped = BlasThreads(SMALL_PRODUCT, 2)
    capped._libraries = [library]
    capped.run("step", 1, lambda: library.num_threads)
    assert library.settings == [2, 4]
    assert capped.run("step", 1, lambda: library.num_threads) == 2


@pytest.mark.parametrize("setting", ["all", 0, -1, 1.5, True, None])
def test_a_bad_setting_is_refused_with_the_choices(setting):
    model = _wide()
    with pytest.raises(ValueError, match="compile_step: expected blas_threads 'as set', 'fastest'"):
        compile_step(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1),
                     blas_threads=setting)  # fmt: skip


def test_a_blas_on_one_thread_or_no_threadpoolctl_has_nothing_to_choose():
    for libraries in ([FakeLibrary(1)], []):
        threads = BlasThreads(SMALL_PRODUCT, FASTEST)
        threads._libraries = libraries
        threads.run("step", 1, lambda: None)  # warm-up
        threads.run("step", 1, lambda: None)
        assert threads.chosen == {("step", 1): AS_SET}
        assert all(not library.settings for library in libraries)


def test_batches_whose_products_any_blas_runs_on_one_thread_are_not_timed():
    threads = BlasThreads(784 * 128, FASTEST)
    assert not threads.deciding("step", 1)  # 784 x 128 x 1 multiply-adds
    assert threads.deciding("step", 3)
    threads.run("step", 1, lambda: None)
    assert not threads._times and not threads.chosen


def _wide(dtype=np.float64, sizes=(64, 512, 10)):
    layers = [nn.Linear(sizes[0], sizes[1], rng=0, dtype=dtype), nn.ReLU()]
    return nn.Sequential(*layers, nn.Linear(sizes[1], sizes[2], rng=1, dtype=dtype))


def _assert_same_bits(a, b, opt_a, opt_b):
    for (name, x), (_, y) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        np.testing.assert_array_equal(x, y, err_msg=name)
    state_a, state_b = opt_a.state_dict()["state"], opt_b.state_dict()["state"]
    for index, state in state_a.items():
        for key, value in state.items():
            np.testing.assert_array_equal(state_b[index][key], value, err_msg=f"{key}[{index}]")


OPTIMIZERS = {
    "SGD": lambda p: optim.SGD(p, lr=0.05, momentum=0.9),
    "Adam": lambda p: optim.Adam(p, lr=1e-3),
}


@pytest.mark.parametrize("name", list(OPTIMIZERS))
@pytest.mark.parametrize("shuffle", [False, True])
def test_a_whole_epoch_cut_into_timed_pieces_equals_one_call(name, shuffle):
    pytest.importorskip("numba", reason="the whole compiled epoch needs the fast extra")
    model = _wide()
    assert 8 * 64 * 512 >= SMALL_PRODUCT  # batches of 8 are timed: the epoch is cut
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((150, 64)), rng.integers(0, 10, 150)
    twin = copy.deepcopy(model)
    opt, twin_opt = OPTIMIZERS[name](model.parameters()), OPTIMIZERS[name](twin.parameters())
    pieces = compile_step(model, nn.CrossEntropyLoss(), opt, backend="numba", blas_threads=FASTEST)
    whole = compile_step(twin, nn.CrossEntropyLoss(), twin_opt, backend="numba")
    assert pieces.compiles_whole_epochs
    for epoch in range(2):
        got = pieces.run_epoch(x, y, 8, shuffle=shuffle, rng=epoch)
        expected = whole.run_epoch(x, y, 8, shuffle=shuffle, rng=epoch)
        # The pieces' loss sums are added up in another order: the last bit may differ.
        assert got == pytest.approx(expected, rel=1e-14)
        stats, expected_stats = dict(pieces.epoch_stats), dict(whole.epoch_stats)
        assert stats.pop("loss_sum") == pytest.approx(expected_stats.pop("loss_sum"), rel=1e-14)
        assert stats == expected_stats
    assert ("epoch", 8) in pieces.blas_threads.chosen  # decided within the first epoch
    _assert_same_bits(model, twin, opt, twin_opt)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_training_on_one_blas_thread_agrees_with_two_within_the_compiled_tolerance(backend, close):
    threadpoolctl = pytest.importorskip("threadpoolctl")
    if backend == "numba":
        pytest.importorskip("numba", reason="the numba backend needs the fast extra")
    model = _wide(sizes=(784, 64, 10))
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((300, 784)), rng.integers(0, 10, 300)
    twin = copy.deepcopy(model)
    opt, twin_opt = OPTIMIZERS["SGD"](model.parameters()), OPTIMIZERS["SGD"](twin.parameters())
    one = compile_step(model, nn.CrossEntropyLoss(), opt, backend=backend, blas_threads=1)
    two = compile_step(twin, nn.CrossEntropyLoss(), twin_opt, backend=backend)
    with threadpoolctl.threadpool_limits(2, user_api="blas"):
        for _ in range(2):
            one.run_epoch(x, y, 100)
            two.run_epoch(x, y, 100)
        one(x[:100], y[:100])
        two(x[:100], y[:100])
        assert one.blas_threads._libraries_above(1), "no BLAS set to two threads to compare"
        info = threadpoolctl.threadpool_info()
    assert all(lib["num_threads"] == 2 for lib in info if lib["user_api"] == "blas")
    for (name, a), (_, b) in zip(
        model.state_dict().items(), twin.state_dict().items(), strict=True
    ):
        close(a, b, name, tol=1e-12)  # the BLAS may split a long sum otherwise: last bits


def test_the_trainer_passes_its_setting_to_the_compiled_step_and_refuses_a_bad_one():
    from mytorch.trainer import Trainer

    model = _wide()
    rng = np.random.default_rng(2)
    x, y = rng.standard_normal((64, 64)), rng.integers(0, 10, 64)
    trainer = Trainer(
        model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), blas_threads=1
    )
    trainer.fit(x, y, epochs=1, batch_size=16)
    assert trainer.compiled_status.startswith("compiled")
    assert trainer._step.blas_threads.setting == 1
    with pytest.raises(ValueError, match="Trainer: expected blas_threads"):
        Trainer(model, nn.CrossEntropyLoss(), blas_threads="many")


def test_a_call_on_a_second_blas_pool_runs_on_one_thread_as_set_when_both_pools_have_more():
    # numba's np.dot runs on SciPy's OpenBLAS beside NumPy's: two pools of spinning
    # threads on the same cores. "as set" then runs such a call on one thread...
    both = [FakeLibrary(2), FakeLibrary(4)]
    threads = BlasThreads(SMALL_PRODUCT, AS_SET)
    threads._libraries = both
    seen = threads.run_second_pool("epoch", 1, lambda: [b.num_threads for b in both])
    assert seen == [1, 1]
    assert [b.num_threads for b in both] == [2, 4]  # put back
    # ... but not when only one pool has threads to spare, nor for a small product,
    alone = [FakeLibrary(1), FakeLibrary(2)]
    threads._libraries = alone
    assert threads.run_second_pool("epoch", 1, lambda: [b.num_threads for b in alone]) == [1, 2]
    small = BlasThreads(SMALL_PRODUCT - 1, AS_SET)
    small._libraries = both
    assert small.run_second_pool("epoch", 1, lambda: [b.num_threads for b in both]) == [2, 4]
    # ... and a number given is followed as for any call.
    three = BlasThreads(SMALL_PRODUCT, 3)
    three._libraries = both
    assert three.run_second_pool("epoch", 1, lambda: [b.num_threads for b in both]) == [2, 3]
