"""Tests for ``mytorch/config.py`` and ``mytorch/constraints.py``: the one table of
``mytorch train``'s settings, and what is made from it (the parser, the checks of
``TrainConfig.validate`` and of the scikit-learn estimators, the TOML reader)."""

from __future__ import annotations

import argparse
from dataclasses import fields

import numpy as np
import pytest

from mytorch import cli
from mytorch.config import (
    ACTIVATIONS,
    DTYPES,
    INITS,
    OPTIMIZERS,
    SCHEDULES,
    SETTINGS,
    TrainConfig,
    settings_for,
)
from mytorch.config_file import load_toml, read_settings
from mytorch.constraints import Boolean, Interval, NoneOr, Options, PositiveInts, Text


def _train_parser() -> argparse.ArgumentParser:
    subparsers = next(
        action
        for action in cli._parser()._actions
        if isinstance(action, argparse._SubParsersAction)
    )
    return subparsers.choices["train"]


#: The settings of ``mytorch train`` (the table also holds those only ``mytorch toy``
#: takes: tests/test_toy_config.py).
TRAIN = settings_for("train")


#: A valid value of each setting other than its default, as a flag writes it.
VALID = {
    "dataset": ("mnist", ["mnist"]),
    "data_dir": ("/data", ["/data"]),
    "download": (True, []),
    "val_fraction": (0.25, ["0.25"]),
    "standardize": (True, []),
    "preprocess": ("whiten-zca", ["whiten-zca"]),
    "pca_components": (5, ["5"]),
    "hidden": ([5, 3], ["5", "3"]),
    "activation": ("relu", ["relu"]),
    "batch_norm": (True, []),
    "dropout": (0.5, ["0.5"]),
    "init": ("xavier", ["xavier"]),
    "dtype": ("float32", ["float32"]),
    "optimizer": ("adam", ["adam"]),
    "lr": (0.5, ["0.5"]),
    "momentum": (0.5, ["0.5"]),
    "weight_decay": (0.01, ["0.01"]),
    "schedule": ("cosine", ["cosine"]),
    "schedule_interval": ("step", ["step"]),
    "epochs": (7, ["7"]),
    "batch_size": (16, ["16"]),
    "early_stopping": (3, ["3"]),
    "input_noise": (0.2, ["0.2"]),
    "max_grad_norm": (1.5, ["1.5"]),
    "seed": (42, ["42"]),
    "out": ("runs/x", ["runs/x"]),
    "diagnostics": (True, []),
    "tensorboard": ("runs/tb", ["runs/tb"]),
    "reference_loop": (True, []),
    "class_weight": ("balanced", ["balanced"]),
    "augment_shift": (2, ["2"]),
    "augment_flip": (0.5, ["0.5"]),
    "augment_erase": (0.25, ["0.25"]),
    "image_shape": ([28, 28], ["28", "28"]),
    "label_smoothing": (0.1, ["0.1"]),
    "ema": (0.999, ["0.999"]),
    "swa_start": (10, ["10"]),
}


# ------------------------------------------------------------------ the table
def test_the_table_and_train_config_have_the_same_settings_and_defaults():
    assert {f.name for f in fields(TrainConfig)} == set(TRAIN) == set(VALID)
    assert set(SETTINGS) - set(TRAIN) == {s for s in SETTINGS if SETTINGS[s].commands == ("toy",)}
    defaults = TrainConfig()
    for name, setting in TRAIN.items():
        expected = list(setting.default) if isinstance(setting.default, tuple) else setting.default
        assert getattr(defaults, name) == expected, name
    assert defaults.validate() is defaults
    assert TrainConfig().hidden is not TrainConfig().hidden  # no shared default list


def test_every_setting_is_a_flag_of_mytorch_train_in_its_group():
    parser = _train_parser()
    groups = {
        action.dest: group.title
        for group in parser._action_groups
        for action in group._group_actions
    }
    for name, setting in TRAIN.items():
        action = parser._option_string_actions[setting.flag]
        assert action.dest == name
        assert action.default is None  # "not given": a config file's value stays
        assert groups[name] == setting.group
        assert action.help and "{default}" not in action.help
    assert parser.parse_args([]).__dict__.keys() >= set(TRAIN)
    toy_only = set(SETTINGS) - set(TRAIN)
    assert toy_only and not toy_only & set(parser.parse_args([]).__dict__)


@pytest.mark.parametrize("name", list(VALID))
def test_each_flag_reads_a_valid_value_into_the_config(name):
    value, words = VALID[name]
    args = _train_parser().parse_args([SETTINGS[name].flag, *words])
    config = cli._train_config(args)
    assert getattr(config, name) == value
    assert value != SETTINGS[name].default


