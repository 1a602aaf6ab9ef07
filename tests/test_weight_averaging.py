"""``mytorch/weight_averaging.py``: EMA and SWA as callbacks of the ``Trainer``.

The averages are held equal to ``torch.optim.swa_utils``' on the same sequence of
weights (recorded from a real MyTorch run); validation and the end of ``fit`` use the
averaged weights, and averaging never changes the training weights' path.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mytorch import nn, optim
from mytorch.callbacks import Callback
from mytorch.serialization import load_checkpoint, save_checkpoint
from mytorch.trainer import Trainer
from mytorch.weight_averaging import ExponentialMovingAverage, StochasticWeightAveraging


def _data(n=96, features=5, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, features))
    y = (X[:, 0] + X[:, 1] > 0).astype(np.int64) + (X[:, 2] > 0.8)
    return X, y


def _model(dropout=0.0):
    layers = [nn.Linear(5, 7, rng=0), nn.BatchNorm1d(7), nn.ReLU()]
    if dropout:
        layers.append(nn.Dropout(dropout, rng=4))
    return nn.Sequential(*layers, nn.Linear(7, 3, rng=1))


def _torch_twin():
    return torch.nn.Sequential(
        torch.nn.Linear(5, 7), torch.nn.BatchNorm1d(7), torch.nn.ReLU(), torch.nn.Linear(7, 3)
    ).double()


class _Recorder(Callback):
    """Copies of the model's state after every step and after every epoch."""

    def __init__(self) -> None:
        self.steps: list[dict[str, np.ndarray]] = []
        self.epochs: list[dict[str, np.ndarray]] = []

    def on_step_end(self, trainer, step):
        self.steps.append(trainer.snapshot())

    def on_epoch_end(self, trainer, epoch, logs):
        self.epochs.append(trainer.snapshot())


def _fit(callbacks, epochs=4, dropout=0.0, val=True, compiled="auto"):
    model = _model(dropout)
    trainer = Trainer(
        model,
        nn.CrossEntropyLoss(),
        optim.Adam(model.parameters(), lr=0.05),
        callbacks=callbacks,
        rng=2,
        compiled=compiled,
    )
    X, y = _data()
    trainer.fit(X, y, epochs=epochs, batch_size=16, val_data=_data(40, seed=1) if val else None)
    return trainer


def _feed_torch(states, averaged):
    twin = _torch_twin()
    for state in states:
        twin.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in state.items()})
        averaged.update_parameters(twin)
    return averaged


def _compare_floats(ours, theirs, close, what):
    """Every floating array of ``theirs`` (a torch state dict) against ours."""
    for key, value in theirs.items():
        if value.dtype.is_floating_point:
            close(ours[key], value.detach(), f"{what} {key}", tol=1e-12)


def _compare_model_at_the_end(trainer, theirs, close):
    """The model ends holding the average: weights and batch-norm statistics."""
    ours = {f"module.{k}": v for k, v in trainer.model.state_dict().items()}
    _compare_floats(ours, theirs.state_dict(), close, "model at the end")


# ------------------------------------------------------------------ against PyTorch
def test_the_ema_equals_torchs_averaged_model_over_the_same_steps(close):
    recorder, ema = _Recorder(), ExponentialMovingAverage(decay=0.9)
    trainer = _fit([recorder, ema])
    assert len(recorder.steps) == trainer.step_count == 4 * 6
    theirs = torch.optim.swa_utils.AveragedModel(
        _torch_twin(),
        multi_avg_fn=torch.optim.swa_utils.get_ema_multi_avg_fn(0.9),
        use_buffers=True,
    )
    _feed_torch(recorder.steps, theirs)
    assert int(ema.averaged.n_averaged) == int(theirs.n_averaged) == 24
    _compare_floats(ema.averaged.state_dict(), theirs.state_dict(), close, "EMA")
    _compare_model_at_the_end(trainer, theirs, close)


