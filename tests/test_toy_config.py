"""`mytorch toy`'s settings (declared in config.SETTINGS), its flags, and its model file:
input features recorded in the metadata and applied by `mytorch predict` / `evaluate`."""

from __future__ import annotations

import argparse
import io
from dataclasses import fields

import numpy as np
import pytest

import mytorch
from mytorch import cli
from mytorch.config import SETTINGS, TrainConfig
from mytorch.toy_config import ToyConfig, toy_settings


def _toy_parser() -> argparse.ArgumentParser:
    subparsers = next(
        a for a in cli._parser()._actions if isinstance(a, argparse._SubParsersAction)
    )
    return subparsers.choices["toy"]


def test_toy_takes_its_own_settings_and_those_it_shares_with_train():
    settings = toy_settings()
    own = {name for name, s in SETTINGS.items() if s.commands == ("toy",)}
    assert own == {"n_samples", "test_samples", "noise", "features", "loss"}
    assert own <= set(settings) <= set(SETTINGS)
    assert {f.name for f in fields(ToyConfig)} == {f.name for f in fields(TrainConfig)} | own
    defaults = ToyConfig()
    for name, setting in settings.items():
        expected = list(setting.default) if isinstance(setting.default, tuple) else setting.default
        assert getattr(defaults, name) == expected, name
    assert (defaults.dataset, defaults.hidden, defaults.activation) == ("xor", [8], "tanh")
    assert defaults.validate() is defaults


def test_every_toy_setting_is_a_flag_and_nothing_else_of_train_is():
    parser = _toy_parser()
    for setting in toy_settings().values():
        assert parser._option_string_actions[setting.flag].dest == setting.name
    assert "--val-fraction" not in parser._option_string_actions
    args = parser.parse_args(
        ["--features", "x1", "x1_sq", "--loss", "mse", "--noise", "0.2", "--test-samples", "30"]
    )
    config = cli._toy_config(args)
    assert (config.features, config.loss, config.noise, config.test_samples) == (
        ["x1", "x1_sq"],
        "mse",
        0.2,
        30,
    )


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--features", "x9"], "invalid choice"),
        (["--dataset", "digits"], "invalid choice"),
        (["--loss", "nll"], "invalid choice"),
    ],
)
def test_bad_toy_flags_are_refused_by_the_parser(flags, message, capsys):
    with pytest.raises(SystemExit):
        cli.main(["toy", *flags])
    assert message in capsys.readouterr().err


def test_bad_toy_values_name_the_toy_command(capsys):
    assert cli.main(["toy", "--noise", "-1"]) == 2
    assert (
        "mytorch toy: --noise expected a non-negative number, got -1.0" in capsys.readouterr().err
    )
    with pytest.raises(ValueError, match="mytorch toy: --features expected some of"):
        ToyConfig(features=["x1", "x1"]).validate()


@pytest.fixture(scope="module")
def circles_model(tmp_path_factory):
    """A model of x1^2 and x2^2 without a hidden layer, trained by `mytorch toy`."""
    out = tmp_path_factory.mktemp("toy")
    status = cli.main(
        ["toy", "--dataset", "circles", "--features", "x1_sq", "x2_sq", "--hidden"]
        + ["--epochs", "25", "--frames", "1", "--n-samples", "120", "--out", str(out)]
    )
    assert status == 0
    return out


@pytest.mark.slow  # trains with `mytorch toy` (shared fixture, ~3 s)
def test_the_toy_model_records_its_features_and_separates_circles_without_hidden_layer(
    circles_model,
):
    model, header = mytorch.load(circles_model / "model.npz", return_metadata=True)
    meta = header["metadata"]
    assert meta["features"] == ["x1_sq", "x2_sq"] and meta["dataset"] == "circles"
    assert meta["config"]["hidden"] == [] and len(model) == 1  # one Linear: a circle is a line
    assert model[0].in_features == 2


@pytest.mark.slow  # trains with `mytorch toy` (shared fixture, ~3 s)
def test_predict_applies_the_models_features_to_raw_points(circles_model, tmp_path, capsys):
    points = tmp_path / "points.csv"
    points.write_text("x1,x2\n0.0,0.1\n0.95,0.2\n-0.3,-0.2\n1.0,-0.1\n")
    assert (
        cli.main(
            [
                "predict",
                str(circles_model),
                "--input",
                str(points),
                "--output",
                str(tmp_path / "p.csv"),
            ]
        )
        == 0
    )
    rows = (tmp_path / "p.csv").read_text().splitlines()[1:]
    assert [row.split(",")[0] for row in rows] == ["1", "0", "1", "0"]  # inside: class 1
    bad = tmp_path / "three.csv"
    bad.write_text("1,2,3\n")
    assert (
        cli.main(
            [
                "predict",
                str(circles_model),
                "--input",
                str(bad),
                "--output",
                str(tmp_path / "q.csv"),
            ]
        )
        == 2
    )
    assert "computes its inputs ['x1_sq', 'x2_sq'] from 2-D points" in capsys.readouterr().err


@pytest.mark.slow  # trains with `mytorch toy` (shared fixture, ~3 s)
def test_evaluate_draws_the_runs_test_points_again_and_applies_the_features(circles_model):
    from mytorch.workflows.evaluate import evaluate
    from mytorch.workflows.toy import toy_data

    report = evaluate(str(circles_model), None, None, stream=io.StringIO())
    _, (X_test, y_test) = toy_data(ToyConfig(dataset="circles", n_samples=120))
    model = mytorch.load(circles_model / "model.npz")
    logits = model(np.column_stack([X_test[:, 0] ** 2, X_test[:, 1] ** 2]))
    assert report["test_accuracy"] == np.mean(np.argmax(logits, axis=1) == y_test) >= 0.9
