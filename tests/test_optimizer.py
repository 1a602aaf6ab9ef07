"""Tests for mytorch/optim: every optimiser against torch.optim, the notes' formulas by
hand, state_dict round trips through JSON + npz, dtypes, and hyper-parameter checks.

The invalid-input cases at the end check that every optimiser rejects bad
hyper-parameters, parameter lists and gradients with a clear error (table conventions
in tests/invalid_inputs.py).
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable

import numpy as np
import pytest
import torch
from conftest import json_npz_round_trip
from invalid_inputs import INF, NAN, Case, CaseTable, assert_raises_a_clear_error, params

from mytorch import nn, optim
from mytorch.nn.parameter import Parameter

# Tiny tensors: on a 2-core machine torch's worker threads and OpenBLAS's spin against each
# other and make each backward pass ~50x slower; one torch thread avoids that.
torch.set_num_threads(1)

TOL = 1e-9  # relative, float64, after 25 steps
STEPS = 25

X = np.random.default_rng(7).normal(size=(40, 4))
Y = np.random.default_rng(8).integers(0, 3, size=40)


# ------------------------------------------------------------------ helpers
def make_models(dtype=np.float64, seed=0):
    """A small MLP and its float64 (or float32) torch twin, with the same weights."""
    model = nn.Sequential(
        nn.Linear(4, 6, dtype=dtype, rng=seed),
        nn.Tanh(),
        nn.Linear(6, 3, dtype=dtype, rng=seed + 1),
    )
    torch_dtype = torch.float64 if dtype == np.float64 else torch.float32
    twin = torch.nn.Sequential(
        torch.nn.Linear(4, 6, dtype=torch_dtype),
        torch.nn.Tanh(),
        torch.nn.Linear(6, 3, dtype=torch_dtype),
    )
    twin.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in model.state_dict().items()})
    return model, twin


def batch(step, dtype=np.float64):
    rows = slice((8 * step) % 40, (8 * step) % 40 + 8)
    return X[rows].astype(dtype), Y[rows]


def backward(model, step):
    """Gradients of the cross-entropy of batch ``step`` into the model's parameters."""
    x, y = batch(step, model[0].weight.data.dtype)
    criterion = nn.CrossEntropyLoss()
    model.zero_grad()
    loss = criterion(model(x), y)
    model.backward(criterion.backward())
    return loss


def torch_backward(twin, step):
    x, y = batch(step)
    twin.zero_grad()
    dtype = next(twin.parameters()).dtype
    loss = torch.nn.functional.cross_entropy(
        twin(torch.from_numpy(x).to(dtype)), torch.from_numpy(y)
    )
    loss.backward()
    return loss


def groups_of(params, spec):
    """``spec`` None: the parameter list; else a list of (indices, options) groups."""
    params = list(params)
    if spec is None:
        return params
    return [{"params": [params[i] for i in indices], **options} for indices, options in spec]


def assert_same_parameters(close, model, twin, what, tol=TOL):
    for (name, param), torch_param in zip(model.named_parameters(), twin.parameters(), strict=True):
        close(param.data, torch_param, f"{what} {name}", tol=tol)


def quadratic_gradient(w, target, curvature):
    """Gradient of 0.5 * sum(curvature * (w - target)^2)."""
    return curvature * (w - target)


# ------------------------------------------------------------------ against torch.optim
TWO_GROUPS = [([0, 1], {"lr": 0.03}), ([2, 3], {})]  # first layer with its own lr
BIAS_NO_DECAY = [([0, 2], {}), ([1, 3], {"weight_decay": 0.0})]  # weights / biases