def test_swa_equals_torchs_averaged_model_and_update_bn(close):
    recorder = _Recorder()
    X, _ = _data()
    swa = StochasticWeightAveraging(start_epoch=3, bn_data=X, batch_size=32)
    trainer = _fit([recorder, swa], epochs=6)
    theirs = _feed_torch(recorder.epochs[2:], torch.optim.swa_utils.AveragedModel(_torch_twin()))
    assert int(swa.averaged.n_averaged) == int(theirs.n_averaged) == 4
    loader = torch.utils.data.DataLoader(torch.from_numpy(X), batch_size=32)
    torch.optim.swa_utils.update_bn(loader, theirs)
    _compare_floats(swa.averaged.state_dict(), theirs.state_dict(), close, "SWA")
    _compare_model_at_the_end(trainer, theirs, close)


# ------------------------------------------------------------------ what is measured
def test_averaging_never_changes_the_training_weights_path():
    plain, averaged = _Recorder(), _Recorder()
    _fit([plain])
    _fit([averaged, ExponentialMovingAverage(0.8)])
    _fit([_Recorder(), StochasticWeightAveraging(2, _data()[0])])
    for a, b in zip(plain.steps, averaged.steps, strict=True):
        assert all(a[key].tobytes() == b[key].tobytes() for key in a)


def test_validation_each_epoch_measures_the_averaged_weights():
    class AverageAtEpochEnd(Callback):
        def __init__(self, ema):
            self.ema, self.states = ema, []

        def on_epoch_end(self, trainer, epoch, logs):
            state = self.ema.averaged.module.state_dict()
            self.states.append({k: v.copy() for k, v in state.items()})

    ema = ExponentialMovingAverage(0.8)
    watcher = AverageAtEpochEnd(ema)
    trainer = _fit([ema, watcher])
    X_val, y_val = _data(40, seed=1)
    probe = _model()
    probe.eval()
    for epoch, state in enumerate(watcher.states):
        probe.load_state_dict(state)
        loss = float(nn.CrossEntropyLoss()(probe(X_val), y_val))
        assert trainer.history.val_loss[epoch] == pytest.approx(loss, rel=1e-12)


def test_swa_before_its_start_validates_the_training_weights():
    X, _ = _data()
    without = _fit([], epochs=3)
    swa = StochasticWeightAveraging(start_epoch=3, bn_data=X)
    with_swa = _fit([swa], epochs=3)
    assert with_swa.history.val_loss[:2] == without.history.val_loss[:2]
    assert with_swa.history.val_loss[2] != without.history.val_loss[2]
    assert int(swa.averaged.n_averaged) == 1


def test_swa_without_validation_data_folds_each_epoch_at_its_end(close):
    recorder = _Recorder()
    swa = StochasticWeightAveraging(start_epoch=2)  # no bn_data: statistics of the last
    _fit([recorder, swa], epochs=4, val=False)
    assert int(swa.averaged.n_averaged) == 3
    mean = np.mean([state["0.weight"] for state in recorder.epochs[1:]], axis=0)
    close(swa.averaged.module[0].weight.data, mean, "mean weight", tol=1e-12)


def test_a_compiled_fit_with_ema_is_the_reference_fit(close):
    pytest.importorskip("numba")
    reference = _fit([ExponentialMovingAverage(0.9)], compiled=False)
    compiled = _fit([ExponentialMovingAverage(0.9)])
    assert compiled.compiled_status == "compiled (numba)"  # batch by batch: it sees every step
    for key, value in reference.model.state_dict().items():
        close(compiled.model.state_dict()[key], value, key, tol=1e-12)
    close(compiled.history.val_loss, reference.history.val_loss, "val_loss", tol=1e-12)