def test_tensorboard_alone_is_on_and_with_a_folder_names_it():
    parser = _train_parser()
    assert cli._train_config(parser.parse_args(["--tensorboard"])).tensorboard is True
    given = parser.parse_args(["--tensorboard", "--epochs", "3"])
    assert cli._train_config(given).tensorboard is True and cli._train_config(given).epochs == 3
    assert cli._train_config(parser.parse_args([])).tensorboard is False
    with pytest.raises(ValueError, match="--tensorboard expected true, false or a path, got ''"):
        TrainConfig(tensorboard="").validate()


def test_choices_of_the_flags_are_the_name_tables():
    parser = _train_parser()
    assert list(parser._option_string_actions["--activation"].choices) == sorted(ACTIVATIONS)
    assert tuple(parser._option_string_actions["--optimizer"].choices) == OPTIMIZERS
    assert tuple(parser._option_string_actions["--schedule"].choices) == SCHEDULES
    assert tuple(parser._option_string_actions["--init"].choices) == INITS
    assert tuple(parser._option_string_actions["--dtype"].choices) == DTYPES


# ------------------------------------------------------------------ validate
@pytest.mark.parametrize(
    "name, bad, message",
    [
        ("lr", -1, "mytorch train: --lr expected a positive number, got -1"),
        ("lr", np.float32(0.1), "--lr expected a positive number, got np.float32(0.1)"),
        ("epochs", 2.5, "--epochs expected a positive integer, got 2.5"),
        ("batch_size", True, "--batch-size expected a positive integer, got True"),
        ("dropout", 1, "--dropout expected a probability in [0, 1), got 1"),
        ("val_fraction", 0.0, "--val-fraction expected a fraction in (0, 1), got 0.0"),
        ("hidden", 64, "--hidden expected a list of positive integers, got 64"),
        ("momentum", [0.9], "--momentum expected a non-negative number, got [0.9]"),
        ("max_grad_norm", 0, "--max-grad-norm expected a positive number, got 0"),
        ("early_stopping", 0, "--early-stopping expected a positive patience, got 0"),
        ("seed", -1, "--seed expected a non-negative integer, got -1"),
        ("activation", "swish", "--activation expected one of ['elu', 'gelu', 'identity'"),
        ("optimizer", "lbfgs", "--optimizer expected one of ('sgd', 'adam', 'adamw'"),
        ("dtype", "float16", "--dtype expected float32 or float64, got 'float16'"),
        ("batch_norm", "yes", "--batch-norm expected true or false, got 'yes'"),
        ("dataset", 5, "--dataset expected a string, got 5"),
        ("data_dir", 5, "--data-dir expected a string, got 5"),
        ("class_weight", "equal", "--class-weight expected one of ('balanced',), got 'equal'"),
        ("augment_shift", -1, "--augment-shift expected a non-negative number of pixels, got -1"),
        ("augment_flip", 1.5, "--augment-flip expected a probability in [0, 1], got 1.5"),
        ("augment_erase", -0.1, "--augment-erase expected a probability in [0, 1], got -0.1"),
        ("image_shape", [28, 0], "--image-shape expected a list of positive integers"),
        ("image_shape", [784], "--image-shape expected two numbers (height width), got [784]"),
        ("label_smoothing", 1.1, "--label-smoothing expected a fraction in [0, 1], got 1.1"),
        ("ema", 1.0, "--ema expected a decay in [0, 1), got 1.0"),
        ("swa_start", 0, "--swa-start expected a positive epoch, got 0"),
    ],
)
def test_validate_names_the_flag_what_it_expected_and_what_came(name, bad, message):
    with pytest.raises(ValueError) as info:
        TrainConfig(**{name: bad}).validate()
    assert message in str(info.value)


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"ema": 0.99, "swa_start": 3}, "--ema and --swa-start: choose one way to average"),
        ({"ema": 0.99, "early_stopping": 2}, "--early-stopping with --ema or --swa-start"),
        ({"swa_start": 5, "early_stopping": 2}, "--early-stopping with --ema or --swa-start"),
    ],
)
def test_validate_refuses_settings_that_do_not_go_together(settings, message):
    with pytest.raises(ValueError, match=f"^mytorch train: {message}"):
        TrainConfig(**settings).validate()


