"""Tests for ``mytorch/tools/tensorboard.py`` and ``mytorch train --tensorboard``.

The event files are read back with TensorBoard's own reader
(``tensorboard.backend.event_processing.event_accumulator``), as ``tensorboard
--logdir`` reads them, and every value is checked against the run's history and model.
TensorBoard stores scalars as float32: they are compared with the history's values
rounded to float32, exactly.
"""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
from tensorboard.backend.event_processing import event_accumulator as ea

from mytorch import cli, nn, optim
from mytorch.tools.tensorboard import TensorBoard
from mytorch.trainer import Trainer


def read_events(folder) -> ea.EventAccumulator:
    return ea.EventAccumulator(
        str(folder), size_guidance={ea.SCALARS: 0, ea.HISTOGRAMS: 0}
    ).Reload()


def scalars(events: ea.EventAccumulator, tag: str) -> list[tuple[int, float]]:
    return [(e.step, e.value) for e in events.Scalars(tag)]


def as_float32(values) -> list[float]:
    return [float(np.float32(v)) for v in values]


def _problem():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(96, 3))
    y = (X[:, 0] + X[:, 1] > 0).astype(np.int64)
    model = nn.Sequential(
        nn.Linear(3, 5, rng=0), nn.Tanh(), nn.Linear(5, 4, rng=1), nn.ReLU(), nn.Linear(4, 2, rng=2)
    )
    return X, y, model


# ------------------------------------------------------------------ the callback
def test_scalars_are_the_history_of_every_epoch(tmp_path):
    X, y, model = _problem()
    board = TensorBoard(tmp_path / "tb")
    trainer = Trainer(
        model,
        nn.CrossEntropyLoss(),
        optim.SGD(model.parameters(), lr=0.2),
        callbacks=[board],
        rng=0,
    )
    history = trainer.fit(X[:64], y[:64], epochs=3, batch_size=16, val_data=(X[64:], y[64:]))
    events = read_events(tmp_path / "tb")
    assert sorted(events.Tags()["scalars"]) == sorted(
        [
            "loss/train",
            "loss/validation",
            "accuracy/train",
            "accuracy/validation",
            "learning_rate",
            "epoch_seconds",
        ]
    )
    steps = [1, 2, 3]
    assert scalars(events, "loss/train") == list(
        zip(steps, as_float32(history.train_loss), strict=True)
    )
    assert scalars(events, "loss/validation") == list(
        zip(steps, as_float32(history.val_loss), strict=True)
    )
    accuracy = [1 - e for e in history.train_error]
    assert scalars(events, "accuracy/train") == list(zip(steps, as_float32(accuracy), strict=True))
    val_accuracy = [1 - e for e in history.val_error]
    assert scalars(events, "accuracy/validation") == list(
        zip(steps, as_float32(val_accuracy), strict=True)
    )
    assert scalars(events, "learning_rate") == list(zip(steps, as_float32([0.2] * 3), strict=True))
    assert scalars(events, "epoch_seconds") == list(
        zip(steps, as_float32(history.seconds), strict=True)
    )
    assert events.Tags()["histograms"] == []  # only when asked for
    assert board.writer is None  # closed at the end of training


def test_without_validation_data_the_validation_tags_are_left_out(tmp_path):
    X, y, model = _problem()
    trainer = Trainer(
        model,
        nn.CrossEntropyLoss(),
        optim.SGD(model.parameters(), lr=0.1),
        callbacks=[TensorBoard(tmp_path)],
        rng=0,
    )
    trainer.fit(X, y, epochs=2, batch_size=32)
    tags = read_events(tmp_path).Tags()["scalars"]
    assert "loss/train" in tags and "loss/validation" not in tags
    assert "accuracy/validation" not in tags


def test_histograms_of_weights_gradients_and_probe_activations(tmp_path):
    X, y, model = _problem()
    probe = X[:10]
    trainer = Trainer(
        model,
        nn.CrossEntropyLoss(),
        optim.SGD(model.parameters(), lr=0.1),
        callbacks=[TensorBoard(tmp_path, histograms=True, probe=probe)],
        rng=0,
    )
    trainer.fit(X, y, epochs=2, batch_size=32)
    events = read_events(tmp_path)
    names = [name for name, _ in model.named_parameters()]
    expected = {f"weights/{n}" for n in names} | {f"gradients/{n}" for n in names}
    expected |= {"activations/1_Tanh", "activations/3_ReLU"}
    assert set(events.Tags()["histograms"]) == expected
    for name, param in model.named_parameters():
        (last_weights,) = [e for e in events.Histograms(f"weights/{name}") if e.step == 2]
        histogram = last_weights.histogram_value
        assert histogram.num == param.data.size
        assert (histogram.min, histogram.max) == (param.data.min(), param.data.max())
        assert histogram.sum == pytest.approx(param.data.sum(), rel=1e-12, abs=1e-12)
        assert sum(histogram.bucket) == param.data.size
        gradients = events.Histograms(f"gradients/{name}")[-1].histogram_value
        assert gradients.num == param.grad.size  # the epoch's last step
        assert (gradients.min, gradients.max) == (param.grad.min(), param.grad.max())
    model.eval()
    hidden = np.tanh(probe @ model[0].weight.data.T + model[0].bias.data)
    tanh = events.Histograms("activations/1_Tanh")[-1].histogram_value
    assert tanh.num == hidden.size == 10 * 5
    assert (tanh.min, tanh.max) == pytest.approx((hidden.min(), hidden.max()), rel=1e-12)
    assert [e.step for e in events.Histograms("activations/3_ReLU")] == [1, 2]


