"""Every public entry point rejects every kind of invalid input with a clear error.

One table, ``CASES``, lists (entry point, class of bad input, call, expected exception,
regex the message must match); ``CLI_CASES`` does the same for ``mytorch.cli.main``,
which must return 2 and explain the problem on stderr. The messages must name the layer
or function and say what was expected and what came (the regexes check both).
``test_case_count`` prints how many cases run (and fails if the table shrinks below 150):
650 at the time of writing, 604 library cases over 44 entry points and 46 command-line
cases.

Entry points: ``nn.Linear``, ``nn.BatchNorm1d``, the course ``Linear`` and ``BatchNorm``,
``nn.Dropout``, ``nn.Sequential``, every activation, every loss, every optimiser, every
scheduler, ``DataLoader``, ``train_val_split``, ``Trainer`` / ``Trainer.fit``,
``hw1.MLP`` and the command line. Classes of bad input: wrong rank, wrong feature count,
object / string / complex / integer / bool dtypes, float32 into a float64 layer,
NaN and inf, labels that are not integers or out of range, one-hot rows that do not sum
to 1, X and y of different lengths, empty data, batch sizes of 0 (or too large with
``drop_last``), negative / NaN / infinite / mistyped hyper-parameters, backward before
forward, and gradients of the wrong shape.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from invalid_inputs import (
    BAD_MATRICES,
    INF,
    NAN,
    ONE_HOT,
    X10,
    Y10,
    Case,
    CaseTable,
    assert_raises_a_clear_error,
    good,
    sgd,
)

from hw1 import hw1
from mytorch import nn, optim
from mytorch.activation import Identity, Sigmoid
from mytorch.cli import main
from mytorch.data import DataLoader, train_val_split
from mytorch.loss import SoftmaxCrossEntropy
from mytorch.trainer import Trainer

INVALID_INPUTS = CaseTable()
case = INVALID_INPUTS.case


# ----------------------------------------------------------------------- data
for value, error, pattern in [
    (0, ValueError, "got 0"),
    (-2, ValueError, "got -2"),
    (2.0, TypeError, "got 2.0"),
    (NAN, TypeError, "got nan"),
    (True, TypeError, "got True"),
    ("4", TypeError, "got '4'"),
]:
    case(
        "DataLoader",
        f"batch_size={value!r}",
        lambda v=value: DataLoader(X10, Y10, batch_size=v),
        error,
        rf"^DataLoader: expected batch_size to be a positive int, {pattern}",
    )
for name, call, error, pattern in [
    (
        "X a list",
        lambda: DataLoader(X10.tolist(), Y10),
        TypeError,
        "expected X to be a numpy.ndarray, got list",
    ),
    (
        "y a list",
        lambda: DataLoader(X10, Y10.tolist()),
        TypeError,
        "expected y to be a numpy.ndarray, got list",
    ),
    (
        "X of rank 0",
        lambda: DataLoader(np.array(1.0)),
        ValueError,
        r"expected X with a sample axis \(ndim >= 1\), got a 0-D array",
    ),
    (
        "empty data",
        lambda: DataLoader(X10[:0], Y10[:0]),
        ValueError,
        r"expected at least one sample, got X of shape \(0, 3\)",
    ),
    (
        "empty y",
        lambda: DataLoader(X10, Y10[:0]),
        ValueError,
        r"expected at least one sample, got y of shape \(0,\)",
    ),
    (
        "X and y of different lengths",
        lambda: DataLoader(X10, Y10[:7]),
        ValueError,
        "X and y must have the same number of samples, got X with 10.*y with 7",
    ),
    (
        "batch_size > N with drop_last",
        lambda: DataLoader(X10, Y10, 11, drop_last=True),
        ValueError,
        "batch_size=11 is larger than the 10 samples and drop_last=True",
    ),
    (
        "shuffle not a bool",
        lambda: DataLoader(X10, Y10, shuffle="yes"),
        TypeError,
        "expected shuffle to be True or False, got 'yes'",
    ),
    (
        "drop_last not a bool",
        lambda: DataLoader(X10, Y10, drop_last=1),
        TypeError,
        "expected drop_last to be True or False, got 1",
    ),
    (
        "rng a string",
        lambda: DataLoader(X10, Y10, rng="seed"),
        TypeError,
        "expected rng to be a numpy.random.Generator, an int seed or None.*got str",
    ),
]:
    case("DataLoader", name, call, error, rf"^DataLoader: {pattern}")
for name, call, error, pattern in [
    (
        "val_fraction=0",
        lambda: train_val_split(X10, Y10, 0.0),
        ValueError,
        r"expected val_fraction in \(0.0, 1.0\), got 0.0",
    ),
    (
        "val_fraction=1",
        lambda: train_val_split(X10, Y10, 1.0),
        ValueError,
        r"expected val_fraction in \(0.0, 1.0\), got 1.0",
    ),
    (
        "val_fraction=-0.1",
        lambda: train_val_split(X10, Y10, -0.1),
        ValueError,
        r"expected val_fraction in \(0.0, 1.0\), got -0.1",
    ),
    (
        "val_fraction=NaN",
        lambda: train_val_split(X10, Y10, NAN),
        ValueError,
        "expected val_fraction to be finite, got nan",
    ),
    (
        "val_fraction a string",
        lambda: train_val_split(X10, Y10, "0.2"),
        TypeError,
        "expected val_fraction to be a number, got '0.2'",
    ),
    (
        "y None",
        lambda: train_val_split(X10, None),
        TypeError,
        "expected y to be a numpy.ndarray of targets, got None",
    ),
    (
        "X and y of different lengths",
        lambda: train_val_split(X10, Y10[:3]),
        ValueError,
        "X and y must have the same number of samples, got X with 10.*y with 3",
    ),
    (
        "empty data",
        lambda: train_val_split(X10[:0], Y10[:0]),
        ValueError,
        r"expected at least one sample, got X of shape \(0, 3\)",
    ),
    (
        "too few samples",
        lambda: train_val_split(X10[:1], Y10[:1], 0.5),
        ValueError,
        "val_fraction=0.5 of 1 samples leaves no sample for training",
    ),
    (
        "stratify with float labels",
        lambda: train_val_split(X10, Y10.astype(float), stratify=True),
        TypeError,
        "stratify=True needs y to be 1-D integer class labels, got array of shape",
    ),
    (
        "stratify not a bool",
        lambda: train_val_split(X10, Y10, stratify="yes"),
        TypeError,
        "expected stratify to be True or False, got 'yes'",
    ),
]:
    case("train_val_split", name, call, error, rf"^train_val_split: {pattern}")


# ----------------------------------------------------------------------- Trainer
def trainer(**options) -> Trainer:
    model = nn.Sequential(nn.Linear(3, 4, rng=0), nn.ReLU(), nn.Linear(4, 2, rng=1))
    return Trainer(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), **options)


def fit(X=X10, y=Y10, **kwargs):
    kwargs.setdefault("epochs", 1)
    return trainer(rng=0).fit(X, y, **kwargs)


def rows10(x: np.ndarray) -> np.ndarray:
    """The bad matrix ``x`` stretched to the 10 samples of ``Y10``."""
    return np.resize(x, (10, *x.shape[1:]))


for bad in (
    "rank 1",
    "rank 3",
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
        "one-hot rows not summing to 1",
        lambda: fit(y=np.ones((10, 2))),
        ValueError,
        "^CrossEntropyLoss: expected each row of target to be a probability vector",
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
        r"^Trainer.fit: expected val_data to be a pair \(X_val, y_val\), got array",
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
    "batch_size=0",
    lambda: trainer().evaluate(X10, Y10, batch_size=0),
    ValueError,
    "^DataLoader: expected batch_size to be a positive int, got 0",
)


# ----------------------------------------------------------------------- hw1.MLP
def mlp(hiddens=(4,), activations=None, criterion=None, lr=0.1, **kwargs) -> hw1.MLP:
    if activations is None:
        activations = [Sigmoid() for _ in hiddens] + [Identity()]
    return hw1.MLP(
        3,
        2,
        list(hiddens) if isinstance(hiddens, tuple) else hiddens,
        activations,
        lambda i, o: np.full((i, o), 0.1),
        lambda o: np.zeros((1, o)),
        SoftmaxCrossEntropy() if criterion is None else criterion,
        lr,
        **kwargs,
    )


def mlp_sizes(input_size, output_size):
    return lambda: hw1.MLP(
        input_size,
        output_size,
        [4],
        [Sigmoid(), Identity()],
        None,
        None,
        SoftmaxCrossEntropy(),
        0.1,
    )


for name, call, error, pattern in [
    (
        "input_size=0",
        mlp_sizes(0, 2),
        ValueError,
        "expected input_size to be a positive int, got 0",
    ),
    (
        "input_size=2.5",
        mlp_sizes(2.5, 2),
        TypeError,
        "expected input_size to be a positive int, got 2.5",
    ),
    (
        "output_size=-1",
        mlp_sizes(3, -1),
        ValueError,
        "expected output_size to be a positive int, got -1",
    ),
    (
        "hidden size 0",
        lambda: mlp(hiddens=(0,)),
        ValueError,
        "expected each hidden size to be a positive int, got 0",
    ),
    (
        "hiddens an int",
        lambda: mlp(hiddens=4, activations=[Sigmoid(), Identity()]),
        TypeError,
        "expected hiddens to be a list, got 4",
    ),
    (
        "hiddens None",
        lambda: mlp(hiddens=None, activations=[Identity()]),
        TypeError,
        "expected hiddens to be a list, got None",
    ),
    (
        "activations None",
        lambda: mlp(activations=None or Identity()),
        TypeError,
        "expected activations to be a list, got Identity",
    ),
    (
        "too few activations",
        lambda: mlp(activations=[Identity()]),
        ValueError,
        r"expected 2 activations \(one per layer for hiddens \[4\]\), got 1",
    ),
    (
        "activation a string",
        lambda: mlp(activations=["sigmoid", Identity()]),
        TypeError,
        "expected Activation objects, got 'sigmoid'",
    ),
    (
        "criterion a string",
        lambda: mlp(criterion="ce"),
        TypeError,
        "expected a Criterion, got 'ce'",
    ),
    ("lr=-0.1", lambda: mlp(lr=-0.1), ValueError, r"expected lr in \[0, inf\], got -0.1"),
    ("lr=NaN", lambda: mlp(lr=NAN), ValueError, "expected lr to be finite, got nan"),
    (
        "momentum=-0.5",
        lambda: mlp(momentum=-0.5),
        ValueError,
        r"expected momentum in \[0, 1\], got -0.5",
    ),
    (
        "momentum=NaN",
        lambda: mlp(momentum=NAN),
        ValueError,
        "expected momentum to be finite, got nan",
    ),
    (
        "num_bn_layers=2",
        lambda: mlp(num_bn_layers=2),
        ValueError,
        r"expected num_bn_layers in \[0, 1\] \(one per hidden layer at most\), got 2",
    ),
    (
        "num_bn_layers=-1",
        lambda: mlp(num_bn_layers=-1),
        ValueError,
        r"expected num_bn_layers in \[0, 1\].*got -1",
    ),
    (
        "num_bn_layers=0.5",
        lambda: mlp(num_bn_layers=0.5),
        TypeError,
        "expected num_bn_layers to be a non-negative int, got 0.5",
    ),
    (
        "num_bn_layers a string",
        lambda: mlp(num_bn_layers="1"),
        TypeError,
        "expected num_bn_layers to be a non-negative int, got '1'",
    ),
    (
        "backward before forward",
        lambda: mlp().backward(ONE_HOT[:, :2]),
        RuntimeError,
        r"backward\(\) called before forward\(\)",
    ),
]:
    case("hw1.MLP", name, call, error, rf"^MLP(\.backward)?: {pattern}")
case(
    "hw1.MLP",
    "input of the wrong feature count",
    lambda: mlp().forward(good(4, 5)),
    ValueError,
    r"^Linear: expected input with 3 features.*5 features",
)
case(
    "hw1.MLP",
    "integer input",
    lambda: mlp().forward(good().astype(int)),
    TypeError,
    r"^Linear: expected input of a floating dtype.*int64",
)


def mlp_backward(labels: np.ndarray) -> None:
    net = mlp()
    net.forward(good())
    net.backward(labels)


case(
    "hw1.MLP",
    "labels not one-hot",
    lambda: mlp_backward(np.ones((4, 2))),
    ValueError,
    r"^SoftmaxCrossEntropy: expected each row of target to be a probability vector",
)
case(
    "hw1.MLP",
    "labels of the wrong length",
    lambda: mlp_backward(np.eye(2)[[0, 1, 0]]),
    ValueError,
    r"^SoftmaxCrossEntropy: expected target of shape \(4, 2\), got \(3, 2\)",
)


# ----------------------------------------------------------------------- the table runs
@pytest.mark.parametrize("item", INVALID_INPUTS, ids=[c.id for c in INVALID_INPUTS])
def test_invalid_input_raises_a_clear_error(item: Case):
    assert_raises_a_clear_error(item)


# ----------------------------------------------------------------------- the command line
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


def run_cli(argv: list[str]) -> int:
    """``main(argv)``; argparse's own errors exit with status 2 instead of returning it."""
    try:
        return main(argv)
    except SystemExit as stop:
        return stop.code


@pytest.mark.parametrize(
    "argv_tail, pattern", [c[1:] for c in CLI_CASES], ids=[c[0] for c in CLI_CASES]
)
def test_cli_rejects_invalid_settings_with_status_2(argv_tail, pattern, tmp_path, capsys):
    argv = ["train", "--epochs", "1", "--no-progress", "--out", str(tmp_path / "run")]
    status = run_cli(argv + argv_tail)
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
    status = run_cli(
        ["train", "--config", str(config), "--no-progress", "--out", str(tmp_path / "run")]
    )
    captured = capsys.readouterr()
    assert status == 2, captured.err
    assert re.search(pattern, captured.err), captured.err


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory) -> Path:
    import mytorch

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
    status = run_cli(
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
    status = run_cli(["evaluate", str(path)])
    captured = capsys.readouterr()
    assert status == 2, captured.err
    assert re.search(rf"mytorch evaluate: error: load\(.*model\.npz'\): .*{pattern}", captured.err)


CLI_CASE_COUNT = len(CLI_CASES) + len(TOML_CASES) + len(PREDICT_INPUTS) + 3
