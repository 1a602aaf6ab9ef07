"""Tests for ``mytorch/cli.py``: the ``mytorch`` command, end to end.

The main flows run the real command in a subprocess (``python -m mytorch``) on small
data: scikit-learn's digits, and a CSV and an ``.npz`` file written here. Checks that
need many runs (resuming, settings, errors) call ``cli.main`` in this process, which
is the same code without the interpreter's start-up time.

The invalid-input cases at the end check that every invalid setting, config file and
input file makes the command return 2 and explain the problem on stderr (counted with
the library's invalid-input cases, tests/invalid_inputs.py).
"""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import mytorch
from mytorch import cli, nn
from mytorch.config import TrainConfig
from mytorch.config_file import read_settings
from mytorch.serialization import load_checkpoint
from mytorch.workflows.build import build_model
from mytorch.workflows.train import Checkpoint

RUN_FILES = [
    "model.npz",
    "config.json",
    "metrics.json",
    "metrics.csv",
    "report.json",
    "learning_curves.png",
    "confusion_matrix.png",
    "checkpoint.npz",
]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
HISTORY_COLUMNS = ["train_loss", "train_error", "val_loss", "val_error", "lr"]


def run_cli(*args: str, cwd=None) -> subprocess.CompletedProcess:
    """Run ``python -m mytorch ARGS`` and return the finished process (text output)."""
    env = dict(os.environ, MPLBACKEND="Agg", OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    return subprocess.run(
        [sys.executable, "-m", "mytorch", *map(str, args)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def run_main(capfd, *args: str) -> tuple[int, str, str]:
    """Run ``cli.main(ARGS)`` here; return (exit status, stdout, stderr)."""
    try:
        code = cli.main([str(a) for a in args])
    except SystemExit as exit_:  # argparse's own errors and --help
        code = exit_.code
    captured = capfd.readouterr()
    return code, captured.out, captured.err


def assert_valid_png(path) -> None:
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE, f"{path.name} is not a PNG"
    import matplotlib.image

    pixels = matplotlib.image.imread(path)
    height, width = pixels.shape[:2]
    assert 300 <= height <= 4000 and 300 <= width <= 4000, (path.name, pixels.shape)
    assert pixels.std() > 0.01, f"{path.name} is blank"


def assert_no_traceback(text: str) -> None:
    assert "Traceback" not in text, text
    assert 'File "' not in text, text


def _blobs(n: int = 240, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    centres = np.random.default_rng(100).normal(scale=2.0, size=(3, 8))
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    return centres[y] + rng.normal(size=(n, 8)), y


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    """blobs.npz (X, y) and blobs.csv (header, label last): 240 rows, 8 features, 3 classes."""
    folder = tmp_path_factory.mktemp("data")
    X, y = _blobs()
    np.savez(folder / "blobs.npz", X=X, y=y)
    with open(folder / "blobs.csv", "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow([f"f{i}" for i in range(8)] + ["label"])
        for row, label in zip(X, y, strict=True):
            writer.writerow([repr(float(v)) for v in row] + [int(label)])
    return folder


@pytest.fixture
def no_pictures(monkeypatch):
    """Skip drawing in the in-process runs (about a second each); the subprocess runs
    above check the pictures."""
    monkeypatch.setattr("mytorch.workflows.report.draw_pictures", lambda *args, **kwargs: [])


def _history(run) -> dict:
    return json.loads((run / "metrics.json").read_text())


def _states_equal(a: dict, b: dict) -> bool:
    return list(a) == list(b) and all(np.array_equal(a[k], b[k]) for k in a)


# ------------------------------------------------------------------ digits, end to end
@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("digits") / "run"
    result = run_cli(
        "train",
        "--epochs",
        3,
        "--hidden",
        32,
        16,
        "--activation",
        "relu",
        "--init",
        "kaiming",
        "--lr",
        0.05,
        "--out",
        out,
        "--no-progress",
    )
    assert result.returncode == 0, result.stderr
    return out, result


def test_train_writes_every_file_of_the_run_directory(digits_run):
    out, result = digits_run
    for name in RUN_FILES:
        assert (out / name).is_file(), name
    assert not [p.name for p in out.iterdir() if p.name.endswith(".tmp")]
    assert "Test accuracy" in result.stdout and "Saved to" in result.stdout
    assert len(re.findall(r"^epoch +\d+/3 ", result.stdout, flags=re.M)) == 3
    assert_no_traceback(result.stderr)


def test_train_pictures_are_valid_pngs(digits_run):
    out, _ = digits_run
    assert_valid_png(out / "learning_curves.png")
    assert_valid_png(out / "confusion_matrix.png")


def test_metrics_json_csv_and_checkpoint_agree_with_the_history(digits_run):
    out, result = digits_run
    history = _history(out)
    assert history["epoch"] == [1, 2, 3]
    with open(out / "metrics.csv", newline="") as file:
        rows = list(csv.DictReader(file))
    assert [int(r["epoch"]) for r in rows] == history["epoch"]
    for column in [*HISTORY_COLUMNS, "seconds"]:
        assert [float(r[column]) for r in rows] == history[column], column
    saved = load_checkpoint(out / "checkpoint.npz")
    assert saved["epoch"] == 3
    for column in HISTORY_COLUMNS:
        assert saved["history"][column] == history[column], column
    printed = re.findall(r"train loss ([\d.]+)", result.stdout)
    assert [float(v) for v in printed] == [round(v, 4) for v in history["train_loss"]]


def test_report_and_config_describe_the_run(digits_run):
    out, _ = digits_run
    report = json.loads((out / "report.json").read_text())
    config = json.loads((out / "config.json").read_text())
    assert report["dataset"] == "digits" and report["epochs_run"] == 3
    matrix = np.array(report["confusion_matrix"])
    assert matrix.shape == (10, 10) and matrix.sum() == 360
    assert report["test_accuracy"] == pytest.approx(np.trace(matrix) / 360)
    assert set(report["per_class"]) == {str(d) for d in range(10)}
    assert config["hidden"] == [32, 16] and config["activation"] == "relu"
    assert config["epochs"] == 3 and config["lr"] == 0.05


def test_evaluate_reproduces_the_test_report(digits_run, tmp_path):
    out, _ = digits_run
    result = run_cli("evaluate", out, "--json", tmp_path / "eval.json")
    assert result.returncode == 0, result.stderr
    evaluated = json.loads((tmp_path / "eval.json").read_text())
    report = json.loads((out / "report.json").read_text())
    assert evaluated["confusion_matrix"] == report["confusion_matrix"]
    assert evaluated["test_accuracy"] == report["test_accuracy"]
    assert f"Test accuracy {report['test_accuracy']:.2%}" in result.stdout


def test_predict_writes_labels_and_probabilities(digits_run, tmp_path):
    out, _ = digits_run
    from mytorch.datasets import load_dataset

    X = load_dataset("digits").X_test[:25]
    rows = tmp_path / "rows.csv"
    np.savetxt(rows, X, delimiter=",")
    predictions = tmp_path / "predictions.csv"
    result = run_cli("predict", out / "model.npz", "--input", rows, "--output", predictions)
    assert result.returncode == 0, result.stderr
    assert "Wrote 25 predictions" in result.stdout
    with open(predictions, newline="") as file:
        table = list(csv.reader(file))
    assert table[0] == ["label", "class", *[f"p_{d}" for d in range(10)]]
    probabilities = np.array([[float(v) for v in row[2:]] for row in table[1:]])
    labels = np.array([int(row[0]) for row in table[1:]])
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    assert np.array_equal(labels, probabilities.argmax(axis=1))
    model = mytorch.load(out / "model.npz")
    assert np.array_equal(labels, model(X).argmax(axis=1))


# ------------------------------------------------------------------ your own CSV and npz
def test_csv_data_set_train_evaluate_predict(data_dir, tmp_path):
    out = tmp_path / "csv_run"
    result = run_cli(
        "train",
        "--dataset",
        data_dir / "blobs.csv",
        "--epochs",
        4,
        "--hidden",
        16,
        "--activation",
        "tanh",
        "--optimizer",
        "adam",
        "--lr",
        0.01,
        "--standardize",
        "--batch-size",
        32,
        "--out",
        out,
        "--no-progress",
    )
    assert result.returncode == 0, result.stderr
    for name in RUN_FILES:
        assert (out / name).is_file(), name
    report = json.loads((out / "report.json").read_text())
    assert report["test_accuracy"] > 0.9  # well separated clusters
    # evaluate finds the CSV again from another working directory
    evaluated = run_cli("evaluate", out, "--json", tmp_path / "e.json", cwd=tmp_path)
    assert evaluated.returncode == 0, evaluated.stderr
    assert json.loads((tmp_path / "e.json").read_text())["test_accuracy"] == report["test_accuracy"]
    # predict from an .npz of rows: the stored standardisation is applied
    X, _ = _blobs(10, seed=5)
    np.savez(tmp_path / "rows.npz", X=X)
    predicted = run_cli(
        "predict", out, "--input", tmp_path / "rows.npz", "--output", tmp_path / "p.csv"
    )
    assert predicted.returncode == 0, predicted.stderr
    with open(tmp_path / "p.csv", newline="") as file:
        labels = [int(row["label"]) for row in csv.DictReader(file)]
    model, header = mytorch.load(out / "model.npz", return_metadata=True)
    scaling = header["metadata"]["scaling"]
    expected = model((X - np.array(scaling["mean"])) / np.array(scaling["std"])).argmax(axis=1)
    assert labels == expected.tolist()


def test_npz_data_set_trains_in_float32(data_dir, tmp_path, capfd, no_pictures):
    code, out, err = run_main(
        capfd,
        "train",
        "--dataset",
        data_dir / "blobs.npz",
        "--epochs",
        2,
        "--hidden",
        8,
        "--dtype",
        "float32",
        "--out",
        tmp_path / "run",
        "--no-progress",
    )
    assert code == 0, err
    model, header = mytorch.load(tmp_path / "run" / "model.npz", return_metadata=True)
    assert header["dtype"] == "float32"
    assert all(v.dtype == np.float32 for v in model.state_dict().values())
    assert "blobs.npz" in out


# ------------------------------------------------------------------ resuming
RESUME_SETTINGS = {
    "adam-exponential": ["--optimizer", "adam", "--lr", "0.01", "--schedule", "exponential"],
    "sgd-plateau": [
        "--optimizer",
        "sgd",
        "--lr",
        "0.05",
        "--momentum",
        "0.9",
        "--schedule",
        "plateau",
        "--weight-decay",
        "1e-4",
    ],
    "adam-balanced": ["--optimizer", "adam", "--lr", "0.01", "--class-weight", "balanced"],
    # The notes' SGD with momentum and eta(t): a schedule stepped after every update.
    "notes-sgd-inverse-time-per-update": [
        "--optimizer",
        "notes-sgd",
        "--momentum",
        "0.9",
        "--lr",
        "0.05",
        "--schedule",
        "inverse-time",
        "--schedule-interval",
        "step",
    ],
    # The blobs' 8 features as 2 x 4 images: the augmentation draws from the trainer's
    # generator, the averages are in the checkpoint.
    "augment-ema-label-smoothing": [
        *("--optimizer", "adam", "--lr", "0.01", "--label-smoothing", "0.1", "--ema", "0.9"),
        *("--augment-shift", "1", "--augment-flip", "0.5", "--augment-erase", "0.5"),
        *("--image-shape", "2", "4"),
    ],
    "swa": [
        *("--optimizer", "adam", "--lr", "0.01", "--schedule", "exponential"),
        *("--swa-start", "2"),
    ],
}


def _train_args(data_dir, extra):
    return [
        "train",
        "--dataset",
        data_dir / "blobs.npz",
        "--hidden",
        16,
        12,
        "--activation",
        "relu",
        "--batch-norm",
        "--dropout",
        0.3,
        "--input-noise",
        0.1,
        "--batch-size",
        24,
        "--seed",
        7,
        "--no-progress",
        *extra,
    ]


def _assert_same_final_run(full, resumed) -> None:
    full_model = mytorch.load(full / "model.npz")
    resumed_model = mytorch.load(resumed / "model.npz")
    assert _states_equal(full_model.state_dict(), resumed_model.state_dict())
    full_history, resumed_history = _history(full), _history(resumed)
    for history in (full_history, resumed_history):
        del history["seconds"]
    assert full_history == resumed_history
    full_state = load_checkpoint(full / "checkpoint.npz")
    resumed_state = load_checkpoint(resumed / "checkpoint.npz")
    for key in ("epoch", "step", "rng", "scheduler"):
        assert full_state[key] == resumed_state[key], key
    full_config = json.loads((full / "config.json").read_text())
    resumed_config = json.loads((resumed / "config.json").read_text())
    assert {**full_config, "out": None} == {**resumed_config, "out": None}
    assert (
        json.loads((full / "report.json").read_text())["test_accuracy"]
        == json.loads((resumed / "report.json").read_text())["test_accuracy"]
    )


@pytest.mark.parametrize("settings", list(RESUME_SETTINGS))
def test_run_extended_with_resume_equals_an_uninterrupted_run(
    data_dir, tmp_path, capfd, settings, no_pictures
):
    extra = RESUME_SETTINGS[settings]
    full, part = tmp_path / "full", tmp_path / "part"
    assert run_main(capfd, *_train_args(data_dir, [*extra, "--epochs", 5, "--out", full]))[0] == 0
    assert run_main(capfd, *_train_args(data_dir, [*extra, "--epochs", 2, "--out", part]))[0] == 0
    assert load_checkpoint(part / "checkpoint.npz")["epoch"] == 2
    code, out, err = run_main(
        capfd, "train", "--out", part, "--epochs", 5, "--resume", "--no-progress"
    )
    assert code == 0, err
    assert len(re.findall(r"^epoch +\d+/5 ", out, flags=re.M)) == 3  # epochs 3, 4, 5 only
    _assert_same_final_run(full, part)


@pytest.mark.parametrize("interval", ["epoch", "step"])
def test_interrupted_run_resumes_to_its_planned_epochs(
    data_dir, tmp_path, capfd, monkeypatch, interval
):
    extra = ["--optimizer", "adamw", "--lr", "0.01", "--schedule", "cosine", "--epochs", 5]
    extra += ["--schedule-interval", interval]
    full, broken = tmp_path / "full", tmp_path / "broken"
    assert run_main(capfd, *_train_args(data_dir, [*extra, "--out", full]))[0] == 0
    save_epoch = Checkpoint.on_epoch_end

    def crash_after_epoch_3(self, trainer, epoch, logs):
        save_epoch(self, trainer, epoch, logs)
        if epoch == 3:
            raise KeyboardInterrupt  # as if the user pressed Ctrl-C

    monkeypatch.setattr(Checkpoint, "on_epoch_end", crash_after_epoch_3)
    with pytest.raises(KeyboardInterrupt):
        cli.main([str(a) for a in _train_args(data_dir, [*extra, "--out", broken])])
    monkeypatch.undo()
    capfd.readouterr()
    assert load_checkpoint(broken / "checkpoint.npz")["epoch"] == 3
    assert not (broken / "model.npz").exists()
    # No --epochs: the run continues to the 5 epochs it was started with.
    code, out, err = run_main(capfd, "train", "--out", broken, "--resume", "--no-progress")
    assert code == 0, err
    assert re.findall(r"^epoch +(\d+)/5 ", out, flags=re.M) == ["4", "5"]
    _assert_same_final_run(full, broken)


def test_resume_of_a_finished_run_trains_no_more(data_dir, tmp_path, capfd, no_pictures):
    run = tmp_path / "run"
    assert run_main(capfd, *_train_args(data_dir, ["--epochs", 2, "--out", run]))[0] == 0
    before = mytorch.load(run / "model.npz").state_dict()
    code, out, _ = run_main(capfd, "train", "--out", run, "--resume", "--no-progress")
    assert code == 0 and not re.findall(r"^epoch ", out, flags=re.M)
    assert _states_equal(before, mytorch.load(run / "model.npz").state_dict())


def test_class_weight_balanced_weighs_the_training_split_and_survives_resume(
    data_dir, tmp_path, capfd, monkeypatch, no_pictures
):
    from sklearn.utils.class_weight import compute_class_weight

    from mytorch.trainer import Trainer

    calls = []
    fit = Trainer.fit

    def recording_fit(self, X, y, **options):
        calls.append((y, options))
        return fit(self, X, y, **options)

    monkeypatch.setattr(Trainer, "fit", recording_fit)
    run = tmp_path / "run"
    extra = ["--class-weight", "balanced", "--epochs", 2, "--out", run]
    code, out, err = run_main(capfd, *_train_args(data_dir, extra))
    assert code == 0, err
    assert "training: reference loop: sample weights" in out
    assert json.loads((run / "config.json").read_text())["class_weight"] == "balanced"
    code, out, err = run_main(
        capfd, "train", "--out", run, "--epochs", 3, "--resume", "--no-progress"
    )
    assert code == 0, err
    assert len(calls) == 2
    for y_train, options in calls:  # the first run's, then the resumed run's
        classes = np.unique(y_train)
        per_class = compute_class_weight("balanced", classes=classes, y=y_train)
        np.testing.assert_allclose(options["sample_weight"], per_class[y_train], rtol=1e-15)
        _, y_val, weight_val = options["val_data"]
        np.testing.assert_allclose(weight_val, per_class[y_val], rtol=1e-15)
    np.testing.assert_array_equal(calls[0][0], calls[1][0])  # the same training split


def test_resume_without_a_checkpoint_is_a_clear_error(tmp_path, capfd):
    code, _, err = run_main(capfd, "train", "--out", tmp_path / "empty", "--resume")
    assert code == 2
    assert "mytorch train: error: mytorch train --resume: no checkpoint at" in err


# ------------------------------------------------------------------ TOML config files
def test_toml_config_is_read_and_flags_override_it(data_dir, tmp_path, capfd, no_pictures):
    config = tmp_path / "run.toml"
    config.write_text(
        "[train]\n"
        f'dataset = "{(data_dir / "blobs.npz").as_posix()}"\n'
        "hidden = [12, 6]\n"
        'activation = "tanh"\n'
        'optimizer = "rmsprop"\n'
        "lr = 0.002\n"
        "epochs = 7\n"
        "batch_size = 40\n"
        "batch_norm = true\n"
        f'out = "{(tmp_path / "from_toml").as_posix()}"\n'
    )
    code, _, err = run_main(
        capfd,
        "train",
        "--config",
        config,
        "--epochs",
        2,
        "--lr",
        0.01,
        "--out",
        tmp_path / "from_flags",
        "--no-progress",
    )
    assert code == 0, err
    saved = json.loads((tmp_path / "from_flags" / "config.json").read_text())
    assert saved["hidden"] == [12, 6] and saved["activation"] == "tanh"
    assert saved["optimizer"] == "rmsprop" and saved["batch_size"] == 40
    assert saved["batch_norm"] is True
    assert saved["epochs"] == 2 and saved["lr"] == 0.01  # the flags win
    assert not (tmp_path / "from_toml").exists()
    assert len(_history(tmp_path / "from_flags")["epoch"]) == 2


def test_toml_config_without_a_table_header_works(data_dir, tmp_path):
    config = tmp_path / "flat.toml"
    config.write_text(
        f'dataset = "{(data_dir / "blobs.csv").as_posix()}"\nhidden = [4]\n'
        'epochs = 1\nactivation = "gelu"\n'
    )
    parsed = cli._train_config(cli._parser().parse_args(["train", "--config", str(config)]))
    assert parsed.hidden == [4] and parsed.activation == "gelu" and parsed.epochs == 1


EXAMPLE_CONFIGS = ["fashion_mnist.toml", "handout_mlp_fashion.toml", "fashion_mnist_best.toml"]


@pytest.mark.parametrize("name", EXAMPLE_CONFIGS)
def test_example_configs_are_valid(name):
    path = os.path.join(os.path.dirname(__file__), "..", "examples", name)
    parsed = cli._train_config(cli._parser().parse_args(["train", "--config", path]))
    assert parsed.dataset == "fashion-mnist"


@pytest.mark.parametrize("name", EXAMPLE_CONFIGS)
def test_torch_comparison_builds_the_same_network(name):
    import importlib.util

    import torch

    root = os.path.join(os.path.dirname(__file__), "..", "examples")
    spec = importlib.util.spec_from_file_location(
        "torch_fashion_mnist", os.path.join(root, "torch_fashion_mnist.py")
    )
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    config = TrainConfig(**read_settings(os.path.join(root, name))).validate()
    ours = build_model(config, 784, 10).state_dict()
    theirs = script.build_model(config, 784, 10).state_dict()
    assert {k: v.shape for k, v in ours.items()} == {k: tuple(v.shape) for k, v in theirs.items()}
    optimizer = script.build_optimizer(config, script.build_model(config, 784, 10).parameters())
    assert type(optimizer).__name__.lower() == config.optimizer
    scheduler = script.build_scheduler(config, optimizer)
    assert (scheduler is None) == (config.schedule == "none")
    if config.init == "course":  # N(0, 1) weights, zero biases, as the handout
        weight = script.build_model(config, 784, 10)[0].weight.detach()
        assert abs(float(weight.std()) - 1.0) < 0.02
        assert torch.count_nonzero(script.build_model(config, 784, 10)[0].bias) == 0


def test_torch_comparison_augments_as_torchvision_and_mytorch_do():
    """The PyTorch script's augmentation: each image shifted by a whole number of pixels
    in [-K, K] with black filled in, mirrored, or with one black rectangle."""
    import importlib.util

    import torch

    from mytorch.augmentation import RandomHorizontalFlip

    root = os.path.join(os.path.dirname(__file__), "..", "examples")
    spec = importlib.util.spec_from_file_location(
        "torch_fashion_mnist", os.path.join(root, "torch_fashion_mnist.py")
    )
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    images = np.random.default_rng(0).uniform(0.1, 1.0, (300, 6, 6)).astype(np.float32)
    rows = torch.from_numpy(images.reshape(300, 36))
    generator = torch.Generator().manual_seed(0)

    def augment(**settings):
        config = TrainConfig(**settings)
        return script.Augment(config, 36, generator)(rows).numpy().reshape(300, 6, 6)

    shifted = augment(augment_shift=1)
    padded = np.pad(images, ((0, 0), (1, 1), (1, 1)))
    offsets = set()
    for image, original in zip(shifted, padded, strict=True):
        matches = [
            (dy, dx)
            for dy in (-1, 0, 1)
            for dx in (-1, 0, 1)
            if np.array_equal(image, original[1 - dy : 7 - dy, 1 - dx : 7 - dx])
        ]
        assert len(matches) == 1
        offsets.add(matches[0])
    assert len(offsets) == 9
    flipped = augment(augment_flip=1.0)
    mytorch_flip = RandomHorizontalFlip(1.0)(images.reshape(300, 36), np.random.default_rng(0))
    np.testing.assert_array_equal(flipped.reshape(300, 36), mytorch_flip)
    erased = augment(augment_erase=1.0)
    for image, original in zip(erased, images, strict=True):
        changed = np.argwhere(image != original)
        assert (image[image != original] == 0).all() and len(changed) >= 1
        (top, left), (bottom, right) = changed.min(axis=0), changed.max(axis=0)
        assert len(changed) == (bottom - top + 1) * (right - left + 1)  # a rectangle


# ------------------------------------------------------------------ errors and help
@pytest.mark.parametrize(
    "command, keys",
    [
        ([], ["train", "evaluate", "predict"]),
        (
            ["train"],
            [
                "--config",
                "--dataset",
                "--data-dir",
                "--hidden",
                "--activation",
                "--batch-norm",
                "--dropout",
                "--optimizer",
                "--lr",
                "--schedule",
                "--epochs",
                "--batch-size",
                "--early-stopping",
                "--seed",
                "--dtype",
                "--out",
                "--resume",
                "--no-progress",
            ],
        ),
        (["evaluate"], ["model", "--dataset", "--data-dir", "--json"]),
        (["predict"], ["model", "--input", "--output"]),
    ],
    ids=["mytorch", "train", "evaluate", "predict"],
)
def test_help_exits_0_and_names_the_key_flags(command, keys):
    result = run_cli(*command, "--help")
    assert result.returncode == 0, result.stderr
    for key in keys:
        assert key in result.stdout, key


def test_version_flag(capfd):
    code, out, _ = run_main(capfd, "--version")
    assert code == 0 and out.strip() == f"mytorch {mytorch.__version__}"


@pytest.mark.parametrize(
    "args, message",
    [
        (["train", "--lr", "abc"], "argument --lr: invalid float value: 'abc'"),
        (["train", "--activation", "swish"], "argument --activation: invalid choice: 'swish'"),
        (["train", "--optimizer", "lbfgs"], "argument --optimizer: invalid choice"),
        (["train", "--epochs", "0"], "--epochs expected a positive integer, got 0"),
        (["train", "--batch-size", "-5"], "--batch-size expected a positive integer, got -5"),
        (["train", "--lr", "-1"], "--lr expected a positive number, got -1.0"),
        (["train", "--lr", "nan"], "--lr expected a positive number"),
        (["train", "--dropout", "1.5"], "--dropout expected a probability in [0, 1), got 1.5"),
        (["train", "--val-fraction", "1"], "--val-fraction expected a fraction in (0, 1)"),
        (["train", "--hidden", "32", "0"], "--hidden expected a list of positive integers"),
        (["train", "--momentum", "-0.5"], "--momentum expected a non-negative number"),
        (["train", "--dataset", "nosuch", "--epochs", "1"], "unknown data set 'nosuch'"),
        (["train", "--config", "missing.toml"], "missing.toml"),
        (["evaluate", "missing_model.npz"], "no such file"),
        (["bogus"], "invalid choice: 'bogus'"),
        ([], "required: COMMAND"),
        (["predict", "model.npz"], "the following arguments are required: --input, --output"),
    ],
    ids=lambda value: value if isinstance(value, str) else " ".join(value) or "none",
)
def test_bad_flags_exit_2_with_a_clear_message(tmp_path, capfd, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    code, _, err = run_main(capfd, *args, *(["--out", "run"] if args[:1] == ["train"] else []))
    assert code == 2
    assert message in err
    assert_no_traceback(err)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    "text, message",
    [
        ("[train]\nepochs = 2\nbogus = 1\n", "unknown settings ['bogus']"),
        ("epochs = [\n", "is not valid TOML"),
        ('epochs = "ten"\n', "--epochs expected a positive integer, got 'ten'"),
        ("hidden = 64\n", "--hidden expected a list of positive integers, got 64"),
    ],
)
def test_bad_toml_exits_2_with_a_clear_message(tmp_path, capfd, text, message):
    config = tmp_path / "bad.toml"
    config.write_text(text)
    code, _, err = run_main(capfd, "train", "--config", config, "--out", tmp_path / "run")
    assert code == 2
    assert message in err
    assert_no_traceback(err)


def test_bad_files_for_evaluate_and_predict_exit_2(data_dir, tmp_path, capfd, no_pictures):
    not_a_model = tmp_path / "notes.npz"
    not_a_model.write_text("hello")
    code, _, err = run_main(capfd, "evaluate", not_a_model)
    assert code == 2 and "truncated or corrupt" in err
    run = tmp_path / "run"
    assert (
        run_main(
            capfd,
            "train",
            "--dataset",
            data_dir / "blobs.npz",
            "--epochs",
            1,
            "--hidden",
            4,
            "--out",
            run,
            "--no-progress",
        )[0]
        == 0
    )
    np.savetxt(tmp_path / "wide.csv", np.zeros((3, 9)), delimiter=",")
    code, _, err = run_main(
        capfd, "predict", run, "--input", tmp_path / "wide.csv", "--output", tmp_path / "p.csv"
    )
    assert code == 2
    assert "the model takes 8 features" in err and "has 9 columns" in err
    np.savez(tmp_path / "noX.npz", features=np.zeros((2, 8)))
    code, _, err = run_main(
        capfd, "predict", run, "--input", tmp_path / "noX.npz", "--output", tmp_path / "p.csv"
    )
    assert code == 2 and "has no array 'X'" in err
    assert not (tmp_path / "p.csv").exists()


def test_bad_flag_in_a_real_process_exits_2_without_traceback():
    result = run_cli("train", "--epochs", "-3")
    assert result.returncode == 2
    assert "--epochs expected a positive integer, got -3" in result.stderr
    assert_no_traceback(result.stderr)


# ------------------------------------------------------------------ divergence
def test_exploding_learning_rate_exits_3_and_keeps_the_last_good_checkpoint(data_dir, tmp_path):
    out = tmp_path / "run"
    # A linear network with lr warming up to 1e5 overflows after a few good epochs.
    result = run_cli(
        "train",
        "--dataset",
        data_dir / "blobs.npz",
        "--activation",
        "identity",
        "--hidden",
        16,
        "--init",
        "kaiming",
        "--lr",
        "1e5",
        "--schedule",
        "warmup",
        "--batch-size",
        16,
        "--epochs",
        6,
        "--out",
        out,
        "--no-progress",
    )
    assert result.returncode == 3, result.stderr
    assert_no_traceback(result.stderr)
    assert "Warning" not in result.stderr
    match = re.search(
        r"mytorch: training stopped: Trainer: NaN or inf inside the network at "
        r"epoch (\d+), step (\d+)",
        result.stderr,
    )
    assert match, result.stderr
    epoch = int(match.group(1))
    assert epoch >= 2
    assert f"The last good epoch ({epoch - 1}) is kept in {out / 'checkpoint.npz'}" in result.stderr
    state = load_checkpoint(out / "checkpoint.npz")
    assert state["epoch"] == epoch - 1
    assert len(state["history"]["train_loss"]) == epoch - 1
    assert all(np.isfinite(v).all() for v in state["model"].values())
    assert not (out / "model.npz").exists()


def test_divergence_in_the_first_epoch_promises_no_checkpoint(
    data_dir, tmp_path, capfd, no_pictures
):
    code, _, err = run_main(
        capfd,
        "train",
        "--dataset",
        data_dir / "blobs.npz",
        "--activation",
        "identity",
        "--lr",
        "1e30",
        "--epochs",
        3,
        "--out",
        tmp_path / "run",
        "--no-progress",
    )
    assert code == 3
    assert "at epoch 1, step" in err and "last good epoch" not in err
    assert_no_traceback(err)


# ----------------------------------------------------------------------- invalid inputs
# Every invalid setting, config file and input file makes the command return 2 and
# explain the problem on stderr (counted with the library's cases by test_case_count in
# test_validation.py; conventions in tests/invalid_inputs.py).
CLI_CASES: list[tuple[str, list[str], str]] = [
    ("lr=-1", ["--lr", "-1"], r"--lr expected a positive number, got -1.0"),
    ("lr=0", ["--lr", "0"], r"--lr expected a positive number, got 0.0"),
    ("lr=NaN", ["--lr", "nan"], r"--lr expected a positive number, got nan"),
    ("lr=inf", ["--lr", "inf"], r"--lr expected a positive number, got inf"),
    ("lr not a number", ["--lr", "fast"], r"argument --lr: invalid float value: 'fast'"),
    ("epochs=0", ["--epochs", "0"], r"--epochs expected a positive integer, got 0"),
    ("epochs not an int", ["--epochs", "2.5"], r"argument --epochs: invalid int value"),
    ("batch size 0", ["--batch-size", "0"], r"--batch-size expected a positive integer, got 0"),
    ("batch size -3", ["--batch-size", "-3"], r"--batch-size expected a positive integer"),
    ("dropout=1.5", ["--dropout", "1.5"], r"--dropout expected a probability in \[0, 1\)"),
    ("dropout=NaN", ["--dropout", "nan"], r"--dropout expected a probability in \[0, 1\)"),
    ("momentum=-1", ["--momentum", "-1"], r"--momentum expected a non-negative number"),
    ("momentum=NaN", ["--momentum", "nan"], r"--momentum expected a non-negative number"),
    ("weight decay -1", ["--weight-decay", "-1"], r"--weight-decay expected a non-negative"),
    ("input noise -1", ["--input-noise", "-1"], r"--input-noise expected a non-negative"),
    ("max grad norm -1", ["--max-grad-norm", "-1"], r"--max-grad-norm expected a positive"),
    ("max grad norm NaN", ["--max-grad-norm", "nan"], r"--max-grad-norm expected a positive"),
    ("max grad norm 0", ["--max-grad-norm", "0"], r"--max-grad-norm expected a positive"),
    ("val fraction 0", ["--val-fraction", "0"], r"--val-fraction expected a fraction in \(0, 1\)"),
    ("val fraction 1", ["--val-fraction", "1"], r"--val-fraction expected a fraction in \(0, 1\)"),
    ("val fraction NaN", ["--val-fraction", "nan"], r"--val-fraction expected a fraction"),
    ("hidden 0", ["--hidden", "0"], r"--hidden expected a list of positive integers, got \[0\]"),
    ("hidden -5", ["--hidden", "16", "-5"], r"--hidden expected a list of positive integers"),
    ("early stopping 0", ["--early-stopping", "0"], r"--early-stopping expected a positive"),
    ("seed -1", ["--seed", "-1"], r"--seed expected a non-negative integer, got -1"),
    ("unknown activation", ["--activation", "swish"], r"argument --activation: invalid choice"),
    ("unknown optimizer", ["--optimizer", "lbfgs"], r"argument --optimizer: invalid choice"),
    ("unknown data set", ["--dataset", "imagenet"], r"load_dataset: unknown data set 'imagenet'"),
    ("missing CSV", ["--dataset", "/nonexistent/data.csv"], r"no such file: /nonexistent"),
    (
        "missing config",
        ["--config", "/nonexistent/run.toml"],
        r"--config: no such file: /nonexistent/run.toml",
    ),
]
TOML_CASES: list[tuple[str, str, str]] = [
    ("config lr -1", "lr = -1\n", r"--lr expected a positive number, got -1"),
    ("config lr a string", "lr = 'fast'\n", r"--lr expected a positive number, got 'fast'"),
    ("config unknown key", "speed = 1\n", r"unknown settings \['speed'\] in .*run.toml"),
    ("config not TOML", "lr = = 1\n", r"mytorch train: .*run.toml is not valid TOML"),
    ("config hidden an int", "hidden = 64\n", r"--hidden expected a list of positive integers"),
    (
        "config dropout a string",
        "dropout = 'high'\n",
        r"--dropout expected a probability in \[0, 1\), got 'high'",
    ),
    (
        "config batch size a bool",
        "batch_size = true\n",
        r"--batch-size expected a positive integer, got True",
    ),
    ("config epochs a float", "epochs = 2.5\n", r"--epochs expected a positive integer, got 2.5"),
    ("config momentum a list", "momentum = [0.9]\n", r"--momentum expected a non-negative number"),
]


def main_status(argv: list[str]) -> int:
    """``cli.main(argv)``; argparse's own errors exit with status 2 instead of returning it.
    (``run_main`` above also reads the output; these tests read it with capsys.)"""
    try:
        return cli.main(argv)
    except SystemExit as stop:
        return stop.code


@pytest.mark.parametrize(
    "argv_tail, pattern", [c[1:] for c in CLI_CASES], ids=[c[0] for c in CLI_CASES]
)
def test_cli_rejects_invalid_settings_with_status_2(argv_tail, pattern, tmp_path, capsys):
    argv = ["train", "--epochs", "1", "--no-progress", "--out", str(tmp_path / "run")]
    status = main_status(argv + argv_tail)
    captured = capsys.readouterr()
    assert status == 2, captured.err
    assert re.search(pattern, captured.err), captured.err
    assert not (tmp_path / "run" / "model.npz").exists()


@pytest.mark.parametrize(
    "text, pattern", [c[1:] for c in TOML_CASES], ids=[c[0] for c in TOML_CASES]
)
def test_cli_rejects_invalid_config_files_with_status_2(text, pattern, tmp_path, capsys):
    config = tmp_path / "run.toml"
    config.write_text(text)
    status = main_status(
        ["train", "--config", str(config), "--no-progress", "--out", str(tmp_path / "run")]
    )
    captured = capsys.readouterr()
    assert status == 2, captured.err
    assert re.search(pattern, captured.err), captured.err


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "model.npz"
    mytorch.save(nn.Sequential(nn.Linear(4, 3, rng=0)), path, metadata={"classes": ["a", "b", "c"]})
    return path


PREDICT_INPUTS: list[tuple[str, str, str]] = [
    ("wrong feature count", "1,2,3\n4,5,6\n", r"the model takes 4 features, .* has 3 columns"),
    ("NaN features", "1,2,3,nan\n", r"mytorch predict: .*contains NaN or inf"),
    ("text features", "1,2,3,4\n1,2,x,4\n", r"mytorch predict: .*in\.csv.*could not convert"),
    ("empty input", "", r"mytorch predict: .*in\.csv holds no rows of features"),
]


@pytest.mark.filterwarnings("ignore:loadtxt. input contained no data:UserWarning")
@pytest.mark.parametrize(
    "text, pattern", [c[1:] for c in PREDICT_INPUTS], ids=[c[0] for c in PREDICT_INPUTS]
)
def test_cli_predict_rejects_bad_input_with_status_2(text, pattern, saved_model, tmp_path, capsys):
    source = tmp_path / "in.csv"
    source.write_text(text)
    status = main_status(
        ["predict", str(saved_model), "--input", str(source), "--output", str(tmp_path / "out.csv")]
    )
    captured = capsys.readouterr()
    assert status == 2, captured.err
    assert re.search(pattern, captured.err), captured.err
    assert not (tmp_path / "out.csv").exists()


@pytest.mark.parametrize(
    "content, pattern",
    [
        (None, r"no such file"),
        (b"not a zip file at all", r"truncated or corrupt: it is not an \.npz"),
        (b"PK\x03\x04" + b"\x00" * 40, r"truncated or corrupt"),
    ],
    ids=["missing model", "garbage model", "truncated zip model"],
)
def test_cli_evaluate_rejects_bad_model_files_with_status_2(content, pattern, tmp_path, capsys):
    path = tmp_path / "model.npz"
    if content is not None:
        path.write_bytes(content)
    status = main_status(["evaluate", str(path)])
    captured = capsys.readouterr()
    assert status == 2, captured.err
    assert re.search(rf"mytorch evaluate: error: load\(.*model\.npz'\): .*{pattern}", captured.err)


CLI_CASE_COUNT = len(CLI_CASES) + len(TOML_CASES) + len(PREDICT_INPUTS) + 3