# ------------------------------------------------------------------ the constraints
POSITIVE = Interval(float, 0, None, closed="neither")
CONSTRAINTS = [
    # constraint, accepted, refused, describe(), message for the first refused value
    (
        POSITIVE,
        [1e-9, 3, 2.5],
        [0, -1.0, float("nan"), float("inf"), True, "1", None],
        "a positive number",
        "f: expected x in (0.0, inf], got 0.0",
    ),
    (
        Interval(float, 0, None, closed="left"),
        [0, 0.0, 7],
        [-1e-12, float("-inf")],
        "a non-negative number",
        "f: expected x in [0.0, inf], got -1e-12",
    ),
    (
        Interval(float, 0, 1, closed="left", noun="probability"),
        [0, 0.5, 0.999],
        [1, 1.0, -0.1],
        "a probability in [0, 1)",
        "f: expected x in [0.0, 1.0), got 1.0",
    ),
    (
        Interval(float, 0, 1, closed="neither", noun="fraction"),
        [0.5],
        [0, 1],
        "a fraction in (0, 1)",
        "f: expected x in (0.0, 1.0), got 0.0",
    ),
    (
        Interval(float, 0, 1, closed="both"),
        [0, 1],
        [1.5, "a"],
        "a number in [0, 1]",
        "f: expected x in [0.0, 1.0], got 1.5",
    ),
    (
        Interval(int, 1, None),
        [1, 10**30],
        [0, 1.0, True, np.int64(3), "2"],
        "a positive integer",
        "f: expected x to be an int >= 1, got 0",
    ),
    (
        Interval(int, 0, None),
        [0, 5],
        [-1],
        "a non-negative integer",
        "f: expected x to be an int >= 0, got -1",
    ),
    (
        Interval(int, 2, 5, closed="right"),
        [3, 5],
        [2, 6],
        "an integer in (2, 5]",
        "f: expected x to be an int in (2, 5], got 2",
    ),
    (
        Options(("a", "b", "c")),
        ["a", "c"],
        ["d", 1, None, ["a"]],
        "one of ('a', 'b', 'c')",
        "f: expected x to be one of ['a', 'b', 'c'], got 'd'",
    ),
    (
        Options(("float32", "float64")),
        ["float32"],
        ["int8"],
        "float32 or float64",
        "f: expected x 'float32' or 'float64', got 'int8'",
    ),
    (
        Boolean(),
        [True, False],
        [1, 0, "yes", None, np.bool_(True)],
        "true or false",
        "f: expected x to be True or False, got 1",
    ),
    (
        PositiveInts(),
        [[], [1], (3, 2)],
        [[0], [1.5], 3, "12", [True], None],
        "a list of positive integers",
        "f: expected x to be positive ints, got [0]",
    ),
    (Text(), ["", "digits"], [1, None], "a string", "f: expected x to be a str, got 1"),
    (
        NoneOr(POSITIVE),
        [None, 0.5],
        [0, -2.0],
        "a positive number",
        "f: expected x in (0.0, inf] or None, got 0",
    ),
]


@pytest.mark.parametrize(
    "constraint, accepted, refused, words, message", CONSTRAINTS, ids=lambda v: repr(v)[:40]
)
def test_each_constraint_accepts_refuses_and_says_what_it_wants(
    constraint, accepted, refused, words, message
):
    for value in accepted:
        assert constraint.is_satisfied_by(value), value
    for value in refused:
        assert not constraint.is_satisfied_by(value), value
    assert constraint.describe() == str(constraint) == words
    assert constraint.message(refused[0], "f", "x") == message


def test_a_real_interval_says_finite_and_real_as_check_number_does():
    assert POSITIVE.message(float("nan"), "f", "x") == "f: expected x to be finite, got nan"
    assert POSITIVE.message("1", "f", "x") == "f: expected x to be a real number, got '1'"
    shown = POSITIVE.message("1", "f", "x", shown=b"1")
    assert shown == "f: expected x to be a real number, got b'1'"


def test_malformed_constraints_are_refused():
    with pytest.raises(TypeError, match="Interval: expected kind int or float"):
        Interval(complex, 0, 1)
    with pytest.raises(ValueError, match="Interval: expected closed to be one of"):
        Interval(int, 0, 1, closed="open")


# ------------------------------------------------------------------ the TOML reader
def test_read_settings_takes_the_train_table_or_the_top_level(tmp_path):
    table = tmp_path / "table.toml"
    table.write_text("[train]\nlr = 0.1\nbatch-size = 10\n[other]\nx = 1\n")
    assert read_settings(table) == {"lr": 0.1, "batch_size": 10}
    flat = tmp_path / "flat.toml"
    flat.write_text('hidden = [4, 2]\nactivation = "relu"\n')
    assert read_settings(str(flat)) == {"hidden": [4, 2], "activation": "relu"}