class _FakeTrainer:
    model = None


def test_a_resumed_run_hides_what_the_interrupted_run_wrote_past_its_checkpoint(tmp_path):
    """The interrupted run wrote epochs 1-4 (its checkpoint held 2); the resumed run
    writes 3-5 again: TensorBoard shows each epoch once, 3-5 from the resumed run."""
    interrupted = TensorBoard(tmp_path)
    for epoch in (1, 2, 3, 4):
        interrupted.on_epoch_end(_FakeTrainer(), epoch, {"train_loss": float(epoch)})
    # No on_train_end: killed. The resumed run starts within the same second.
    resumed = TensorBoard(tmp_path)
    for epoch in (3, 4, 5):
        resumed.on_epoch_end(_FakeTrainer(), epoch, {"train_loss": 10.0 * epoch})
    resumed.on_train_end(_FakeTrainer())
    assert len(list(tmp_path.iterdir())) == 2  # two files, the first one kept whole
    assert scalars(read_events(tmp_path), "loss/train") == [
        (1, 1.0),
        (2, 2.0),
        (3, 30.0),
        (4, 40.0),
        (5, 50.0),
    ]


def test_without_tensorboardx_the_error_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorboardX", None)
    with pytest.raises(ImportError, match=r"pip install 'mytorch\[tensorboard\]'"):
        TensorBoard(tmp_path)


# ------------------------------------------------------------------ mytorch train
def _train(out, *extra) -> list[str]:
    return [
        "train",
        "--hidden",
        "12",
        "--activation",
        "relu",
        "--epochs",
        "3",
        "--batch-size",
        "64",
        "--no-progress",
        "--out",
        str(out),
        *extra,
    ]


@pytest.fixture
def no_pictures(monkeypatch):
    monkeypatch.setattr("mytorch.workflows.report.draw_pictures", lambda *args, **kwargs: [])


def test_mytorch_train_tensorboard_writes_the_metrics_of_every_epoch(tmp_path, capsys, no_pictures):
    out = tmp_path / "run"
    assert cli.main(_train(out, "--tensorboard")) == 0
    assert "tensorboard/" in capsys.readouterr().out
    history = json.loads((out / "metrics.json").read_text())
    events = read_events(out / "tensorboard")
    steps = history["epoch"]
    for tag, column in (("loss/train", "train_loss"), ("loss/validation", "val_loss")):
        assert scalars(events, tag) == list(zip(steps, as_float32(history[column]), strict=True)), (
            tag
        )
    accuracy = as_float32([1 - e for e in history["val_error"]])
    assert scalars(events, "accuracy/validation") == list(zip(steps, accuracy, strict=True))
    assert scalars(events, "learning_rate") == list(
        zip(steps, as_float32(history["lr"]), strict=True)
    )
    assert scalars(events, "epoch_seconds") == list(
        zip(steps, as_float32(history["seconds"]), strict=True)
    )
    assert events.Tags()["histograms"] == []  # histograms come with --diagnostics
    assert json.loads((out / "config.json").read_text())["tensorboard"] is True


def test_mytorch_train_tensorboard_with_diagnostics_draws_histograms_in_the_folder_given(
    tmp_path, no_pictures
):
    out, board = tmp_path / "run", tmp_path / "board"
    assert cli.main(_train(out, "--diagnostics", "--tensorboard", str(board))) == 0
    assert not (out / "tensorboard").exists()
    events = read_events(board)
    tags = set(events.Tags()["histograms"])
    assert {"weights/0.weight", "gradients/0.weight", "activations/1_ReLU"} <= tags
    weights = events.Histograms("weights/2.weight")[-1]
    assert weights.step == 3 and weights.histogram_value.num == 12 * 10
    # The probe is the first 256 rows of the validation data (144 on digits).
    assert events.Histograms("activations/1_ReLU")[-1].histogram_value.num == 144 * 12


def test_mytorch_train_tensorboard_without_tensorboardx_exits_2(
    tmp_path, capsys, monkeypatch, no_pictures
):
    monkeypatch.setitem(sys.modules, "tensorboardX", None)
    assert cli.main(_train(tmp_path / "run", "--tensorboard")) == 2
    assert "pip install 'mytorch[tensorboard]'" in capsys.readouterr().err
