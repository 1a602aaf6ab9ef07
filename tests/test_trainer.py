"""Tests for ``mytorch/trainer.py``: the training loop, its history, callbacks and guards,
and the course's ``get_training_stats`` built on it.

The invalid-input cases at the end check that ``Trainer``, ``Trainer.fit`` and
``Trainer.evaluate`` reject bad data, labels and settings with a clear error from the
part that finds the problem (table conventions in tests/invalid_inputs.py).
"""

from __future__ import annotations

import importlib.util
import pathlib

import numpy as np
import pytest
from invalid_inputs import (
    BAD_MATRICES,
    INF,
    NAN,
    X10,
    Y10,
    Case,
    CaseTable,
    assert_raises_a_clear_error,
    sgd,
)

from mytorch import nn, optim
from mytorch.trainer import Callback, EarlyStopping, History, Trainer, TrainingDivergedError

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _blobs(
    n: int = 120, n_features: int = 4, n_classes: int = 3, seed: int = 0, dtype=np.float64
) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian clusters, one per class (the same centres for every ``seed``, which draws
    the samples): a problem a small MLP learns in a few epochs."""
    centres = np.random.default_rng(100).normal(scale=3.0, size=(n_classes, n_features))
    rng = np.random.default_rng(seed)
    y = rng.integers(0, n_classes, n)
    X = centres[y] + rng.normal(size=(n, n_features))
    return X.astype(dtype), y.astype(np.int64)


def _mlp(
    n_features: int = 4,
    n_classes: int = 3,
    *,
    hidden: int = 16,
    dropout: float = 0.0,
    batch_norm: bool = False,
    seed: int = 0,
) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Linear(n_features, hidden, rng=seed)]
    if batch_norm:
        layers.append(nn.BatchNorm1d(hidden))
    layers.append(nn.ReLU())
    if dropout:
        layers.append(nn.Dropout(dropout, rng=seed + 1))
    layers.append(nn.Linear(hidden, n_classes, rng=seed + 2))
    return nn.Sequential(*layers)


def _train(
    seed: int = 0,
    *,
    epochs: int = 4,
    input_noise: float = 0.0,
    max_grad_norm: float | None = None,
    callbacks=(),
    **model_options,
):
    X, y = _blobs()
    X_val, y_val = _blobs(40, seed=1)
    model = _mlp(**model_options)
    trainer = Trainer(
        model,
        nn.CrossEntropyLoss(),
        optim.SGD(model.parameters(), lr=0.05, momentum=0.9),
        callbacks=callbacks,
        input_noise=input_noise,
        max_grad_norm=max_grad_norm,
        rng=seed,
    )
    history = trainer.fit(X, y, epochs=epochs, batch_size=16, val_data=(X_val, y_val))
    return model, history


def _history_without_time(history: History) -> dict:
    data = history.to_dict()
    del data["seconds"]
    return data


def _same_state(a: dict, b: dict) -> bool:
    return list(a) == list(b) and all(np.array_equal(a[k], b[k]) for k in a)


# ------------------------------------------------------------------ history
def test_history_has_one_entry_per_epoch_in_every_column():
    _, history = _train(epochs=5)
    assert len(history) == 5
    for column in History.COLUMNS:
        assert len(getattr(history, column)) == 5, column
    data = history.to_dict()
    assert data["epoch"] == [1, 2, 3, 4, 5]
    assert data["stopped_epoch"] is None and data["best_epoch"] is None
    assert all(np.isfinite(history.val_loss)) and all(0 <= e <= 1 for e in history.val_error)
    assert history.lr == [0.05] * 5


def test_training_reduces_loss_and_error():
    _, history = _train(epochs=6)
    assert history.train_loss[-1] < history.train_loss[0]
    assert history.val_error[-1] < 0.2


def test_history_without_validation_data_holds_nan_and_none():
    X, y = _blobs()
    model = _mlp()
    history = Trainer(
        model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.05), rng=0
    ).fit(X, y, epochs=2, batch_size=32)
    assert np.isnan(history.val_loss).all() and np.isnan(history.val_error).all()
    assert history.to_dict()["val_loss"] == [None, None]


def test_history_round_trips_through_a_dict():
    _, history = _train(epochs=3)
    history.best_epoch = 2
    again = History.from_dict(history.to_dict())
    assert again.to_dict() == history.to_dict()


def test_fit_called_twice_continues_the_epoch_count():
    X, y = _blobs()
    model = _mlp()
    trainer = Trainer(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.05), rng=0)
    trainer.fit(X, y, epochs=2, batch_size=32)
    trainer.fit(X, y, epochs=3, batch_size=32)
    assert trainer.epoch == 5 and len(trainer.history) == 5
    assert trainer.step_count == 5 * int(np.ceil(len(X) / 32))
    assert not model.training


# ------------------------------------------------------------------ determinism
def test_same_seed_gives_bit_identical_runs():
    model_a, history_a = _train(seed=3, dropout=0.2, batch_norm=True, input_noise=0.1)
    model_b, history_b = _train(seed=3, dropout=0.2, batch_norm=True, input_noise=0.1)
    assert _same_state(model_a.state_dict(), model_b.state_dict())
    assert _history_without_time(history_a) == _history_without_time(history_b)


def test_different_shuffling_seed_gives_a_different_run():
    model_a, _ = _train(seed=3)
    model_b, _ = _train(seed=4)
    assert not _same_state(model_a.state_dict(), model_b.state_dict())


def test_input_noise_changes_training_but_is_seeded():
    clean, _ = _train(seed=5)
    noisy_a, _ = _train(seed=5, input_noise=0.5)
    noisy_b, _ = _train(seed=5, input_noise=0.5)
    assert not _same_state(clean.state_dict(), noisy_a.state_dict())
    assert _same_state(noisy_a.state_dict(), noisy_b.state_dict())


def test_input_noise_keeps_the_batch_dtype():
    X, y = _blobs(dtype=np.float32)
    model = nn.Sequential(nn.Linear(4, 3, dtype=np.float32, rng=0))
    trainer = Trainer(
        model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), input_noise=0.3, rng=0
    )
    trainer.fit(X, y, epochs=1, batch_size=40)  # Linear rejects a float64 batch
    assert model[0].weight.data.dtype == np.float32


# ------------------------------------------------------------------ early stopping
class _Snapshots(Callback):
    """Record the model's state after every epoch (runs before EarlyStopping)."""

    def __init__(self) -> None:
        self.states: dict[int, dict[str, np.ndarray]] = {}

    def on_epoch_end(self, trainer, epoch, logs):
        self.states[epoch] = trainer.snapshot()


