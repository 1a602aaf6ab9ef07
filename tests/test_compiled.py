"""``mytorch.compile_step`` and ``compile_predict`` (``mytorch/compiled/``): the same
results as the reference loop, every module kind, both dtypes, both backends.

The reference loop is ``opt.zero_grad(); crit(model(x), y);
model.backward(crit.backward(), need_input_grad=False); opt.step()`` on a deep copy of
the same model. After 50 steps the parameters, their gradients, the optimiser's state
and BatchNorm's running statistics must agree within 1e-12 (float64) / 1e-5 (float32)
relative; a step made one batch at a time is in fact bit-identical (it runs the
reference's own NumPy passes), and so is every test below that says so.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest

import mytorch
from mytorch import nn, optim
from mytorch.compiled import Unsupported, compile_predict, compile_step
from mytorch.optim.kernels import compiled as compiled_loops

pytest.importorskip("numba", reason="the numba backend needs the optional fast extra")
BACKENDS = ["numpy", "numba"]
TOL = {np.float64: 1e-12, np.float32: 1e-5}
STEPS = 50


@pytest.fixture(autouse=True)
def _compiled_loops_on():
    before = compiled_loops.enabled()
    compiled_loops.set_enabled(True)
    yield
    compiled_loops.set_enabled(before)


def _mlp(dtype, activation=nn.Sigmoid, batch_norm=False, dropout=0.0, sizes=(12, 9, 7, 4)):
    layers = []
    for index, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(nn.Linear(n_in, n_out, rng=index, dtype=dtype))
        if index < len(sizes) - 2:
            if batch_norm:
                layers.append(nn.BatchNorm1d(n_out, dtype=dtype))
            layers.append(activation())
            if dropout:
                layers.append(nn.Dropout(dropout, rng=10 + index))
    return nn.Sequential(*layers)


def _data(dtype, n=40, features=12, classes=4, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, features)).astype(dtype), rng.integers(0, classes, n)


def _reference_step(model, criterion, optimizer, x, y):
    optimizer.zero_grad()
    loss = criterion(model(x), y)
    model.backward(criterion.backward(), need_input_grad=False)
    optimizer.step()
    return float(loss)


def _compare(ref, ours, ref_opt, our_opt, dtype, close, what=""):
    tol = TOL[dtype]
    for (name, a), (_, b) in zip(ref.state_dict().items(), ours.state_dict().items(), strict=True):
        if a.dtype.kind == "f":
            close(b, a, f"{what} {name}", tol=tol)
        else:
            np.testing.assert_array_equal(b, a)
    for (name, p), (_, q) in zip(ref.named_parameters(), ours.named_parameters(), strict=True):
        close(q.grad, p.grad, f"{what} grad of {name}", tol=tol)
    ref_state, our_state = ref_opt.state_dict()["state"], our_opt.state_dict()["state"]
    assert sorted(ref_state) == sorted(our_state)
    for index, state in ref_state.items():
        for key, value in state.items():
            if isinstance(value, np.ndarray):
                close(our_state[index][key], value, f"{what} optimiser {key}[{index}]", tol=tol)
            else:
                assert our_state[index][key] == value, (index, key)


def _train_both(model, make_optimizer, criterion, dtype, backend, x, y, steps=STEPS, batch=8):
    twin = copy.deepcopy(model)
    ref_opt, our_opt = make_optimizer(model.parameters()), make_optimizer(twin.parameters())
    ref_crit, our_crit = copy.deepcopy(criterion), copy.deepcopy(criterion)
    step = compile_step(twin, our_crit, our_opt, backend=backend)
    for index in range(steps):
        start = (index * batch) % len(x)
        xb, yb = x[start : start + batch], y[start : start + batch]
        expected = _reference_step(model, ref_crit, ref_opt, xb, yb)
        got = step(xb, yb)
        assert np.isclose(got, expected, rtol=TOL[dtype], atol=0), (index, got, expected)
    return twin, ref_opt, our_opt, step


ACTIVATIONS = [
    nn.Identity,
    nn.Sigmoid,
    nn.Tanh,
    nn.ReLU,
    nn.Step,
    nn.LeakyReLU,
    nn.ELU,
    nn.GELU,
    nn.Softplus,
    nn.Softmax,
    nn.LogSoftmax,
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("activation", ACTIVATIONS, ids=lambda a: a.__name__)
def test_every_activation_trains_50_steps_like_the_reference(activation, dtype, backend, close):
    softmax = activation in (nn.Softmax, nn.LogSoftmax)
    model = _mlp(dtype, (lambda: activation(dim=1)) if softmax else activation)
    x, y = _data(dtype)
    twin, ref_opt, our_opt, step = _train_both(
        model,
        lambda p: optim.SGD(p, lr=0.02, momentum=0.9),
        nn.CrossEntropyLoss(),
        dtype,
        backend,
        x,
        y,
    )
    _compare(model, twin, ref_opt, our_opt, dtype, close, activation.__name__)
    assert step.backend == backend


OPTIMIZERS = {
    "SGD": lambda p: optim.SGD(p, lr=0.05),
    "SGD-momentum": lambda p: optim.SGD(p, lr=0.05, momentum=0.9),
    "SGD-nesterov-decay": lambda p: optim.SGD(
        p, lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-2
    ),
    "Adam": lambda p: optim.Adam(p, lr=1e-2),
    "Adam-decay": lambda p: optim.Adam(p, lr=1e-2, weight_decay=1e-2),
    "AdamW": lambda p: optim.AdamW(p, lr=1e-2, weight_decay=0.1),
}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_every_optimiser_with_batchnorm_and_dropout_is_bit_identical(name, dtype, backend):
    model = _mlp(dtype, nn.ReLU, batch_norm=True, dropout=0.2)
    x, y = _data(dtype)
    twin, ref_opt, our_opt, _ = _train_both(
        model, OPTIMIZERS[name], nn.CrossEntropyLoss(), dtype, backend, x, y
    )
    # One batch at a time the compiled step runs the reference's own NumPy passes (or
    # loops that give their exact bits): Adam's steps on the biases before a BatchNorm,
    # whose gradient is rounding noise, stay on the reference's path too.
    for (key, a), (_, b) in zip(model.state_dict().items(), twin.state_dict().items(), strict=True):
        np.testing.assert_array_equal(b, a, err_msg=key)
    for p, q in zip(model.parameters(), twin.parameters(), strict=True):
        np.testing.assert_array_equal(q.grad, p.grad)


LOSSES = {
    "CrossEntropyLoss-mean": (nn.CrossEntropyLoss, "classes"),
    "CrossEntropyLoss-sum": (lambda: nn.CrossEntropyLoss(reduction="sum"), "classes"),
    "CrossEntropyLoss-probabilities": (nn.CrossEntropyLoss, "probabilities"),
    "CrossEntropyLoss-label-smoothing": (
        lambda: nn.CrossEntropyLoss(label_smoothing=0.1),
        "classes",
    ),
    "MSELoss-mean": (nn.MSELoss, "values"),
    "MSELoss-sum": (lambda: nn.MSELoss(reduction="sum"), "values"),
    "BCEWithLogitsLoss": (nn.BCEWithLogitsLoss, "binary"),
}


def _targets(kind, y, dtype, classes=4):
    if kind == "classes":
        return y
    if kind == "probabilities":
        return np.eye(classes, dtype=dtype)[y]
    if kind == "values":
        return np.random.default_rng(3).standard_normal((len(y), classes)).astype(dtype)
    return (np.random.default_rng(4).random((len(y), classes)) > 0.5).astype(dtype)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", list(LOSSES))
def test_every_loss_trains_like_the_reference(name, backend, close):
    make, kind = LOSSES[name]
    dtype = np.float64
    model = _mlp(dtype, nn.Tanh)
    x, y = _data(dtype)
    twin, ref_opt, our_opt, _ = _train_both(
        model, OPTIMIZERS["Adam"], make(), dtype, backend, x, _targets(kind, y, dtype)
    )
    _compare(model, twin, ref_opt, our_opt, dtype, close, name)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "options",
    [
        {"affine": False},
        {"track_running_stats": False},
        {"momentum": None},
    ],
    ids=["not-affine", "no-running-stats", "cumulative-average"],
)
def test_batchnorm_variants_and_its_running_statistics(options, backend, close):
    dtype = np.float64
    model = nn.Sequential(
        nn.Linear(12, 9, rng=0),
        nn.BatchNorm1d(9, **options),
        nn.Sigmoid(),
        nn.Linear(9, 4, rng=1),
    )
    x, y = _data(dtype)
    twin, ref_opt, our_opt, _ = _train_both(
        model, OPTIMIZERS["SGD-momentum"], nn.CrossEntropyLoss(), dtype, backend, x, y
    )
    _compare(model, twin, ref_opt, our_opt, dtype, close, str(options))


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_step_in_eval_mode_uses_running_statistics_and_no_dropout_like_the_reference(
    backend, close
):
    dtype = np.float64
    model = _mlp(dtype, nn.ReLU, batch_norm=True, dropout=0.5)
    x, y = _data(dtype)
    model(x)  # move the running statistics away from their start
    model.eval()
    twin, ref_opt, our_opt, _ = _train_both(
        model, OPTIMIZERS["SGD-momentum"], nn.CrossEntropyLoss(), dtype, backend, x, y, steps=20
    )
    _compare(model, twin, ref_opt, our_opt, dtype, close, "eval mode")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shuffle", [False, True])
@pytest.mark.parametrize(
    "kind", ["plain", "batchnorm-dropout"], ids=["whole-epoch-loop", "batch-by-batch"]
)
def test_run_epoch_equals_the_reference_over_the_same_batches(kind, shuffle, dtype, backend, close):
    from mytorch.data import DataLoader

    model = _mlp(dtype, nn.Sigmoid, batch_norm=kind != "plain", dropout=0.2 * (kind != "plain"))
    x, y = _data(dtype, n=45)  # 45 = 5 batches of 8 and a short one of 5
    twin = copy.deepcopy(model)
    ref_opt, our_opt = OPTIMIZERS["Adam"](model.parameters()), OPTIMIZERS["Adam"](twin.parameters())
    criterion = nn.CrossEntropyLoss()
    step = compile_step(twin, nn.CrossEntropyLoss(), our_opt, backend=backend)
    for epoch in range(3):
        expected, seen = 0.0, 0
        for xb, yb in DataLoader(x, y, batch_size=8, shuffle=shuffle, rng=epoch):
            expected += _reference_step(model, criterion, ref_opt, xb, yb) * len(xb)
            seen += len(xb)
        got = step.run_epoch(x, y, 8, shuffle=shuffle, rng=epoch)
        assert np.isclose(got, expected / seen, rtol=TOL[dtype] * 10), (got, expected / seen)
        assert step.epoch_stats["samples"] == 45
    _compare(model, twin, ref_opt, our_opt, dtype, close, f"run_epoch {kind}")
    plain = any("whole epoch" in name for name in step.fused)
    assert plain == (backend == "numba" and kind == "plain")


@pytest.mark.parametrize("backend", BACKENDS)
def test_run_epoch_counts_the_errors_of_each_batch_as_it_trains(backend):
    dtype = np.float64
    model = _mlp(dtype, nn.ReLU)
    twin = copy.deepcopy(model)
    x, y = _data(dtype, n=21)
    opt = optim.SGD(model.parameters(), lr=0.1)
    crit = nn.CrossEntropyLoss()
    errors = 0
    for start in range(0, 21, 4):
        xb, yb = x[start : start + 4], y[start : start + 4]
        opt.zero_grad()
        out = model(xb)
        errors += int(np.count_nonzero(out.argmax(axis=1) != yb))
        crit(out, yb)
        model.backward(crit.backward())
        opt.step()
    step = compile_step(
        twin, nn.CrossEntropyLoss(), optim.SGD(twin.parameters(), lr=0.1), backend=backend
    )
    step.run_epoch(x, y, 4)
    assert step.epoch_stats["errors"] == errors


def test_backend_and_fused_kernels_are_reported():
    model = _mlp(np.float32, nn.ReLU)
    step = compile_step(
        model, nn.CrossEntropyLoss(), optim.Adam(model.parameters()), backend="numpy"
    )
    assert step.backend == "numpy"
    assert step.fused == ["linear+relu", "linear+relu", "flat Adam"]
    numba_step = compile_step(
        model, nn.CrossEntropyLoss(), optim.Adam(model.parameters()), backend="numba"
    )
    assert numba_step.backend == "numba"
    assert "whole epoch: batch loop, softmax cross-entropy, every layer" in numba_step.fused
    assert mytorch.compile_step is compile_step and mytorch.compile_predict is compile_predict


@pytest.mark.parametrize(
    "make, reason",
    [
        (
            lambda: (
                nn.Sequential(__import__("mytorch.linear").linear.Linear(12, 4, rng=0)),
                nn.CrossEntropyLoss(),
            ),
            r"Linear is not one of mytorch.nn's own layers",
        ),
        (
            lambda: (_mlp(np.float64), nn.CrossEntropyLoss(weight=np.ones(4))),
            r"CrossEntropyLoss with weight has no compiled form",
        ),
        (
            lambda: (_mlp(np.float64), nn.CrossEntropyLoss(reduction="none")),
            r"reduction='none'\): only 'mean' and 'sum'",
        ),
        (
            lambda: (nn.Sequential(nn.ReLU(), nn.Linear(12, 4)), nn.CrossEntropyLoss()),
            r"does not start with a Linear",
        ),
    ],
    ids=["course-layer", "class-weights", "reduction-none", "no-first-linear"],
)
def test_what_has_no_compiled_form_is_refused_with_the_reason(make, reason):
    model, criterion = make()
    with pytest.raises(Unsupported, match=reason):
        compile_step(model, criterion, optim.SGD(model.parameters(), lr=0.1))


def test_optimisers_without_a_compiled_form_are_refused():
    model = _mlp(np.float64)
    with pytest.raises(Unsupported, match=r"RMSprop has no compiled form"):
        compile_step(model, nn.CrossEntropyLoss(), optim.RMSprop(model.parameters()))
    body, head = list(model[0].parameters()), list(model[2:].parameters())
    two_groups = optim.SGD([{"params": body}, {"params": head, "lr": 0.5}], lr=0.1)
    with pytest.raises(Unsupported, match=r"2 parameter groups"):
        compile_step(model, nn.CrossEntropyLoss(), two_groups)
    with pytest.raises(Unsupported, match=r"amsgrad=True"):
        compile_step(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), amsgrad=True))


def _awkward_values(dtype, shape, seed):
    """Normal values with the sigmoid's edge cases mixed in: exp(-z) overflowing and
    underflowing, signed zeros, the smallest normal number."""
    rng = np.random.default_rng(seed)
    z = (rng.standard_normal(shape) * 8).astype(dtype)
    edges = [-800.0, -100.0, -88.8, 0.0, -0.0, 36.7, 100.0, 800.0, float(np.finfo(dtype).tiny)]
    z.ravel()[: len(edges)] = edges[: z.size]
    return z


@pytest.mark.parametrize("with_bias", [True, False])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_fused_bias_and_sigmoid_give_the_reference_bits(dtype, with_bias):
    from mytorch.compiled.numpy_kernels import NumpyKernels

    z = _awkward_values(dtype, (50, 7), seed=1)
    bias = _awkward_values(dtype, (7,), seed=2)[::-1].copy() if with_bias else None
    with np.errstate(over="ignore"):
        summed = z + bias if with_bias else z.copy()
    expected = nn.Sigmoid()(summed)
    NumpyKernels.bias_activation(z, bias, "Sigmoid")
    np.testing.assert_array_equal(z, expected)
    assert (np.signbit(z) == np.signbit(expected)).all()


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_fused_cross_entropy_gives_the_losss_bits(dtype):
    from mytorch.compiled.numpy_kernels import mean_cross_entropy

    rng = np.random.default_rng(3)
    logits = (rng.standard_normal((33, 6)) * 30).astype(dtype)
    labels = rng.integers(0, 6, 33).astype(np.int32)  # any integer dtype
    reference = nn.CrossEntropyLoss()
    expected = float(reference(logits, labels))
    grad = np.empty_like(logits)
    assert mean_cross_entropy(logits, labels, grad) == expected
    np.testing.assert_array_equal(grad, reference.backward())


def test_nan_logits_get_the_losss_own_error():
    model = _mlp(np.float64)
    step = compile_step(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1))
    x, y = _data(np.float64)
    model[-1].weight.data[0, 0] = np.inf  # finite input, non-finite logits
    with pytest.raises(ValueError, match=r"^CrossEntropyLoss: .*(NaN|inf)"):
        step(x, y)


@pytest.mark.parametrize("width", [5, 30], ids=["narrowing", "widening"])
@pytest.mark.parametrize("bad_value", [np.nan, np.inf, -np.inf])
def test_nan_or_inf_input_is_named_whichever_array_the_step_checks(width, bad_value):
    # A first layer narrower than its input has its product checked, not the input:
    # the message must be the Linear's own either way, and a finite input with a
    # non-finite weight is no input error.
    model = _mlp(np.float64, sizes=(12, width, 4))
    step = compile_step(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1))
    x, y = _data(np.float64)
    bad = x.copy()
    bad[3, 7] = bad_value
    kind = "1 NaN" if np.isnan(bad_value) else "0 NaN and 1 inf"
    with pytest.raises(ValueError, match=rf"^Linear: input contains {kind} .*index \(3, 7\)"):
        step(bad, y)
    model[0].weight.data[0, 0] = np.inf  # a sigmoid squashes it: the loss stays finite
    with np.errstate(invalid="ignore", over="ignore"):
        assert np.isfinite(step(x, y))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("width", [5, 30], ids=["narrowing", "widening"])
def test_run_epoch_stops_at_a_batch_with_nan_as_the_reference_loop_does(width, backend, close):
    # Each batch is checked just before its first product: the batches before the bad
    # one are trained, as the reference loop trains them, and the error is the first
    # Linear's, about that batch (row 3 of the third batch of 8 holds the NaN).
    model = _mlp(np.float64, sizes=(12, width, 4))
    twin = copy.deepcopy(model)
    x, y = _data(np.float64)
    bad = x.copy()
    bad[19, 7] = np.nan
    step = compile_step(
        model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), backend=backend
    )
    assert step.compiles_whole_epochs == (backend == "numba")
    with pytest.raises(ValueError, match=r"^Linear: input contains 1 NaN .*index \(3, 7\)"):
        step.run_epoch(bad, y, 8)
    reference_optimizer = optim.SGD(twin.parameters(), lr=0.1)
    for start in (0, 8):
        _reference_step(
            twin,
            nn.CrossEntropyLoss(),
            reference_optimizer,
            x[start : start + 8],
            y[start : start + 8],
        )
    for (name, a), (_, b) in zip(
        twin.state_dict().items(), model.state_dict().items(), strict=True
    ):
        close(b, a, name, tol=1e-12)


def test_bad_input_gets_the_layers_own_errors():
    model = _mlp(np.float64)
    step = compile_step(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1))
    x, y = _data(np.float64)
    with pytest.raises(ValueError, match=r"^Linear: expected input with 12 features"):
        step(x[:, :5], y)
    with pytest.raises(TypeError, match=r"^Linear: expected input of dtype float64"):
        step(x.astype(np.float32), y)
    bad = x.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match=r"^Linear: input contains 1 NaN"):
        step(bad, y)
    with pytest.raises(ValueError, match=r"^CrossEntropyLoss: target label 7 is out of range"):
        step(x, np.full(len(x), 7))
    with pytest.raises(ValueError, match=r"batch_size"):
        step.run_epoch(x, y, 0)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_model_edited_after_compiling_is_followed(backend, close):
    dtype = np.float64
    model = _mlp(dtype, nn.Tanh, batch_norm=True)
    twin = copy.deepcopy(model)
    ref_opt, our_opt = (
        optim.Adam(model.parameters(), lr=1e-2),
        optim.Adam(twin.parameters(), lr=1e-2),
    )
    crit = nn.CrossEntropyLoss()
    step = compile_step(twin, nn.CrossEntropyLoss(), our_opt, backend=backend)
    x, y = _data(dtype)

    def both(n=3):
        for _ in range(n):
            _reference_step(model, crit, ref_opt, x[:8], y[:8])
            step(x[:8], y[:8])

    both()
    # a parameter replaced by a new array
    for m in (model, twin):
        m[0].weight.data = m[0].weight.data * 0.5
    both()
    # train/eval switched
    model.eval(), twin.eval()
    both()
    model.train(), twin.train()
    # the optimiser's state replaced (resuming from a checkpoint)
    our_opt.load_state_dict(copy.deepcopy(ref_opt.state_dict()))
    both()
    _compare(model, twin, ref_opt, our_opt, dtype, close, "after edits")
    # a layer added: the compiled step must not train the old picture of the model
    for m in (model, twin):
        m.append(nn.ReLU())
    both(1)
    _compare(model, twin, ref_opt, our_opt, dtype, close, "after a layer was added")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_compiled_predict_folds_batchnorm_and_agrees_with_the_model(dtype, backend, close):
    model = nn.Sequential(
        nn.Linear(12, 9, rng=0, dtype=dtype),
        nn.BatchNorm1d(9, dtype=dtype),
        nn.ReLU(),
        nn.Dropout(0.5, rng=1),
        nn.Linear(9, 7, rng=2, dtype=dtype),
        nn.Sigmoid(),
        nn.BatchNorm1d(7, dtype=dtype),  # after an activation: a diagonal map of its own
        nn.ELU(),
        nn.Linear(7, 4, rng=3, dtype=dtype),
        nn.LogSoftmax(dim=1),
    )
    x, _ = _data(dtype)
    for _ in range(3):
        model(x)  # running statistics away from 0 and 1
    model.eval()
    predictor = compile_predict(model, backend=backend)
    assert predictor.folded == 1 and predictor.is_current()
    for rows in (1, 7, 40):
        close(predictor(x[:rows]), model(x[:rows]), f"{rows} rows", tol=TOL[dtype])
    out = predictor(x[:1])
    assert predictor(x[:1]) is not out  # a new array each call
    model[0].weight.data += 1.0
    assert not predictor.is_current()


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_compiled_predict_runs_a_relu_chain_in_one_call_with_the_models_output(dtype, close):
    # Linear + ReLU chains (BatchNorm folded) run as one numba call; the result must be
    # the model's for one row and many, for any memory layout of the input.
    model = nn.Sequential(
        nn.Linear(12, 9, rng=0, dtype=dtype),
        nn.BatchNorm1d(9, dtype=dtype),
        nn.ReLU(),
        nn.Linear(9, 4, rng=2, dtype=dtype),
    )
    x, _ = _data(dtype)
    model(x)
    model.eval()
    predictor = compile_predict(model, backend="numba")
    assert predictor._chain is not None
    for rows in (1, 7, 40):
        expected = model(x[:rows])
        close(predictor(x[:rows]), expected, f"{rows} rows", tol=TOL[dtype])
        close(
            predictor(np.asfortranarray(x[:rows])),
            expected,
            f"{rows} rows, F order",
            tol=TOL[dtype],
        )
    assert compile_predict(model, backend="numpy")._chain is None
    sigmoid = nn.Sequential(nn.Linear(12, 4, rng=0, dtype=dtype), nn.Sigmoid())
    assert compile_predict(sigmoid.eval(), backend="numba")._chain is None  # NumPy's exp


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_every_optimiser_in_the_whole_compiled_epoch_is_the_reference(name, close):
    from mytorch.data import DataLoader

    dtype = np.float64
    model = _mlp(dtype, nn.ReLU)
    twin = copy.deepcopy(model)
    ref_opt, our_opt = OPTIMIZERS[name](model.parameters()), OPTIMIZERS[name](twin.parameters())
    criterion = nn.CrossEntropyLoss()
    step = compile_step(twin, nn.CrossEntropyLoss(), our_opt, backend="numba")
    assert step.compiles_whole_epochs
    x, y = _data(dtype, n=45)
    for epoch in range(3):
        for xb, yb in DataLoader(x, y, batch_size=8, shuffle=True, rng=epoch):
            _reference_step(model, criterion, ref_opt, xb, yb)
        step.run_epoch(x, y, 8, shuffle=True, rng=epoch)
    _compare(model, twin, ref_opt, our_opt, dtype, close, f"whole epochs {name}")