CASES = [
    ("SGD", {"lr": 0.1}, None),
    ("SGD", {"lr": 0.05, "momentum": 0.9}, None),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "dampening": 0.3}, None),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True}, None),
    ("SGD", {"lr": 0.05, "momentum": 0.5, "weight_decay": 0.1}, BIAS_NO_DECAY),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True, "maximize": True}, None),
    ("SGD", {"lr": 0.1, "momentum": 0.8}, TWO_GROUPS),
    ("Adagrad", {"lr": 0.1}, None),
    (
        "Adagrad",
        {
            "lr": 0.1,
            "lr_decay": 0.05,
            "weight_decay": 0.01,
            "initial_accumulator_value": 0.1,
            "eps": 1e-6,
        },
        None,
    ),
    ("Adagrad", {"lr": 0.1, "maximize": True}, TWO_GROUPS),
    ("RMSprop", {"lr": 0.01}, None),
    ("RMSprop", {"lr": 0.01, "centered": True}, None),
    ("RMSprop", {"lr": 0.01, "momentum": 0.9}, None),
    (
        "RMSprop",
        {
            "lr": 0.01,
            "alpha": 0.9,
            "momentum": 0.8,
            "centered": True,
            "weight_decay": 0.01,
            "maximize": True,
        },
        TWO_GROUPS,
    ),
    ("Adadelta", {}, None),
    ("Adadelta", {"lr": 0.5, "rho": 0.8, "eps": 1e-5, "weight_decay": 0.05}, TWO_GROUPS),
    ("Adadelta", {"maximize": True}, None),
    ("Adam", {"lr": 0.01}, None),
    ("Adam", {"lr": 0.01, "betas": (0.8, 0.99), "weight_decay": 0.05, "amsgrad": True}, None),
    ("Adam", {"lr": 0.01, "maximize": True}, TWO_GROUPS),
    ("Adam", {"lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True}, None),
    ("AdamW", {"lr": 0.01}, None),
    ("AdamW", {"lr": 0.01, "weight_decay": 0.1, "amsgrad": True}, BIAS_NO_DECAY),
]
CASE_IDS = [f"{name}-{i}" for i, (name, _, _) in enumerate(CASES)]


@pytest.mark.parametrize(("name", "options", "spec"), CASES, ids=CASE_IDS)
def test_optimizer_matches_torch_for_25_steps_on_an_mlp(close, name, options, spec):
    model, twin = make_models()
    ours = getattr(optim, name)(groups_of(model.parameters(), spec), **options)
    theirs = getattr(torch.optim, name)(groups_of(twin.parameters(), spec), **options)
    for step in range(STEPS):
        close(backward(model, step), torch_backward(twin, step).detach(), f"loss {step}")
        ours.step()
        theirs.step()
        assert_same_parameters(close, model, twin, f"{name} step {step}")


@pytest.mark.parametrize(("name", "options", "spec"), CASES, ids=CASE_IDS)
def test_optimizer_resumed_from_json_npz_state_continues_identically(name, options, spec):
    model, _ = make_models()
    optimizer = getattr(optim, name)(groups_of(model.parameters(), spec), **options)
    for step in range(10):
        backward(model, step)
        optimizer.step()

    saved = json_npz_round_trip(optimizer.state_dict())
    resumed_model, _ = make_models(seed=5)  # different weights, overwritten below
    resumed_model.load_state_dict({k: v.copy() for k, v in model.state_dict().items()})
    resumed = getattr(optim, name)(groups_of(resumed_model.parameters(), spec), **options)
    resumed.load_state_dict(saved)

    for step in range(10, STEPS):
        for m, opt in ((model, optimizer), (resumed_model, resumed)):
            backward(m, step)
            opt.step()
        for a, b in zip(model.parameters(), resumed_model.parameters(), strict=True):
            np.testing.assert_array_equal(a.data, b.data)


def test_state_dict_is_a_snapshot_and_matches_torch_layout():
    model, twin = make_models()
    ours = optim.Adam(groups_of(model.parameters(), TWO_GROUPS), lr=0.01, amsgrad=True)
    theirs = torch.optim.Adam(groups_of(twin.parameters(), TWO_GROUPS), lr=0.01, amsgrad=True)
    for step in range(3):
        backward(model, step)
        torch_backward(twin, step)
        ours.step()
        theirs.step()
    state, torch_sd = ours.state_dict(), theirs.state_dict()
    assert [g["params"] for g in state["param_groups"]] == [
        g["params"] for g in torch_sd["param_groups"]
    ]
    assert set(state["state"]) == set(torch_sd["state"])
    for index, torch_entry in torch_sd["state"].items():
        assert set(state["state"][index]) == set(torch_entry)
        assert state["state"][index]["step"] == int(torch_entry["step"])
        np.testing.assert_allclose(
            state["state"][index]["exp_avg"], torch_entry["exp_avg"].numpy(), rtol=1e-9
        )
    state["state"][0]["exp_avg"] += 1.0  # editing the snapshot leaves the optimiser alone
    assert not np.array_equal(
        state["state"][0]["exp_avg"], ours.state_dict()["state"][0]["exp_avg"]
    )


def test_load_state_dict_restores_tuple_betas_and_string_keys():
    model, _ = make_models()
    optimizer = optim.Adam(model.parameters(), betas=(0.8, 0.9))
    backward(model, 0)
    optimizer.step()
    saved = json_npz_round_trip(optimizer.state_dict())
    assert isinstance(saved["param_groups"][0]["betas"], list)
    assert set(saved["state"]) == {"0", "1", "2", "3"}
    other = optim.Adam(make_models()[0].parameters())
    other.load_state_dict(saved)
    assert other.param_groups[0]["betas"] == (0.8, 0.9)
    assert all(isinstance(key, Parameter) for key in other.state)
    assert other.state[other.param_groups[0]["params"][0]]["step"] == 1


def test_load_state_dict_rejects_mismatched_groups_and_shapes():
    model, _ = make_models()
    optimizer = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    backward(model, 0)
    optimizer.step()
    saved = optimizer.state_dict()
    two_groups = optim.SGD(groups_of(make_models()[0].parameters(), TWO_GROUPS), momentum=0.9)
    with pytest.raises(ValueError, match=r"^SGD\.load_state_dict: .*1 parameter groups"):
        two_groups.load_state_dict(saved)
    fewer = optim.SGD(list(make_models()[0].parameters())[:2], momentum=0.9)
    with pytest.raises(ValueError, match="4 parameters"):
        fewer.load_state_dict(saved)
    saved["state"][0]["momentum_buffer"] = np.zeros((2, 2))
    with pytest.raises(ValueError, match="shape"):
        optim.SGD(make_models()[0].parameters(), momentum=0.9).load_state_dict(saved)
    with pytest.raises(TypeError, match="'state' and 'param_groups'"):
        optimizer.load_state_dict({"state": {}})


# ------------------------------------------------------------------ behaviour
def test_add_param_group_trains_the_new_group_with_its_own_lr_like_torch(close):
    model, twin = make_models()
    params, torch_params = list(model.parameters()), list(twin.parameters())
    ours = optim.SGD(params[:2], lr=0.05, momentum=0.9)
    theirs = torch.optim.SGD(torch_params[:2], lr=0.05, momentum=0.9)
    for step in range(STEPS):
        if step == 5:
            ours.add_param_group({"params": params[2:], "lr": 0.2})
            theirs.add_param_group({"params": torch_params[2:], "lr": 0.2})
        backward(model, step)
        torch_backward(twin, step)
        ours.step()
        theirs.step()
        assert_same_parameters(close, model, twin, f"step {step}")
    assert ours.param_groups[1]["momentum"] == 0.9  # filled from the defaults


def test_parameters_without_gradient_are_left_alone_and_get_no_state():
    model, _ = make_models()
    optimizer = optim.Adam(model.parameters(), lr=0.1)
    frozen = model[0].weight
    before = frozen.data.copy()
    for step in range(3):
        backward(model, step)
        frozen.grad = None
        optimizer.step()
    np.testing.assert_array_equal(frozen.data, before)
    assert frozen not in optimizer.state
    assert optimizer.state[model[2].weight]["step"] == 3


def test_step_updates_parameters_and_state_in_place():
    model, _ = make_models()
    cases = [
        optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.1),
        optim.Adagrad(model.parameters(), weight_decay=0.1),
        optim.RMSprop(model.parameters(), momentum=0.5, centered=True, maximize=True),
        optim.Adadelta(model.parameters(), weight_decay=0.1),
        optim.Adam(model.parameters(), amsgrad=True, weight_decay=0.1),
        optim.AdamW(model.parameters()),
        optim.NotesAdadelta(model.parameters(), weight_decay=0.1),
        optim.NotesAdam(model.parameters(), weight_decay=0.1),
        optim.NotesSGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=0.1),
    ]
    for optimizer in cases:
        backward(model, 0)
        optimizer.step()
        data = [p.data for p in model.parameters()]
        grads = [p.grad.copy() for p in model.parameters()]
        state_arrays = {
            (id(p), key): value
            for p, s in optimizer.state.items()
            for key, value in s.items()
            if isinstance(value, np.ndarray)
        }
        backward(model, 1)
        grads = [p.grad.copy() for p in model.parameters()]
        optimizer.step()
        assert all(p.data is d for p, d in zip(model.parameters(), data, strict=True))
        # the gradient is read, never modified (weight decay / maximize work on a copy)
        assert all(
            np.array_equal(p.grad, g) for p, g in zip(model.parameters(), grads, strict=True)
        )
        for (pid, key), value in state_arrays.items():
            param = next(p for p in optimizer.state if id(p) == pid)
            assert optimizer.state[param][key] is value, (type(optimizer).__name__, key)


