"""Tests for ``mytorch/sample_weight.py`` and ``Trainer.fit(sample_weight=...)``: the
weighted mean loss sum_i w_i l_i / sum_i w_i, its gradient (against PyTorch autograd),
its batches, and training with it (a weight of 0 is the sample left out)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.nn import functional as torch_functional

from mytorch import nn, optim
from mytorch.data import DataLoader
from mytorch.sample_weight import (
    WeightedBatches,
    balanced_class_weights,
    weighted_loss,
)
from mytorch.trainer import Callback, Trainer


def _data(n=40, features=3, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, features))
    y = (X[:, 0] > 0).astype(np.int64) + (X[:, 1] > 0.5) * (classes > 2)
    return X, y.astype(np.int64)


def _trainer(optimizer="adam", outputs=3, criterion=None, dtype=np.float64, **options):
    model = nn.Sequential(
        nn.Linear(3, 6, rng=0, dtype=dtype), nn.Tanh(), nn.Linear(6, outputs, rng=1, dtype=dtype)
    )
    if optimizer == "adam":
        opt = optim.Adam(model.parameters(), lr=0.05)
    else:
        opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    return Trainer(model, criterion or nn.CrossEntropyLoss(), opt, rng=0, **options)


def _weights(n, seed=1):
    weight = np.random.default_rng(seed).uniform(0.2, 3.0, n)
    weight[::5] = 0.0
    return weight


# ------------------------------------------------------------------ the loss and its gradient
def _torch_ce(out, y):
    return torch_functional.cross_entropy(out, torch.from_numpy(y), reduction="none")


def _torch_mse(out, target):
    return torch_functional.mse_loss(out, torch.from_numpy(target), reduction="none").mean(dim=1)


def _torch_bce(out, target):
    return torch_functional.binary_cross_entropy_with_logits(
        out, torch.from_numpy(target), reduction="none"
    ).mean(dim=1)


LOSSES = {
    "cross-entropy": (nn.CrossEntropyLoss, lambda rng: rng.integers(0, 4, 12), _torch_ce),
    "cross-entropy, probabilities": (
        lambda: nn.CrossEntropyLoss(label_smoothing=0.1),
        lambda rng: rng.dirichlet(np.ones(4), 12),
        lambda out, t: torch_functional.cross_entropy(
            out, torch.from_numpy(t), reduction="none", label_smoothing=0.1
        ),
    ),
    "mse, 4 outputs": (nn.MSELoss, lambda rng: rng.normal(size=(12, 4)), _torch_mse),
    "bce with logits": (
        nn.BCEWithLogitsLoss,
        lambda rng: rng.uniform(size=(12, 4)),
        _torch_bce,
    ),
}


@pytest.mark.parametrize("kind", list(LOSSES))
def test_weighted_loss_and_its_gradient_are_pytorch_autograds(kind, close):
    make, targets, torch_losses = LOSSES[kind]
    rng = np.random.default_rng(3)
    output, target, weight = rng.normal(size=(12, 4)), targets(rng), _weights(12)
    criterion = make()
    weighted_sum, grad = weighted_loss(criterion, output, target, weight)
    out = torch.tensor(output, requires_grad=True)
    w = torch.from_numpy(weight)
    loss = (w * torch_losses(out, target)).sum() / w.sum()
    loss.backward()
    close(weighted_sum / weight.sum(), loss, "weighted mean loss")
    close(grad, out.grad, "d loss / d output")
    assert criterion.reduction == "mean"  # switched to 'none' for the call only


def test_weights_of_ones_give_the_criterions_mean_and_its_gradient(close):
    rng = np.random.default_rng(0)
    output, target = rng.normal(size=(8, 3)), rng.normal(size=(8, 3))
    criterion = nn.MSELoss()
    expected = criterion(output, target)
    expected_grad = criterion.backward().copy()
    weighted_sum, grad = weighted_loss(criterion, output, target, np.ones(8))
    close(weighted_sum / 8, expected, "loss")
    close(grad, expected_grad, "gradient")


def test_the_criterion_gets_its_reduction_back_after_an_error():
    criterion = nn.CrossEntropyLoss(reduction="sum")
    with pytest.raises(ValueError, match="out of range"):
        weighted_loss(criterion, np.zeros((3, 2)), np.array([0, 1, 5]), np.ones(3))
    assert criterion.reduction == "sum"


def test_a_criterion_without_a_reduction_cannot_weigh_samples():
    def plain(output, target):
        return float(np.mean((output - target) ** 2))

    with pytest.raises(TypeError, match="sample_weight needs a criterion with a reduction"):
        weighted_loss(plain, np.zeros((3, 1)), np.zeros((3, 1)), np.ones(3))


def test_weighted_errors_sum_the_weights_of_the_misclassified_samples():
    count = nn.CrossEntropyLoss().count_errors
    output = np.array([[2.0, 0.0], [0.0, 1.0], [3.0, 0.0], [0.0, 2.0]])
    target = np.array([0, 0, 1, 1])  # samples 1 and 2 are wrong
    assert count(output, target) == 2
    assert count(output, target, np.array([1.0, 0.5, 2.0, 4.0])) == 2.5
    assert count(output, np.eye(2)[target], np.array([1.0, 0.5, 2.0, 4.0])) == 2.5


def test_weighted_hinge_errors_sum_the_weights_of_the_wrong_signs():
    scores = np.array([[1.0], [-2.0], [0.0], [3.0]])
    labels = np.array([1, 1, 1, -1])  # samples 1, 2 (a score of 0 is -1) and 3 are wrong
    weight = np.array([8.0, 1.0, 2.0, 4.0])
    assert nn.HingeLoss().count_errors(scores, labels) == 3
    assert nn.HingeLoss().count_errors(scores, labels, weight) == 7.0


# ------------------------------------------------------------------ batches and class weights
def test_weighted_batches_are_the_loaders_batches_with_their_weights():
    X = np.arange(30, dtype=np.float64).reshape(10, 3)
    y = np.arange(10) * 7
    weight = np.arange(10) / 10
    plain = DataLoader(X, y, batch_size=4, shuffle=True, rng=5)
    weighted = WeightedBatches(DataLoader(X, y, batch_size=4, shuffle=True, rng=5), weight)
    assert len(weighted) == len(plain) == 3
    for _ in range(2):  # a fresh permutation each epoch, the same as the loader's
        for (xb, yb), (xw, yw, ww) in zip(plain, weighted, strict=True):
            np.testing.assert_array_equal(xw, xb)
            np.testing.assert_array_equal(yw, yb)
            np.testing.assert_array_equal(ww, xb[:, 0] / 30)  # row r holds 3r, weighs r/10


def test_balanced_class_weights_are_scikit_learns():
    from sklearn.utils.class_weight import compute_class_weight

    labels = np.array([0, 0, 0, 0, 0, 0, 1, 1, 3])
    expected = compute_class_weight("balanced", classes=np.array([0, 1, 3]), y=labels)
    weights = balanced_class_weights(labels, n_classes=5)
    np.testing.assert_allclose(weights[[0, 1, 3]], expected, rtol=1e-15)
    assert weights[2] == weights[4] == 0.0  # absent: nothing to balance
    totals = np.bincount(labels, weights=weights[labels])
    np.testing.assert_allclose(totals[[0, 1, 3]], 3.0)  # each class weighs N / 3
    with pytest.raises(ValueError, match="balanced_class_weights: expected labels >= 0"):
        balanced_class_weights(np.array([0, -1]))
    with pytest.raises(ValueError, match="expected non-empty class indices of shape"):
        balanced_class_weights(np.array([0.5, 1.0]))


# ------------------------------------------------------------------ training with weights
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_weights_of_ones_train_as_no_weights(optimizer, close):
    X, y = _data()
    plain = _trainer(optimizer, compiled=False)
    weighted = _trainer(optimizer)
    plain.fit(X, y, epochs=3, batch_size=8, val_data=(X, y))
    weighted.fit(X, y, epochs=3, batch_size=8, val_data=(X, y, np.ones(40)), sample_weight=[1] * 40)
    for key, value in plain.model.state_dict().items():
        close(weighted.model.state_dict()[key], value, key, tol=1e-12)
    for column in ("train_loss", "train_error", "val_loss", "val_error"):
        close(getattr(weighted.history, column), getattr(plain.history, column), column, 1e-12)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_a_zero_weight_is_the_sample_left_out_in_full_batch_training(optimizer, close):
    X, y = _data()
    weight = _weights(40)
    keep = weight > 0
    weighted, dropped = _trainer(optimizer), _trainer(optimizer)
    weighted.fit(X, y, epochs=5, batch_size=40, sample_weight=weight, val_data=(X, y, weight))
    dropped.fit(
        X[keep],
        y[keep],
        epochs=5,
        batch_size=40,
        sample_weight=weight[keep],
        val_data=(X[keep], y[keep], weight[keep]),
    )
    for key, value in dropped.model.state_dict().items():
        close(weighted.model.state_dict()[key], value, key, tol=1e-12)
    for column in ("train_loss", "train_error", "val_loss", "val_error"):
        close(getattr(weighted.history, column), getattr(dropped.history, column), column, 1e-12)


def test_an_integer_weight_is_the_sample_repeated_in_full_batch_training(close):
    X, y = _data(30)
    counts = np.random.default_rng(2).integers(0, 4, 30)
    weighted, repeated = _trainer(), _trainer()
    weighted.fit(X, y, epochs=5, batch_size=30, sample_weight=counts)
    repeated.fit(X.repeat(counts, axis=0), y.repeat(counts), epochs=5, batch_size=counts.sum())
    for key, value in repeated.model.state_dict().items():
        close(weighted.model.state_dict()[key], value, key, tol=1e-12)
    close(weighted.history.train_loss, repeated.history.train_loss, "train_loss", tol=1e-12)


def test_mse_weights_train_a_regressor_as_its_left_out_samples(close):
    X, _ = _data()
    Y = np.stack([X[:, 0] - X[:, 1], X[:, 2] ** 2], axis=1)
    weight = _weights(40)
    keep = weight > 0
    weighted = _trainer(outputs=2, criterion=nn.MSELoss())
    dropped = _trainer(outputs=2, criterion=nn.MSELoss(), compiled=False)
    weighted.fit(X, Y, epochs=5, batch_size=40, sample_weight=weight)
    dropped.fit(X[keep], Y[keep], epochs=5, batch_size=40, sample_weight=weight[keep])
    for key, value in dropped.model.state_dict().items():
        close(weighted.model.state_dict()[key], value, key, tol=1e-12)


def test_the_history_holds_the_weighted_means_over_the_epoch(close):
    # With a vanishing learning rate the weights stay put, so the epoch's loss is the
    # weighted mean at the initial weights: sum(w l) / sum(w) over all samples, not the
    # mean of the batches' means.
    X, y = _data()
    weight = np.where(np.arange(40) < 8, 10.0, 0.5)
    model = nn.Sequential(nn.Linear(3, 6, rng=0), nn.Tanh(), nn.Linear(6, 3, rng=1))
    output = model(X)
    losses = nn.CrossEntropyLoss(reduction="none")(output, y)
    wrong = np.argmax(output, axis=1) != y
    trainer = Trainer(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=1e-300))
    history = trainer.fit(X, y, epochs=1, batch_size=8, shuffle=False, sample_weight=weight)
    close(history.train_loss[0], np.sum(weight * losses) / weight.sum(), "train_loss")
    close(history.train_error[0], np.sum(weight[wrong]) / weight.sum(), "train_error")


def test_a_batch_of_zero_weights_makes_no_update(close):
    X, y = _data(20)
    weight = np.r_[np.zeros(5), np.ones(15)]
    weighted, dropped = _trainer("sgd"), _trainer("sgd", compiled=False)
    weighted.fit(X, y, epochs=2, batch_size=5, shuffle=False, sample_weight=weight)
    dropped.fit(X[5:], y[5:], epochs=2, batch_size=5, shuffle=False)
    assert weighted.step_count == dropped.step_count == 6
    for key, value in dropped.model.state_dict().items():
        close(weighted.model.state_dict()[key], value, key, tol=1e-12)


def test_weighted_float32_training_stays_in_float32():
    X, y = _data()
    trainer = _trainer(dtype=np.float32)
    trainer.fit(X.astype(np.float32), y, epochs=2, batch_size=8, sample_weight=_weights(40))
    assert all(v.dtype == np.float32 for v in trainer.model.state_dict().values())
    assert np.isfinite(trainer.history.train_loss).all()


def test_evaluate_weighs_the_loss_and_the_error(close):
    X, y = _data()
    weight = _weights(40)
    trainer = _trainer()
    output = trainer.model(X)
    losses = nn.CrossEntropyLoss(reduction="none")(output, y)
    wrong = np.argmax(output, axis=1) != y
    loss, error = trainer.evaluate(X, y, batch_size=7, sample_weight=weight)
    close(loss, np.sum(weight * losses) / weight.sum(), "loss")
    close(error, np.sum(weight[wrong]) / weight.sum(), "error")


def test_a_trainer_whose_own_step_takes_no_weight_refuses_sample_weight():
    class OwnStep(Trainer):
        def training_step(self, x, y):
            return super().training_step(x, y)

    X, y = _data()
    model = nn.Sequential(nn.Linear(3, 3, rng=0))
    trainer = OwnStep(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1))
    with pytest.raises(TypeError, match=r"^OwnStep: sample_weight needs a training_step\(x, y"):
        trainer.fit(X, y, epochs=1, sample_weight=np.ones(40))
    trainer.fit(X, y, epochs=1)  # without weights it trains as before


def test_callbacks_see_each_weighted_step():
    class Count(Callback):
        steps = 0

        def on_step_end(self, trainer, step):
            Count.steps += 1

    X, y = _data()
    trainer = _trainer(callbacks=[Count()])
    trainer.fit(X, y, epochs=2, batch_size=10, sample_weight=_weights(40))
    assert Count.steps == trainer.step_count == 8
