"""``optim.NotesSGD``: the lecture notes' SGD and momentum (000, section 7.6, the
SGD-NEURAL-NET pseudo-code, and section 7.7.2.2 "Momentum"), with the learning rate
inside the velocity, so that a schedule eta(t) changes only the steps after it.

The notes: V_0 = 0, V_t = gamma V_{t-1} + eta grad J(W_{t-1}), W_t = W_{t-1} - V_t; and
without momentum W = W - eta(t) d loss / d W.
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from conftest import json_npz_round_trip

from mytorch import nn, optim
from mytorch.compiled.plan import NOTES_VARIANTS
from mytorch.nn.parameter import Parameter
from mytorch.trainer import Trainer

STEPS = 20


def _problem():
    rng = np.random.default_rng(3)
    return rng.normal(size=(3, 4)), rng.normal(size=(3, 4)), rng.uniform(0.1, 5.0, (3, 4))


def _gradient(w, target, curvature):
    """Gradient of sum(curvature (w - target)^2 / 2)."""
    return curvature * (w - target)


def _eta(t: int) -> float:
    """A step size that changes at every update (the notes' eta(t))."""
    return 0.08 / (1.0 + 0.3 * t)


def test_notes_sgd_is_the_notes_momentum_with_eta_t_inside_000_section_7_7_2_2(close):
    w0, target, curvature = _problem()
    gamma = 0.9
    w = Parameter(w0.copy())
    optimizer = optim.NotesSGD([w], lr=_eta(0), momentum=gamma)
    w_notes, velocity = w0.copy(), np.zeros_like(w0)  # V_0 = 0
    for t in range(STEPS):
        optimizer.param_groups[0]["lr"] = _eta(t)
        w.grad = _gradient(w.data, target, curvature)
        optimizer.step()
        velocity = gamma * velocity + _eta(t) * _gradient(w_notes, target, curvature)
        w_notes = w_notes - velocity
        close(w.data, w_notes, f"step {t}")
        close(optimizer.state[w]["velocity"], velocity, f"V_{t}")


def test_without_momentum_it_is_the_pseudo_code_update_000_section_7_6(close):
    w0, target, curvature = _problem()
    w = Parameter(w0.copy())
    optimizer = optim.NotesSGD([w], lr=_eta(0))
    w_notes = w0.copy()
    for t in range(STEPS):
        optimizer.param_groups[0]["lr"] = _eta(t)
        w.grad = _gradient(w.data, target, curvature)
        optimizer.step()
        w_notes = w_notes - _eta(t) * _gradient(w_notes, target, curvature)  # line 20
        close(w.data, w_notes, f"step {t}")
    assert optimizer.state[w] == {}  # nothing kept without momentum


def test_it_equals_pytorch_sgd_while_eta_is_constant_and_differs_once_eta_changes(close):
    w0, target, curvature = _problem()
    notes_w, torch_form_w = Parameter(w0.copy()), Parameter(w0.copy())
    notes = optim.NotesSGD([notes_w], lr=0.05, momentum=0.9)
    pytorch_form = optim.SGD([torch_form_w], lr=0.05, momentum=0.9)
    for t in range(STEPS):
        if t == 10:  # a schedule halves eta
            notes.param_groups[0]["lr"] = pytorch_form.param_groups[0]["lr"] = 0.025
        for w, optimizer in ((notes_w, notes), (torch_form_w, pytorch_form)):
            w.grad = _gradient(w.data, target, curvature)
            optimizer.step()
        if t < 10:
            close(notes_w.data, torch_form_w.data, f"step {t}")
            close(
                notes.state[notes_w]["velocity"],
                0.05 * pytorch_form.state[torch_form_w]["momentum_buffer"],
                f"V_{t} = eta b_{t}",
            )
    # PyTorch rescales the whole buffer by the new rate; the notes only the new gradient.
    assert not np.allclose(notes_w.data, torch_form_w.data, rtol=1e-6)


def test_weight_decay_is_the_notes_l2_penalty_with_twice_lambda_000_section_7_8_1(close):
    w0, target, curvature = _problem()
    eta, lam = 0.1, 0.3
    w = Parameter(w0.copy())
    optimizer = optim.NotesSGD([w], lr=eta, weight_decay=2 * lam)
    w_notes = w0.copy()
    for t in range(STEPS):
        w.grad = _gradient(w.data, target, curvature)
        optimizer.step()
        g = _gradient(w_notes, target, curvature)
        w_notes = w_notes * (1 - 2 * lam * eta) - eta * g
        close(w.data, w_notes, f"step {t}")


def test_a_state_dict_through_json_and_npz_continues_identically():
    w0, target, curvature = _problem()
    w = Parameter(w0.copy())
    optimizer = optim.NotesSGD([w], lr=0.05, momentum=0.8, weight_decay=0.01)
    for _ in range(5):
        w.grad = _gradient(w.data, target, curvature)
        optimizer.step()
    saved_w, saved = w.data.copy(), json_npz_round_trip(optimizer.state_dict())
    for _ in range(5):
        w.grad = _gradient(w.data, target, curvature)
        optimizer.step()
    resumed_w = Parameter(saved_w)
    resumed = optim.NotesSGD([resumed_w], lr=1.0)
    resumed.load_state_dict(saved)
    assert resumed.param_groups[0]["momentum"] == 0.8
    for _ in range(5):
        resumed_w.grad = _gradient(resumed_w.data, target, curvature)
        resumed.step()
    np.testing.assert_array_equal(resumed_w.data, w.data)


def test_float32_stays_float32_and_a_step_allocates_nothing_after_the_first():
    params = [Parameter(np.full((64, 64), 0.5, dtype=np.float32)) for _ in range(3)]
    optimizer = optim.NotesSGD(params, lr=0.1, momentum=0.9, weight_decay=0.01)
    for param in params:
        param.grad = np.linspace(-1, 1, param.data.size, dtype=np.float32).reshape(64, 64)
    optimizer.step()
    tracemalloc.start()
    try:
        optimizer.step()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < params[0].data.nbytes // 4, f"a step allocated {peak} bytes"
    assert all(p.data.dtype == np.float32 for p in params)
    assert all(s["velocity"].dtype == np.float32 for s in optimizer.state.values())


def test_the_compiled_step_refuses_notes_sgd_and_the_trainer_names_it():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(16, 3)), np.arange(16) % 2
    model = nn.Sequential(nn.Linear(3, 4, rng=0), nn.Tanh(), nn.Linear(4, 2, rng=1))
    trainer = Trainer(model, nn.CrossEntropyLoss(), optim.NotesSGD(model.parameters(), lr=0.1))
    trainer.fit(X, y, epochs=1)
    assert trainer.compiled_status == f"reference loop: {NOTES_VARIANTS['NotesSGD']}"
    with pytest.raises(ValueError, match="compiled=True, but the notes' momentum, NotesSGD"):
        Trainer(
            model, nn.CrossEntropyLoss(), optim.NotesSGD(model.parameters(), lr=0.1), compiled=True
        ).fit(X, y, epochs=1)
