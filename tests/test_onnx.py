"""Tests for mytorch/onnx.py: exported models run in onnxruntime and match MyTorch."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx  # noqa: E402
import onnxruntime as ort  # noqa: E402
import pytest

import mytorch  # noqa: E402
from mytorch import nn  # noqa: E402
from mytorch.batchnorm import BatchNorm  # noqa: E402
from mytorch.integrations.onnx import export  # noqa: E402
from mytorch.linear import Linear as CourseLinear  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
#: The issue's bar: onnxruntime's float32 output within 1e-5 of MyTorch's.
TOLERANCE = 1e-5


def _run(path: Path, x: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {"input": x})[0]


def _batchnorm(features: int, dtype, **options) -> nn.BatchNorm1d:
    """A BatchNorm1d whose running statistics and affine parameters are not the defaults."""
    rng = np.random.default_rng(features)
    bn = nn.BatchNorm1d(features, dtype=dtype, **options)
    if bn.track_running_stats:
        bn.running_mean[:] = rng.normal(size=features)
        bn.running_var[:] = rng.uniform(0.5, 2.0, size=features)
    if bn.affine:
        bn.weight.data[:] = rng.uniform(0.5, 1.5, size=features)
    if bn.bias is not None:
        bn.bias.data[:] = rng.normal(size=features)
    return bn


ACTIVATIONS = {
    "Identity": lambda: nn.Identity(),
    "Step": lambda: nn.Step(),
    "Sigmoid": lambda: nn.Sigmoid(),
    "Tanh": lambda: nn.Tanh(),
    "ReLU": lambda: nn.ReLU(),
    "LeakyReLU": lambda: nn.LeakyReLU(0.1),
    "ELU": lambda: nn.ELU(alpha=0.7),
    "GELU-none": lambda: nn.GELU(),
    "GELU-tanh": lambda: nn.GELU(approximate="tanh"),
    "Softplus": lambda: nn.Softplus(),
    "Softplus-beta2-threshold3": lambda: nn.Softplus(beta=2.0, threshold=3.0),
    "Softmax-dim1": lambda: nn.Softmax(dim=1),
    "Softmax-dim0": lambda: nn.Softmax(dim=0),
    "Softmax-dimNone": lambda: nn.Softmax(),
    "LogSoftmax-dim-1": lambda: nn.LogSoftmax(dim=-1),
    "LogSoftmax-dim0": lambda: nn.LogSoftmax(dim=0),
}

LAYERS = {
    "Linear": lambda dtype: nn.Linear(6, 4, rng=0, dtype=dtype),
    "Linear-no-bias": lambda dtype: nn.Linear(6, 4, bias=False, rng=0, dtype=dtype),
    "course-Linear": lambda dtype: CourseLinear(6, 4, rng=0, dtype=dtype),
    "BatchNorm1d": lambda dtype: _batchnorm(6, dtype),
    "BatchNorm1d-not-affine": lambda dtype: _batchnorm(6, dtype, affine=False),
    "BatchNorm1d-batch-statistics": lambda dtype: _batchnorm(6, dtype, track_running_stats=False),
    "course-BatchNorm": lambda dtype: BatchNorm(6, dtype=dtype),
    "Dropout": lambda dtype: nn.Dropout(0.5, rng=0),
    "NotesDropout": lambda dtype: nn.NotesDropout(0.7, rng=0),
}


def _check_round_trip(
    model,
    tmp_path: Path,
    n_features: int,
    dtype=np.float32,
    tolerance: float = TOLERANCE,
    batches=(1, 7, 33),
) -> None:
    model.eval()
    path = tmp_path / "model.onnx"
    export(model, path, input_shape=(None, n_features), dtype=dtype)
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    rng = np.random.default_rng(0)
    for batch in batches:  # one file, any batch size: the batch dimension is dynamic
        # Wide inputs reach Softplus's linear branch and saturate Sigmoid/Tanh.
        x = (rng.normal(size=(batch, n_features)) * 4).astype(dtype)
        expected = model(x)
        actual = _run(path, x)
        assert actual.dtype == dtype and actual.shape == expected.shape
        np.testing.assert_allclose(actual, expected, rtol=tolerance, atol=tolerance)


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_activation_alone_matches_onnxruntime(name, tmp_path):
    _check_round_trip(ACTIVATIONS[name](), tmp_path, n_features=5)


@pytest.mark.parametrize("name", list(LAYERS))
def test_layer_alone_matches_onnxruntime(name, tmp_path):
    # Normalising with the batch's own statistics needs 2 samples or more.
    batches = (2, 7, 33) if name == "BatchNorm1d-batch-statistics" else (1, 7, 33)
    _check_round_trip(LAYERS[name](np.float32), tmp_path, n_features=6, batches=batches)


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_activation_inside_an_mlp_matches_onnxruntime(name, tmp_path):
    model = nn.Sequential(
        nn.Linear(6, 8, rng=1, dtype=np.float32),
        _batchnorm(8, np.float32),
        ACTIVATIONS[name](),
        nn.Dropout(0.3, rng=0),
        nn.Sequential(nn.Linear(8, 3, rng=2, dtype=np.float32)),
    )
    _check_round_trip(model, tmp_path, n_features=6)


@pytest.mark.parametrize("name", ["ELU", "LeakyReLU", "GELU-none", "GELU-tanh", "Softplus"])
def test_float64_export_keeps_float64_precision(name, tmp_path):
    model = nn.Sequential(
        nn.Linear(6, 8, rng=1),
        _batchnorm(8, np.float64),
        ACTIVATIONS[name](),
        nn.Linear(8, 3, rng=2),
    )
    # onnxruntime has no float64 Erf: the exact GELU's erf runs in float32.
    _check_round_trip(
        model,
        tmp_path,
        n_features=6,
        dtype=np.float64,
        tolerance=1e-6 if name == "GELU-none" else 1e-12,
    )


#: Models on inputs of more axes than (N, features): (model, input shape after N).
OTHER_LAYOUTS = {
    "Linear on (N, 3, 6)": (lambda: nn.Linear(6, 4, rng=0), (3, 6)),
    "Linear-no-bias on (N, 2, 3, 6)": (lambda: nn.Linear(6, 4, bias=False, rng=0), (2, 3, 6)),
    "BatchNorm1d on (N, 6, 5)": (lambda: _batchnorm(6, np.float64), (6, 5)),
    "BatchNorm1d-bias=False on (N, 6, 5)": (
        lambda: _batchnorm(6, np.float64, bias=False),
        (6, 5),
    ),
    "BatchNorm1d-batch-statistics on (N, 6, 5)": (
        lambda: _batchnorm(6, np.float64, track_running_stats=False),
        (6, 5),
    ),
    "BatchNorm1d, Linear, LogSoftmax on (N, 6, 5)": (
        lambda: nn.Sequential(
            _batchnorm(6, np.float64), nn.GELU(), nn.Linear(5, 3, rng=1), nn.LogSoftmax(dim=1)
        ),
        (6, 5),
    ),
}


@pytest.mark.parametrize("name", OTHER_LAYOUTS)
def test_other_input_layouts_match_onnxruntime(name, tmp_path):
    make, sample_shape = OTHER_LAYOUTS[name]
    model = make().eval()
    path = tmp_path / "model.onnx"
    export(model, path, input_shape=(None, *sample_shape), dtype=np.float64)
    x = np.random.default_rng(0).normal(size=(4, *sample_shape))
    np.testing.assert_allclose(_run(path, x), model(x), rtol=1e-6, atol=1e-6)


def test_course_layers_export_only_the_course_layout(tmp_path):
    with pytest.raises(
        ValueError, match=r"\(Linear\) expects input of shape \(N, 6\), got \(N, 3, 6\)"
    ):
        export(CourseLinear(6, 4, rng=0), tmp_path / "m.onnx", (None, 3, 6))
    with pytest.raises(
        ValueError, match=r"\(BatchNorm\) expects input of shape \(N, 6\), got \(N, 6, 5\)"
    ):
        export(BatchNorm(6), tmp_path / "m.onnx", (None, 6, 5))
    with pytest.raises(
        ValueError,
        match=r"\(BatchNorm1d\) expects input of shape \(N, 6\) or \(N, 6, L\), got \(N, 6, 5, 2\)",
    ):
        export(nn.BatchNorm1d(6), tmp_path / "m.onnx", (None, 6, 5, 2))
    assert not (tmp_path / "m.onnx").exists()


def test_float64_model_exports_to_float32_by_default(tmp_path):
    model = nn.Sequential(nn.Linear(6, 4, rng=0), nn.Tanh()).eval()
    proto = export(model, tmp_path / "m.onnx", input_shape=6)
    assert proto.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    x = np.random.default_rng(0).normal(size=(5, 6))
    np.testing.assert_allclose(
        _run(tmp_path / "m.onnx", x.astype(np.float32)), model(x), rtol=TOLERANCE, atol=TOLERANCE
    )


def test_graph_has_dynamic_batch_and_an_opset_onnxruntime_supports(tmp_path):
    proto = export(nn.Sequential(nn.Linear(3, 2, rng=0)), tmp_path / "m.onnx", (16, 3))
    dims = proto.graph.input[0].type.tensor_type.shape.dim
    assert dims[0].dim_param == "batch" and dims[1].dim_value == 3
    out_dims = proto.graph.output[0].type.tensor_type.shape.dim
    assert out_dims[0].dim_param == "batch" and out_dims[1].dim_value == 2
    assert proto.opset_import[0].version == 17
    assert {node.op_type for node in proto.graph.node} == {"Gemm"}


def test_export_writes_atomically_and_leaves_no_temporary_file(tmp_path):
    target = tmp_path / "sub" / "model.onnx"
    export(nn.Sequential(nn.Linear(3, 2, rng=0), nn.ReLU()), target, (None, 3))
    assert sorted(p.name for p in target.parent.iterdir()) == ["model.onnx"]


def test_export_rejects_what_it_cannot_write(tmp_path):
    class Square(nn.Module):
        def forward(self, x):
            return x * x

    with pytest.raises(TypeError, match="export: cannot export a Square"):
        export(nn.Sequential(nn.Linear(3, 2), Square()), tmp_path / "m.onnx", (None, 3))
    with pytest.raises(ValueError, match=r"expects input of shape \(N, 3\), got \(N, 4\)"):
        export(nn.Sequential(nn.Linear(3, 2)), tmp_path / "m.onnx", (None, 4))
    with pytest.raises(ValueError, match="export: expected opset"):
        export(nn.Linear(3, 2), tmp_path / "m.onnx", (None, 3), opset=9)
    with pytest.raises(TypeError, match="export: expected dtype"):
        export(nn.Linear(3, 2), tmp_path / "m.onnx", (None, 3), dtype=np.int32)
    assert not (tmp_path / "m.onnx").exists()


@pytest.mark.slow
def test_model_trained_by_the_cli_matches_onnxruntime(tmp_path):
    run = tmp_path / "run"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "mytorch",
            "train",
            "--epochs",
            "2",
            "--out",
            str(run),
            "--no-progress",
        ],
        check=True,
        capture_output=True,
        cwd=ROOT,
    )
    model, header = mytorch.load(run / "model.npz", return_metadata=True)
    from mytorch.datasets import load_dataset
    from mytorch.workflows.build import apply_scaling

    data = load_dataset("digits", dtype=np.float64)
    X = apply_scaling(data.X_test, header["metadata"]["scaling"])
    export(model, tmp_path / "model.onnx", input_shape=(None, X.shape[1]))
    actual = _run(tmp_path / "model.onnx", X.astype(np.float32))
    # Against the same model in float32 (the precision of the ONNX graph) ...
    np.testing.assert_allclose(
        actual, model.to(np.float32)(X.astype(np.float32)), rtol=TOLERANCE, atol=TOLERANCE
    )
    # ... and the same predictions as the float64 model that was saved.
    reference = mytorch.load(run / "model.npz")
    assert np.mean(actual.argmax(axis=1) == reference(X).argmax(axis=1)) > 0.99


def test_course_layout_import_onnx_still_gets_the_onnx_package():
    # The course autograder puts mytorch/ itself on sys.path, where mytorch/onnx.py
    # would shadow the onnx package.
    code = "import onnx, onnx.helper; print(onnx.helper.__file__)"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "mytorch")}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT / "mytorch", env=env
    )
    assert result.returncode == 0, result.stderr
    assert "site-packages" in result.stdout


def test_step_exports_as_the_notes_step_one_at_zero(tmp_path):
    # 000 section 7.3: step(z) = 0 if z < 0, 1 otherwise.
    path = tmp_path / "step.onnx"
    export(nn.Step(), path, input_shape=(None, 4))
    x = np.array([[-1.0, 0.0, -0.0, 2.0]], dtype=np.float32)
    np.testing.assert_array_equal(_run(path, x), [[0.0, 1.0, 1.0, 1.0]])