@pytest.mark.parametrize(("name", "options", "spec"), CASES, ids=CASE_IDS)
def test_step_allocates_no_array_after_the_first(name, options, spec):
    params = [Parameter(np.full((64, 64), 0.5)) for _ in range(4)]
    optimizer = getattr(optim, name)(groups_of(params, spec), **options)
    for param in params:
        param.grad = np.linspace(-1.0, 1.0, param.data.size).reshape(param.data.shape)
    optimizer.step()  # creates the state and the scratch arrays
    tracemalloc.start()
    try:
        optimizer.step()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < params[0].data.nbytes // 4, f"a step allocated {peak} bytes"


@pytest.mark.parametrize(("name", "options", "spec"), CASES[::3], ids=CASE_IDS[::3])
def test_float32_parameters_and_state_stay_float32_and_track_float64(name, options, spec):
    model32, _ = make_models(np.float32)
    model64, _ = make_models(np.float64)
    opt32 = getattr(optim, name)(groups_of(model32.parameters(), spec), **options)
    opt64 = getattr(optim, name)(groups_of(model64.parameters(), spec), **options)
    for step in range(5):
        backward(model32, step)
        backward(model64, step)
        opt32.step()
        opt64.step()
    for p32, p64 in zip(model32.parameters(), model64.parameters(), strict=True):
        assert p32.data.dtype == np.float32
        np.testing.assert_allclose(p32.data, p64.data, rtol=1e-4, atol=1e-5)
    for state in opt32.state.values():
        for value in state.values():
            assert not isinstance(value, np.ndarray) or value.dtype == np.float32


