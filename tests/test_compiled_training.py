"""``Trainer`` with the compiled step (``mytorch/compiled_training.py``): the same run as
the reference loop, the fall-backs named, the guards kept."""

from __future__ import annotations

import re

import numpy as np
import pytest

from mytorch import nn, optim
from mytorch.tools.diagnostics import Diagnostics
from mytorch.trainer import Trainer, TrainingDivergedError

pytest.importorskip("numba", reason="the whole compiled epoch needs the optional fast extra")


def _data(n=90, features=6, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, features))
    return X, (X[:, 0] + X[:, 1] > 0).astype(np.int64) + (X[:, 2] > 1)


def _model(batch_norm=False):
    layers = [nn.Linear(6, 8, rng=0)]
    if batch_norm:
        layers.append(nn.BatchNorm1d(8))
    layers.append(nn.Tanh())
    if batch_norm:
        layers.append(nn.Dropout(0.1, rng=5))
    layers.append(nn.Linear(8, 3, rng=1))
    return nn.Sequential(*layers)


def _fit(compiled, batch_norm=False, **options):
    model = _model(batch_norm)
    trainer = Trainer(
        model,
        nn.CrossEntropyLoss(),
        optim.Adam(model.parameters(), lr=0.01),
        rng=3,
        compiled=compiled,
        **options,
    )
    X, y = _data()
    history = trainer.fit(X, y, epochs=4, batch_size=16, val_data=_data(30, seed=1))
    return trainer, history


@pytest.mark.parametrize(
    "batch_norm, status",
    [(False, "compiled (numba, whole epochs)"), (True, "compiled (numba)")],
    ids=["plain-whole-epochs", "batchnorm-batch-by-batch"],
)
def test_a_compiled_fit_is_the_reference_fit(batch_norm, status, close):
    ref, ref_history = _fit(False, batch_norm)
    ours, history = _fit("auto", batch_norm)
    assert ours.compiled_status == status
    assert ref.compiled_status == "reference loop: compiled=False"
    for (key, a), (_, b) in zip(
        ref.model.state_dict().items(), ours.model.state_dict().items(), strict=True
    ):
        if a.dtype.kind == "f":
            close(b, a, key, tol=1e-12)
    for column in ("train_loss", "train_error", "val_loss", "val_error", "lr"):
        close(getattr(history, column), getattr(ref_history, column), column, tol=1e-12)
    assert ours.step_count == ref.step_count == 4 * 6


@pytest.mark.parametrize(
    "options, reason",
    [
        ({"max_grad_norm": 1.0}, "gradient clipping"),
        ({"callbacks": [Diagnostics()]}, "the Diagnostics callback watches every step"),
    ],
)
def test_options_the_compiled_step_does_not_take_are_named(options, reason):
    trainer, _ = _fit("auto", **options)
    assert trainer.compiled_status.startswith("reference loop: ")
    assert reason in trainer.compiled_status
    with pytest.raises(ValueError, match=rf"^Trainer: compiled=True, but .*{reason}"):
        _fit(True, **options)


def test_sample_weights_mean_the_reference_loop_named_in_the_status():
    model = _model()
    trainer = Trainer(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=0.01))
    X, y = _data()
    reason = "sample weights (sample_weight) are not part of the compiled step"
    assert trainer.plan(X, y) == "compiled (numba, whole epochs)"
    assert trainer.plan(X, y, sample_weight=np.ones(len(X))) == f"reference loop: {reason}"
    trainer.fit(X, y, epochs=1, sample_weight=np.ones(len(X)))
    assert trainer.compiled_status == f"reference loop: {reason}"
    trainer.compiled = True
    with pytest.raises(ValueError, match=rf"^Trainer: compiled=True, but {re.escape(reason)}"):
        trainer.fit(X, y, epochs=1, sample_weight=np.ones(len(X)))
    trainer.fit(X, y, epochs=1)  # the same trainer without weights: compiled again
    assert trainer.compiled_status == "compiled (numba, whole epochs)"


def test_input_noise_and_a_progress_bar_train_batch_by_batch_compiled():
    trainer, _ = _fit("auto", input_noise=0.1)
    assert trainer.compiled_status == "compiled (numba)"
    model = _model()
    trainer = Trainer(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1))
    X, y = _data()
    assert trainer.plan(X, y, progress=lambda loader: loader) == "compiled (numba)"
    assert trainer.plan(X, y) == "compiled (numba, whole epochs)"


def test_label_smoothing_trains_batch_by_batch_compiled_as_the_reference(close):
    """The compiled step runs the smoothed loss by its own code; the whole compiled epoch,
    whose loss is the plain softmax cross-entropy, is not used."""
    X, y = _data()
    runs = []
    for compiled in (False, "auto"):
        model = _model()
        trainer = Trainer(
            model,
            nn.CrossEntropyLoss(label_smoothing=0.2),
            optim.Adam(model.parameters(), lr=0.01),
            rng=3,
            compiled=compiled,
        )
        trainer.fit(X, y, epochs=3, batch_size=16)
        runs.append(trainer)
    reference, ours = runs
    assert ours.compiled_status == "compiled (numba)"
    for key, value in reference.model.state_dict().items():
        close(ours.model.state_dict()[key], value, key, tol=1e-12)
    close(ours.history.train_loss, reference.history.train_loss, "train_loss", tol=1e-12)


def test_a_course_layer_or_a_patched_backward_means_the_reference_loop():
    from mytorch.linear import Linear as CourseLinear

    X, y = _data()
    model = nn.Sequential(CourseLinear(6, 3, rng=0))
    trainer = Trainer(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1))
    assert "is not one of mytorch.nn's own layers" in trainer.plan(X, y)
    model = _model()
    model[0].backward = model[0].backward  # replaced on the instance
    trainer = Trainer(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1))
    assert "backward was replaced on the instance" in trainer.plan(X, y)


def test_an_overflow_in_a_compiled_epoch_stops_at_its_step_and_names_the_layer():
    X, y = _data()
    model = nn.Sequential(nn.Linear(6, 8, rng=0), nn.ReLU(), nn.Linear(8, 3, rng=1))
    trainer = Trainer(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=1e200))
    assert trainer.plan(X, y) == "compiled (numba, whole epochs)"
    with (
        np.errstate(all="ignore"),
        pytest.raises(
            TrainingDivergedError,
            match=r"NaN or inf inside the network at epoch 1, step \d+: layer",
        ),
    ):
        trainer.fit(X, y, epochs=2, batch_size=16)
