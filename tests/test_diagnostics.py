"""Diagnostics: the numbers it records, checked on networks built by hand to have them."""

import json

import numpy as np
import pytest

from mytorch import nn, optim
from mytorch.cli import main
from mytorch.tools.diagnostics import (
    Diagnostics,
    activation_statistics,
    format_table,
    plot_diagnostics,
    save_report,
    summarize,
)
from mytorch.trainer import History, Trainer


def _fit(model, X, y, *, lr=0.1, epochs=1, batch_size=None, diagnostics=None, momentum=0.0):
    diagnostics = diagnostics or Diagnostics()
    optimizer = optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    trainer = Trainer(model, nn.CrossEntropyLoss(), optimizer, callbacks=[diagnostics], rng=0)
    trainer.fit(X, y, epochs=epochs, batch_size=batch_size or len(X))
    return trainer, diagnostics


def _saturating_model(kind):
    """Weights of 100 on positive inputs: every pre-activation is at least 100."""
    model = nn.Sequential(nn.Linear(2, 4, rng=0), kind(), nn.Linear(4, 2, rng=1))
    model[0].weight.data[:] = 100.0
    model[0].bias.data[:] = 0.0
    return model


@pytest.mark.parametrize("kind", [nn.Sigmoid, nn.Tanh])
def test_a_layer_forced_into_saturation_reports_100_percent_saturated(kind, rng):
    X = rng.uniform(1.0, 2.0, (32, 2))
    y = rng.integers(0, 2, 32)
    stats = activation_statistics(_saturating_model(kind), X)["1"]
    assert stats["saturated"] == 1.0 and stats["dead"] is None
    assert stats["kind"] == kind.__name__ and stats["layer"] == 1
    _, diagnostics = _fit(_saturating_model(kind), X, y, lr=1e-3)
    assert diagnostics.records[0]["activations"]["1"]["saturated"] == 1.0
    assert any(
        line.startswith(f"layer 1: 100% of {kind.__name__.lower()} outputs saturated")
        for line in diagnostics.summary()
    )


def test_sigmoid_and_tanh_saturation_thresholds_are_the_documented_ones():
    sigmoid_out = np.array([[0.04, 0.06, 0.5, 0.94, 0.96]])
    tanh_out = np.array([[-0.96, -0.94, 0.0, 0.94, 0.96]])
    for kind, output, expected in ((nn.Sigmoid, sigmoid_out, 0.4), (nn.Tanh, tanh_out, 0.4)):
        model = nn.Sequential(kind())
        model[0].forward = lambda x, out=output, m=model[0]: setattr(m, "state", out) or out
        stats = activation_statistics(model, np.zeros((1, 5)))
        assert stats[next(iter(stats))]["saturated"] == pytest.approx(expected)


def test_small_weights_leave_sigmoid_units_unsaturated(rng):
    model = nn.Sequential(nn.Linear(2, 4, rng=0), nn.Sigmoid())
    model[0].weight.data[:] = 0.01
    stats = activation_statistics(model, rng.uniform(-1, 1, (16, 2)))["1"]
    assert stats["saturated"] == 0.0


def test_relu_layer_with_negative_bias_and_inputs_reports_100_percent_dead(rng):
    # Inputs in [0, 1], weights in [-0.1, 0.1], bias -10: every pre-activation < -9.
    model = nn.Sequential(nn.Linear(3, 5, rng=0), nn.ReLU(), nn.Linear(5, 2, rng=1))
    model[0].weight.data[:] = rng.uniform(-0.1, 0.1, (5, 3))
    model[0].bias.data[:] = -10.0
    X = rng.uniform(0.0, 1.0, (40, 3))
    y = rng.integers(0, 2, 40)
    assert activation_statistics(model, X)["1"]["dead"] == 1.0
    trainer, diagnostics = _fit(model, X, y, batch_size=8, epochs=2)
    for record in diagnostics.records:
        stats = record["activations"]["1"]
        assert stats["dead"] == 1.0 and stats["mean"] == 0.0 and stats["std"] == 0.0
        # No gradient reaches a dead layer's weights.
        assert record["parameters"]["0.weight"]["grad_norm"] == 0.0
        assert record["parameters"]["0.weight"]["update_ratio"] == 0.0
    assert any(
        line.startswith("layer 1: 100% of ReLU units dead") for line in diagnostics.summary()
    )