def test_zero_grad_sets_none_or_zeros_in_place():
    model, _ = make_models()
    optimizer = optim.SGD(model.parameters())
    backward(model, 0)
    grads = [p.grad for p in model.parameters()]
    optimizer.zero_grad(set_to_none=False)
    assert all(p.grad is g and not g.any() for p, g in zip(model.parameters(), grads, strict=True))
    optimizer.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_step_returns_the_closure_result():
    w = Parameter(np.array([1.0, 2.0]))
    optimizer = optim.SGD([w], lr=0.5)

    def closure():
        w.grad = 2 * w.data
        return float(w.data @ w.data)

    assert optimizer.step(closure) == 5.0
    np.testing.assert_array_equal(w.data, [0.0, 0.0])


# ------------------------------------------------------------------ the notes' formulas
def _quadratic_problem():
    rng = np.random.default_rng(3)
    target = rng.normal(size=(3, 4))
    curvature = rng.uniform(0.1, 5.0, size=(3, 4))
    w0 = rng.normal(size=(3, 4))
    return w0, target, curvature


def test_sgd_momentum_is_the_notes_velocity_form(close):
    w0, target, curvature = _quadratic_problem()
    eta, gamma = 0.05, 0.9
    w = Parameter(w0.copy())
    optimizer = optim.SGD([w], lr=eta, momentum=gamma)
    w_notes, velocity = w0.copy(), np.zeros_like(w0)
    for step in range(STEPS):
        w.grad = quadratic_gradient(w.data, target, curvature)
        optimizer.step()
        # notes 7.7.2.2: V_t = gamma V_{t-1} + eta grad J(W_{t-1}); W_t = W_{t-1} - V_t
        velocity = gamma * velocity + eta * quadratic_gradient(w_notes, target, curvature)
        w_notes = w_notes - velocity
        close(w.data, w_notes, f"step {step}")


def test_sgd_weight_decay_is_the_notes_l2_form_with_twice_lambda(close):
    w0, target, curvature = _quadratic_problem()
    eta, lam = 0.1, 0.3
    w = Parameter(w0.copy())
    optimizer = optim.SGD([w], lr=eta, weight_decay=2 * lam)
    w_notes = w0.copy()
    for step in range(STEPS):
        w.grad = quadratic_gradient(w.data, target, curvature)
        optimizer.step()
        # notes 7.8.1: W_t = W_{t-1} (1 - 2 lambda eta) - eta grad L(W_{t-1})
        w_notes = w_notes * (1 - 2 * lam * eta) - eta * quadratic_gradient(
            w_notes, target, curvature
        )
        close(w.data, w_notes, f"step {step}")


