"""Sequential (mytorch/sequential.py): chains of every layer kind, trained against PyTorch.

The invalid-input cases at the end check that ``nn.Sequential`` lets its first layer
reject bad input with a clear error and refuses a child that is not a Module (table
conventions in tests/invalid_inputs.py).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from invalid_inputs import (
    ANY_LEADING_AXES,
    Case,
    CaseTable,
    add_matrix_layer_cases,
    assert_raises_a_clear_error,
)

from mytorch import nn, optim

T = torch.from_numpy
LR = 0.05


def every_layer_kind(head: str = "logits") -> nn.Sequential:
    """One model with every layer kind; ``head='log-probs'`` ends with LogSoftmax."""
    model = nn.Sequential(
        nn.Linear(6, 8, rng=0),
        nn.BatchNorm1d(8),
        nn.ReLU(),
        nn.Linear(8, 8, rng=1),
        nn.Tanh(),
        nn.Linear(8, 8, rng=2),
        nn.Sigmoid(),
        nn.Dropout(0.2, rng=3),
        nn.Linear(8, 8, bias=False, rng=4),
        nn.BatchNorm1d(8, affine=False, momentum=None),
        nn.LeakyReLU(0.1),
        nn.Linear(8, 8, rng=5),
        nn.ELU(0.8),
        nn.Linear(8, 8, rng=6),
        nn.GELU(),
        nn.Linear(8, 8, rng=7),
        nn.GELU(approximate="tanh"),
        nn.Linear(8, 8, rng=8),
        nn.Softplus(beta=2.0, threshold=5.0),
        nn.BatchNorm1d(8, eps=1e-3, momentum=0.3, track_running_stats=False),
        nn.Linear(8, 4, rng=9),
        nn.Identity(),
    )
    if head == "log-probs":
        model.append(nn.LogSoftmax(dim=1))
    return model


CRITERIA = {
    "CrossEntropyLoss": ("logits", nn.CrossEntropyLoss, torch.nn.CrossEntropyLoss),
    "LogSoftmax+NLLLoss": ("log-probs", nn.NLLLoss, torch.nn.NLLLoss),
}


def _assert_state_dicts_equal(ours, theirs, close, tol):
    ours_state, theirs_state = ours.state_dict(), theirs.state_dict()
    assert list(ours_state) == list(theirs_state)
    for key, value in ours_state.items():
        if key.endswith("num_batches_tracked"):
            assert int(value) == int(theirs_state[key]), key
        else:
            close(value, theirs_state[key], key, tol=tol)


@pytest.mark.parametrize("criterion", CRITERIA)
def test_every_layer_kind_trained_20_sgd_steps_ends_like_torch(criterion, rng, close, to_torch):
    head, make_ours, make_theirs = CRITERIA[criterion]
    ours = every_layer_kind(head)
    theirs = to_torch(ours)
    loss_fn, loss_fn_t = make_ours(), make_theirs()
    for _ in range(20):
        x, y = rng.normal(size=(16, 6)), rng.integers(0, 4, size=16)
        ours.zero_grad()
        loss = loss_fn(ours(x), y)
        ours.backward(loss_fn.backward())
        for param in ours.parameters():
            param.data -= LR * param.grad

        theirs.zero_grad()
        loss_t = loss_fn_t(theirs(T(x)), T(y))  # after ours: Dropout's mask is set
        loss_t.backward()
        with torch.no_grad():
            for param in theirs.parameters():
                param -= LR * param.grad
        close(loss, loss_t, "loss", tol=1e-9)
    _assert_state_dicts_equal(ours, theirs, close, tol=1e-9)
    x = rng.normal(size=(5, 6))
    close(ours.eval()(x), theirs.eval()(T(x)), "eval output after training", tol=1e-9)


def test_every_layer_kind_trained_with_optim_sgd_momentum_ends_like_torch(rng, close, to_torch):
    ours = every_layer_kind()
    theirs = to_torch(ours)
    opt = optim.SGD(ours.parameters(), lr=LR, momentum=0.9)
    opt_t = torch.optim.SGD(theirs.parameters(), lr=LR, momentum=0.9)
    loss_fn, loss_fn_t = nn.CrossEntropyLoss(), torch.nn.CrossEntropyLoss()
    for _ in range(20):
        x, y = rng.normal(size=(16, 6)), rng.integers(0, 4, size=16)
        opt.zero_grad()
        loss_fn(ours(x), y)
        ours.backward(loss_fn.backward())
        opt.step()
        opt_t.zero_grad()
        loss_fn_t(theirs(T(x)), T(y)).backward()
        opt_t.step()
    _assert_state_dicts_equal(ours, theirs, close, tol=1e-9)


@pytest.mark.parametrize("mode", ["train", "eval"])
@pytest.mark.parametrize("batch", [1, 7, 128])
def test_sequential_forward_and_gradients_match_torch(batch, mode, rng, close, to_torch):
    if mode == "train" and batch == 1:
        batch = 2  # BatchNorm needs two samples in training mode
    model = nn.Sequential(
        nn.Linear(5, 7, rng=0),
        nn.BatchNorm1d(7),
        nn.Step(),
        nn.Linear(7, 6, rng=1),
        nn.Softmax(dim=1),
        nn.Linear(6, 3, bias=False, rng=2),
    )
    model.train(mode == "train")
    theirs = to_torch(model)
    x, grad_output = rng.normal(size=(batch, 5)), rng.normal(size=(batch, 3))
    x_t = torch.tensor(x, requires_grad=True)
    theirs(x_t).backward(T(grad_output))
    close(model(x), theirs(T(x)) if mode == "eval" else _fresh_forward(model, x), "output")
    close(model.backward(grad_output), x_t.grad, "grad_input")
    for (name, param), (name_t, param_t) in zip(
        model.named_parameters(), theirs.named_parameters(), strict=True
    ):
        assert name == name_t
        close(param.grad, param_t.grad, f"{name}.grad")


def _fresh_forward(model, x):
    """Training output from formulas (BatchNorm with batch statistics), not from torch,
    whose second forward would update its running statistics again."""
    h = x @ model[0].weight.data.T + model[0].bias.data
    h = (h - h.mean(0)) / np.sqrt(h.var(0) + model[1].eps)
    h = h * model[1].weight.data + model[1].bias.data
    h = (h > 0).astype(np.float64) @ model[3].weight.data.T + model[3].bias.data
    e = np.exp(h - h.max(axis=1, keepdims=True))
    return (e / e.sum(axis=1, keepdims=True)) @ model[5].weight.data.T


def test_sequential_backward_runs_in_reverse_and_returns_input_gradient(rng, close):
    first, second = nn.Linear(3, 4, rng=0), nn.Linear(4, 2, rng=1)
    model = nn.Sequential(first, second)
    x, grad_output = rng.normal(size=(5, 3)), rng.normal(size=(5, 2))
    model(x)
    close(model.backward(grad_output), grad_output @ second.weight.data @ first.weight.data, "dx")


def test_sequential_indexing_len_iteration_and_slicing():
    layers = [nn.Linear(3, 4, rng=0), nn.ReLU(), nn.Linear(4, 2, rng=1)]
    model = nn.Sequential(*layers)
    assert len(model) == 3
    assert list(model) == layers
    assert model[0] is layers[0] and model[-1] is layers[2]
    head = model[1:]
    assert isinstance(head, nn.Sequential) and list(head) == layers[1:]


def test_sequential_append_registers_the_next_index():
    model = nn.Sequential(nn.Linear(3, 4, rng=0))
    assert model.append(nn.Linear(4, 2, rng=1)) is model
    assert list(model.state_dict()) == ["0.weight", "0.bias", "1.weight", "1.bias"]


def test_sequential_rejects_a_non_module():
    with pytest.raises(TypeError, match="Sequential: expected a Module, got function"):
        nn.Sequential(lambda x: x)


@pytest.mark.parametrize("activation", [nn.ReLU, nn.Sigmoid, nn.Tanh])
def test_activations_computed_in_place_leave_every_kept_array_intact(activation):
    # ``inplace=True`` after a Linear overwrites the Linear's output, which no one keeps;
    # nothing a layer keeps (the Linear's input, the course BatchNorm's ``out``) may
    # change, and the result must equal the module run out of place.
    from mytorch.batchnorm import BatchNorm as CourseBatchNorm

    rng = np.random.default_rng(0)
    x = rng.standard_normal((6, 4))
    linear, norm, act = nn.Linear(4, 5, rng=1), CourseBatchNorm(5), activation(inplace=True)
    model = nn.Sequential(linear, act, nn.Linear(5, 5, rng=2), norm, activation())
    x_before = x.copy()
    out = model(x)
    np.testing.assert_array_equal(x, x_before)
    alone = activation()(norm.out.copy())
    np.testing.assert_array_equal(out, alone)
    assert (norm.out < 0).any()  # BatchNorm's output, not the activation's
    np.testing.assert_array_equal(act.state, activation()(linear(x)))
    np.testing.assert_array_equal(linear.x, x)


@pytest.mark.parametrize("activation", [nn.ReLU, nn.Sigmoid, nn.Tanh])
def test_an_activation_leaves_its_input_alone_unless_asked_to_work_in_place(activation):
    z = np.linspace(-2.0, 2.0, 12).reshape(3, 4)
    before = z.copy()
    out = activation()(z)
    np.testing.assert_array_equal(z, before)
    assert out is not z
    in_place = activation(inplace=True)(z)
    assert in_place is z
    np.testing.assert_array_equal(in_place, out)


def test_an_activation_without_an_in_place_form_refuses_inplace():
    with pytest.raises(ValueError, match=r"^Step: inplace=True is not supported"):
        nn.Step(inplace=True)
    with pytest.raises(TypeError, match=r"^ReLU: expected inplace to be a bool, got 'yes'"):
        nn.ReLU(inplace="yes")


# ----------------------------------------------------------------------- invalid inputs
# nn.Sequential passes bad input on to its first layer, whose error names it, and refuses
# a child that is not a Module (conventions in tests/invalid_inputs.py).
INVALID_INPUTS = CaseTable()
case = INVALID_INPUTS.case

add_matrix_layer_cases(
    INVALID_INPUTS,
    "nn.Sequential",
    lambda: nn.Sequential(nn.Linear(3, 4, rng=0), nn.ReLU(), nn.Linear(4, 2, rng=1)),
    "Linear",
    backward=False,
    ranks=ANY_LEADING_AXES,
)
case(
    "nn.Sequential",
    "backward before forward",
    lambda: nn.Sequential(nn.Linear(3, 2, rng=0)).backward(np.ones((4, 2))),
    RuntimeError,
    r"^Linear\.backward: backward\(\) called before forward\(\)",
)
case(
    "nn.Sequential",
    "not a Module",
    lambda: nn.Sequential(nn.Linear(3, 2), "relu"),
    TypeError,
    r"^Sequential: expected a Module, got str",
)


@pytest.mark.parametrize("item", INVALID_INPUTS, ids=[c.id for c in INVALID_INPUTS])
def test_invalid_input_raises_a_clear_error(item: Case):
    assert_raises_a_clear_error(item)