def test_dead_share_counts_units_dead_for_every_sample_only(rng):
    model = nn.Sequential(nn.Linear(3, 5, rng=0), nn.ReLU(), nn.Linear(5, 2, rng=1))
    model[0].weight.data[:] = rng.uniform(-0.1, 0.1, (5, 3))
    model[0].bias.data[:] = [-10.0, -10.0, 10.0, 10.0, 0.0]
    model[0].weight.data[4] = [1.0, -1.0, 0.0]  # fires for some samples only: alive
    X = rng.uniform(0.0, 1.0, (40, 3))
    y = rng.integers(0, 2, 40)
    _, diagnostics = _fit(model, X, y, lr=1e-6, batch_size=10)
    assert diagnostics.records[0]["activations"]["1"]["dead"] == pytest.approx(0.4)
    assert "layer 1: 40% of ReLU units dead" in " ".join(diagnostics.summary())


def test_weight_and_gradient_norms_and_update_ratio_equal_numpys(rng):
    X = rng.normal(size=(16, 3))
    y = rng.integers(0, 2, 16)
    model = nn.Sequential(nn.Linear(3, 4, rng=0), nn.Tanh(), nn.Linear(4, 2, rng=1))
    before = {k: v.copy() for k, v in model.state_dict().items()}
    # The gradient of one full-batch step, computed by hand on a copy of the model.
    twin = nn.Sequential(nn.Linear(3, 4, rng=0), nn.Tanh(), nn.Linear(4, 2, rng=1))
    criterion = nn.CrossEntropyLoss()
    criterion(twin(X), y)
    twin.backward(criterion.backward())
    grads = {name: p.grad.copy() for name, p in twin.named_parameters()}
    lr = 0.1
    _, diagnostics = _fit(model, X, y, lr=lr)
    record = diagnostics.records[0]
    assert record["epoch"] == 1 and record["source"] == "training batches"
    for name, param in model.named_parameters():
        numbers = record["parameters"][name]
        assert numbers["norm"] == pytest.approx(np.linalg.norm(param.data), rel=1e-12)
        assert numbers["grad_norm"] == pytest.approx(np.linalg.norm(grads[name]), rel=1e-10)
        # Plain SGD: the step is lr * grad, so the ratio is lr ||grad|| / ||W before||.
        expected = lr * np.linalg.norm(grads[name]) / np.linalg.norm(before[name])
        assert numbers["update_ratio"] == pytest.approx(expected, rel=1e-10)
        np.testing.assert_allclose(param.data, before[name] - lr * grads[name], rtol=1e-12)
    assert record["parameters"]["2.weight"]["layer"] == 2
    assert record["parameters"]["0.bias"]["module"] == "Linear"


def test_norms_are_averaged_over_the_steps_of_an_epoch(rng):
    X = rng.normal(size=(16, 3))
    y = rng.integers(0, 2, 16)
    model = nn.Sequential(nn.Linear(3, 2, rng=0))
    norms = []
    original_step = optim.SGD.step

    def recording_step(self, *args):
        norms.append(np.linalg.norm(self.param_groups[0]["params"][0].grad))
        return original_step(self, *args)

    optim.SGD.step = recording_step
    try:
        _, diagnostics = _fit(model, X, y, batch_size=4)
    finally:
        optim.SGD.step = original_step
    assert len(norms) == 4
    assert diagnostics.records[0]["parameters"]["0.weight"]["grad_norm"] == pytest.approx(
        np.mean(norms), rel=1e-12
    )


def test_activation_mean_and_std_cover_every_output_of_the_epoch(rng):
    X = rng.normal(size=(30, 3))
    y = rng.integers(0, 2, 30)
    model = nn.Sequential(nn.Linear(3, 4, rng=0), nn.Tanh(), nn.Linear(4, 2, rng=1))
    outputs = []
    tanh = model[1]
    original = tanh.forward

    def keep(x):
        out = original(x)
        if tanh.training:
            outputs.append(out.copy())
        return out

    tanh.forward = keep
    # lr 0: the weights do not change, so the outputs are those of one fixed network.
    _, diagnostics = _fit(model, X, y, lr=0.0, batch_size=7)
    every = np.concatenate(outputs)
    stats = diagnostics.records[0]["activations"]["1"]
    assert stats["mean"] == pytest.approx(every.mean(), rel=1e-12)
    assert stats["std"] == pytest.approx(every.std(), rel=1e-12)


