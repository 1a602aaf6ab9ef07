"""Every example runs in --fast mode and its printed finding holds.

The six scripts run at once as subprocesses (module fixture), so the whole file costs
about as long as the slowest of them; each test then reads one script's output.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = {
    "xor_needs_hidden_layer": ["xor_boundaries.png"],
    "sigmoid_saturation": ["sigmoid_saturation.png", "sigmoid_saturation_diagnostics.png"],
    "momentum_and_adam": ["momentum_and_adam.png"],
    "dropout_weight_decay": ["dropout_weight_decay.png"],
    "batchnorm_deep_sigmoid": ["batchnorm_deep_sigmoid.png"],
    "backprop_step_by_step": ["backprop_step_by_step.png"],
}
NUMBER = r"([-+\d.e]+)"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Start every example with --fast, each with its own --out; wait for all."""
    out = tmp_path_factory.mktemp("examples")
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONHASHSEED": "0"}
    processes = {}
    for name in EXAMPLES:
        processes[name] = subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "examples" / f"{name}.py"),
                "--fast",
                "--out",
                str(out / name),
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
    results = {}
    for name, process in processes.items():
        stdout, stderr = process.communicate(timeout=300)
        results[name] = (process.returncode, stdout, stderr, out / name)
    return results


def _finding(runs, name):
    code, stdout, stderr, out = runs[name]
    assert code == 0, f"{name} failed:\n{stdout}\n{stderr}"
    for picture in EXAMPLES[name]:
        assert (out / picture).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", picture
    lines = [line for line in stdout.splitlines() if line.startswith("finding: ")]
    assert len(lines) == 1, stdout
    return lines[0]


def _numbers(pattern, line):
    match = re.search(pattern, line)
    assert match, f"{pattern!r} not in {line!r}"
    return [float(v) for v in match.groups()]


def test_every_example_has_a_docstring_and_a_fast_flag():
    for name in EXAMPLES:
        text = (ROOT / "examples" / f"{name}.py").read_text()
        assert text.startswith('"""') and "--fast" in text and "--out" in text


def test_xor_needs_a_hidden_layer(runs):
    line = _finding(runs, "xor_needs_hidden_layer")
    linear, hidden = _numbers(
        rf"no hidden layer: {NUMBER}% accuracy; "
        rf"one hidden layer: {NUMBER}%",
        line,
    )
    assert 25.0 <= linear <= 75.0  # near chance; a line gets at most 3 of 4 patches
    assert hidden == 100.0


def test_large_initial_weights_saturate_sigmoids_and_slow_learning(runs):
    line = _finding(runs, "sigmoid_saturation")
    large_sat, large_ratio, large_loss = _numbers(
        rf"large initial weights: {NUMBER}% of sigmoid outputs saturated, layer 1 "
        rf"update/weight {NUMBER}, loss after \d+ epochs {NUMBER}",
        line,
    )
    small_sat, small_ratio, small_loss = _numbers(
        rf"small initial weights: {NUMBER}% saturated, layer 1 update/weight {NUMBER}, "
        rf"loss {NUMBER}",
        line,
    )
    assert large_sat >= 50 and small_sat <= 10
    assert large_ratio * 10 < small_ratio
    assert large_loss > small_loss
    assert "outputs saturated" in runs["sigmoid_saturation"][1]  # the printed advice


def test_momentum_and_adam_beat_plain_sgd(runs):
    line = _finding(runs, "momentum_and_adam")
    sgd, momentum, adam = _numbers(rf"SGD {NUMBER}; SGD\+momentum {NUMBER}; Adam {NUMBER}", line)
    assert momentum < sgd / 2 and adam < sgd / 2


def test_dropout_and_weight_decay_narrow_the_generalisation_gap(runs):
    line = _finding(runs, "dropout_weight_decay")
    none, dropout, decay = _numbers(
        rf"no regularisation {NUMBER} points; dropout {NUMBER} points; "
        rf"weight decay {NUMBER} points",
        line,
    )
    assert none > 5.0
    assert dropout < none and decay < none


def test_batch_norm_lets_a_deep_sigmoid_network_train(runs):
    line = _finding(runs, "batchnorm_deep_sigmoid")
    loss_without, acc_without, ratio_without = _numbers(
        rf"without batch norm: loss {NUMBER}, accuracy {NUMBER}%, layer 1/last gradient "
        rf"{NUMBER}",
        line,
    )
    loss_with, acc_with, ratio_with = _numbers(
        rf"with batch norm: loss {NUMBER}, accuracy {NUMBER}%, layer 1/last gradient "
        rf"{NUMBER}",
        line,
    )
    assert loss_without > 2.0 and acc_without < 30  # stuck near chance (ln 10 = 2.30)
    assert loss_with < 1.0 and acc_with > 70
    assert ratio_without < 1e-3 < 1e-2 < ratio_with  # the gradient vanished without it


def test_backprop_step_by_step_checks_every_gradient(runs):
    line = _finding(runs, "backprop_step_by_step")
    count, worst, before, after = _numbers(
        rf"all {NUMBER} gradients match finite differences \(worst relative error {NUMBER}\); "
        rf"one step with lr [\d.]+ lowers the loss from {NUMBER} to {NUMBER}",
        line,
    )
    assert count == 8 and worst < 1e-6 and after < before
    assert "Backward pass" in runs["backprop_step_by_step"][1]
