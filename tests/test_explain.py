"""explain.backprop: the recorded blame equals PyTorch autograd and finite differences."""

import json

import numpy as np
import pytest
import torch

from mytorch import nn
from mytorch.activation import Sigmoid as CourseSigmoid
from mytorch.linear import Linear as CourseLinear
from mytorch.tools.explain import backprop


def _model():
    return nn.Sequential(
        nn.Linear(3, 4, rng=0),
        nn.Tanh(),
        nn.Linear(4, 4, rng=1),
        nn.Sigmoid(),
        nn.Linear(4, 3, rng=2),
    )


def test_recorded_blame_and_parameter_gradients_match_torch_autograd(close, to_torch, rng):
    model = _model()
    x = rng.normal(size=(2, 3))
    y = np.array([2, 0])
    twin = to_torch(model)
    record = backprop(model, x, y)

    values = [torch.tensor(x, requires_grad=True)]
    for layer in twin:
        values.append(layer(values[-1]))
        values[-1].retain_grad()
    loss = torch.nn.functional.cross_entropy(values[-1], torch.from_numpy(y))
    loss.backward()

    assert record.loss == pytest.approx(loss.item(), rel=1e-12)
    steps = record.modules
    assert [s.name for s in steps] == ["0", "1", "2", "3", "4"]
    for index, step in enumerate(steps):
        close(step.input, values[index], f"step {index} input")
        close(step.output, values[index + 1], f"step {index} output")
        close(step.grad_output, values[index + 1].grad, f"step {index} blame received")
        close(step.grad_input, values[index].grad, f"step {index} blame passed back")
        for name, grad in step.param_grads.items():
            close(grad, getattr(twin[index], name).grad, f"step {index} d(loss)/d({name})")
    close(record.steps[-1].grad_input, values[-1].grad, "loss gradient")


def test_every_gradient_passes_the_finite_difference_check(rng):
    record = backprop(_model(), rng.normal(size=(2, 3)), np.array([1, 2]))
    assert record.checked and record.passed
    assert record.worst_error < 1e-7
    checked = {(s.name, key) for s in record.steps for key in s.check}
    assert ("loss", "input") in checked and ("0", "weight") in checked
    assert ("3", "input") in checked and ("4", "bias") in checked
    assert len(checked) == 1 + 5 + 3 * 2


def test_a_wrong_backward_is_caught_by_the_check(rng):
    model = _model()
    tanh = model[1]
    right_backward = tanh.backward
    tanh.backward = lambda grad: 2.0 * right_backward(grad)  # a classic slip: twice the slope
    record = backprop(model, rng.normal(size=(1, 3)), np.array([0]))
    assert record.checked and not record.passed
    assert record.steps[1].check["input"] > 0.1
    assert record.steps[2].check["input"] < 1e-7  # the modules after it are still right
    text = str(record)
    assert "do NOT match finite differences: 0:input, 0:weight, 0:bias, 1:input" in text
    assert "the first wrong gradient is at step 1 (Tanh)" in text


def test_mse_loss_is_used_for_float_targets(rng):
    model = nn.Sequential(nn.Linear(2, 3, rng=0), nn.ReLU(), nn.Linear(3, 2, rng=1))
    record = backprop(model, rng.normal(size=(3, 2)), rng.normal(size=(3, 2)))
    assert record.steps[-1].module == "MSELoss(mean)"
    assert record.passed


def test_course_linear_with_its_batch_averaged_gradients_passes_the_check(rng):
    model = nn.Sequential(CourseLinear(2, 3, rng=0), CourseSigmoid(), CourseLinear(3, 2, rng=1))
    record = backprop(model, rng.normal(size=(4, 2)), np.array([0, 1, 1, 0]))
    assert record.passed, str(record)


def test_batch_norm_and_dropout_leave_the_model_as_after_one_pass(rng):
    model = nn.Sequential(
        nn.Linear(3, 4, rng=0),
        nn.BatchNorm1d(4),
        nn.ReLU(),
        nn.Dropout(0.5, rng=7),
        nn.Linear(4, 2, rng=1),
    )
    x = rng.normal(size=(4, 3))
    y = np.array([0, 1, 1, 0])
    twin = nn.Sequential(
        nn.Linear(3, 4, rng=0),
        nn.BatchNorm1d(4),
        nn.ReLU(),
        nn.Dropout(0.5, rng=7),
        nn.Linear(4, 2, rng=1),
    )
    criterion = nn.CrossEntropyLoss()
    criterion(twin(x), y)
    twin.backward(criterion.backward())
    record = backprop(model, x, y)
    assert record.passed, str(record)
    for key, value in twin.state_dict().items():
        np.testing.assert_array_equal(model.state_dict()[key], value, err_msg=key)
    for (name, param), (_, twin_param) in zip(
        model.named_parameters(), twin.named_parameters(), strict=True
    ):
        np.testing.assert_array_equal(param.grad, twin_param.grad, err_msg=name)
    assert model[3].rng.random() == twin[3].rng.random()  # the generator moved on once
    np.testing.assert_array_equal(record.steps[3].output, twin[3].mask * record.steps[3].input)


def test_float32_models_are_recorded_but_not_checked(rng):
    model = nn.Sequential(nn.Linear(2, 2, dtype=np.float32, rng=0))
    record = backprop(model, rng.normal(size=(1, 2)).astype(np.float32), np.array([1]))
    assert not record.checked and not record.passed
    assert "float64" in record.check_note and "float64" in str(record)


def test_check_can_be_switched_off(rng):
    record = backprop(_model(), rng.normal(size=(1, 3)), np.array([0]), check=False)
    assert not record.checked and record.check_note == "not checked (check=False)"


def test_the_printed_table_shows_both_passes_with_shapes(rng):
    text = str(backprop(_model(), rng.normal(size=(2, 3)), np.array([1, 2])))
    assert "Forward pass: what each module computes" in text
    assert "Backward pass: each module receives the blame" in text
    for expected in (
        "Linear(3->4)",
        "Tanh",
        "Sigmoid",
        "CrossEntropyLoss(mean)",
        "d(loss)/d(weight)",
        "(4, 3)",
        "(2, 4)",
        "target [1 2]",
    ):
        assert expected in text
    assert "All 12 gradients match finite differences" in text


def test_record_to_dict_is_json_and_plot_writes_a_png(tmp_path, rng):
    record = backprop(_model(), rng.normal(size=(1, 3)), np.array([0]))
    data = json.loads(json.dumps(record.to_dict()))
    assert data["passed"] is True and len(data["steps"]) == 6
    assert (
        data["steps"][0]["param_grads"]["weight"] == record.steps[0].param_grads["weight"].tolist()
    )
    record.plot(tmp_path / "backprop.png")
    assert (tmp_path / "backprop.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_backprop_rejects_something_that_is_not_a_module():
    with pytest.raises(TypeError, match="expected a Module"):
        backprop(lambda x: x, np.zeros((1, 2)), np.array([0]))


def test_backprop_checks_a_network_with_in_place_activations():
    # The model builder asks for in-place activations after a Linear; the finite
    # differences must not let them overwrite the perturbed value or a recorded input.
    model = nn.Sequential(
        nn.Linear(2, 3, rng=0), nn.Tanh(inplace=True), nn.Linear(3, 2, rng=1), nn.ReLU(inplace=True)
    )
    record = backprop(model, np.array([[0.4, -0.7]]), np.array([1]))
    assert record.checked and record.passed, record
