"""Tests for ``mytorch/workflows/build.py``'s ``--init auto``: the initialisation chosen by
the activation, so that a newcomer who changes only the activation is not trapped by the
course's N(0, 1) weights.

The two runs at the end are the issue's: the handout's default MLP and ReLU with Adam,
both trained with the command line's defaults on the built-in digits.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from mytorch import cli
from mytorch.config import ACTIVATIONS, SETTINGS, TrainConfig
from mytorch.integrations.sklearn import MLPClassifier
from mytorch.workflows.build import build_model, resolve_init


@pytest.mark.parametrize(
    "activation, hidden, expected",
    [
        ("sigmoid", [64, 64, 32], "course"),
        ("sigmoid", [16], "course"),
        ("relu", [64], "kaiming"),
        ("leaky_relu", [64], "kaiming"),
        ("elu", [64], "kaiming"),
        ("gelu", [64], "kaiming"),
        ("tanh", [64], "xavier"),
        ("softplus", [64], "xavier"),
        ("identity", [64], "xavier"),
        ("sigmoid", [], "xavier"),
        ("relu", [], "xavier"),
    ],
)
def test_auto_chooses_the_initialisation_by_the_activation(activation, hidden, expected):
    scheme, reason = resolve_init(TrainConfig(activation=activation, hidden=hidden))
    assert scheme == expected and reason


def test_every_activation_has_an_automatic_choice_and_asked_schemes_stay():
    for activation in ACTIVATIONS:
        assert resolve_init(TrainConfig(activation=activation))[0] in (
            "course",
            "kaiming",
            "xavier",
        )
    for scheme in ("default", "course", "notes", "xavier", "kaiming"):
        assert resolve_init(TrainConfig(activation="relu", init=scheme)) == (scheme, "")


def test_auto_is_the_command_lines_default_and_builds_what_it_chose():
    assert SETTINGS["init"].default == TrainConfig().init == "auto"
    for activation, scheme in (("sigmoid", "course"), ("relu", "kaiming"), ("tanh", "xavier")):
        auto = build_model(TrainConfig(activation=activation, hidden=[9, 7]), 5, 3)
        chosen = build_model(TrainConfig(activation=activation, hidden=[9, 7], init=scheme), 5, 3)
        for (name, a), (_, b) in zip(
            auto.state_dict().items(), chosen.state_dict().items(), strict=True
        ):
            assert np.array_equal(a, b), (activation, name)
    course = build_model(TrainConfig(), 64, 10)
    assert abs(float(course[0].weight.data.std()) - 1.0) < 0.1  # the handout's N(0, 1)


def test_notes_init_draws_offsets_from_gaussian_0_1_and_the_course_init_zeroes_them():
    # 000 section 7.6, SGD-NEURAL-NET lines 2-3: W ~ Gaussian(0, 1/m), W_0 ~ Gaussian(0, 1)
    notes = build_model(TrainConfig(init="notes", hidden=[2000], activation="tanh"), 400, 3)
    first = notes[0]
    assert abs(float(first.weight.data.std()) - 1 / 400) < 0.05 / 400  # std 1/m, as the words
    bias = first.bias.data
    assert abs(float(bias.mean())) < 0.1 and abs(float(bias.std()) - 1.0) < 0.05
    assert np.count_nonzero(notes[-1].bias.data) == 3
    course = build_model(TrainConfig(init="course", hidden=[50]), 10, 3)
    assert not np.any(course[0].bias.data) and not np.any(course[-1].bias.data)


def test_the_estimators_keep_pytorchs_default_unless_told():
    assert MLPClassifier().init == "default"
    X = np.random.default_rng(0).normal(size=(40, 6))
    y = np.arange(40) % 2
    clf = MLPClassifier((8,), max_iter=1, random_state=0).fit(X, y)
    bound = 1 / np.sqrt(6)  # PyTorch's default: U(-1/sqrt(in), 1/sqrt(in)) weights and biases
    assert np.all(np.abs(clf.model_[0].bias.data) <= bound + 0.05)
    assert np.count_nonzero(clf.model_[0].bias.data)  # not zeroed, as every scheme but it


# ------------------------------------------------------------------ the two runs
@pytest.fixture
def no_pictures(monkeypatch):
    monkeypatch.setattr("mytorch.workflows.report.draw_pictures", lambda *args, **kwargs: [])


@pytest.mark.slow
@pytest.mark.parametrize(
    "flags, scheme",
    [([], "course"), (["--activation", "relu", "--optimizer", "adam"], "kaiming")],
    ids=["handout-default", "relu-adam"],
)
def test_the_default_initialisation_trains_both_networks_well(
    tmp_path, capsys, no_pictures, flags, scheme
):
    out = tmp_path / "run"
    assert cli.main(["train", *flags, "--out", str(out), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert re.search(rf"initialisation {scheme} \(--init auto: ", printed)
    assert json.loads((out / "config.json").read_text())["init"] == scheme
    accuracy = json.loads((out / "report.json").read_text())["test_accuracy"]
    print(f"\n{' '.join(flags) or 'defaults'}: init {scheme}, test accuracy {accuracy:.2%}")
    assert accuracy >= 0.90