def test_probe_batch_statistics_equal_activation_statistics_after_the_epoch(rng):
    X = rng.normal(size=(20, 2))
    y = (X[:, 0] > 0).astype(np.int64)
    model = nn.Sequential(
        nn.Linear(2, 6, rng=0),
        nn.BatchNorm1d(6),
        nn.Sigmoid(),
        nn.Dropout(0.5, rng=0),
        nn.Linear(6, 2, rng=1),
    )
    trainer, diagnostics = _fit(model, X, y, batch_size=5, diagnostics=Diagnostics(probe=X))
    record = diagnostics.records[-1]
    assert record["source"] == "probe batch of 20"
    assert record["activations"] == activation_statistics(model, X)
    assert record["activations"]["2"]["layer"] == 1  # batch norm and sigmoid follow Linear 1
    assert model.training is False  # the trainer's final mode was kept


def test_diagnostics_unwraps_the_optimizer_after_training(rng):
    X = rng.normal(size=(8, 2))
    y = rng.integers(0, 2, 8)
    model = nn.Sequential(nn.Linear(2, 2, rng=0))
    trainer, _ = _fit(model, X, y)
    assert "step" not in vars(trainer.optimizer)
    trainer.fit(X, y, epochs=1)  # a second fit records again and unwraps again
    assert len(trainer.history.diagnostics) == 2
    assert "step" not in vars(trainer.optimizer)


def test_without_an_optimizer_the_last_batch_is_described_and_no_ratio_recorded(rng):
    class SelfSteppingTrainer(Trainer):
        """Steps the weights itself, as the course's MLP does."""

        def training_step(self, x, y):
            self.model.zero_grad()
            output = self.model(x)
            loss = self.criterion(output, y)
            self.model.backward(self.criterion.backward())
            self.last_grad = self.model[0].weight.grad.copy()
            for param in self.model.parameters():
                param.data -= 0.1 * param.grad
            return output, float(loss) * len(x)

    X = rng.normal(size=(12, 2))
    y = rng.integers(0, 2, 12)
    model = nn.Sequential(nn.Linear(2, 3, rng=0), nn.ReLU(), nn.Linear(3, 2, rng=1))
    trainer = SelfSteppingTrainer(model, nn.CrossEntropyLoss(), callbacks=[Diagnostics()], rng=0)
    trainer.fit(X, y, epochs=1, batch_size=4)
    numbers = trainer.history.diagnostics[0]["parameters"]["0.weight"]
    assert numbers["grad_norm"] == pytest.approx(np.linalg.norm(trainer.last_grad))
    assert numbers["update_ratio"] is None


def test_diagnostics_needs_a_mytorch_module():
    class DuckModel:
        """Trains under the Trainer, but has no named modules to diagnose."""

        def __call__(self, x):
            return x

        def backward(self, grad):
            return grad

        def train(self, mode=True):
            return self

        def eval(self):
            return self

    trainer = Trainer(DuckModel(), nn.CrossEntropyLoss(), callbacks=[Diagnostics()])
    with pytest.raises(TypeError, match="expected the trainer's model to be a mytorch Module"):
        trainer.fit(np.zeros((2, 2)), np.zeros(2, dtype=np.int64), epochs=1)


def test_training_without_diagnostics_records_nothing_and_wraps_nothing(rng):
    X = rng.normal(size=(8, 2))
    y = rng.integers(0, 2, 8)
    model = nn.Sequential(nn.Linear(2, 2, rng=0))
    optimizer = optim.SGD(model.parameters(), lr=0.1)
    trainer = Trainer(model, nn.CrossEntropyLoss(), optimizer, rng=0)
    history = trainer.fit(X, y, epochs=1)
    assert history.diagnostics == [] and "diagnostics" not in history.to_dict()
    assert "step" not in vars(optimizer)


def test_history_keeps_diagnostics_through_to_dict_and_from_dict(rng):
    X = rng.normal(size=(8, 2))
    y = rng.integers(0, 2, 8)
    trainer, diagnostics = _fit(
        nn.Sequential(nn.Linear(2, 3, rng=0), nn.ReLU(), nn.Linear(3, 2, rng=1)), X, y, epochs=2
    )
    data = json.loads(json.dumps(trainer.history.to_dict()))
    assert data["diagnostics"] == diagnostics.records
    assert History.from_dict(data).diagnostics == diagnostics.records
    # A resumed run continues the same list.
    trainer.history = History.from_dict(data)
    trainer.fit(X, y, epochs=1)
    assert [r["epoch"] for r in trainer.history.diagnostics] == [1, 2, 3]