def test_notes_adadelta_follows_the_notes_formula_by_hand(close):
    w0, target, curvature = _quadratic_problem()
    eta, gamma, eps = 0.05, 0.9, 1e-8
    w = Parameter(w0.copy())
    optimizer = optim.NotesAdadelta([w], lr=eta, gamma=gamma, eps=eps)
    w_notes, G = w0.copy(), np.zeros_like(w0)
    for step in range(STEPS):
        w.grad = quadratic_gradient(w.data, target, curvature)
        optimizer.step()
        # notes 7.7.2.3
        g = quadratic_gradient(w_notes, target, curvature)
        G = gamma * G + (1 - gamma) * g**2
        w_notes = w_notes - eta / np.sqrt(G + eps) * g
        close(w.data, w_notes, f"step {step}")


def test_notes_adadelta_is_rmsprop_with_eps_inside_the_root(close):
    w0, target, curvature = _quadratic_problem()
    ours = Parameter(w0.copy())
    theirs = torch.tensor(w0.copy(), requires_grad=True)
    notes = optim.NotesAdadelta([ours], lr=0.05, gamma=0.8, eps=0.0)
    rmsprop = torch.optim.RMSprop([theirs], lr=0.05, alpha=0.8, eps=0.0)
    for step in range(STEPS):
        ours.grad = quadratic_gradient(ours.data, target, curvature)
        theirs.grad = torch.from_numpy(
            quadratic_gradient(theirs.detach().numpy(), target, curvature)
        )
        notes.step()
        rmsprop.step()
        close(ours.data, theirs.detach(), f"step {step}")


def test_torch_adadelta_follows_zeilers_formula_not_the_notes(close):
    w0, target, curvature = _quadratic_problem()
    lr, rho, eps = 1.0, 0.9, 1e-6
    w = Parameter(w0.copy())
    optimizer = optim.Adadelta([w], lr=lr, rho=rho, eps=eps)
    w_hand, v, u = w0.copy(), np.zeros_like(w0), np.zeros_like(w0)
    for step in range(STEPS):
        w.grad = quadratic_gradient(w.data, target, curvature)
        optimizer.step()
        g = quadratic_gradient(w_hand, target, curvature)
        v = rho * v + (1 - rho) * g**2
        delta = np.sqrt(u + eps) / np.sqrt(v + eps) * g
        u = rho * u + (1 - rho) * delta**2
        w_hand = w_hand - lr * delta
        close(w.data, w_hand, f"step {step}")
    # The notes' rule with the same decay and step size moves much further.
    notes = Parameter(w0.copy())
    notes.grad = quadratic_gradient(notes.data, target, curvature)
    optim.NotesAdadelta([notes], lr=lr, gamma=rho, eps=eps).step()
    first = Parameter(w0.copy())
    first.grad = notes.grad
    optim.Adadelta([first], lr=lr, rho=rho, eps=eps).step()
    assert np.abs(notes.data - w0).min() > 100 * np.abs(first.data - w0).max()


def _notes_adam(w0, target, curvature, eta, beta1, beta2, eps, eps_inside_root):
    """The notes' Adam (7.7.2.4) written out; eps_inside_root=False moves eps out of the
    square root, which is PyTorch's rule."""
    w, m, v = w0.copy(), np.zeros_like(w0), np.zeros_like(w0)
    history = []
    for t in range(1, STEPS + 1):
        g = quadratic_gradient(w, target, curvature)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
        m_hat = m / (1 - beta1**t)
        v_hat = v / (1 - beta2**t)
        if eps_inside_root:
            w = w - eta / np.sqrt(v_hat + eps) * m_hat
        else:
            w = w - eta / (np.sqrt(v_hat) + eps) * m_hat
        history.append(w)
    return history


@pytest.mark.parametrize(("cls", "eps_inside_root"), [(optim.NotesAdam, True), (optim.Adam, False)])
def test_adam_follows_the_notes_formula_with_eps_in_its_place(close, cls, eps_inside_root):
    w0, target, curvature = _quadratic_problem()
    eta, beta1, beta2 = 0.05, 0.9, 0.999
    # eps large enough that its place matters
    eps = 1e-2
    expected = _notes_adam(w0, target, curvature, eta, beta1, beta2, eps, eps_inside_root)
    other = _notes_adam(w0, target, curvature, eta, beta1, beta2, eps, not eps_inside_root)
    assert np.abs(expected[-1] - other[-1]).max() > 1e-4
    w = Parameter(w0.copy())
    optimizer = cls([w], lr=eta, betas=(beta1, beta2), eps=eps)
    for step in range(STEPS):
        w.grad = quadratic_gradient(w.data, target, curvature)
        optimizer.step()
        close(w.data, expected[step], f"step {step}")


