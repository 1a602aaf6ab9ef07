"""No library function raises on a benign floating-point underflow when the user has set
``np.seterr(all="raise")``: MyTorch's own numerics run with underflow ignored
(``mytorch.underflow.quiet_underflow``), while NaN and inf are reported as before."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mytorch import nn, optim, preprocessing
from mytorch.compiled import compile_predict, compile_step
from mytorch.nn.parameter import Parameter
from mytorch.nn.utils import clip_grad_norm_
from mytorch.trainer import Trainer, TrainingDivergedError
from mytorch.underflow import quiet_underflow
from mytorch.validation import NonFiniteError

ALL_RAISE = {"divide": "raise", "over": "raise", "under": "raise", "invalid": "raise"}


@pytest.fixture
def seterr_raise():
    """The user's global ``np.seterr(all="raise")``, put back afterwards."""
    old = np.seterr(all="raise")
    yield
    np.seterr(**old)


def test_the_comparison_tests_run_with_every_floating_point_error_raised(close):
    assert np.geterr() == ALL_RAISE  # tests/conftest.py's autouse fixture


def test_cross_entropy_on_logits_of_1e4_does_not_raise(seterr_raise, close):
    logits = np.array([[1e4, -1e4, 0.0]])
    criterion = nn.CrossEntropyLoss()
    loss = criterion(logits, np.array([2]))
    twin = torch.tensor(logits, requires_grad=True)
    expected = torch.nn.functional.cross_entropy(twin, torch.tensor([2]))
    expected.backward()
    close(loss, expected, "loss")
    close(criterion.backward(), twin.grad, "grad")
    assert np.geterr() == ALL_RAISE  # the user's state is back after the call


def test_underflow_in_products_of_small_numbers_rounds_to_zero_everywhere(seterr_raise):
    tiny = 1e-200
    layer = nn.Linear(3, 2, rng=0)
    layer(np.full((2, 3), tiny))
    layer.backward(np.full((2, 2), tiny))  # dW = delta^T x underflows to 0
    np.testing.assert_array_equal(layer.weight.grad, 0.0)
    tanh = nn.Tanh()
    tanh(np.array([[1e-170]]))
    assert tanh.derivative()[0, 0] == 1.0  # 1 - tanh(z)^2, the square underflowing
    model = nn.Sequential(nn.Linear(2, 2, rng=0))
    model[0].weight.data[:] = tiny
    assert np.all(model.to(np.float32)[0].weight.data == 0)  # the cast underflows
    w = Parameter(np.ones(3))
    w.grad = np.full(3, tiny)
    assert clip_grad_norm_([w], 1.0) == pytest.approx(np.sqrt(3) * tiny, rel=1e-12)


@pytest.mark.parametrize(
    "make",
    [
        lambda p: optim.Adam(p, weight_decay=0.1),
        lambda p: optim.RMSprop(p, momentum=0.5, centered=True),
        lambda p: optim.Adagrad(p),
        lambda p: optim.Adadelta(p),
        lambda p: optim.NotesAdam(p),
        lambda p: optim.NotesAdadelta(p),
        lambda p: optim.NotesSGD(p, lr=0.1, momentum=0.9),
        lambda p: optim.SGD(p, lr=0.1, momentum=0.9),
    ],
)
def test_optimisers_take_gradients_whose_squares_underflow(seterr_raise, make):
    w = Parameter(np.ones(4, dtype=np.float32))
    optimizer = make([w])
    for _ in range(3):
        w.grad = np.full(4, 1e-25, dtype=np.float32)  # g * g < float32's smallest
        optimizer.step()
    assert np.all(np.isfinite(w.data))
    state = optimizer.state_dict()
    fresh = make([Parameter(np.ones(4, dtype=np.float32))])
    with np.errstate(under="ignore"):
        state["state"][0] = {k: np.asarray(v, np.float64) * 1e-300 if k != "step" else v
                             for k, v in state["state"][0].items()}  # fmt: skip
    fresh.load_state_dict(state)  # tiny float64 state cast into float32: 0


def test_training_and_the_compiled_step_do_not_raise_on_underflow(seterr_raise):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 4)) * 40  # saturated sigmoids: exp(-|z|) underflows
    y = (X[:, 0] > 0).astype(np.int64)
    for compiled in (False, True):
        model = nn.Sequential(nn.Linear(4, 8, rng=0), nn.Sigmoid(), nn.Linear(8, 2, rng=1))
        trainer = Trainer(
            model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=0.5),
            compiled=compiled,
        )  # fmt: skip
        trainer.fit(X, y, epochs=3, batch_size=16, val_data=(X, y))
        step = compile_step(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1))
        step(X[:16], y[:16])
        compile_predict(model.eval())(X)


def test_preprocessing_fits_features_of_tiny_values(seterr_raise):
    X = np.random.default_rng(0).normal(size=(50, 3)) * [1e-170, 1.0, 1e4]
    for transformer in (
        preprocessing.Standardize(),
        preprocessing.PCA(2),
        preprocessing.Whitening("zca"),
    ):
        assert np.all(np.isfinite(transformer.fit_transform(X)))


