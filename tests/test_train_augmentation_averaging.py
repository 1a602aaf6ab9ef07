"""``mytorch train``'s augmentation, label smoothing and weight averaging: from the
settings (flags, TOML) to the ``Trainer`` (``mytorch/workflows/train.py`` and
``batch_augmentation.build_augmentation``).

The transforms (tests/test_augmentation.py), the smoothed loss (tests/test_loss.py) and
the averaging callbacks (tests/test_weight_averaging.py) are tested on their own; here:
what each setting builds, that augmentation touches the training batches only, and that
the averaged weights are what the run validates, reports and saves.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

import mytorch
from mytorch import cli
from mytorch.augmentation import RandomErasing, RandomHorizontalFlip, RandomTranslate
from mytorch.config import TrainConfig
from mytorch.serialization import load_checkpoint
from mytorch.workflows import train as train_workflow
from mytorch.workflows.batch_augmentation import build_augmentation
from mytorch.workflows.build import load_data
from mytorch.workflows.evaluate import score


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    """images.npz: 180 rows of 6 x 6 "images", 3 classes told apart by where they are bright."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 180)
    X = rng.uniform(0, 0.3, (180, 6, 6))
    for label in range(3):
        X[y == label, :, 2 * label : 2 * label + 2] += 0.7
    path = tmp_path_factory.mktemp("data") / "images.npz"
    np.savez(path, X=X.reshape(180, 36), y=y)
    return path


@pytest.fixture
def no_pictures(monkeypatch):
    monkeypatch.setattr("mytorch.workflows.report.draw_pictures", lambda *args, **kwargs: [])


def _args(images, out, *extra):
    return [
        "train",
        "--dataset",
        str(images),
        "--hidden",
        "12",
        "--activation",
        "relu",
        "--batch-norm",
        "--dropout",
        "0.1",
        "--optimizer",
        "adam",
        "--lr",
        "0.01",
        "--batch-size",
        "30",
        "--epochs",
        "3",
        "--out",
        str(out),
        "--no-progress",
        *map(str, extra),
    ]


def _run(capfd, *args):
    code = cli.main(list(args))
    out, err = capfd.readouterr()
    assert code == 0, err
    return out


# ------------------------------------------------------------------ the settings -> augment
def test_each_augmentation_setting_builds_its_transform_in_torchvisions_order():
    config = TrainConfig(augment_shift=2, augment_flip=0.5, augment_erase=0.25)
    augment = build_augmentation(config, 784)
    kinds = [type(t) for t in augment.transforms]
    assert kinds == [RandomTranslate, RandomHorizontalFlip, RandomErasing]
    shift, flip, erase = augment.transforms
    assert (shift.max_shift, flip.p, erase.p) == (2, 0.5, 0.25)
    assert build_augmentation(TrainConfig(), 784) is None
    only_flip = build_augmentation(TrainConfig(augment_flip=1.0, image_shape=[3, 4]), 12)
    assert [type(t) for t in only_flip.transforms] == [RandomHorizontalFlip]
    batch = np.arange(24, dtype=np.float64).reshape(2, 12)
    mirrored = only_flip(batch, np.random.default_rng(0))
    np.testing.assert_array_equal(mirrored, batch.reshape(2, 3, 4)[:, :, ::-1].reshape(2, 12))


def test_rows_that_are_not_images_of_the_shape_are_refused_before_training():
    with pytest.raises(ValueError, match=r"need image rows: .*not square images"):
        build_augmentation(TrainConfig(augment_shift=1), 10)
    with pytest.raises(ValueError, match=r"image_shape \(3, 3\) holds 9 pixels"):
        build_augmentation(TrainConfig(augment_flip=0.5, image_shape=[3, 3]), 12)


def test_standardised_rows_are_augmented_in_pixel_values():
    """Shifted-in pixels are black (0) in pixel values, not 0 after standardising."""
    rng = np.random.default_rng(1)
    X = rng.uniform(0, 1, (5, 16))
    scaling = {"mean": X.mean(axis=0).tolist(), "std": (X.std(axis=0) + 0.1).tolist()}
    mean, std = np.array(scaling["mean"]), np.array(scaling["std"])
    config = TrainConfig(augment_shift=1)
    standardised = build_augmentation(config, 16, scaling)(
        (X - mean) / std, np.random.default_rng(7)
    )
    in_pixels = build_augmentation(config, 16)(X, np.random.default_rng(7))
    np.testing.assert_allclose(standardised * std + mean, in_pixels, atol=1e-12)