def test_notes_adam_equals_adam_when_eps_is_zero(close):
    w0, target, curvature = _quadratic_problem()
    a, b = Parameter(w0.copy()), Parameter(w0.copy())
    adam = optim.Adam([a], lr=0.05, eps=0.0)
    notes = optim.NotesAdam([b], lr=0.05, eps=0.0)
    for step in range(STEPS):
        for p, opt in ((a, adam), (b, notes)):
            p.grad = quadratic_gradient(p.data, target, curvature)
            opt.step()
        close(b.data, a.data, f"step {step}")


# ------------------------------------------------------------------ validation
def _params():
    return [Parameter(np.zeros((2, 3))), Parameter(np.zeros(3))]


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (lambda p: optim.SGD(p, lr=-0.1), ValueError, r"^SGD: expected lr in \[0.0, inf\]"),
        (lambda p: optim.SGD(p, lr=float("nan")), ValueError, "^SGD: expected lr to be finite"),
        (lambda p: optim.SGD(p, lr="0.1"), TypeError, "^SGD: expected lr to be a number"),
        (lambda p: optim.SGD(p, momentum=-0.5), ValueError, "^SGD: expected momentum"),
        (lambda p: optim.SGD(p, nesterov=True), ValueError, "^SGD: nesterov=True needs"),
        (
            lambda p: optim.SGD(p, momentum=0.9, dampening=0.1, nesterov=True),
            ValueError,
            "dampening = 0",
        ),
        (lambda p: optim.SGD(p, nesterov=1), TypeError, "^SGD: expected nesterov to be True"),
        (lambda p: optim.SGD(p, weight_decay=-1e-4), ValueError, "^SGD: expected weight_decay"),
        (lambda p: optim.Adagrad(p, lr_decay=-1), ValueError, "^Adagrad: expected lr_decay"),
        (
            lambda p: optim.Adagrad(p, initial_accumulator_value=-1),
            ValueError,
            "^Adagrad: expected initial_accumulator_value",
        ),
        (lambda p: optim.Adagrad(p, eps=float("inf")), ValueError, "^Adagrad: expected eps"),
        (lambda p: optim.RMSprop(p, alpha=1.5), ValueError, "^RMSprop: expected alpha"),
        (lambda p: optim.RMSprop(p, centered="yes"), TypeError, "^RMSprop: expected centered"),
        (lambda p: optim.Adadelta(p, rho=1.1), ValueError, "^Adadelta: expected rho"),
        (
            lambda p: optim.Adam(p, betas=(1.0, 0.999)),
            ValueError,
            r"^Adam: expected betas\[0\] in \[0.0, 1.0\)",
        ),
        (lambda p: optim.Adam(p, betas=(0.9, -0.1)), ValueError, r"^Adam: expected betas\[1\]"),
        (lambda p: optim.Adam(p, betas=(0.9,)), ValueError, "^Adam: expected betas to be a pair"),
        (lambda p: optim.Adam(p, betas=0.9), TypeError, "^Adam: expected betas to be a pair"),
        (lambda p: optim.Adam(p, amsgrad=None), TypeError, "^Adam: expected amsgrad"),
        (lambda p: optim.AdamW(p, weight_decay=-0.01), ValueError, "^AdamW: expected weight_dec"),
        (lambda p: optim.NotesAdadelta(p, gamma=1.0), ValueError, "^NotesAdadelta: expected gam"),
        (lambda p: optim.NotesAdam(p, eps=-1.0), ValueError, "^NotesAdam: expected eps"),
        (
            lambda p: optim.SGD([{"params": p[:1], "lr": -1.0}, {"params": p[1:]}]),
            ValueError,
            r"^SGD\.add_param_group: expected lr",
        ),
    ],
)
def test_bad_hyperparameters_raise_errors_naming_the_class(make, error, message):
    with pytest.raises(error, match=message):
        make(_params())


