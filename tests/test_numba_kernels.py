"""The optional compiled optimiser loops: bit-for-bit the NumPy kernels, and optional."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch

from mytorch import optim
from mytorch.nn.parameter import Parameter
from mytorch.optim.kernels import compiled as numba_kernels

pytest.importorskip("numba", reason="the compiled loops need the optional numba extra")


@pytest.fixture
def restore_switch():
    before = numba_kernels.enabled()
    yield
    numba_kernels.set_enabled(before)


OPTIMISERS = {
    "Adam": lambda ps: optim.Adam(ps, lr=1e-2),
    "Adam-weight-decay": lambda ps: optim.Adam(ps, lr=1e-2, weight_decay=0.05),
    "AdamW": lambda ps: optim.AdamW(ps, lr=1e-2, weight_decay=0.1),
    "SGD-momentum": lambda ps: optim.SGD(ps, lr=0.05, momentum=0.9),
    "SGD-momentum-maximize": lambda ps: optim.SGD(ps, lr=0.05, momentum=0.9, maximize=True),
}
TORCH_TWINS = {
    "Adam": lambda ps: torch.optim.Adam(ps, lr=1e-2),
    "Adam-weight-decay": lambda ps: torch.optim.Adam(ps, lr=1e-2, weight_decay=0.05),
    "AdamW": lambda ps: torch.optim.AdamW(ps, lr=1e-2, weight_decay=0.1),
    "SGD-momentum": lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9),
    "SGD-momentum-maximize": lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9, maximize=True),
}


def _train(make, dtype, compiled: bool, steps: int = 5) -> list[np.ndarray]:
    numba_kernels.set_enabled(compiled)
    rng = np.random.default_rng(3)
    params = [Parameter(rng.standard_normal(shape).astype(dtype)) for shape in ((37, 29), (29,))]
    opt = make(params)
    for _ in range(steps):
        for p in params:
            p.grad = rng.standard_normal(p.shape).astype(dtype)
        opt.step()
    return [p.data for p in params] + [
        a for p in params for a in opt.state[p].values() if isinstance(a, np.ndarray)
    ]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", list(OPTIMISERS))
def test_compiled_loop_is_bit_identical_to_the_numpy_kernel(name, dtype, restore_switch):
    numpy_result = _train(OPTIMISERS[name], dtype, compiled=False)
    compiled_result = _train(OPTIMISERS[name], dtype, compiled=True)
    assert len(numpy_result) == len(compiled_result) >= 4
    for a, b in zip(numpy_result, compiled_result, strict=True):
        assert a.dtype == b.dtype == dtype
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", list(OPTIMISERS))
def test_compiled_loop_matches_torch(name, restore_switch, close):
    numba_kernels.set_enabled(True)
    rng = np.random.default_rng(4)
    start = rng.standard_normal((23, 17))
    grads = [rng.standard_normal((23, 17)) for _ in range(6)]
    param = Parameter(start.copy())
    opt = OPTIMISERS[name]([param])
    twin = torch.nn.Parameter(torch.from_numpy(start.copy()))
    torch_opt = TORCH_TWINS[name]([twin])
    for grad in grads:
        param.grad = grad.copy()
        opt.step()
        twin.grad = torch.from_numpy(grad.copy())
        torch_opt.step()
    assert not np.array_equal(param.data, start)
    close(param.data, twin.detach().numpy(), f"{name} with compiled loops, 6 steps")


def test_the_compiled_loop_really_runs(restore_switch, monkeypatch):
    numba_kernels.set_enabled(True)
    calls = []
    real = numba_kernels.adam_update

    def spy(*args):
        done = real(*args)
        calls.append(done)
        return done

    monkeypatch.setattr(optim.Adam, "compiled_kernel", staticmethod(spy))
    param = Parameter(np.ones(5))
    param.grad = np.ones(5)
    optim.Adam([param]).step()
    assert calls == [True]


def test_non_contiguous_arrays_fall_back_to_numpy(restore_switch):
    numba_kernels.set_enabled(True)
    data = np.ones((4, 6))[:, ::2]
    grad = np.ones((4, 3))
    assert not numba_kernels.sgd_update(data, grad, np.ones((4, 3)), 0.1, 0.9, 0, False, False)
    moments = np.zeros((4, 3)), np.zeros((4, 3)), np.zeros((4, 3))
    assert not numba_kernels.adam_update(data, grad, *moments, 1.0, 0.9, 0.999, False, 1e-8, 1e-3)
    np.testing.assert_array_equal(data, 1.0)


def test_switched_off_nothing_is_compiled_or_changed(restore_switch):
    numba_kernels.set_enabled(False)
    data = np.ones(3)
    assert not numba_kernels.sgd_update(data, np.ones(3), np.ones(3), 0.1, 0.9, 0, False, False)
    np.testing.assert_array_equal(data, 1.0)


@pytest.mark.parametrize("bad", [1, "yes", None])
def test_set_enabled_wants_a_bool(bad, restore_switch):
    with pytest.raises(TypeError, match=r"set_enabled: expected True or False"):
        numba_kernels.set_enabled(bad)


def test_import_mytorch_does_not_import_numba_and_env_switch_works():
    code = (
        "import sys, mytorch\n"
        "assert 'numba' not in sys.modules, 'numba imported by import mytorch'\n"
        "from mytorch.optim.kernels import compiled as numba_kernels\n"
        "print(numba_kernels.enabled())\n"
    )
    for env_value, expected in (("0", "False"), ("1", "True")):
        out = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={"MYTORCH_NUMBA": env_value, "PATH": ""},
        )
        assert out.stdout.strip() == expected