def test_whitened_rows_cannot_be_augmented():
    scaling = {"method": "whiten-zca", "mean": [0.0] * 4, "matrix": np.eye(4).tolist()}
    with pytest.raises(ValueError, match=r"--preprocess whiten-zca leaves none"):
        build_augmentation(TrainConfig(augment_flip=0.5), 4, scaling)


def test_the_run_hands_its_augmentation_and_smoothed_loss_to_the_trainer(
    images, tmp_path, capfd, monkeypatch, no_pictures
):
    seen = {}
    real_trainer = train_workflow.Trainer

    def spy(*args, **kwargs):
        trainer = real_trainer(*args, **kwargs)
        seen["trainer"] = trainer
        return trainer

    monkeypatch.setattr(train_workflow, "Trainer", spy)
    out = _run(
        capfd,
        *_args(images, tmp_path / "run", "--augment-shift", 1, "--augment-erase", 0.5),
        "--label-smoothing",
        "0.2",
    )
    trainer = seen["trainer"]
    assert [type(t) for t in trainer.augment.transforms] == [RandomTranslate, RandomErasing]
    assert trainer.criterion.label_smoothing == 0.2
    assert trainer.compiled_status.startswith("compiled")  # batch by batch, smoothed loss
    assert "augmentation of the training batches: Compose([RandomTranslate(max_shift=1" in out
    saved = json.loads((tmp_path / "run" / "config.json").read_text())
    assert (saved["augment_shift"], saved["augment_erase"], saved["label_smoothing"]) == (
        1,
        0.5,
        0.2,
    )


def test_augmentation_sees_every_training_batch_and_nothing_else(
    images, tmp_path, capfd, monkeypatch, no_pictures
):
    """Each epoch's training rows pass through it once; validation and test rows never."""
    passed = []
    real = train_workflow.build_augmentation

    def recording(config, n_features, scaling=None):
        augment = real(config, n_features, scaling)

        def wrapper(batch, rng):
            passed.append(batch.copy())
            return augment(batch, rng)

        return wrapper

    monkeypatch.setattr(train_workflow, "build_augmentation", recording)
    _run(capfd, *_args(images, tmp_path / "run", "--augment-flip", 0.5))
    data, (X_train, _), (X_val, _) = load_data(TrainConfig(dataset=str(images)))
    rows = np.concatenate(passed)
    assert len(rows) == 3 * len(X_train)
    train_rows = {row.tobytes() for row in X_train}
    assert all(row.tobytes() in train_rows for row in rows)
    # (which proves something only because no held-out row is also a training row)
    for held_out in (X_val, data.X_test):
        assert not any(row.tobytes() in train_rows for row in held_out)


# ------------------------------------------------------------------ weight averaging
@pytest.mark.parametrize(
    "flag, kind",
    [("--ema", "ExponentialMovingAverage"), ("--swa-start", "StochasticWeightAveraging")],
)
def test_the_saved_model_and_the_report_are_the_averaged_weights(
    images, tmp_path, capfd, no_pictures, flag, kind
):
    value = 0.8 if flag == "--ema" else 2
    run = tmp_path / "run"
    out = _run(capfd, *_args(images, run, flag, value))
    assert f"weight averaging: {kind}(" in out
    state = load_checkpoint(run / "checkpoint.npz")
    (saved,) = [entry for entry in state["callbacks"] if entry["type"] == kind]
    averaged = saved["state"]["averaged"]
    model = mytorch.load(run / "model.npz")
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value, averaged[f"module.{key}"], err_msg=key)
    # The checkpoint keeps the training weights, which a resumed run goes on from.
    assert not np.array_equal(state["model"]["0.weight"], averaged["module.0.weight"])
    report = json.loads((run / "report.json").read_text())
    data, _, _ = load_data(TrainConfig(dataset=str(images)))
    expected = score(model, data.X_test, data.y_test, list(data.classes))
    assert report["test_accuracy"] == expected["test_accuracy"]
    assert report["test_loss"] == expected["test_loss"]