def test_bad_parameter_lists_raise():
    params = _params()
    with pytest.raises(ValueError, match="^SGD: got an empty parameter list"):
        optim.SGD([])
    with pytest.raises(TypeError, match="single Parameter"):
        optim.SGD(params[0])
    with pytest.raises(TypeError, match="got ndarray at position 0"):
        optim.Adam([np.zeros(3)])
    with pytest.raises(TypeError, match="set"):
        optim.Adam(set(params))
    with pytest.raises(ValueError, match="appears twice"):
        optim.Adam([params[0], params[0]])
    optimizer = optim.SGD(params[:1])
    with pytest.raises(ValueError, match="more than one group"):
        optimizer.add_param_group({"params": params})
    with pytest.raises(ValueError, match="no 'params'"):
        optimizer.add_param_group({"lr": 0.1})


def test_gradient_of_the_wrong_shape_raises():
    w = Parameter(np.zeros((2, 3)))
    w.grad = np.zeros((3, 2))
    with pytest.raises(ValueError, match=r"^Adam\.step: gradient of shape \(3, 2\)"):
        optim.Adam([w]).step()


# ----------------------------------------------------------------------- invalid inputs
# Every optimiser rejects bad hyper-parameters, parameter lists and gradients with an
# error naming it (conventions in tests/invalid_inputs.py).
INVALID_INPUTS = CaseTable()
case = INVALID_INPUTS.case

OPTIMIZERS: dict[str, Callable[..., optim.Optimizer]] = {
    "SGD": optim.SGD,
    "Adam": optim.Adam,
    "AdamW": optim.AdamW,
    "RMSprop": optim.RMSprop,
    "Adagrad": optim.Adagrad,
    "Adadelta": optim.Adadelta,
    "NotesAdam": optim.NotesAdam,
    "NotesAdadelta": optim.NotesAdadelta,
    # The notes give no default step size, and NotesSGD has none.
    "NotesSGD": lambda params, **options: optim.NotesSGD(params, **{"lr": 0.1, **options}),
}
for name, cls in OPTIMIZERS.items():
    for key, value, error, pattern in [
        ("lr", -0.1, ValueError, r"expected lr in \[0.0, inf\], got -0.1"),
        ("lr", NAN, ValueError, "expected lr to be finite, got nan"),
        ("lr", INF, ValueError, "expected lr to be finite, got inf"),
        ("lr", "0.1", TypeError, "expected lr to be a number, got '0.1'"),
        ("lr", None, TypeError, "expected lr to be a number, got None"),
        ("weight_decay", -1e-4, ValueError, r"expected weight_decay in \[0.0, inf\], got -0.0001"),
        ("weight_decay", NAN, ValueError, "expected weight_decay to be finite, got nan"),
    ]:
        case(
            name,
            f"{key}={value!r}",
            lambda cls=cls, k=key, v=value: cls(params(), **{k: v}),
            error,
            rf"^{name}: {pattern}",
        )
    if name == "NotesSGD":  # SGD's momentum case is below
        case(
            name,
            "momentum=-0.9",
            lambda cls=cls: cls(params(), momentum=-0.9),
            ValueError,
            rf"^{name}: expected momentum in \[0.0, inf\], got -0.9",
        )
    if name not in ("SGD", "NotesSGD"):
        case(
            name,
            "eps=-1",
            lambda cls=cls: cls(params(), eps=-1.0),
            ValueError,
            rf"^{name}: expected eps in \[0.0, inf\], got -1.0",
        )
    case(
        name,
        "empty parameter list",
        lambda cls=cls: cls([], lr=0.1),
        ValueError,
        rf"^{name}: got an empty parameter list",
    )
    case(
        name,
        "empty generator",
        lambda cls=cls: cls(iter(()), lr=0.1),
        ValueError,
        rf"^{name}: got an empty parameter list",
    )
    case(
        name,
        "arrays instead of Parameters",
        lambda cls=cls: cls([np.ones(3)], lr=0.1),
        TypeError,
        rf"^{name}\.add_param_group: expected Parameters in 'params', got ndarray",
    )
    case(
        name,
        "a single Parameter",
        lambda cls=cls: cls(params()[0], lr=0.1),
        TypeError,
        rf"^{name}: expected params to be an iterable of Parameters.*got a single Parameter",
    )
    case(
        name,
        "a model instead of its parameters",
        lambda cls=cls: cls(nn.Linear(3, 2), lr=0.1),
        TypeError,
        rf"^{name}: expected params to be an iterable of Parameters.*got Linear; "
        r"pass model\.parameters\(\)",
    )
    case(
        name,
        "None",
        lambda cls=cls: cls(None, lr=0.1),
        TypeError,
        rf"^{name}: expected params to be an iterable of Parameters.*got NoneType",
    )
    case(
        name,
        "a set",
        lambda cls=cls: cls(set(params()), lr=0.1),
        TypeError,
        rf"^{name}: expected params to be an ordered iterable.*got a set",
    )