def test_early_stopping_restores_the_best_epochs_weights():
    # 12 training samples with random labels and a wide network: it memorises them and the
    # validation loss (other random labels) rises after the first few epochs.
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(12, 10)), rng.integers(0, 3, 12)
    X_val, y_val = rng.normal(size=(60, 10)), rng.integers(0, 3, 60)
    model = nn.Sequential(
        nn.Linear(10, 64, rng=0), nn.BatchNorm1d(64), nn.Tanh(), nn.Linear(64, 3, rng=1)
    )
    snapshots = _Snapshots()
    stopper = EarlyStopping(patience=4)
    trainer = Trainer(
        model,
        nn.CrossEntropyLoss(),
        optim.Adam(model.parameters(), lr=0.03),
        callbacks=[snapshots, stopper],
        rng=0,
    )
    history = trainer.fit(X, y, epochs=200, batch_size=4, val_data=(X_val, y_val))
    best = int(np.argmin(history.val_loss)) + 1
    assert history.best_epoch == best
    assert history.stopped_epoch == best + 4 == len(history) < 200
    assert history.val_loss[-1] > history.val_loss[best - 1]
    assert _same_state(model.state_dict(), snapshots.states[best])
    assert not _same_state(model.state_dict(), snapshots.states[len(history)])
    val_loss, _ = trainer.evaluate(X_val, y_val)
    assert val_loss == pytest.approx(history.val_loss[best - 1], rel=1e-12)


def test_early_stopping_without_restoring_keeps_the_last_weights():
    snapshots = _Snapshots()
    model, history = _train(
        epochs=30,
        callbacks=[
            snapshots,
            EarlyStopping(
                monitor="train_loss", patience=1, min_delta=10.0, restore_best_weights=False
            ),
        ],
    )
    assert history.stopped_epoch == 2 and history.best_epoch == 1
    assert _same_state(model.state_dict(), snapshots.states[2])


def test_early_stopping_needs_the_monitored_column():
    X, y = _blobs()
    model = _mlp()
    trainer = Trainer(
        model,
        nn.CrossEntropyLoss(),
        optim.SGD(model.parameters(), lr=0.05),
        callbacks=[EarlyStopping()],
        rng=0,
    )
    with pytest.raises(ValueError, match="EarlyStopping: 'val_loss' is not available"):
        trainer.fit(X, y, epochs=2)
    with pytest.raises(ValueError, match="EarlyStopping: expected monitor in"):
        EarlyStopping(monitor="accuracy")