# ------------------------------------------------------------------ resuming
class _Checkpoint(Callback):
    """What ``mytorch train``'s checkpoint saves after each epoch, through its file."""

    def __init__(self, path):
        self.path = path

    def on_epoch_end(self, trainer, epoch, logs):
        save_checkpoint(
            self.path,
            {
                "model": dict(trainer.model.state_dict()),
                "optimizer": trainer.optimizer.state_dict(),
                "rng": [trainer.rng.bit_generator.state, trainer.model[3].rng.bit_generator.state],
                "epoch": trainer.epoch,
                "step": trainer.step_count,
                "callbacks": trainer.callback_states(),
            },
        )


@pytest.mark.parametrize("kind", ["ema", "swa"])
def test_a_run_resumed_from_a_checkpoint_ends_as_the_whole_run(kind, tmp_path):
    X, y = _data()
    val = _data(40, seed=1)

    def trainer_with(*callbacks):
        model = _model(dropout=0.2)  # update_bn runs dropout: its random state is kept
        averaging = (
            ExponentialMovingAverage(0.8)
            if kind == "ema"
            else StochasticWeightAveraging(2, bn_data=X, batch_size=32)
        )
        return Trainer(
            model,
            nn.CrossEntropyLoss(),
            optim.Adam(model.parameters(), lr=0.05),
            callbacks=[averaging, *callbacks],
            rng=2,
        )

    whole = trainer_with()
    whole.fit(X, y, epochs=5, batch_size=16, val_data=val)
    path = tmp_path / "checkpoint.npz"
    trainer_with(_Checkpoint(path)).fit(X, y, epochs=3, batch_size=16, val_data=val)
    state = load_checkpoint(path)
    assert [entry["type"] for entry in state["callbacks"]] == [
        "ExponentialMovingAverage" if kind == "ema" else "StochasticWeightAveraging"
    ]
    resumed = trainer_with()
    resumed.model.load_state_dict(state["model"])
    resumed.optimizer.load_state_dict(state["optimizer"])
    resumed.rng.bit_generator.state, resumed.model[3].rng.bit_generator.state = state["rng"]
    resumed.epoch, resumed.step_count = state["epoch"], state["step"]
    resumed.load_callback_states(state["callbacks"])
    resumed.fit(X, y, epochs=2, batch_size=16, val_data=val)
    assert resumed.history.val_loss == whole.history.val_loss[3:]
    for key, value in whole.model.state_dict().items():
        assert resumed.model.state_dict()[key].tobytes() == value.tobytes(), key
    # Without the callback's state the average starts again: another model.
    forgetful = trainer_with()
    forgetful.model.load_state_dict(state["model"])
    forgetful.optimizer.load_state_dict(state["optimizer"])
    forgetful.epoch, forgetful.step_count = state["epoch"], state["step"]
    forgetful.fit(X, y, epochs=2, batch_size=16, val_data=val)
    assert forgetful.model[0].weight.data.tobytes() != whole.model[0].weight.data.tobytes()


# ------------------------------------------------------------------ bad input
def test_bad_settings_are_refused_with_the_callbacks_name():
    with pytest.raises(ValueError, match=r"ExponentialMovingAverage: expected decay"):
        ExponentialMovingAverage(1.0)
    with pytest.raises(ValueError, match=r"StochasticWeightAveraging: expected start_epoch"):
        StochasticWeightAveraging(0)
    with pytest.raises(ValueError, match=r"StochasticWeightAveraging"):
        StochasticWeightAveraging(1, bn_data=np.full((3, 2), np.nan))
    ema = ExponentialMovingAverage()
    ema.on_train_begin(Trainer(_model(), nn.CrossEntropyLoss()))
    with pytest.raises(ValueError, match=r"ExponentialMovingAverage.load_state_dict: expected"):
        ema.load_state_dict({"averaged": {}})


def test_an_average_asked_for_before_training_is_a_clear_error():
    trainer = Trainer(_model(), nn.CrossEntropyLoss())
    with pytest.raises(RuntimeError, match=r"ExponentialMovingAverage: used before the training"):
        ExponentialMovingAverage().on_validation_begin(trainer)