def test_read_settings_refuses_unknown_settings_missing_files_and_bad_toml(tmp_path):
    unknown = tmp_path / "unknown.toml"
    unknown.write_text("speed = 1\n")
    with pytest.raises(ValueError, match=r"mytorch train: unknown settings \['speed'\] in .*"):
        read_settings(unknown)
    with pytest.raises(FileNotFoundError, match="mytorch train --config: no such file: /nope"):
        read_settings("/nope.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("lr = = 1\n")
    with pytest.raises(ValueError, match=r"broken.toml is not valid TOML"):
        read_settings(broken)


def test_load_toml_returns_every_table_and_names_its_caller(tmp_path):
    path = tmp_path / "sweep.toml"
    path.write_text("[train]\nepochs = 2\n[grid]\nlr = [0.1, 0.2]\n")
    assert load_toml(path, "f") == {"train": {"epochs": 2}, "grid": {"lr": [0.1, 0.2]}}
    with pytest.raises(FileNotFoundError, match="^f: no such file: "):
        load_toml(tmp_path / "missing.toml", "f")


def test_the_sweep_reads_its_file_with_the_same_reader(tmp_path):
    from mytorch.integrations.sweep import load_sweep

    broken = tmp_path / "sweep.toml"
    broken.write_text("[grid]\nlr = [\n")
    with pytest.raises(ValueError, match=r"^run_sweep: .*sweep.toml is not valid TOML"):
        load_sweep(broken)
    with pytest.raises(FileNotFoundError, match="^run_sweep: no such file"):
        load_sweep(tmp_path / "missing.toml")


# ------------------------------------------------------------------ scikit-learn
#: (estimator parameter, setting, a value both must refuse)
SHARED_REFUSALS = [
    ("hidden_layer_sizes", "hidden", [16, 0]),
    ("activation", "activation", "swish"),
    ("batch_norm", "batch_norm", "yes"),
    ("dropout", "dropout", 1.0),
    ("init", "init", "he"),
    ("solver", "optimizer", "lbfgs"),
    ("learning_rate_init", "lr", -1.0),
    ("learning_rate_init", "lr", float("nan")),
    ("momentum", "momentum", -0.5),
    ("alpha", "weight_decay", -1e-4),
    ("schedule", "schedule", "linear"),
    ("max_iter", "epochs", 0),
    ("max_iter", "epochs", 2.5),
    ("batch_size", "batch_size", -3),
    ("validation_fraction", "val_fraction", 1.0),
    ("dtype", "dtype", "float16"),
]


def test_each_estimator_parameter_uses_its_settings_constraint():
    pytest.importorskip("sklearn")
    from mytorch.integrations.sklearn._params import (
        CLASSIFIER_CONSTRAINTS,
        PARAMETER_CONSTRAINTS,
        SETTING_OF,
    )

    constraints = {**PARAMETER_CONSTRAINTS, **CLASSIFIER_CONSTRAINTS}
    for parameter, setting in SETTING_OF.items():
        if parameter != "activation":  # widened by scikit-learn's alias "logistic"
            assert constraints[parameter] is SETTINGS[setting].constraint, parameter
    widened = PARAMETER_CONSTRAINTS["activation"]
    assert set(widened.choices) == {*ACTIVATIONS, "logistic"}


@pytest.mark.parametrize(
    "parameter, setting, bad", SHARED_REFUSALS, ids=[f"{p}={b!r}" for p, _, b in SHARED_REFUSALS]
)
def test_the_estimators_and_the_command_line_refuse_the_same_values(parameter, setting, bad):
    pytest.importorskip("sklearn")
    from mytorch.integrations.sklearn import MLPClassifier

    constraint = SETTINGS[setting].constraint
    assert not constraint.is_satisfied_by(bad)
    with pytest.raises(ValueError) as cli_error:
        TrainConfig(**{setting: bad}).validate()
    assert f"{SETTINGS[setting].flag} expected {constraint.describe()}" in str(cli_error.value)
    X, y = np.zeros((4, 2)), np.array([0, 1, 0, 1])
    with pytest.raises(ValueError, match=rf"^MLPClassifier: expected {parameter}\b"):
        MLPClassifier(**{parameter: bad}).fit(X, y)


def test_the_estimators_take_numpy_scalars_as_the_numbers_they_hold():
    pytest.importorskip("sklearn")
    from mytorch.integrations.sklearn import MLPClassifier

    X = np.random.default_rng(0).normal(size=(20, 2))
    clf = MLPClassifier(
        np.array([4]),
        learning_rate_init=np.float32(0.01),
        max_iter=np.int64(2),
        batch_norm=np.bool_(False),
        random_state=0,
    ).fit(X, X[:, 0] > 0)
    assert clf.n_iter_ == 2
    with pytest.raises(ValueError, match=r"expected max_iter to be an int >= 1, got np.int64\(0\)"):
        MLPClassifier(max_iter=np.int64(0)).fit(X, X[:, 0] > 0)