def _memorising_run(epochs: int, stopper: EarlyStopping, state: dict | None = None):
    """The run of the test above (it stops at its best epoch + 4), from ``state`` if given:
    the model's, optimiser's, generator's and callbacks' states, epoch and history, as a
    checkpoint holds them."""
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(12, 10)), rng.integers(0, 3, 12)
    X_val, y_val = rng.normal(size=(60, 10)), rng.integers(0, 3, 60)
    model = nn.Sequential(
        nn.Linear(10, 64, rng=0), nn.BatchNorm1d(64), nn.Tanh(), nn.Linear(64, 3, rng=1)
    )
    trainer = Trainer(
        model,
        nn.CrossEntropyLoss(),
        optim.Adam(model.parameters(), lr=0.03),
        callbacks=[stopper],
        rng=0,
    )
    if state is not None:
        model.load_state_dict(state["model"])
        trainer.optimizer.load_state_dict(state["optimizer"])
        trainer.rng.bit_generator.state = state["rng"]
        trainer.history = History.from_dict(state["history"])
        trainer.epoch = state["epoch"]
        trainer.load_callback_states(state["callbacks"])
    trainer.fit(X, y, epochs=epochs, batch_size=4, val_data=(X_val, y_val))
    return trainer


def _checkpoint(trainer: Trainer, tmp_path) -> dict:
    from mytorch.serialization import load_checkpoint, save_checkpoint

    save_checkpoint(
        tmp_path / "checkpoint.npz",
        {
            "model": dict(trainer.model.state_dict()),
            "optimizer": trainer.optimizer.state_dict(),
            "rng": trainer.rng.bit_generator.state,
            "history": trainer.history.to_dict(),
            "epoch": trainer.epoch,
            "callbacks": trainer.callback_states(),
        },
    )
    return load_checkpoint(tmp_path / "checkpoint.npz")


def test_early_stopping_resumed_from_a_checkpoint_stops_and_restores_as_the_whole_run(tmp_path):
    whole = _memorising_run(200, EarlyStopping(patience=4))
    best, stopped = whole.history.best_epoch, whole.history.stopped_epoch
    assert stopped == best + 4
    split = best + 2  # past the best epoch: the best weights exist only in the callback
    first = _memorising_run(split, EarlyStopping(patience=4))
    state = _checkpoint(first, tmp_path)
    (saved,) = state["callbacks"]
    assert saved["type"] == "EarlyStopping"
    assert saved["state"]["best_epoch"] == best and saved["state"]["wait"] == 2
    assert saved["state"]["best"] == min(whole.history.val_loss)
    resumed = _memorising_run(200 - split, EarlyStopping(patience=4), state)
    assert (resumed.history.best_epoch, resumed.history.stopped_epoch) == (best, stopped)
    assert _same_state(resumed.model.state_dict(), whole.model.state_dict())
    # Without the callback's state the resumed run takes a later epoch for the best.
    state["callbacks"] = []
    forgetful = _memorising_run(200 - split, EarlyStopping(patience=4), state)
    assert forgetful.history.best_epoch != best


def test_finish_ends_a_run_with_no_epoch_left_as_fit_would():
    """A run resumed from the checkpoint of its last epoch: early stopping puts back the
    best weights its saved state holds, and the model is left in evaluation mode."""
    stopper = EarlyStopping(patience=4)
    trainer = Trainer(
        _mlp(),
        nn.CrossEntropyLoss(),
        optim.SGD(_mlp().parameters(), lr=0.1),
        callbacks=[stopper],
    )
    best_state = {k: v + 1.0 for k, v in trainer.snapshot().items()}
    trainer.load_callback_states(
        [
            {
                "type": "EarlyStopping",
                "state": {"best": 0.5, "best_epoch": 3, "best_state": best_state, "wait": 1},
            }
        ]
    )
    trainer.model.train()
    assert trainer.finish() is trainer.history
    assert trainer.history.best_epoch == 3
    assert _same_state(trainer.model.state_dict(), best_state)
    assert not trainer.model.training
    assert stopper.wait == 1 and stopper.best == 0.5