def test_too_small_a_learning_rate_is_reported(rng):
    X = rng.normal(size=(16, 2))
    y = rng.integers(0, 2, 16)
    model = nn.Sequential(nn.Linear(2, 4, rng=0), nn.Tanh(), nn.Linear(4, 2, rng=1))
    _, diagnostics = _fit(model, X, y, lr=1e-9, epochs=2)
    lines = diagnostics.summary()
    assert any("learning rate may be too small" in line for line in lines)
    assert "update/weight ratio" in lines[0] and "e-" in lines[0]


def _record(grad_norms, ratio=1e-3, epoch=1):
    return {
        "epoch": epoch,
        "source": "training batches",
        "activations": {},
        "parameters": {
            f"{2 * i}.weight": {
                "layer": i + 1,
                "module": "Linear",
                "norm": 1.0,
                "grad_norm": g,
                "update_ratio": ratio,
            }
            for i, g in enumerate(grad_norms)
        },
    }


def test_summarize_reports_vanishing_and_exploding_gradients_and_large_steps():
    assert "gradients vanish toward the input" in " ".join(summarize([_record([1e-6, 1.0])]))
    assert "gradients explode toward the input" in " ".join(summarize([_record([1e4, 1.0])]))
    too_large = summarize([_record([1.0, 1.0], ratio=0.5)])
    assert too_large[0] == (
        "layer 1: update/weight ratio 5e-01 (about 1e-3 is typical): "
        "the learning rate may be too large"
    )
    assert summarize([_record([1.0, 1.0])])[0].startswith("no warning signs")
    assert summarize([]) == ["no diagnostics recorded"]


def test_summarize_judges_the_update_ratio_by_its_median_over_epochs():
    records = [_record([1.0, 1.0], ratio=r, epoch=e + 1) for e, r in enumerate([1e-3, 1e-3, 1e-7])]
    assert summarize(records)[0].startswith("no warning signs")


def test_format_table_report_and_picture_of_a_run(tmp_path, rng):
    X = rng.normal(size=(32, 2))
    y = (X[:, 0] * X[:, 1] > 0).astype(np.int64)
    model = nn.Sequential(
        nn.Linear(2, 6, rng=0),
        nn.Sigmoid(),
        nn.Linear(6, 6, rng=1),
        nn.ReLU(),
        nn.Linear(6, 2, rng=2),
    )
    _, diagnostics = _fit(model, X, y, epochs=3, batch_size=8)
    table = format_table(diagnostics.records)
    assert table.splitlines()[0] == "diagnostics after epoch 3 (training batches)"
    assert "Sigmoid" in table and "ReLU" in table and len(table.splitlines()) == 5
    report = save_report(diagnostics.records, tmp_path / "diagnostics.json")
    saved = json.loads((tmp_path / "diagnostics.json").read_text())
    assert saved == json.loads(json.dumps(report))
    assert saved["thresholds"]["sigmoid_saturated_below"] == 0.05
    assert saved["summary"] == diagnostics.summary() and len(saved["epochs"]) == 3
    plot_diagnostics(diagnostics.records, tmp_path / "diagnostics.png")
    assert (tmp_path / "diagnostics.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_float32_models_are_diagnosed(rng):
    X = rng.normal(size=(16, 2)).astype(np.float32)
    y = rng.integers(0, 2, 16)
    model = nn.Sequential(
        nn.Linear(2, 3, dtype=np.float32, rng=0),
        nn.Tanh(),
        nn.Linear(3, 2, dtype=np.float32, rng=1),
    )
    _, diagnostics = _fit(model, X, y)
    numbers = diagnostics.records[0]["parameters"]["0.weight"]
    assert isinstance(numbers["norm"], float) and numbers["update_ratio"] > 0


@pytest.mark.slow
def test_cli_train_with_diagnostics_saves_json_and_picture_and_prints_advice(tmp_path, capsys):
    out = tmp_path / "run"
    status = main(
        [
            "train",
            "--hidden",
            "8",
            "--epochs",
            "2",
            "--out",
            str(out),
            "--no-progress",
            "--diagnostics",
        ]
    )
    assert status == 0
    printed = capsys.readouterr().out
    assert "diagnostics after epoch 2 (training batches)" in printed
    report = json.loads((out / "diagnostics.json").read_text())
    assert len(report["epochs"]) == 2 and report["summary"]
    for line in report["summary"]:
        assert f"  - {line}" in printed
    assert (out / "diagnostics.png").stat().st_size > 0
    assert json.loads((out / "config.json").read_text())["diagnostics"] is True
    assert "diagnostics.png" in printed.splitlines()[-1]
