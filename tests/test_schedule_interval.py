"""Schedules stepped after every update: the notes' eta(t) (000, section 7.6, the
SGD-NEURAL-NET pseudo-code, line 20: W = W - eta(t) d loss / d W, t counting updates),
from the trainer, ``build_scheduler`` and ``mytorch train --schedule-interval step``."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mytorch import cli, nn, optim
from mytorch.config import TrainConfig
from mytorch.optim.lr_scheduler import InverseTimeLR
from mytorch.trainer import Trainer
from mytorch.workflows.build import build_scheduler


class _RecordingSGD(optim.NotesSGD):
    """The notes' SGD that records the eta of every update it takes."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.etas: list[float] = []

    def step(self, closure=None):
        self.etas.append(self.param_groups[0]["lr"])
        return super().step(closure)


def _data(n=50):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, 3))
    return X, (X[:, 0] > 0).astype(np.int64)


def test_inverse_time_per_update_is_eta_t_of_the_notes_pseudo_code():
    X, y = _data()
    model = nn.Sequential(nn.Linear(3, 2, rng=0))
    eta_0, decay = 0.2, 0.25
    optimizer = _RecordingSGD(model.parameters(), lr=eta_0)
    scheduler = InverseTimeLR(optimizer, decay=decay)
    trainer = Trainer(
        model, nn.CrossEntropyLoss(), optimizer, scheduler=scheduler, schedule_interval="step"
    )
    trainer.fit(X, y, epochs=3, batch_size=8)  # 7 updates an epoch, 21 in all
    t = np.arange(21)
    # update t = 1, 2, ... of the pseudo-code uses eta(t) = eta_0 / (1 + decay (t - 1)),
    # on across epochs (not restarted at each one)
    np.testing.assert_allclose(optimizer.etas, eta_0 / (1.0 + decay * t), rtol=1e-15)
    assert trainer.step_count == 21


@pytest.mark.parametrize("schedule", ["step", "exponential", "cosine", "inverse-time", "warmup"])
def test_per_update_is_the_per_epoch_curve_in_finer_steps(schedule):
    """At the start of every epoch the rate is the per-epoch schedule's (MyTorch's choice
    of how a per-epoch schedule reads per update)."""
    epochs, steps = 6, 5
    rates = {}
    for interval in ("epoch", "step"):
        config = TrainConfig(schedule=schedule, schedule_interval=interval, epochs=epochs)
        optimizer = optim.SGD([nn.Parameter(np.zeros(1))], lr=0.3)
        scheduler = build_scheduler(config, optimizer, steps_per_epoch=steps)
        seen = []
        for _ in range(epochs * (steps if interval == "step" else 1)):
            seen.append(optimizer.param_groups[0]["lr"])
            scheduler.step()
        rates[interval] = seen
    np.testing.assert_allclose(rates["step"][::steps], rates["epoch"], rtol=1e-12)
    if schedule != "step":  # StepLR's curve is flat between its drops
        assert len(set(np.round(rates["step"], 12))) > epochs  # it moves within epochs too


def test_inverse_time_per_update_from_the_config_is_eta_0_over_1_plus_t_over_s():
    config = TrainConfig(schedule="inverse-time", schedule_interval="step", epochs=3)
    optimizer = optim.SGD([nn.Parameter(np.zeros(1))], lr=0.3)
    scheduler = build_scheduler(config, optimizer, steps_per_epoch=4)
    etas = []
    for _ in range(12):
        etas.append(optimizer.param_groups[0]["lr"])
        scheduler.step()
    np.testing.assert_allclose(etas, 0.3 / (1.0 + np.arange(12) / 4), rtol=1e-15)


def test_plateau_cannot_be_stepped_per_update():
    config = TrainConfig(schedule="plateau", schedule_interval="step")
    with pytest.raises(ValueError, match="plateau watches the validation loss"):
        build_scheduler(config, optim.SGD([nn.Parameter(np.zeros(1))], lr=0.1))


def test_mytorch_train_steps_the_schedule_per_update(tmp_path, capfd, monkeypatch):
    monkeypatch.setattr("mytorch.workflows.report.draw_pictures", lambda *a, **k: [])
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 4))
    np.savez(tmp_path / "data.npz", X=X, y=(X[:, 0] > 0).astype(np.int64))
    args = ["train", "--dataset", str(tmp_path / "data.npz"), "--hidden", "4", "--epochs", "3"]
    args += ["--lr", "0.1", "--schedule", "inverse-time", "--batch-size", "20", "--no-progress"]
    for interval in ("epoch", "step"):
        out = tmp_path / interval
        flags = ["--schedule-interval", interval, "--out", str(out)]
        assert cli.main([*args, *flags]) == 0, capfd.readouterr().err
        assert json.loads((out / "config.json").read_text())["schedule_interval"] == interval
    per_epoch = json.loads((tmp_path / "epoch" / "metrics.json").read_text())["lr"]
    per_update = json.loads((tmp_path / "step" / "metrics.json").read_text())["lr"]
    # the rate each epoch starts with is the same; in between, per update it fell further
    np.testing.assert_allclose(per_update, per_epoch, rtol=1e-12)
    np.testing.assert_allclose(per_epoch, [0.1, 0.05, 0.1 / 3], rtol=1e-12)