def test_callback_states_go_back_to_callbacks_of_their_type():
    trainer = Trainer(_mlp(), nn.CrossEntropyLoss(), callbacks=[_Snapshots()])
    assert trainer.callback_states() == []  # no callback with a state
    with pytest.raises(ValueError, match=r"the saved state of a EarlyStopping callback has no"):
        trainer.load_callback_states([{"type": "EarlyStopping", "state": {"wait": 1}}])
    with pytest.raises(ValueError, match=r"EarlyStopping.load_state_dict: expected the keys"):
        EarlyStopping().load_state_dict({"wait": 1})
    with pytest.raises(ValueError, match=r"_Snapshots.load_state_dict: this callback keeps no"):
        _Snapshots().load_state_dict({"states": 1})


# ------------------------------------------------------------------ gradient clipping
class _NormSpy:
    """Wraps an optimiser and records the global gradient norm at every step."""

    def __init__(self, optimizer, parameters) -> None:
        self.optimizer, self.parameters, self.norms = optimizer, parameters, []

    def zero_grad(self):
        self.optimizer.zero_grad()

    def step(self):
        self.norms.append(float(np.sqrt(sum(np.sum(p.grad**2) for p in self.parameters))))
        self.optimizer.step()


@pytest.mark.parametrize("max_grad_norm", [None, 0.05])
def test_max_grad_norm_is_applied_before_every_step(max_grad_norm):
    X, y = _blobs()
    model = _mlp()
    parameters = list(model.parameters())
    spy = _NormSpy(optim.SGD(parameters, lr=0.05), parameters)
    Trainer(model, nn.CrossEntropyLoss(), spy, max_grad_norm=max_grad_norm, rng=0).fit(
        X, y, epochs=2, batch_size=16
    )
    norms = np.array(spy.norms)
    if max_grad_norm is None:
        assert norms.min() > 0.05  # so clipping at 0.05 has something to do
    else:
        assert norms.max() <= max_grad_norm * (1 + 1e-9)
        assert norms.max() > 0.9 * max_grad_norm


# ------------------------------------------------------------------ divergence guards
class _NaNAtStep(nn.CrossEntropyLoss):
    """Cross-entropy whose value is NaN at one training call."""

    def __init__(self, bad_call: int) -> None:
        super().__init__()
        self.bad_call, self.calls = bad_call, 0

    def forward(self, output, target):
        self.calls += 1
        loss = super().forward(output, target)
        return np.float64(np.nan) if self.calls == self.bad_call else loss


def test_nan_loss_raises_naming_epoch_and_step():
    X, y = _blobs(96)
    model = _mlp()
    # 96 samples / 32 = 3 steps per epoch, no validation: call 5 is epoch 2, step 5.
    trainer = Trainer(model, _NaNAtStep(5), optim.SGD(model.parameters(), lr=0.05), rng=0)
    with pytest.raises(TrainingDivergedError, match=r"loss became nan at epoch 2, step 5"):
        trainer.fit(X, y, epochs=3, batch_size=32)
    assert len(trainer.history) == 1


def test_nan_gradient_names_the_first_parameter_that_holds_it():
    X, y = _blobs(64)
    model = _mlp()
    last = model[2]
    original_backward = last.backward

    def poisoned_backward(delta):
        grad = original_backward(delta)
        last.bias.grad[0] = np.nan
        if trainer.step_count == 3:
            last.weight.grad[1, 2] = np.inf
        return grad

    last.backward = poisoned_backward
    trainer = Trainer(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.05), rng=0)
    with pytest.raises(
        TrainingDivergedError, match=r"gradient of '2.bias' holds NaN or inf at epoch 1, step 1"
    ):
        trainer.fit(X, y, epochs=1, batch_size=16)
    trainer.step_count = 2
    with pytest.raises(TrainingDivergedError, match=r"gradient of '2.weight' .* step 3"):
        trainer.fit(X, y, epochs=1, batch_size=16)


def test_weights_that_overflow_raise_training_diverged_not_value_error():
    X, y = _blobs()
    model = nn.Sequential(nn.Linear(4, 16, rng=0), nn.LeakyReLU(), nn.Linear(16, 3, rng=1))
    trainer = Trainer(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=1e200), rng=0)
    with np.errstate(over="ignore", invalid="ignore"):
        with pytest.raises(
            TrainingDivergedError,
            match=r"NaN or inf inside the network at "
            r"epoch 1, step \d+",
        ):
            trainer.fit(X, y, epochs=3, batch_size=16)


def test_non_finite_data_stays_a_value_error():
    X, y = _blobs()
    X[5, 1] = np.nan
    model = _mlp()
    trainer = Trainer(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.05), rng=0)
    with pytest.raises(ValueError, match="NaN") as error:
        trainer.fit(X, y, epochs=1, batch_size=200)
    assert not isinstance(error.value, TrainingDivergedError)


