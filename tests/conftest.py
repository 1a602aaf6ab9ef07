"""Shared helpers: the PyTorch twin of a MyTorch model and a recorded closeness check.

Every comparison against PyTorch goes through the ``close`` fixture, which records the
worst relative error of the whole run; it is printed at the end of the session.
"""

from __future__ import annotations

import io
import json
import os
import sys
import tempfile
from pathlib import Path

# scikit-learn's check_estimator runs its array-API checks only with this set before
# SciPy is imported; without it those checks would be skipped.
os.environ.setdefault("SCIPY_ARRAY_API", "1")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

from mytorch import nn
from mytorch.batchnorm import BatchNorm

# The reference tensors are tiny: thread start-up costs PyTorch far more than it gains
# (20 training steps took 2 s with 2 threads, 0.07 s with one).
torch.set_num_threads(1)

#: Largest relative error accepted between MyTorch and PyTorch autograd in float64.
TOLERANCE = 1e-10

#: Worst relative error seen, per tolerance asked for: {tol: (error, where)}.
_worst: dict[float, tuple[float, str]] = {}


def rel_err(actual, expected) -> float:
    """max |actual - expected| / max(max |expected|, tiny): one number per tensor."""
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    if actual.shape != expected.shape:
        raise AssertionError(f"shape {actual.shape} != expected shape {expected.shape}")
    if actual.size == 0:
        return 0.0
    scale = max(float(np.abs(expected).max()), np.finfo(np.float64).tiny)
    with np.errstate(under="ignore"):  # the check's own quotient: 0 is the right answer
        return float(np.abs(actual - expected).max() / scale)


def to_numpy(value) -> np.ndarray:
    """A tensor (detached) or array-like as a NumPy array."""
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    return np.asarray(value)


class _Close:
    """``close(actual, expected, what)`` asserts rel_err <= tol and records the worst."""

    def __init__(self, nodeid: str) -> None:
        self.nodeid = nodeid

    def __call__(
        self, actual, expected, what: str = "", tol: float = TOLERANCE, scale: float | None = None
    ) -> float:
        """``scale``, if given, replaces max |expected| as the denominator (for results
        that cancel to nearly zero, measured against the size of their terms)."""
        expected = to_numpy(expected)
        actual_array = np.asarray(actual)
        assert actual_array.shape == expected.shape, (
            f"{what}: shape {actual_array.shape}, PyTorch/formula gives {expected.shape}"
        )
        assert np.all(np.isfinite(actual_array)), f"{what}: non-finite values"
        if scale is None:
            error = rel_err(actual_array, expected)
        else:
            with np.errstate(under="ignore"):
                error = float(np.abs(actual_array - expected).max() / scale)
        if error >= _worst.get(tol, (-1.0, ""))[0]:
            _worst[tol] = (error, f"{self.nodeid} [{what}]")
        assert error <= tol, f"{what}: relative error {error:.3e} > {tol:.0e}"
        return error


@pytest.fixture(autouse=True)
def _raise_on_floating_point_errors(request):
    """Run every comparison with PyTorch or a formula (the tests that use ``close``:
    every module's, loss's and optimiser's forward/backward cases) under
    ``np.errstate(all="raise")``: MyTorch's numerics must not trip a user's
    ``np.seterr(all="raise")`` with a benign underflow, nor overflow, divide or make
    NaN on the way to a finite answer. (The tests that overflow on purpose, the
    divergence guards', compare nothing and run as before.)"""
    if "close" not in request.fixturenames:
        yield
        return
    with np.errstate(all="raise"):
        yield


@pytest.fixture
def close(request) -> _Close:
    """Compare with a reference (tensor or array) at relative error <= 1e-10, recorded."""
    return _Close(request.node.nodeid)


@pytest.fixture
def rng() -> np.random.Generator:
    """A fresh seeded generator per test, so every test is reproducible on its own."""
    return np.random.default_rng(1234)


def pytest_terminal_summary(terminalreporter) -> None:
    for tol, (error, where) in sorted(_worst.items()):
        terminalreporter.write_line(
            f"worst relative error against PyTorch/formulas among checks at tol {tol:.0e}: "
            f"{error:.3e} at {where}"
        )


