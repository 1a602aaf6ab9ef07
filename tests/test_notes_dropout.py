"""``nn.NotesDropout``: the lecture notes' dropout (000, section 7.8.2), 0/1 masks in
training and every activation scaled by the keep probability at test time.

The notes: "In the forward pass during training, we let a = f(z) * d where d is a vector
of 0's and 1's drawn randomly with probability p"; "when we are done training ... we
multiply all weights by p to achieve the same average activation levels"; "the backwards
pass depends on a, so we do not need to make any further changes".
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import mytorch
from mytorch import gradcheck, nn, optim
from mytorch.compiled.plan import NOTES_VARIANTS
from mytorch.trainer import Trainer

T = torch.from_numpy


@pytest.mark.parametrize("keep_prob", [0.0, 0.3, 0.5, 0.9, 1.0])
@pytest.mark.parametrize("batch", [1, 7, 64])
def test_training_multiplies_by_a_mask_of_0s_and_1s_and_leaves_kept_units_unscaled(
    keep_prob, batch, rng, close
):
    drop = nn.NotesDropout(keep_prob, rng=3)
    x, grad_output = rng.normal(size=(batch, 6)), rng.normal(size=(batch, 6))
    out = drop(x)
    mask = np.broadcast_to(drop.mask, x.shape)
    assert set(np.unique(mask)) <= {0.0, 1.0}  # the notes' d: 0's and 1's
    kept = mask == 1
    np.testing.assert_array_equal(out[kept], x[kept])  # unscaled, a = f(z) * d
    np.testing.assert_array_equal(out[~kept], 0.0)
    # against torch autograd of x * d, the same d
    x_t = torch.tensor(x, requires_grad=True)
    (x_t * T(np.array(mask))).backward(T(grad_output))
    close(drop.backward(grad_output), x_t.grad, "grad_input masks as forward did")


@pytest.mark.parametrize("keep_prob", [0.25, 0.5, 1.0])
def test_evaluation_multiplies_every_activation_by_the_keep_probability(keep_prob, rng, close):
    drop = nn.NotesDropout(keep_prob, rng=0).eval()
    x, grad_output = rng.normal(size=(5, 4)), rng.normal(size=(5, 4))
    x_t = torch.tensor(x, requires_grad=True)
    (x_t * keep_prob).backward(T(grad_output))
    close(drop(x), x_t.detach() * keep_prob, "output")
    close(drop.backward(grad_output), x_t.grad, "grad_input")


def test_scaling_activations_at_test_time_is_the_notes_scaling_of_the_weights_after(rng):
    """The notes multiply the next layer's weights by p; scaling its input is the same."""
    first, second = nn.Linear(4, 6, rng=0), nn.Linear(6, 3, rng=1)
    x = rng.normal(size=(5, 4))
    ours = nn.Sequential(first, nn.ReLU(), nn.NotesDropout(0.6), second).eval()(x)
    scaled = nn.Linear(6, 3, rng=1)
    scaled.weight.data *= 0.6  # "multiply all weights by p"
    np.testing.assert_allclose(ours, scaled(np.maximum(first(x), 0)), rtol=1e-14)


def test_training_keeps_about_keep_prob_of_the_units_and_the_expectations_agree():
    x = np.ones((512, 64))
    drop = nn.NotesDropout(0.7, rng=0)
    out = drop(x)
    # 32768 Bernoulli(0.7) draws: the standard deviation of the fraction is 0.0025.
    assert abs(float(np.mean(drop.mask)) - 0.7) < 0.015
    # E[training output] = keep_prob x = the evaluation output ("the same average
    # activation levels"), and both are keep_prob times inverted dropout's.
    assert abs(out.mean() - drop.eval()(x).mean()) < 0.015
    inverted = nn.Dropout(0.3, rng=0)(x)
    assert abs(out.mean() - 0.7 * inverted.mean()) < 0.015


def test_with_one_seed_it_drops_the_units_inverted_dropout_drops_scaled_by_keep_prob(rng):
    x = rng.normal(size=(32, 16))
    for keep_prob in (0.2, 0.5, 0.8):
        notes = nn.NotesDropout(keep_prob, rng=7)(x)
        inverted = nn.Dropout(1.0 - keep_prob, rng=7)(x)
        np.testing.assert_allclose(notes, keep_prob * inverted, rtol=1e-14, atol=0)


def test_gradient_passes_finite_differences(rng):
    model = nn.Sequential(nn.Linear(4, 5, rng=0), nn.NotesDropout(0.6, rng=1), nn.Tanh())
    x = rng.normal(size=(3, 4))
    assert gradcheck(model, x).passed
    assert gradcheck(model.eval(), x).passed


@pytest.mark.parametrize("keep_prob", [-0.1, 1.5, float("nan"), "0.5"])
def test_a_bad_keep_prob_is_refused_with_a_clear_error(keep_prob):
    with pytest.raises((ValueError, TypeError), match="^NotesDropout: .*keep_prob"):
        nn.NotesDropout(keep_prob)


def test_backward_before_forward_and_a_wrong_gradient_shape_are_refused():
    drop = nn.NotesDropout(0.5, rng=0)
    with pytest.raises(RuntimeError, match="NotesDropout.backward"):
        drop.backward(np.ones((2, 2)))
    drop(np.ones((2, 3)))
    with pytest.raises(ValueError, match="NotesDropout.backward"):
        drop.backward(np.ones((2, 2)))


def test_it_saves_loads_exports_and_is_refused_by_the_compiled_step(tmp_path, rng):
    model = nn.Sequential(nn.Linear(3, 4, rng=0), nn.NotesDropout(0.8), nn.Linear(4, 2, rng=1))
    mytorch.save(model, tmp_path / "m.npz")
    loaded = mytorch.load(tmp_path / "m.npz")
    assert loaded[1].keep_prob == 0.8 and not loaded.training
    x = rng.normal(size=(5, 3))
    np.testing.assert_array_equal(loaded(x), model.eval()(x))
    trainer = Trainer(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1))
    trainer.fit(x, np.array([0, 1, 0, 1, 1]), epochs=1)
    assert trainer.compiled_status == f"reference loop: {NOTES_VARIANTS['NotesDropout']}"
