"""Tests for mytorch/optim/lr_scheduler.py: every scheduler against
torch.optim.lr_scheduler over 25 epochs, resuming from a JSON round trip, and the checks
on its arguments.

The invalid-input cases at the end check that every scheduler rejects bad arguments,
optimisers and metrics with a clear error (table conventions in tests/invalid_inputs.py).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from conftest import json_npz_round_trip
from invalid_inputs import NAN, Case, CaseTable, assert_raises_a_clear_error, params, sgd

from mytorch import nn, optim
from mytorch.nn.parameter import Parameter
from mytorch.optim import lr_scheduler

# See tests/test_optimizer.py: one torch thread keeps tiny backward passes fast.
torch.set_num_threads(1)

TOL = 1e-9
EPOCHS = 25
X = np.random.default_rng(11).normal(size=(40, 4))
Y = np.random.default_rng(12).integers(0, 3, size=40)
# A metric with plateaus, a slight improvement below the threshold and a rise, so that
# ReduceLROnPlateau's patience, threshold and cooldown all come into play.
METRICS = [
    1.0,
    0.9,
    0.9,
    0.9,
    0.95,
    0.8,
    0.79995,
    0.8,
    0.8,
    0.8,
    0.7,
    0.7,
    0.71,
    0.72,
    0.6,
    0.6,
    0.6,
    0.6,
    0.6,
    0.5,
    0.5,
    0.55,
    0.5,
    0.5,
    0.5,
]


def make_models(seed=0):
    model = nn.Sequential(nn.Linear(4, 5, rng=seed), nn.ReLU(), nn.Linear(5, 3, rng=seed + 1))
    twin = torch.nn.Sequential(
        torch.nn.Linear(4, 5, dtype=torch.float64),
        torch.nn.ReLU(),
        torch.nn.Linear(5, 3, dtype=torch.float64),
    )
    twin.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in model.state_dict().items()})
    return model, twin


def two_groups(params):
    params = list(params)
    return [{"params": params[:2], "lr": 0.2}, {"params": params[2:]}]


def backward(model, epoch):
    rows = slice((8 * epoch) % 40, (8 * epoch) % 40 + 8)
    criterion = nn.CrossEntropyLoss()
    model.zero_grad()
    loss = criterion(model(X[rows]), Y[rows])
    model.backward(criterion.backward())
    return loss


def torch_backward(twin, epoch):
    rows = slice((8 * epoch) % 40, (8 * epoch) % 40 + 8)
    twin.zero_grad()
    loss = torch.nn.functional.cross_entropy(
        twin(torch.from_numpy(X[rows])), torch.from_numpy(Y[rows])
    )
    loss.backward()


def lambda_factor(epoch):
    return 0.95**epoch


def lambda_warmup(epoch):
    return min(1.0, (epoch + 1) / 5)


# name, ours factory, torch factory; every factory takes the optimiser
CASES = [
    (
        "StepLR",
        lambda o: lr_scheduler.StepLR(o, step_size=3, gamma=0.5),
        lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=3, gamma=0.5),
    ),
    (
        "ExponentialLR",
        lambda o: lr_scheduler.ExponentialLR(o, gamma=0.9),
        lambda o: torch.optim.lr_scheduler.ExponentialLR(o, gamma=0.9),
    ),
    (
        "LambdaLR",
        lambda o: lr_scheduler.LambdaLR(o, lambda_factor),
        lambda o: torch.optim.lr_scheduler.LambdaLR(o, lambda_factor),
    ),
    (
        "LambdaLR-per-group",
        lambda o: lr_scheduler.LambdaLR(o, [lambda_factor, lambda_warmup]),
        lambda o: torch.optim.lr_scheduler.LambdaLR(o, [lambda_factor, lambda_warmup]),
    ),
    (
        "CosineAnnealingLR",
        lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=10, eta_min=1e-3),
        lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=10, eta_min=1e-3),
    ),
    (
        "CosineAnnealingLR-short",
        lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=3),
        lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=3),
    ),
    (
        "LinearLR-warmup",
        lambda o: lr_scheduler.LinearLR(o, start_factor=0.2, total_iters=8),
        lambda o: torch.optim.lr_scheduler.LinearLR(o, start_factor=0.2, total_iters=8),
    ),
    (
        "LinearLR-decay",
        lambda o: lr_scheduler.LinearLR(o, start_factor=1.0, end_factor=0.1, total_iters=10),
        lambda o: torch.optim.lr_scheduler.LinearLR(
            o, start_factor=1.0, end_factor=0.1, total_iters=10
        ),
    ),
    (
        "InverseTimeLR",
        lambda o: lr_scheduler.InverseTimeLR(o, decay=0.5),
        lambda o: torch.optim.lr_scheduler.LambdaLR(o, lambda t: 1.0 / (1.0 + 0.5 * t)),
    ),
    (
        "ReduceLROnPlateau",
        lambda o: lr_scheduler.ReduceLROnPlateau(o, patience=1, factor=0.5),
        lambda o: torch.optim.lr_scheduler.ReduceLROnPlateau(o, patience=1, factor=0.5),
    ),
    (
        "ReduceLROnPlateau-cooldown",
        lambda o: lr_scheduler.ReduceLROnPlateau(
            o, patience=0, factor=0.5, cooldown=2, threshold=1e-3, min_lr=[0.02, 0.0]
        ),
        lambda o: torch.optim.lr_scheduler.ReduceLROnPlateau(
            o, patience=0, factor=0.5, cooldown=2, threshold=1e-3, min_lr=[0.02, 0.0]
        ),
    ),
    (
        "ReduceLROnPlateau-max-abs",
        lambda o: lr_scheduler.ReduceLROnPlateau(
            o, mode="max", threshold_mode="abs", threshold=0.01, patience=2
        ),
        lambda o: torch.optim.lr_scheduler.ReduceLROnPlateau(
            o, mode="max", threshold_mode="abs", threshold=0.01, patience=2
        ),
    ),
    # Mode max with the default relative threshold: what monitoring accuracy gives. The
    # threshold is large enough that "better than best * (1 + threshold)" decides epochs
    # (1.20005 after a best of 1.2 is not an improvement).
    (
        "ReduceLROnPlateau-max-rel",
        lambda o: lr_scheduler.ReduceLROnPlateau(o, mode="max", threshold=0.06, patience=1),
        lambda o: torch.optim.lr_scheduler.ReduceLROnPlateau(
            o, mode="max", threshold=0.06, patience=1
        ),
    ),
    # Mode min with an absolute threshold: 0.8 after a best of 0.9 is not better than
    # 0.9 - 0.1 (it would be than 0.9 * (1 - 0.1)).
    (
        "ReduceLROnPlateau-min-abs",
        lambda o: lr_scheduler.ReduceLROnPlateau(
            o, threshold_mode="abs", threshold=0.1, patience=1
        ),
        lambda o: torch.optim.lr_scheduler.ReduceLROnPlateau(
            o, threshold_mode="abs", threshold=0.1, patience=1
        ),
    ),
]
IDS = [case[0] for case in CASES]


def scheduler_step(scheduler, epoch):
    if "ReduceLROnPlateau" in type(scheduler).__name__:
        metric = METRICS[epoch]
        # In max mode a rising positive series (like an accuracy), so that relative
        # thresholds mean what they mean for one.
        scheduler.step(2.0 - metric if scheduler.mode == "max" else metric)
    else:
        scheduler.step()


@pytest.mark.parametrize(("name", "ours_factory", "torch_factory"), CASES, ids=IDS)
def test_scheduler_matches_torch_for_25_epochs(close, name, ours_factory, torch_factory):
    model, twin = make_models()
    ours_opt = optim.SGD(two_groups(model.parameters()), lr=0.1, momentum=0.9)
    torch_opt = torch.optim.SGD(two_groups(twin.parameters()), lr=0.1, momentum=0.9)
    ours, theirs = ours_factory(ours_opt), torch_factory(torch_opt)
    close(ours.get_last_lr(), theirs.get_last_lr(), "lr at construction")
    for epoch in range(EPOCHS):
        backward(model, epoch)
        torch_backward(twin, epoch)
        ours_opt.step()
        torch_opt.step()
        scheduler_step(ours, epoch)
        scheduler_step(theirs, epoch)
        assert ours.last_epoch == theirs.last_epoch
        close(ours.get_last_lr(), theirs.get_last_lr(), f"{name} lr epoch {epoch}", tol=1e-12)
        close(
            [g["lr"] for g in ours_opt.param_groups],
            [g["lr"] for g in torch_opt.param_groups],
            f"group lr epoch {epoch}",
            tol=1e-12,
        )
        for (key, p), tp in zip(model.named_parameters(), twin.parameters(), strict=True):
            close(p.data, tp, f"{name} epoch {epoch} {key}", tol=TOL)
    # the schedule did change the rate
    assert len(set(ours.get_last_lr())) == 2
    assert ours.get_last_lr() != [0.2, 0.1]


@pytest.mark.parametrize(("name", "ours_factory", "torch_factory"), CASES, ids=IDS)
def test_scheduler_and_optimizer_resumed_from_json_continue_identically(
    name, ours_factory, torch_factory
):
    model, _ = make_models()
    optimizer = optim.SGD(two_groups(model.parameters()), lr=0.1, momentum=0.9)
    scheduler = ours_factory(optimizer)
    for epoch in range(10):
        backward(model, epoch)
        optimizer.step()
        scheduler_step(scheduler, epoch)
    saved_opt = json_npz_round_trip(optimizer.state_dict())
    saved_sched = json_npz_round_trip(scheduler.state_dict())

    resumed_model, _ = make_models(seed=3)
    resumed_model.load_state_dict({k: v.copy() for k, v in model.state_dict().items()})
    resumed_opt = optim.SGD(two_groups(resumed_model.parameters()), lr=0.1, momentum=0.9)
    # PyTorch's order: make the scheduler, then load both states.
    resumed = ours_factory(resumed_opt)
    resumed_opt.load_state_dict(saved_opt)
    resumed.load_state_dict(saved_sched)
    assert resumed.get_last_lr() == scheduler.get_last_lr()

    for epoch in range(10, EPOCHS):
        for m, o, s in ((model, optimizer, scheduler), (resumed_model, resumed_opt, resumed)):
            backward(m, epoch)
            o.step()
            scheduler_step(s, epoch)
        assert resumed.get_last_lr() == scheduler.get_last_lr()
        for a, b in zip(model.parameters(), resumed_model.parameters(), strict=True):
            np.testing.assert_array_equal(a.data, b.data)


def test_inverse_time_lr_is_the_notes_one_over_t_decay():
    optimizer = optim.SGD([Parameter(np.zeros(1))], lr=0.6)
    scheduler = lr_scheduler.InverseTimeLR(optimizer)
    rates = []
    for _ in range(6):
        rates.append(scheduler.get_last_lr()[0])
        scheduler.step()
    # eta_0 / t for t = 1, 2, ...: sum diverges, sum of squares converges
    np.testing.assert_allclose(rates, [0.6 / t for t in range(1, 7)], rtol=1e-15)


def test_scheduler_sets_initial_lr_and_resuming_needs_it():
    optimizer = optim.Adam([Parameter(np.zeros(2))], lr=0.01)
    lr_scheduler.ExponentialLR(optimizer, gamma=0.5)
    assert optimizer.param_groups[0]["initial_lr"] == 0.01
    fresh = optim.Adam([Parameter(np.zeros(2))], lr=0.01)
    with pytest.raises(ValueError, match="^StepLR: param_groups\\[0\\] has no 'initial_lr'"):
        lr_scheduler.StepLR(fresh, step_size=2, last_epoch=4)


def test_lambda_lr_state_dict_restores_callable_objects():
    class Warmup:
        def __init__(self):
            self.length = 3

        def __call__(self, epoch):
            return min(1.0, (epoch + 1) / self.length)

    optimizer = optim.SGD([Parameter(np.zeros(1))], lr=1.0)
    scheduler = lr_scheduler.LambdaLR(optimizer, [Warmup()])
    scheduler.lr_lambdas[0].length = 10
    state = json_npz_round_trip(scheduler.state_dict())
    assert state["lr_lambdas"] == [{"length": 10}]
    other = lr_scheduler.LambdaLR(optim.SGD([Parameter(np.zeros(1))], lr=1.0), [Warmup()])
    other.load_state_dict(state)
    assert other.lr_lambdas[0].length == 10


def test_reduce_lr_on_plateau_state_survives_json_with_infinite_best():
    optimizer = optim.SGD([Parameter(np.zeros(1))], lr=1.0)
    scheduler = lr_scheduler.ReduceLROnPlateau(optimizer)
    state = json_npz_round_trip(scheduler.state_dict())
    assert state["best"] == math.inf
    scheduler.load_state_dict(state)
    scheduler.step(np.float64(3.0))
    assert scheduler.best == 3.0


def test_load_state_dict_rejects_another_schedulers_state():
    optimizer = optim.SGD([Parameter(np.zeros(1))], lr=1.0)
    step = lr_scheduler.StepLR(optimizer, step_size=2)
    cosine = lr_scheduler.CosineAnnealingLR(optimizer, T_max=5)
    with pytest.raises(ValueError, match="^StepLR.load_state_dict: unexpected keys"):
        step.load_state_dict(cosine.state_dict())
    with pytest.raises(TypeError, match="expected a dict"):
        step.load_state_dict([1, 2])


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (lambda o: lr_scheduler.StepLR(o, step_size=0), ValueError, "^StepLR: expected step_size"),
        (lambda o: lr_scheduler.StepLR(o, step_size=1.5), TypeError, "^StepLR: expected step_s"),
        (lambda o: lr_scheduler.StepLR(o, 2, gamma=-0.1), ValueError, "^StepLR: expected gamma"),
        (
            lambda o: lr_scheduler.ExponentialLR(o, gamma=float("nan")),
            ValueError,
            "^ExponentialLR: expected gamma to be finite",
        ),
        (
            lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=0),
            ValueError,
            "^CosineAnnealingLR: expected T_max",
        ),
        (
            lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=5, eta_min=-1),
            ValueError,
            "^CosineAnnealingLR: expected eta_min",
        ),
        (
            lambda o: lr_scheduler.LinearLR(o, start_factor=0.0),
            ValueError,
            "^LinearLR: expected start_factor",
        ),
        (
            lambda o: lr_scheduler.LinearLR(o, end_factor=1.5),
            ValueError,
            "^LinearLR: expected end_factor",
        ),
        (
            lambda o: lr_scheduler.LambdaLR(o, [lambda_factor] * 3),
            ValueError,
            "^LambdaLR: expected 1 lr_lambdas",
        ),
        (lambda o: lr_scheduler.LambdaLR(o, 0.5), TypeError, "^LambdaLR: expected lr_lambda"),
        (
            lambda o: lr_scheduler.InverseTimeLR(o, decay=0.0),
            ValueError,
            "^InverseTimeLR: expected decay",
        ),
        (
            lambda o: lr_scheduler.ReduceLROnPlateau(o, mode="avg"),
            ValueError,
            "^ReduceLROnPlateau: expected mode",
        ),
        (
            lambda o: lr_scheduler.ReduceLROnPlateau(o, factor=1.0),
            ValueError,
            "^ReduceLROnPlateau: expected factor",
        ),
        (
            lambda o: lr_scheduler.ReduceLROnPlateau(o, patience=-1),
            ValueError,
            "^ReduceLROnPlateau: expected patience",
        ),
        (
            lambda o: lr_scheduler.ReduceLROnPlateau(o, threshold_mode="pct"),
            ValueError,
            "^ReduceLROnPlateau: expected threshold_mode",
        ),
        (
            lambda o: lr_scheduler.ReduceLROnPlateau(o, min_lr=[0.0, 0.0]),
            ValueError,
            "^ReduceLROnPlateau: expected 1 min_lr",
        ),
        (
            lambda o: lr_scheduler.StepLR(o, 2, last_epoch=-2),
            ValueError,
            "^StepLR: expected last_epoch",
        ),
    ],
)
def test_bad_scheduler_arguments_raise_errors_naming_the_class(make, error, message):
    optimizer = optim.SGD([Parameter(np.zeros(1))], lr=1.0)
    with pytest.raises(error, match=message):
        make(optimizer)


def test_scheduler_needs_a_mytorch_optimizer():
    torch_opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    with pytest.raises(TypeError, match="^StepLR: expected a mytorch.optim Optimizer"):
        lr_scheduler.StepLR(torch_opt, step_size=2)
    with pytest.raises(TypeError, match="^ReduceLROnPlateau: expected a mytorch.optim"):
        lr_scheduler.ReduceLROnPlateau(torch_opt)


def test_reduce_lr_on_plateau_step_needs_a_number():
    scheduler = lr_scheduler.ReduceLROnPlateau(optim.SGD([Parameter(np.zeros(1))]))
    with pytest.raises(TypeError, match="^ReduceLROnPlateau.step: expected the metric"):
        scheduler.step("low")


# ----------------------------------------------------------------------- invalid inputs
# Every scheduler rejects bad arguments, optimisers and metrics with an error naming it
# (conventions in tests/invalid_inputs.py).
INVALID_INPUTS = CaseTable()
case = INVALID_INPUTS.case

S = lr_scheduler
for name, make, error, pattern in [
    (
        "StepLR",
        lambda: S.StepLR(sgd(), step_size=0),
        ValueError,
        "expected step_size to be a positive int, got 0",
    ),
    (
        "StepLR",
        lambda: S.StepLR(sgd(), step_size=1.5),
        TypeError,
        "expected step_size to be a positive int, got 1.5",
    ),
    (
        "StepLR",
        lambda: S.StepLR(sgd(), step_size=2, gamma=-0.5),
        ValueError,
        r"expected gamma in \[0.0, inf\], got -0.5",
    ),
    (
        "StepLR",
        lambda: S.StepLR(sgd(), step_size=2, gamma=NAN),
        ValueError,
        "expected gamma to be finite, got nan",
    ),
    (
        "StepLR",
        lambda: S.StepLR(params(), step_size=2),
        TypeError,
        "expected a mytorch.optim Optimizer, got list",
    ),
    (
        "StepLR",
        lambda: S.StepLR(sgd(), step_size=2, last_epoch=-2),
        ValueError,
        "expected last_epoch to be an int >= -1, got -2",
    ),
    (
        "ExponentialLR",
        lambda: S.ExponentialLR(sgd(), gamma=NAN),
        ValueError,
        "expected gamma to be finite, got nan",
    ),
    (
        "ExponentialLR",
        lambda: S.ExponentialLR(sgd(), gamma=-1),
        ValueError,
        r"expected gamma in \[0.0, inf\], got -1.0",
    ),
    (
        "CosineAnnealingLR",
        lambda: S.CosineAnnealingLR(sgd(), T_max=0),
        ValueError,
        "expected T_max to be a positive int, got 0",
    ),
    (
        "CosineAnnealingLR",
        lambda: S.CosineAnnealingLR(sgd(), T_max=5, eta_min=-1e-3),
        ValueError,
        r"expected eta_min in \[0.0, inf\], got -0.001",
    ),
    (
        "LinearLR",
        lambda: S.LinearLR(sgd(), start_factor=0),
        ValueError,
        r"expected start_factor in \(0.0, 1.0\], got 0.0",
    ),
    (
        "LinearLR",
        lambda: S.LinearLR(sgd(), end_factor=1.5),
        ValueError,
        r"expected end_factor in \[0.0, 1.0\], got 1.5",
    ),
    (
        "LinearLR",
        lambda: S.LinearLR(sgd(), total_iters=0),
        ValueError,
        "expected total_iters to be a positive int, got 0",
    ),
    (
        "ReduceLROnPlateau",
        lambda: S.ReduceLROnPlateau(sgd(), factor=1.0),
        ValueError,
        r"expected factor in \[0.0, 1.0\), got 1.0",
    ),
    (
        "ReduceLROnPlateau",
        lambda: S.ReduceLROnPlateau(sgd(), factor=NAN),
        ValueError,
        "expected factor to be finite, got nan",
    ),
    (
        "ReduceLROnPlateau",
        lambda: S.ReduceLROnPlateau(sgd(), mode="lowest"),
        ValueError,
        "expected mode 'min' or 'max', got 'lowest'",
    ),
    (
        "ReduceLROnPlateau",
        lambda: S.ReduceLROnPlateau(sgd(), patience=-1),
        ValueError,
        "expected patience to be a non-negative int, got -1",
    ),
    (
        "ReduceLROnPlateau",
        lambda: S.ReduceLROnPlateau(sgd(), min_lr=-1),
        ValueError,
        r"expected min_lr in \[0.0, inf\], got -1.0",
    ),
    (
        "ReduceLROnPlateau",
        lambda: S.ReduceLROnPlateau(sgd(), min_lr=[0, 0]),
        ValueError,
        r"expected 1 min_lr values \(one per group\), got 2",
    ),
    (
        "ReduceLROnPlateau",
        lambda: S.ReduceLROnPlateau(sgd()).step("low"),
        TypeError,
        "expected the metric as a number, got 'low'",
    ),
    (
        "InverseTimeLR",
        lambda: S.InverseTimeLR(sgd(), decay=0),
        ValueError,
        r"expected decay in \(0.0, inf\], got 0.0",
    ),
    (
        "InverseTimeLR",
        lambda: S.InverseTimeLR(sgd(), decay=NAN),
        ValueError,
        "expected decay to be finite, got nan",
    ),
    (
        "LambdaLR",
        lambda: S.LambdaLR(sgd(), 0.5),
        TypeError,
        "expected lr_lambda to be callable, got 0.5",
    ),
    (
        "LambdaLR",
        lambda: S.LambdaLR(sgd(), [lambda e: 1.0] * 2),
        ValueError,
        r"expected 1 lr_lambdas \(one per parameter group\), got 2",
    ),
    (
        "LambdaLR",
        lambda: S.LambdaLR(sgd(), lambda e: NAN),
        ValueError,
        r"the new learning rate of param_groups\[0\] must be finite and >= 0, got nan",
    ),
    (
        "LambdaLR",
        lambda: S.LambdaLR(sgd(), lambda e: -1.0),
        ValueError,
        r"the new learning rate of param_groups\[0\] must be finite and >= 0, got -0.1",
    ),
]:
    case(name, pattern.replace("\\", ""), make, error, rf"^{name}(\.step)?: {pattern}")


@pytest.mark.parametrize("item", INVALID_INPUTS, ids=[c.id for c in INVALID_INPUTS])
def test_invalid_input_raises_a_clear_error(item: Case):
    assert_raises_a_clear_error(item)