# ------------------------------------------------------------------ the course's loop
def _course_module():
    spec = importlib.util.spec_from_file_location("hw1_course", ROOT / "hw1" / "hw1.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _course_stats(seed: int, nepochs: int = 3):
    from mytorch.activation import Identity, Sigmoid
    from mytorch.loss import SoftmaxCrossEntropy

    hw1 = _course_module()
    X, labels = _blobs(90, n_features=6, n_classes=4)
    X_val, labels_val = _blobs(30, n_features=6, n_classes=4, seed=1)
    eye = np.eye(4)
    dset = ((X, eye[labels]), (X_val, eye[labels_val]), (X_val, eye[labels_val]))
    # The handout seeds and draws from NumPy's global generator; so does this test.
    np.random.seed(seed)  # noqa: NPY002
    mlp = hw1.MLP(
        6,
        4,
        [8, 8],
        [Sigmoid(), Sigmoid(), Identity()],
        lambda i, o: np.random.randn(i, o),  # noqa: NPY002
        lambda o: np.zeros((1, o)),
        SoftmaxCrossEntropy(),
        0.05,
        momentum=0.9,
        num_bn_layers=1,
    )
    return hw1.get_training_stats(mlp, dset, nepochs, 20)


def test_get_training_stats_returns_four_arrays_of_nepochs():
    stats = _course_stats(11785, nepochs=4)
    assert len(stats) == 4
    for values in stats:
        assert isinstance(values, np.ndarray) and values.shape == (4,)
        assert np.isfinite(values).all()
    train_loss, train_error, val_loss, val_error = stats
    assert ((0 <= train_error) & (train_error <= 1)).all()
    assert ((0 <= val_error) & (val_error <= 1)).all()
    assert train_loss[-1] < train_loss[0]


def test_get_training_stats_is_reproducible_with_np_random_seed():
    first = _course_stats(11785)
    again = _course_stats(11785)
    other = _course_stats(11786)
    for a, b in zip(first, again, strict=True):
        assert np.array_equal(a, b)
    assert not np.array_equal(first[0], other[0])


def test_get_training_stats_shuffles_with_np_random_every_epoch(monkeypatch):
    calls = []
    original = np.random.permutation  # noqa: NPY002

    def counting_permutation(n):
        calls.append(n)
        return original(n)

    monkeypatch.setattr(np.random, "permutation", counting_permutation)
    _course_stats(11785, nepochs=2)
    assert calls == [90, 90]


# ----------------------------------------------------------------------- invalid inputs
# Trainer, Trainer.fit and Trainer.evaluate reject bad data, labels, settings and parts;
# the error names the part that found the problem: the layer, the loss, the DataLoader or
# the Trainer (conventions in tests/invalid_inputs.py).
INVALID_INPUTS = CaseTable()
case = INVALID_INPUTS.case


def trainer(**options) -> Trainer:
    model = nn.Sequential(nn.Linear(3, 4, rng=0), nn.ReLU(), nn.Linear(4, 2, rng=1))
    return Trainer(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), **options)


def fit(X=X10, y=Y10, **kwargs):
    kwargs.setdefault("epochs", 1)
    return trainer(rng=0).fit(X, y, **kwargs)


def rows10(x: np.ndarray) -> np.ndarray:
    """The bad matrix ``x`` stretched to the 10 samples of ``Y10``."""
    return np.resize(x, (10, *x.shape[1:]))


# X of rank 1 or 3 reaches the first Linear, which takes (*, 3) as PyTorch's does: (10,)
# has 10 features there and (10, 3, 1) one.
case(
    "Trainer.fit",
    "X: rank 1",
    lambda: fit(rows10(np.ones(3))),
    ValueError,
    r"^Linear: expected input with 3 features \(shape \(\*, 3\)\), got shape \(\d+,\) "
    r"\(\d+ features\)",
)
case(
    "Trainer.fit",
    "X: rank 3",
    lambda: fit(rows10(np.ones((4, 3, 1)))),
    ValueError,
    r"^Linear: expected input with 3 features \(shape \(\*, 3\)\), got shape \(\d+, 3, 1\)",
)
for bad in (
    "feature count",
    "object dtype",
    "string dtype",
    "complex dtype",
    "integer dtype",
    "bool dtype",
    "float32 into float64",
):
    x, error, pattern = BAD_MATRICES[bad]
    X_bad = rows10(x)
    case("Trainer.fit", f"X: {bad}", lambda X_bad=X_bad: fit(X_bad), error, rf"^Linear: {pattern}")
