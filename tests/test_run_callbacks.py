"""Tests for ``mytorch/workflows/run_callbacks.py``: a run's live files and checkpoint.

``metrics.json`` and ``metrics.csv`` are rewritten after every epoch and
``learning_curves.png`` when drawing it is cheap enough, each atomically, so that a run
can be followed from outside while it trains; the last test follows a real
``mytorch train`` process that way.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from mytorch import nn, optim
from mytorch.trainer import Callback, Trainer
from mytorch.workflows import report, run_callbacks
from mytorch.workflows.run_callbacks import LiveFiles

ROOT = Path(__file__).resolve().parent.parent
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _trainer(callbacks) -> tuple[Trainer, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 3))
    y = (X[:, 0] > 0).astype(np.int64)
    model = nn.Sequential(nn.Linear(3, 6, rng=0), nn.Tanh(), nn.Linear(6, 2, rng=1))
    trainer = Trainer(
        model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), callbacks=callbacks
    )
    return trainer, X, y


class _Reader(Callback):
    """Reads the run folder after each epoch, as a program outside the run would."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.seen: list[tuple[list[int], int, bool]] = []

    def on_epoch_end(self, trainer, epoch, logs):
        history = json.loads((self.out / "metrics.json").read_text())
        rows = list(csv.DictReader(io.StringIO((self.out / "metrics.csv").read_text())))
        self.seen.append((history["epoch"], len(rows), (self.out / "learning_curves.png").exists()))


def test_metrics_files_are_rewritten_after_every_epoch(tmp_path):
    reader = _Reader(tmp_path)
    trainer, X, y = _trainer([LiveFiles(tmp_path, "title", picture_share=0.0), reader])
    history = trainer.fit(X, y, epochs=3, batch_size=16, val_data=(X, y))
    assert reader.seen == [([1], 1, False), ([1, 2], 2, False), ([1, 2, 3], 3, False)]
    assert json.loads((tmp_path / "metrics.json").read_text()) == history.to_dict()
    assert not list(tmp_path.glob(".*.tmp"))


def test_learning_curves_are_drawn_while_training(tmp_path):
    reader = _Reader(tmp_path)
    live = LiveFiles(tmp_path, "title", picture_share=1.0, first_drawing_seconds=0.0)
    trainer, X, y = _trainer([live, reader])
    trainer.fit(X, y, epochs=1, batch_size=16, val_data=(X, y))
    assert reader.seen == [([1], 1, True)]
    assert (tmp_path / "learning_curves.png").read_bytes()[:8] == PNG_SIGNATURE
    assert live.drawing_seconds > 0  # timed, for the next decision


class _Clock:
    """``time.perf_counter`` of a run whose epochs take 1 s and drawings 0.5 s."""

    def __init__(self) -> None:
        self.now = 0.0

    def perf_counter(self) -> float:
        return self.now


def test_learning_curves_are_redrawn_only_when_drawing_costs_little(tmp_path, monkeypatch):
    clock = _Clock()
    monkeypatch.setattr(run_callbacks, "time", clock)
    drawn = []

    def draw(out, history, title):
        drawn.append(len(history["epoch"]))
        clock.now += 0.5
        return ["learning_curves.png"]

    monkeypatch.setattr(report, "draw_learning_curves", draw)
    live = LiveFiles(tmp_path, "title", picture_share=0.1, first_drawing_seconds=0.2)
    trainer, _, _ = _trainer([live])
    live.on_train_begin(trainer)
    for epoch in range(1, 21):
        clock.now += 1.0
        trainer.history.append({"train_loss": 1.0 / epoch})
        live.on_epoch_end(trainer, epoch, {})
    # The first drawing once 0.2 / 0.1 = 2 s have passed; then 0.5 / 0.1 = 5 s after each.
    assert drawn == [2, 7, 12, 17]
    spent = 0.5 * len(drawn)
    assert spent / clock.now <= 0.1


def test_without_matplotlib_the_live_files_stop_trying_to_draw(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(report, "draw_learning_curves", lambda *a: calls.append(1) or [])
    live = LiveFiles(tmp_path, "title", picture_share=1.0, first_drawing_seconds=0.0)
    trainer, X, y = _trainer([live])
    trainer.fit(X, y, epochs=3, batch_size=32)
    assert calls == [1] and live.picture_share == 0.0
    assert len(json.loads((tmp_path / "metrics.json").read_text())["epoch"]) == 3


@pytest.mark.slow
def test_a_running_mytorch_train_can_be_followed_from_outside(tmp_path):
    """Read metrics.json and metrics.csv of a real run while it trains: every read is a
    whole file, and the epochs grow."""
    out = tmp_path / "run"
    env = dict(
        os.environ,
        OPENBLAS_NUM_THREADS="1",
        MPLBACKEND="Agg",
        PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    )
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mytorch",
            "train",
            "--hidden",
            "16",
            "--epochs",
            "40",
            "--batch-size",
            "32",
            "--no-progress",
            "--out",
            str(out),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    counts = []
    try:
        while process.poll() is None:
            if (out / "metrics.csv").exists():
                epochs = json.loads((out / "metrics.json").read_text())["epoch"]
                assert epochs == list(range(1, len(epochs) + 1))
                rows = list(csv.DictReader(io.StringIO((out / "metrics.csv").read_text())))
                # Whole rows of whole epochs; metrics.csv follows metrics.json.
                assert [int(row["epoch"]) for row in rows] == list(range(1, len(rows) + 1))
                assert len(rows) >= len(epochs) - 1
                counts.append(len(epochs))
            time.sleep(0.01)
    finally:
        process.kill()
        _, err = process.communicate()
    assert process.returncode == 0, err
    assert counts == sorted(counts)
    assert len(set(counts)) >= 3, f"the run was seen at too few epochs: {sorted(set(counts))}"
    assert min(counts) < 40
