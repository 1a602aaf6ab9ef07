"""The command line's notes variants: ``--optimizer notes-sgd|notes-adam|notes-adadelta``
and the slides' input pre-processing, ``--preprocess center|standardize|pca|whiten-pca|
whiten-zca`` (001, the "Data preprocessing" slides: zero-centred data
``X - X.mean(axis = 0)``, normalized data ``X / np.std(X, axis = 0)``, "PCA, whitening"),
fitted on the training split only, kept in the model file and applied by ``evaluate``,
``predict`` and the ONNX export."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

import mytorch
from mytorch import cli, optim
from mytorch.config import TrainConfig
from mytorch.config_file import read_settings
from mytorch.workflows.build import (
    apply_scaling,
    build_optimizer,
    fit_scaling,
    load_data,
    preprocessing_method,
)

METHODS = ["center", "standardize", "pca", "whiten-pca", "whiten-zca"]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """Correlated features with a constant column and unequal scales: 200 rows, 6 features."""
    folder = tmp_path_factory.mktemp("data")
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 6)) @ rng.normal(size=(6, 6)) * [1, 5, 0.2, 1, 3, 1] + 4.0
    X[:, 5] = 2.5  # a feature that never varies (a border pixel)
    y = (X[:, 0] - X[:, 1] / 5 > 4 - 0.8).astype(np.int64) + (X[:, 2] > 4).astype(np.int64)
    np.savez(folder / "data.npz", X=X, y=y)
    return folder / "data.npz"


@pytest.fixture
def no_pictures(monkeypatch):
    monkeypatch.setattr("mytorch.workflows.report.draw_pictures", lambda *args, **kwargs: [])


def _train(data, out, *flags) -> None:
    args = ["train", "--dataset", str(data), "--hidden", "8", "--activation", "tanh"]
    args += ["--epochs", "3", "--lr", "0.05", "--out", str(out), "--no-progress", *flags]
    assert cli.main([str(a) for a in args]) == 0


# ------------------------------------------------------------------ the slides' formulas
@pytest.mark.parametrize("method", METHODS)
def test_each_method_is_the_slides_formula_fitted_on_the_training_split(data, method):
    config = TrainConfig(dataset=str(data), preprocess=method)
    _, (X_train, _), (X_val, _) = load_data(config)
    scaling = fit_scaling(config, X_train)
    Z = apply_scaling(X_train, scaling)
    centred = X_train - X_train.mean(axis=0)  # 001: X - X.mean(axis = 0)
    # fitted on the training split only: its mean, not that of all the data
    np.testing.assert_allclose(scaling["mean"], X_train.mean(axis=0), rtol=1e-13)
    assert not np.allclose(scaling["mean"], np.vstack([X_train, X_val]).mean(axis=0))
    if method == "center":
        np.testing.assert_allclose(Z, centred, rtol=1e-13, atol=1e-13)
    elif method == "standardize":
        std = np.std(X_train, axis=0)  # 001: X / np.std(X, axis = 0)
        std[std == 0] = 1.0  # MyTorch's choice: a constant feature is not divided by 0
        np.testing.assert_allclose(Z, centred / std, rtol=1e-12, atol=1e-12)
    else:
        covariance = np.cov(Z, rowvar=False)
        off_diagonal = covariance - np.diag(np.diag(covariance))
        if method != "whiten-zca":  # PCA: decorrelated coordinates, by decreasing variance
            assert np.abs(off_diagonal).max() < 1e-8 * np.abs(covariance).max()
            assert np.all(np.diff(np.diag(covariance)) <= 1e-9)
        if method.startswith("whiten"):
            # unit variance along each principal axis U, up to MyTorch's epsilon 1e-5
            # (Whitening's default): variance lambda / (lambda + 1e-5), 0 where lambda = 0
            lam, U = np.linalg.eigh(np.cov(X_train, rowvar=False))
            lam = np.maximum(lam, 0.0)
            if method == "whiten-pca":
                expected = np.diag((lam / (lam + 1e-5))[::-1])
            else:  # ZCA rotates back: U diag(...) U^T
                expected = U @ np.diag(lam / (lam + 1e-5)) @ U.T
            np.testing.assert_allclose(covariance, expected, atol=1e-9)
            assert np.sum(np.diag(covariance) > 0.99) == 5  # the five features that vary
        # same distances between points after PCA (a rotation), none lost with all kept
        if method == "pca":
            np.testing.assert_allclose(
                np.linalg.norm(Z, axis=1), np.linalg.norm(centred, axis=1), rtol=1e-10
            )


def test_pca_components_keeps_the_first_k_axes_and_needs_pca(data):
    config = TrainConfig(dataset=str(data), preprocess="pca", pca_components=2)
    _, (X_train, _), _ = load_data(config)
    Z = apply_scaling(X_train, fit_scaling(config, X_train))
    assert Z.shape == (len(X_train), 2)
    eigenvalues = np.linalg.eigvalsh(np.cov(X_train, rowvar=False))[::-1]
    np.testing.assert_allclose(np.var(Z, axis=0, ddof=1), eigenvalues[:2], rtol=1e-10)
    whitened = TrainConfig(dataset=str(data), preprocess="whiten-pca", pca_components=3)
    assert apply_scaling(X_train, fit_scaling(whitened, X_train)).shape == (len(X_train), 3)
    for bad in (TrainConfig(pca_components=2), TrainConfig(preprocess="center", pca_components=2)):
        with pytest.raises(ValueError, match="--pca-components keeps principal components"):
            preprocessing_method(bad)


def test_standardize_stays_a_synonym_and_refuses_another_method(tmp_path):
    assert preprocessing_method(TrainConfig(standardize=True)) == "standardize"
    assert preprocessing_method(TrainConfig(preprocess="standardize")) == "standardize"
    both = TrainConfig(standardize=True, preprocess="standardize")
    assert preprocessing_method(both) == "standardize"
    with pytest.raises(ValueError, match="--standardize is --preprocess standardize"):
        preprocessing_method(TrainConfig(standardize=True, preprocess="pca"))
    (tmp_path / "old.toml").write_text("[train]\nstandardize = true\nepochs = 2\n")
    (tmp_path / "new.toml").write_text("[train]\npreprocess = 'whiten-zca'\n")
    assert TrainConfig(**read_settings(tmp_path / "old.toml")).validate().standardize
    assert TrainConfig(**read_settings(tmp_path / "new.toml")).validate().preprocess == (
        "whiten-zca"
    )


# ------------------------------------------------------------------ the run's files
@pytest.mark.parametrize("method", ["pca", "whiten-zca"])
def test_the_model_file_keeps_it_and_evaluate_and_predict_apply_it(
    data, tmp_path, capfd, no_pictures, method
):
    out = tmp_path / method
    flags = ["--preprocess", method] + (["--pca-components", "4"] if method == "pca" else [])
    _train(data, out, *flags)
    model, header = mytorch.load(out / "model.npz", return_metadata=True)
    scaling = header["metadata"]["scaling"]
    assert scaling["method"] == method and header["metadata"]["config"]["preprocess"] == method
    assert model[0].in_features == (4 if method == "pca" else 6)
    report = json.loads((out / "report.json").read_text())
    capfd.readouterr()
    assert cli.main(["evaluate", str(out), "--json", str(tmp_path / "e.json")]) == 0
    evaluated = json.loads((tmp_path / "e.json").read_text())
    assert evaluated["test_accuracy"] == report["test_accuracy"]
    raw = np.load(data)["X"][:7]
    np.savez(tmp_path / "rows.npz", X=raw)
    assert cli.main(["predict", str(out), "--input", str(tmp_path / "rows.npz"),
                     "--output", str(tmp_path / "p.csv")]) == 0  # fmt: skip
    with open(tmp_path / "p.csv", newline="") as file:
        labels = [int(row["label"]) for row in csv.DictReader(file)]
    matrix = np.array(scaling["matrix"])
    expected = model((raw - np.array(scaling["mean"])) @ matrix).argmax(axis=1)
    assert labels == expected.tolist()
    capfd.readouterr()
    np.savez(tmp_path / "narrow.npz", X=raw[:, :4])  # the model's width, not the data's
    assert cli.main(["predict", str(out), "--input", str(tmp_path / "narrow.npz"),
                     "--output", str(tmp_path / "q.csv")]) == 2  # fmt: skip
    assert "the model takes 6 features" in capfd.readouterr().err


@pytest.mark.parametrize("method", METHODS)
def test_onnx_export_puts_the_preprocessing_first(data, tmp_path, method):
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    from mytorch.integrations.onnx import export
    from mytorch.workflows.build import build_model

    config = TrainConfig(dataset=str(data), preprocess=method, hidden=[5])
    _, (X_train, _), _ = load_data(config)
    scaling = fit_scaling(config, X_train)
    Z = apply_scaling(X_train, scaling)
    model = build_model(config, Z.shape[1], 3).eval()
    path = tmp_path / "model.onnx"
    proto = export(model, path, (None, 6), dtype=np.float64, preprocessing=scaling)
    first = [node.op_type for node in proto.graph.node][:3]
    expected = {"center": ["Sub"], "standardize": ["Sub", "Div"]}.get(method, ["Sub", "MatMul"])
    assert first[: len(expected)] == expected
    onnx.checker.check_model(onnx.load(str(path)))
    run = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(run.run(None, {"input": X_train})[0], model(Z), rtol=1e-12)


def test_onnx_export_refuses_a_damaged_preprocessing_or_the_wrong_width():
    pytest.importorskip("onnx")
    from mytorch import nn
    from mytorch.integrations.onnx import export

    model = nn.Sequential(nn.Linear(2, 2, rng=0))
    with pytest.raises(ValueError, match="export: cannot export the pre-processing"):
        export(model, "unused.onnx", (None, 2), preprocessing={"mean": "oops"})
    scaling = {"method": "pca", "mean": [0.0, 0.0, 0.0], "matrix": [[1.0, 0.0]] * 3}
    with pytest.raises(ValueError, match=r"takes inputs of shape \(N, 3\), got input_shape"):
        export(model, "unused.onnx", (None, 2), preprocessing=scaling)


# ------------------------------------------------------------------ the notes' optimisers
@pytest.mark.parametrize(
    "name, cls",
    [
        ("notes-sgd", "NotesSGD"),
        ("notes-adam", "NotesAdam"),
        ("notes-adadelta", "NotesAdadelta"),
    ],  # fmt: skip
)
def test_the_notes_optimisers_are_choices_of_the_command_line(
    data, tmp_path, no_pictures, name, cls
):
    config = TrainConfig(optimizer=name, lr=0.02, momentum=0.5, weight_decay=0.01).validate()
    optimizer = build_optimizer(config, [mytorch.nn.Parameter(np.zeros(2))])
    assert type(optimizer) is getattr(optim, cls)
    assert optimizer.defaults["lr"] == 0.02 and optimizer.defaults["weight_decay"] == 0.01
    if name == "notes-sgd":
        assert optimizer.defaults["momentum"] == 0.5
    with pytest.raises(ValueError, match=f"--optimizer {name} is the lecture notes' {cls}"):
        build_optimizer(config, [], library=type("torch_optim", (), {}))
    out = tmp_path / name
    _train(data, out, "--optimizer", name)
    assert json.loads((out / "config.json").read_text())["optimizer"] == name