X_NAN, X_INF = X10.copy(), X10.copy()
X_NAN[3, 1], X_INF[7, 0] = NAN, INF
case(
    "Trainer.fit",
    "X: NaN",
    lambda: fit(X_NAN),
    ValueError,
    r"^Linear: input contains 1 NaN and 0 inf",
)
case(
    "Trainer.fit",
    "X: inf",
    lambda: fit(X_INF),
    ValueError,
    r"^Linear: input contains 0 NaN and 1 inf",
)
for name, call, error, pattern in [
    (
        "X a list",
        lambda: fit(X10.tolist()),
        TypeError,
        "^DataLoader: expected X to be a numpy.ndarray, got list",
    ),
    (
        "empty data",
        lambda: fit(X10[:0], Y10[:0]),
        ValueError,
        r"^DataLoader: expected at least one sample, got X of shape \(0, 3\)",
    ),
    (
        "X and y of different lengths",
        lambda: fit(X10, Y10[:4]),
        ValueError,
        "^DataLoader: X and y must have the same number of samples",
    ),
    (
        "float labels",
        lambda: fit(y=Y10.astype(float)),
        TypeError,
        r"^CrossEntropyLoss: expected integer class indices of shape \(\d+,\)",
    ),
    (
        "labels out of range",
        lambda: fit(y=Y10 + 5),
        ValueError,
        r"^CrossEntropyLoss: target label \d is out of range; expected class indices in \[0, 1\]",
    ),
    (
        "negative labels",
        lambda: fit(y=Y10 - 1),
        ValueError,
        "^CrossEntropyLoss: target label -1 is out of range",
    ),
    (
        "string labels",
        lambda: fit(y=Y10.astype(str)),
        TypeError,
        "^CrossEntropyLoss: expected integer class indices as target, got dtype <U",
    ),
    (
        "probabilities above 1",
        lambda: fit(y=np.full((10, 2), 2.0)),
        ValueError,
        r"^CrossEntropyLoss: expected target probabilities in \[0, 1\], got values in \[2.0, 2.0\]",
    ),
    (
        "2-D integer labels",
        lambda: fit(y=np.ones((10, 2), dtype=int)),
        ValueError,
        r"^CrossEntropyLoss: expected target of shape \(\d+,\), got \(\d+, 2\)",
    ),
    (
        "epochs=0",
        lambda: fit(epochs=0),
        ValueError,
        "^Trainer.fit: expected epochs to be a positive int, got 0",
    ),
    (
        "epochs=-1",
        lambda: fit(epochs=-1),
        ValueError,
        "^Trainer.fit: expected epochs to be a positive int, got -1",
    ),
    (
        "epochs=NaN",
        lambda: fit(epochs=NAN),
        TypeError,
        "^Trainer.fit: expected epochs to be a positive int, got nan",
    ),
    (
        "epochs=2.5",
        lambda: fit(epochs=2.5),
        TypeError,
        "^Trainer.fit: expected epochs to be a positive int, got 2.5",
    ),
    (
        "batch_size=0",
        lambda: fit(batch_size=0),
        ValueError,
        "^DataLoader: expected batch_size to be a positive int, got 0",
    ),
    (
        "batch_size=-4",
        lambda: fit(batch_size=-4),
        ValueError,
        "^DataLoader: expected batch_size to be a positive int, got -4",
    ),
    (
        "val_data not a pair",
        lambda: fit(val_data=X10),
        TypeError,
        r"^Trainer.fit: expected val_data to be a pair \(X_val, y_val\) or "
        r"\(X_val, y_val, sample_weight_val\), got array",
    ),
    (
        "sample_weight of another length",
        lambda: fit(sample_weight=np.ones(9)),
        ValueError,
        r"^Trainer.fit: expected sample_weight of shape \(10,\), one weight per sample, "
        r"got shape \(9,\)",
    ),
    (
        "sample_weight 2-D",
        lambda: fit(sample_weight=np.ones((10, 1))),
        ValueError,
        r"^Trainer.fit: expected sample_weight of shape \(10,\).*got shape \(10, 1\)",
    ),
    (
        "sample_weight of strings",
        lambda: fit(sample_weight=np.array(["1"] * 10)),
        TypeError,
        r"^Trainer.fit: expected sample_weight to be an array of numbers, got",
    ),
    (
        "sample_weight negative",
        lambda: fit(sample_weight=np.r_[np.ones(3), -1.0, np.ones(6)]),
        ValueError,
        r"^Trainer.fit: expected sample_weight >= 0, got -1.0 at sample 3",
    ),
    (
        "sample_weight NaN",
        lambda: fit(sample_weight=np.r_[NAN, np.ones(9)]),
        ValueError,
        r"^Trainer.fit: expected finite sample_weight, got NaN or inf",
    ),
    (
        "sample_weight all 0",
        lambda: fit(sample_weight=np.zeros(10)),
        ValueError,
        r"^Trainer.fit: every sample_weight is 0, which leaves no sample to weigh",
    ),
    (
        "validation weights of another length",
        lambda: fit(val_data=(X10, Y10, np.ones(3))),
        ValueError,
        r"^Trainer.fit: expected sample_weight_val of shape \(10,\).*got shape \(3,\)",
    ),
    (
        "val_data of different lengths",
        lambda: fit(val_data=(X10, Y10[:3])),
        ValueError,
        "^DataLoader: X and y must have the same number of samples",
    ),
    (
        "val labels out of range",
        lambda: fit(val_data=(X10, Y10 + 2)),
        ValueError,
        "^CrossEntropyLoss: target label 3 is out of range",
    ),
    (
        "no optimizer",
        lambda: Trainer(nn.Linear(3, 2), nn.CrossEntropyLoss()).fit(X10, Y10, epochs=1),
        TypeError,
        r"^Trainer: no optimizer was given; pass one, e.g. optim.SGD\(model.parameters\(\)",
    ),
]:
    case("Trainer.fit", name, call, error, pattern)