def test_nan_in_the_input_and_divergence_are_still_reported(seterr_raise):
    with pytest.raises(NonFiniteError, match="Linear: input contains 1 NaN"):
        nn.Linear(2, 2, rng=0)(np.array([[np.nan, 1.0]]))
    np.seterr(all="warn")
    X = np.random.default_rng(0).normal(size=(32, 2)) * 1e3
    model = nn.Sequential(nn.Linear(2, 4, rng=0), nn.ReLU(), nn.Linear(4, 2, rng=1))
    trainer = Trainer(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=1e6))
    with np.errstate(over="ignore", invalid="ignore"), pytest.raises(TrainingDivergedError):
        trainer.fit(X, np.zeros((32, 2)), epochs=5, batch_size=8)
    np.seterr(all="raise")
    model = nn.Sequential(nn.Linear(2, 4, rng=0), nn.ReLU(), nn.Linear(4, 2, rng=1))
    trainer = Trainer(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=1e6))
    # overflow stays the caller's to decide: with over="raise", NumPy reports it
    with pytest.raises((FloatingPointError, TrainingDivergedError)):
        trainer.fit(X, np.zeros((32, 2)), epochs=5, batch_size=8)


def test_quiet_underflow_leaves_the_other_conditions_as_set_and_nests():
    with np.errstate(all="raise"):
        with quiet_underflow():
            assert np.geterr() == {**ALL_RAISE, "under": "ignore"}
            with quiet_underflow():
                assert float(np.exp(-1e4)) == 0.0
            with pytest.raises(FloatingPointError):
                np.exp(1e4)
        assert np.geterr() == ALL_RAISE


def test_under_numpy_default_underflow_setting_no_errstate_is_entered(monkeypatch):
    # NumPy ignores underflow by default: then the library has nothing to change, and a
    # hand-written loop should not pay np.errstate's few microseconds per call.
    entered = []
    real_errstate = np.errstate

    def spy(**conditions):
        entered.append(conditions)
        return real_errstate(**conditions)

    model = nn.Sequential(nn.Linear(3, 2), nn.Tanh())
    optimizer = optim.SGD(model.parameters(), lr=0.1)
    with np.errstate(all="raise", under="ignore"):
        monkeypatch.setattr(np, "errstate", spy)
        output = model(np.full((2, 3), 1e-200))
        model.backward(np.ones_like(output))
        optimizer.step()
        with quiet_underflow():
            pass
    assert entered == []


def test_a_changed_error_state_is_seen_at_once_and_the_cache_stays_small():
    from mytorch import underflow

    def underflows(x):
        return np.exp(x)

    quiet = quiet_underflow.wrap(underflows)
    for _ in range(100):  # a fresh NumPy state object each time
        with np.errstate(under="ignore"):
            assert quiet(-1e4) == 0.0
        with np.errstate(under="raise"):
            assert quiet(-1e4) == 0.0
            with pytest.raises(FloatingPointError):
                underflows(-1e4)
    assert len(underflow._UNDERFLOW_IGNORED) <= 64


class _Methods:
    """Methods of every parameter kind, each returning what it was given."""

    def plain(self, x, scale=2.0):
        return np.exp(x) * scale, self

    def keyword_only(self, x, *, scale=2.0):
        return np.exp(x) * scale, self

    def varargs(self, *xs, **options):
        return [np.exp(x) for x in xs], options

    def hides_a_wrapper_name(self, method, quiet_underflow=1.0):
        return np.exp(method) * quiet_underflow, self


def _message(wrong_call, function):
    with pytest.raises(TypeError) as error:
        wrong_call(function)
    return str(error.value)


@pytest.mark.parametrize("name", ["plain", "keyword_only", "hides_a_wrapper_name"])
def test_a_wrapped_method_binds_arguments_and_reports_wrong_calls_as_the_method_does(name):
    import inspect

    method = getattr(_Methods, name)
    quiet = quiet_underflow.wrap(method)
    assert quiet.__name__ == method.__name__ and quiet.__qualname__ == method.__qualname__
    assert inspect.signature(quiet) == inspect.signature(method)
    obj = _Methods()
    first = inspect.getfullargspec(method).args[1]  # "x" or "method"
    for args, kwargs in [((obj, 0.0), {}), ((obj,), {first: 0.0}), ((), {"self": obj, first: 0.0})]:
        assert quiet(*args, **kwargs) == method(*args, **kwargs)
    if name != "keyword_only":
        assert quiet(obj, 0.0, 3.0) == method(obj, 0.0, 3.0)
    wrong_calls = [
        lambda f: f(obj),
        lambda f: f(obj, 0.0, 1.0, 2.0, 3.0),
        lambda f: f(obj, 0.0, nonsense=1),
        lambda f: f(obj, 0.0, **{first: 1.0}),
    ]
    for wrong in wrong_calls:
        assert _message(wrong, quiet) == _message(wrong, method)
    with np.errstate(all="raise"):  # and it is quiet: exp(-1e4) underflows to 0
        assert quiet(obj, -1e4)[0] == 0.0


def test_a_method_with_varargs_gets_the_general_wrapper():
    quiet = quiet_underflow.wrap(_Methods.varargs)
    with np.errstate(all="raise"):
        assert quiet(_Methods(), -1e4, 0.0, flag=True) == ([0.0, 1.0], {"flag": True})