def step_with_wrong_grad() -> None:
    weight = Parameter(np.ones((2, 3)))
    weight.grad = np.ones((3, 2))
    optim.SGD([weight], lr=0.1).step()


case(
    "SGD",
    "gradient of the wrong shape",
    step_with_wrong_grad,
    ValueError,
    r"^SGD\.step: gradient of shape \(3, 2\) does not match its parameter of shape \(2, 3\)",
)
case(
    "SGD",
    "momentum=-0.9",
    lambda: optim.SGD(params(), momentum=-0.9),
    ValueError,
    r"^SGD: expected momentum in \[0.0, inf\], got -0.9",
)
case(
    "SGD",
    "momentum=NaN",
    lambda: optim.SGD(params(), momentum=NAN),
    ValueError,
    r"^SGD: expected momentum to be finite, got nan",
)
case(
    "SGD",
    "nesterov without momentum",
    lambda: optim.SGD(params(), nesterov=True),
    ValueError,
    r"^SGD: nesterov=True needs momentum > 0 and dampening = 0, got momentum=0",
)
case(
    "SGD",
    "nesterov not a bool",
    lambda: optim.SGD(params(), nesterov="yes"),
    TypeError,
    r"^SGD: expected nesterov to be True or False, got 'yes'",
)
for name in ("Adam", "AdamW", "NotesAdam"):
    for betas, error, pattern in [
        ((0.9, 1.0), ValueError, r"expected betas\[1\] in \[0.0, 1.0\), got 1.0"),
        ((-0.1, 0.999), ValueError, r"expected betas\[0\] in \[0.0, 1.0\), got -0.1"),
        ((NAN, 0.999), ValueError, r"expected betas\[0\] to be finite, got nan"),
        (0.9, TypeError, r"expected betas to be a pair \(beta1, beta2\), got 0.9"),
        ((0.9, 0.99, 0.999), ValueError, r"expected betas to be a pair"),
    ]:
        case(
            name,
            f"betas={betas!r}",
            lambda n=name, b=betas: OPTIMIZERS[n](params(), betas=b),
            error,
            rf"^{name}: {pattern}",
        )
case(
    "RMSprop",
    "alpha=1.5",
    lambda: optim.RMSprop(params(), alpha=1.5),
    ValueError,
    r"^RMSprop: expected alpha in \[0.0, 1.0\], got 1.5",
)
case(
    "RMSprop",
    "momentum=-1",
    lambda: optim.RMSprop(params(), momentum=-1),
    ValueError,
    r"^RMSprop: expected momentum in \[0.0, inf\], got -1.0",
)
case(
    "Adagrad",
    "lr_decay=-1",
    lambda: optim.Adagrad(params(), lr_decay=-1),
    ValueError,
    r"^Adagrad: expected lr_decay in \[0.0, inf\], got -1.0",
)
case(
    "Adagrad",
    "initial_accumulator_value=NaN",
    lambda: optim.Adagrad(params(), initial_accumulator_value=NAN),
    ValueError,
    r"^Adagrad: expected initial_accumulator_value to be finite, got nan",
)
case(
    "Adadelta",
    "rho=1.5",
    lambda: optim.Adadelta(params(), rho=1.5),
    ValueError,
    r"^Adadelta: expected rho in \[0.0, 1.0\], got 1.5",
)
case(
    "NotesAdadelta",
    "gamma=1",
    lambda: optim.NotesAdadelta(params(), gamma=1.0),
    ValueError,
    r"^NotesAdadelta: expected gamma in \[0.0, 1.0\), got 1.0",
)
case(
    "SGD",
    "add_param_group with a bad lr",
    lambda: optim.SGD(params(), lr=0.1).add_param_group({"params": params(), "lr": -1}),
    ValueError,
    r"^SGD\.add_param_group: expected lr in \[0.0, inf\], got -1.0",
)


@pytest.mark.parametrize("item", INVALID_INPUTS, ids=[c.id for c in INVALID_INPUTS])
def test_invalid_input_raises_a_clear_error(item: Case):
    assert_raises_a_clear_error(item)