for name, call, error, pattern in [
    (
        "input_noise=-1",
        lambda: trainer(input_noise=-1),
        ValueError,
        r"expected input_noise in \[0, inf\], got -1.0",
    ),
    (
        "input_noise=NaN",
        lambda: trainer(input_noise=NAN),
        ValueError,
        "expected input_noise to be finite, got nan",
    ),
    (
        "max_grad_norm=0",
        lambda: trainer(max_grad_norm=0),
        ValueError,
        r"expected max_grad_norm in \(0, inf\], got 0.0",
    ),
    (
        "max_grad_norm=-1",
        lambda: trainer(max_grad_norm=-1),
        ValueError,
        r"expected max_grad_norm in \(0, inf\], got -1.0",
    ),
    (
        "max_grad_norm=NaN",
        lambda: trainer(max_grad_norm=NAN),
        ValueError,
        "expected max_grad_norm to be finite, got nan",
    ),
    (
        "rng a string",
        lambda: trainer(rng="seed"),
        TypeError,
        "expected rng to be a numpy.random.Generator, an int seed or None, got 'seed'",
    ),
    (
        "criterion a string",
        lambda: Trainer(nn.Linear(3, 2), "cross-entropy"),
        TypeError,
        "expected criterion to be a loss such as nn.CrossEntropyLoss.*got 'cross-entropy'",
    ),
    (
        "optimizer not an optimizer",
        lambda: Trainer(nn.Linear(3, 2), nn.CrossEntropyLoss(), "sgd"),
        TypeError,
        r"expected optimizer to have step\(\) and zero_grad\(\).*got 'sgd'",
    ),
    (
        "model not callable",
        lambda: Trainer("mlp", nn.CrossEntropyLoss(), sgd()),
        TypeError,
        r"expected model to be a Module.*got 'mlp'",
    ),
]:
    case("Trainer", name, call, error, rf"^Trainer: {pattern}")
case(
    "Trainer.evaluate",
    "sample_weight negative",
    lambda: trainer().evaluate(X10, Y10, sample_weight=np.full(10, -1.0)),
    ValueError,
    r"^Trainer.evaluate: expected sample_weight >= 0, got -1.0 at sample 0",
)
case(
    "Trainer.evaluate",
    "batch_size=0",
    lambda: trainer().evaluate(X10, Y10, batch_size=0),
    ValueError,
    "^DataLoader: expected batch_size to be a positive int, got 0",
)


@pytest.mark.parametrize("item", INVALID_INPUTS, ids=[c.id for c in INVALID_INPUTS])
def test_invalid_input_raises_a_clear_error(item: Case):
    assert_raises_a_clear_error(item)


