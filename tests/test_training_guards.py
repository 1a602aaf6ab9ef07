"""Training guards: divergence stops training with a clear message; the last good epoch stays.

A non-finite loss, gradient or activation stops ``Trainer.fit`` with a
``TrainingDivergedError`` that names the epoch, the step and the first layer (or
parameter) where NaN or inf appeared, and suggests causes. The command line prints that
message, exits with status 3 and keeps ``checkpoint.npz`` of the last finished epoch,
which loads and equals the training state at that epoch. Gradient clipping is optional
(``max_grad_norm``) and bounds each update.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from mytorch import nn, optim
from mytorch.cli import main
from mytorch.nn.module import Module
from mytorch.nn.parameter import Parameter
from mytorch.optim import lr_scheduler
from mytorch.serialization import load_checkpoint, save_checkpoint
from mytorch.trainer import Callback, Trainer, TrainingDivergedError

pytestmark = pytest.mark.filterwarnings(
    "ignore:overflow:RuntimeWarning", "ignore:invalid value:RuntimeWarning"
)

MESSAGE = re.compile(r"at epoch (\d+), step (\d+)")


def data(n: int = 200, features: int = 8):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(n, features))
    return X, (X[:, 0] + X[:, 1] > 0).astype(np.int64)


class KeepEveryEpoch(Callback):
    """Snapshots the model after each epoch and saves a checkpoint, as the CLI does."""

    def __init__(self, path) -> None:
        self.path, self.snapshots = path, {}

    def on_epoch_end(self, trainer, epoch, logs):
        self.snapshots[epoch] = trainer.snapshot()
        save_checkpoint(
            self.path,
            {
                "epoch": epoch,
                "model": trainer.snapshot(),
                "optimizer": trainer.optimizer.state_dict(),
            },
        )


def exploding_run(tmp_path, batch_size: int = 50):
    """SGD whose learning rate grows 10^12-fold every epoch."""
    X, y = data()
    model = nn.Sequential(
        nn.Linear(8, 16, rng=0),
        nn.ReLU(),
        nn.Linear(16, 16, rng=1),
        nn.ReLU(),
        nn.Linear(16, 2, rng=2),
    )
    opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    keeper = KeepEveryEpoch(tmp_path / "checkpoint.npz")
    trainer = Trainer(
        model,
        nn.CrossEntropyLoss(),
        opt,
        scheduler=lr_scheduler.LambdaLR(opt, lambda epoch: 1e12**epoch),
        callbacks=[keeper],
        rng=0,
    )
    with pytest.raises(TrainingDivergedError) as error:
        trainer.fit(X, y, epochs=20, batch_size=batch_size)
    return trainer, keeper, str(error.value)


def test_an_exploding_learning_rate_stops_the_trainer_with_a_clear_message(tmp_path):
    trainer, keeper, message = exploding_run(tmp_path)
    found = MESSAGE.search(message)
    assert found, message
    epoch, step = int(found[1]), int(found[2])
    assert epoch == trainer.epoch >= 2, "epoch 1 trains normally; the explosion comes later"
    assert step == trainer.step_count
    steps_per_epoch = 4  # 200 samples in batches of 50
    assert (epoch - 1) * steps_per_epoch < step <= epoch * steps_per_epoch
    assert re.search(
        r"(layer \d+ \((Linear|ReLU)\) is the first whose output|"
        r"parameter '\d+\.(weight|bias)')",
        message,
    ), message
    assert "Likely causes: a learning rate that is too large" in message
    assert len(trainer.history) == epoch - 1  # the diverged epoch is not recorded


def test_the_checkpoint_of_the_last_good_epoch_equals_the_state_at_that_epoch(tmp_path):
    trainer, keeper, _ = exploding_run(tmp_path)
    last_good = trainer.epoch - 1
    state = load_checkpoint(tmp_path / "checkpoint.npz")
    assert state["epoch"] == last_good == max(keeper.snapshots)
    expected = keeper.snapshots[last_good]
    assert state["model"].keys() == expected.keys()
    for key, value in expected.items():
        assert state["model"][key].tobytes() == value.tobytes(), key
        assert np.isfinite(state["model"][key]).all()
    # The saved state is usable: a fresh model loads it and predicts finite numbers.
    fresh = nn.Sequential(
        nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 2)
    )
    fresh.load_state_dict(state["model"])
    assert np.isfinite(fresh(data()[0])).all()


class PoisonGradient(Module):
    """Passes its input through but reports a NaN gradient for its own parameter."""

    def __init__(self) -> None:
        super().__init__()
        self.scale = Parameter(np.ones(4))

    def forward(self, x):
        return x

    def backward(self, grad_output):
        self.scale.accumulate_grad(np.full(4, np.nan))
        return grad_output


def test_a_nan_gradient_names_the_parameter_epoch_and_step():
    X, y = data(features=4)
    model = nn.Sequential(nn.Linear(4, 4, rng=0), PoisonGradient(), nn.Linear(4, 2, rng=1))
    trainer = Trainer(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1))
    before = model[0].weight.data.copy()
    with pytest.raises(
        TrainingDivergedError,
        match=r"gradient of '1\.scale' holds NaN or inf at epoch 1, step 1 .*"
        r"Likely causes",
    ):
        trainer.fit(X, y, epochs=2, batch_size=50)
    assert np.array_equal(model[0].weight.data, before)  # no update with a NaN gradient
    assert np.array_equal(model[1].scale.data, np.ones(4))


def test_an_infinite_loss_names_the_epoch_and_step():
    X = np.full((10, 2), 1e160)
    model = nn.Sequential(nn.Linear(2, 1, bias=False, rng=0))
    model[0].weight.data[...] = 1.0
    trainer = Trainer(model, nn.MSELoss(), optim.SGD(model.parameters(), lr=0.1))
    with pytest.raises(
        TrainingDivergedError, match=r"the loss became inf at epoch 1, step 1\. Likely causes"
    ):
        trainer.fit(X, np.zeros((10, 1)), epochs=1, batch_size=10)


def test_nan_in_the_data_is_a_data_error_not_a_divergence():
    X, y = data()
    X[5, 3] = np.nan
    model = nn.Sequential(nn.Linear(8, 2, rng=0))
    trainer = Trainer(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1))
    with pytest.raises(ValueError, match=r"Linear: input contains 1 NaN") as error:
        trainer.fit(X, y, epochs=1)
    assert not isinstance(error.value, TrainingDivergedError)


@pytest.mark.parametrize("max_grad_norm", [None, 0.5])
def test_gradient_clipping_bounds_every_update(max_grad_norm):
    X, y = data()
    X *= 50  # large inputs: large gradients
    model = nn.Sequential(nn.Linear(8, 16, rng=0), nn.Tanh(), nn.Linear(16, 2, rng=1))
    before = [p.data.copy() for p in model.parameters()]
    trainer = Trainer(
        model,
        nn.CrossEntropyLoss(),
        optim.SGD(model.parameters(), lr=1.0),
        max_grad_norm=max_grad_norm,
    )
    trainer.fit(X, y, epochs=1, batch_size=len(X))  # one step: the update is -lr * grad
    update = np.sqrt(
        sum(np.sum((p.data - b) ** 2) for p, b in zip(model.parameters(), before, strict=True))
    )
    if max_grad_norm is None:
        assert update > 0.5  # without clipping the step would be larger
    else:
        assert update <= max_grad_norm * (1 + 1e-9)


# ----------------------------------------------------------------------- the command line
@pytest.fixture(scope="module")
def tiny_dataset(tmp_path_factory):
    X, y = data(n=240, features=10)
    path = tmp_path_factory.mktemp("data") / "tiny.npz"
    np.savez(path, X=X, y=y)
    return path


def cli_args(dataset, out, epochs: int) -> list[str]:
    """A linear network with a learning rate far too large: it blows up after an epoch."""
    return [
        "train",
        "--dataset",
        str(dataset),
        "--hidden",
        "32",
        "32",
        "--activation",
        "identity",
        "--init",
        "course",
        "--optimizer",
        "sgd",
        "--lr",
        "10",
        "--momentum",
        "0.9",
        "--batch-size",
        "64",
        "--epochs",
        str(epochs),
        "--seed",
        "0",
        "--no-progress",
        "--out",
        str(out),
    ]


def test_the_cli_stops_a_diverging_run_and_keeps_the_last_good_checkpoint(
    tiny_dataset, tmp_path, capsys
):
    out = tmp_path / "diverged"
    status = main(cli_args(tiny_dataset, out, epochs=12))
    err = capsys.readouterr().err
    assert status == 3, err
    found = MESSAGE.search(err)
    assert found and err.startswith("mytorch: training stopped: Trainer: NaN or inf"), err
    epoch = int(found[1])
    assert epoch >= 2, err
    assert re.search(r"layer \d+ \(\w+\) is the first whose output|parameter '", err), err
    assert "Likely causes" in err
    assert f"The last good epoch ({epoch - 1}) is kept in {out / 'checkpoint.npz'}" in err
    assert not (out / "model.npz").exists()  # no model is saved from a diverged run

    state = load_checkpoint(out / "checkpoint.npz")
    assert state["epoch"] == epoch - 1
    assert len(state["history"]["train_loss"]) == epoch - 1
    # The same run stopped cleanly after epoch - 1 epochs has exactly that state.
    reference = tmp_path / "reference"
    assert main(cli_args(tiny_dataset, reference, epochs=epoch - 1)) == 0
    capsys.readouterr()
    expected = load_checkpoint(reference / "checkpoint.npz")
    for part in ("model", "optimizer"):
        assert_same_tree(state[part], expected[part])


def assert_same_tree(actual, expected, where: str = "") -> None:
    """Nested dicts / lists / arrays equal bit for bit."""
    if isinstance(expected, dict):
        assert actual.keys() == expected.keys(), where
        for key in expected:
            assert_same_tree(actual[key], expected[key], f"{where}/{key}")
    elif isinstance(expected, (list, tuple)):
        assert len(actual) == len(expected), where
        for index, (a, e) in enumerate(zip(actual, expected, strict=True)):
            assert_same_tree(a, e, f"{where}/{index}")
    elif isinstance(expected, np.ndarray):
        assert actual.dtype == expected.dtype and actual.tobytes() == expected.tobytes(), where
    else:
        assert actual == expected, where