# --------------------------------------------------------------------- the torch twin
class TorchStep(torch.nn.Module):
    """The notes' step function, 0 for z < 0 and 1 otherwise (PyTorch's heaviside with
    the value 1 at 0); its derivative is zero everywhere."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.heaviside(x.detach(), torch.ones((), dtype=x.dtype)) + 0 * x


class TorchMaskedDropout(torch.nn.Module):
    """PyTorch's dropout with MyTorch's mask: x * mask, mask read from ``ours`` after
    its forward (so both libraries drop the same units)."""

    def __init__(self, ours: nn.Dropout) -> None:
        super().__init__()
        self.ours = ours

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return x
        return x * torch.from_numpy(np.array(self.ours.mask, dtype=np.float64))


def torch_twin(module) -> torch.nn.Module:
    """Build the float64 ``torch.nn`` module equivalent to a MyTorch module (no weights)."""
    f64 = torch.float64
    simple = {
        nn.Identity: torch.nn.Identity,
        nn.Sigmoid: torch.nn.Sigmoid,
        nn.Tanh: torch.nn.Tanh,
        nn.ReLU: torch.nn.ReLU,
        nn.Step: TorchStep,
    }
    if type(module) in simple:
        return simple[type(module)]()
    if isinstance(module, nn.Sequential):
        return torch.nn.Sequential(*(torch_twin(child) for child in module))
    if isinstance(module, nn.Linear):
        return torch.nn.Linear(
            module.in_features, module.out_features, bias=module.bias is not None, dtype=f64
        )
    if isinstance(module, nn.BatchNorm1d):
        return torch.nn.BatchNorm1d(
            module.num_features,
            eps=module.eps,
            momentum=module.momentum,
            affine=module.affine,
            track_running_stats=module.track_running_stats,
            dtype=f64,
            bias=not (module.affine and module.bias is None),
        )
    if isinstance(module, BatchNorm):
        raise TypeError("the course BatchNorm has no torch twin (biased running variance)")
    if isinstance(module, nn.LeakyReLU):
        return torch.nn.LeakyReLU(module.negative_slope)
    if isinstance(module, nn.ELU):
        return torch.nn.ELU(module.alpha)
    if isinstance(module, nn.GELU):
        return torch.nn.GELU(approximate=module.approximate)
    if isinstance(module, nn.Softplus):
        return torch.nn.Softplus(beta=module.beta, threshold=module.threshold)
    if isinstance(module, nn.Softmax):
        return torch.nn.Softmax(dim=module.dim)
    if isinstance(module, nn.LogSoftmax):
        return torch.nn.LogSoftmax(dim=module.dim)
    if isinstance(module, nn.Dropout):
        return TorchMaskedDropout(module)
    raise TypeError(f"no torch twin for {type(module).__name__}")


def load_into_torch(torch_model: torch.nn.Module, state: dict) -> None:
    """Load a MyTorch state_dict (copied) into a torch model, strictly."""
    torch_model.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in state.items()})


def torch_state(torch_model: torch.nn.Module) -> dict[str, np.ndarray]:
    """A torch model's state_dict as NumPy copies."""
    return {k: v.detach().numpy().copy() for k, v in torch_model.state_dict().items()}


@pytest.fixture
def to_torch():
    """``to_torch(model)``: the equivalent float64 torch model, loaded with our state_dict
    and put in the same train/eval mode."""

    def build(model) -> torch.nn.Module:
        twin = torch_twin(model)
        load_into_torch(twin, model.state_dict())
        return twin.train(model.training)

    return build


def json_npz_round_trip(state):
    """Write ``state`` as JSON with its arrays in an npz, read it back.

    Fails on anything that is not an array, a JSON scalar, a list, a tuple or a dict,
    which is what "the state_dict can be saved as npz + JSON" promises.
    """
    arrays: dict[str, np.ndarray] = {}

    def encode(obj):
        if isinstance(obj, np.ndarray):
            key = f"a{len(arrays)}"
            arrays[key] = obj
            return {"__array__": key}
        if isinstance(obj, dict):
            return {str(k): encode(v) for k, v in obj.items()}
        if isinstance(obj, (list, tuple)):
            return [encode(v) for v in obj]
        if obj is None or isinstance(obj, (bool, int, float, str)):
            return obj
        raise TypeError(f"not JSON/npz-safe: {type(obj).__name__}")

    text = json.dumps(encode(state))
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    buffer.seek(0)
    with np.load(buffer) as npz:
        loaded = {key: npz[key] for key in npz.files}

    def decode(obj):
        if isinstance(obj, dict):
            if set(obj) == {"__array__"}:
                return loaded[obj["__array__"]]
            return {k: decode(v) for k, v in obj.items()}
        if isinstance(obj, list):
            return [decode(v) for v in obj]
        return obj

    return decode(json.loads(text))


#: Hypothesis settings of the fuzz modules: many cases, none timed out by hypothesis
#: itself (each module times every call against its own SECONDS_PER_CALL).
FUZZ = settings(
    max_examples=2000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def ram_scratch_dir(prefix: str) -> tempfile.TemporaryDirectory:
    """A temporary folder in RAM (/dev/shm) where there is one: fuzzing writes thousands
    of small files, which need not wear the disk."""
    return tempfile.TemporaryDirectory(
        prefix=prefix, dir="/dev/shm" if Path("/dev/shm").is_dir() else None
    )


def peak_memory_mb() -> float | None:
    """The process's peak resident memory so far, or None where it cannot be read."""
    try:
        import resource
    except ImportError:  # Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024**2 if sys.platform == "darwin" else 1024)  # bytes there, KiB here


@pytest.fixture(scope="module")
def peak_memory_stays_small(request):
    """A module's cases together must not raise peak memory by more than its MAX_GROWTH_MB."""
    limit = request.module.MAX_GROWTH_MB
    before = peak_memory_mb()
    yield
    after = peak_memory_mb()
    if before is not None:
        assert after - before < limit, f"peak memory grew by {after - before:.0f} MB"


# ------------------------------------------------------------------ browser tests in CI
@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """In CI (CI=true) a skipped browser test is a failure: CI installs Chromium and
    Selenium, so a skip there means the playground was not tested in a browser."""
    outcome = yield
    report = outcome.get_result()
    if (
        report.skipped
        and os.environ.get("CI", "").lower() == "true"
        and item.get_closest_marker("browser") is not None
    ):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"browser test skipped in CI (CI=true), which must run it: {reason}"