# ------------------------------------------------------------------ per-step hooks
@pytest.mark.parametrize("compiled", [False, "auto"])
def test_augment_changes_training_batches_only_and_draws_from_the_trainers_rng(compiled):
    X, y = _blobs(64)
    seen_training, seen_validation = [], []
    model = _mlp()
    forward = model.forward

    def spy(x):
        (seen_training if model.training else seen_validation).append(x.copy())
        return forward(x)

    def shift(batch, rng):
        assert isinstance(rng, np.random.Generator)
        return batch + 100.0

    trainer = Trainer(
        model,
        nn.CrossEntropyLoss(),
        optim.SGD(model.parameters(), lr=0.01),
        rng=0,
        augment=shift,
        compiled=compiled,
    )
    if compiled is False:
        model.forward = spy
    trainer.fit(X, y, epochs=1, batch_size=16, val_data=(X, y))
    if compiled is False:
        assert all(batch.min() > 50 for batch in seen_training)
        assert all(batch.max() < 50 for batch in seen_validation)
    else:
        assert (
            trainer.compiled_status.startswith("compiled")
            and "whole" not in trainer.compiled_status
        )


@pytest.mark.parametrize("compiled", [False, "auto"])
def test_a_scheduler_stepped_per_update_and_on_step_end_see_every_step(compiled):
    from mytorch.callbacks import Callback
    from mytorch.optim.lr_scheduler import InverseTimeLR

    class Steps(Callback):
        def __init__(self):
            self.steps = []

        def on_step_end(self, trainer, step):
            self.steps.append((step, trainer.optimizer.param_groups[0]["lr"]))

    X, y = _blobs(64)
    model = _mlp()
    opt = optim.SGD(model.parameters(), lr=1.0)
    steps = Steps()
    trainer = Trainer(
        model,
        nn.CrossEntropyLoss(),
        opt,
        scheduler=InverseTimeLR(opt, decay=1.0),
        schedule_interval="step",
        callbacks=[steps],
        rng=0,
        compiled=compiled,
    )
    trainer.fit(X, y, epochs=2, batch_size=16)
    # eta(t) = eta_0 / (1 + t), t counting updates: after update t the rate is 1 / (1 + t)
    assert [s for s, _ in steps.steps] == list(range(1, 9))
    np.testing.assert_allclose([lr for _, lr in steps.steps], [1 / (1 + t) for t in range(1, 9)])
    with pytest.raises(ValueError, match="steps once per epoch; use schedule_interval='epoch'"):
        Trainer(
            model,
            nn.CrossEntropyLoss(),
            opt,
            schedule_interval="step",
            scheduler=optim.lr_scheduler.ReduceLROnPlateau(opt),
        )


# ------------------------------------------------------------------ what the loop hands on
class _RecordingPlateau(optim.lr_scheduler.ReduceLROnPlateau):
    """ReduceLROnPlateau that records every metric it is stepped with."""

    def __init__(self, optimizer, **options) -> None:
        super().__init__(optimizer, **options)
        self.metrics: list[float] = []

    def step(self, metrics: float) -> None:
        self.metrics.append(metrics)
        super().step(metrics)


def test_plateau_is_stepped_with_the_validation_loss_when_there_is_validation_data():
    X, y = _blobs()
    X_val, y_val = _blobs(40, seed=1)
    model = _mlp()
    optimizer = optim.SGD(model.parameters(), lr=0.05)
    scheduler = _RecordingPlateau(optimizer, patience=0)
    trainer = Trainer(model, nn.CrossEntropyLoss(), optimizer, scheduler=scheduler, rng=0)
    history = trainer.fit(X, y, epochs=3, batch_size=16, val_data=(X_val, y_val))
    assert scheduler.metrics == history.val_loss != history.train_loss
    alone = _RecordingPlateau(optim.SGD(model.parameters(), lr=0.05))
    Trainer(model, nn.CrossEntropyLoss(), alone.optimizer, scheduler=alone).fit(X, y, epochs=2)
    assert len(alone.metrics) == 2  # without validation data: the training loss


class _ModeRecorder(nn.Module):
    """The identity, recording whether each forward runs in training mode."""

    def __init__(self) -> None:
        super().__init__()
        self.modes: list[bool] = []

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.modes.append(self.training)
        return x

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        return grad_output


def test_the_model_is_back_in_training_mode_in_every_epoch_after_validation():
    X, y = _blobs(48)
    X_val, y_val = _blobs(20, seed=1)
    recorder = _ModeRecorder()
    model = nn.Sequential(nn.Linear(4, 8, rng=0), recorder, nn.ReLU(), nn.Linear(8, 3, rng=1))
    trainer = Trainer(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.05))
    trainer.fit(X, y, epochs=3, batch_size=16, val_data=(X_val, y_val))
    # per epoch: 3 training batches, then the validation data in one evaluation batch
    assert recorder.modes == [True, True, True, False] * 3
    assert not model.training  # fit ends in evaluation mode
