"""Batch normalisation (mytorch/batchnorm.py, mytorch/nn/batchnorm.py) against PyTorch.

The invalid-input cases at the end check that ``nn.BatchNorm1d`` and the course
``BatchNorm`` reject bad input, delta and constructor arguments with a clear error
(table conventions in tests/invalid_inputs.py).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from invalid_inputs import (
    CHANNELS_FIRST,
    NAN,
    Case,
    CaseTable,
    add_matrix_layer_cases,
    assert_raises_a_clear_error,
    good,
)

from mytorch import nn
from mytorch.batchnorm import BatchNorm

T = torch.from_numpy
F = 5

VARIANTS = {
    "default": {},
    "affine=False": {"affine": False},
    "momentum=None": {"momentum": None},
    "track_running_stats=False": {"track_running_stats": False},
    "eps=1e-3,momentum=0.3": {"eps": 1e-3, "momentum": 0.3},
    "bias=False": {"bias": False},
}


def _randomise_affine(bn: nn.BatchNorm1d, rng: np.random.Generator) -> None:
    if bn.affine:
        bn.load_state_dict(
            {"weight": rng.uniform(0.5, 2.0, F), "bias": rng.normal(size=F)}, strict=False
        )


def _batch(rng, n):
    """Features with different means and scales, as BatchNorm inputs usually have."""
    return rng.normal(loc=np.arange(F), scale=np.linspace(0.5, 3.0, F), size=(n, F))


def _compare_state(bn, torch_bn, close):
    if bn.track_running_stats:
        close(bn.running_mean, torch_bn.running_mean, "running_mean")
        close(bn.running_var, torch_bn.running_var, "running_var")
        assert int(bn.num_batches_tracked) == int(torch_bn.num_batches_tracked)
        assert bn.num_batches_tracked.dtype == np.int64
    else:
        assert "running_mean" not in bn.state_dict()
        assert torch_bn.running_mean is None


def dx_term_scale(x, delta, gamma, eps):
    """The size of the terms whose sum is BatchNorm's dx: |delta gamma| / sigma.

    With two samples x_hat is +-1 exactly and dx = (dx_hat - mean(dx_hat) - x_hat
    mean(dx_hat x_hat)) / sigma cancels to O(eps / var): then max |dx| is no measure of
    rounding, and both libraries are ~1e-8 away from an extended-precision result
    relative to it. Their difference is measured against the terms instead.
    """
    if x.shape[0] > 2:
        return None
    gamma = 1.0 if gamma is None else np.asarray(gamma).reshape(1, -1)
    return float(np.abs(delta * gamma / np.sqrt(x.var(axis=0) + eps)).max())


def _step(bn, torch_bn, x, grad_output, close):
    """One forward and backward in both libraries; compare output and gradients."""
    x_t = torch.tensor(x, requires_grad=True)
    out_t = torch_bn(x_t)
    out_t.backward(T(grad_output))
    close(bn(x), out_t, "output")
    gamma = bn.weight.data if bn.affine else None
    batch_stats = bn.training or not bn.track_running_stats
    scale = dx_term_scale(x, grad_output, gamma, bn.eps) if batch_stats else None
    close(bn.backward(grad_output), x_t.grad, "grad_input", scale=scale)
    assert [name for name, _ in bn.named_parameters()] == [
        name for name, _ in torch_bn.named_parameters()
    ]
    for name, param in torch_bn.named_parameters():
        close(getattr(bn, name).grad, param.grad, f"{name}.grad")


@pytest.mark.parametrize("batch", [2, 7, 128])
@pytest.mark.parametrize("variant", VARIANTS)
def test_batchnorm_training_matches_torch_including_running_stats(
    variant, batch, rng, close, to_torch
):
    bn = nn.BatchNorm1d(F, **VARIANTS[variant])
    _randomise_affine(bn, rng)
    torch_bn = to_torch(bn)
    for _ in range(3):  # gradients accumulate over the steps in both libraries
        x, grad_output = _batch(rng, batch), rng.normal(size=(batch, F))
        _step(bn, torch_bn, x, grad_output, close)
        _compare_state(bn, torch_bn, close)


@pytest.mark.parametrize("batch", [1, 7, 128])
@pytest.mark.parametrize("variant", VARIANTS)
def test_batchnorm_eval_uses_running_stats_like_torch(variant, batch, rng, close, to_torch):
    bn = nn.BatchNorm1d(F, **VARIANTS[variant])
    _randomise_affine(bn, rng)
    torch_bn = to_torch(bn)
    for _ in range(4):
        x = _batch(rng, 16)
        bn(x)
        torch_bn(T(x))
    bn.eval()
    torch_bn.eval()
    if not bn.track_running_stats and batch == 1:
        # Without running statistics eval normalises with the batch's: one sample is
        # an error in both libraries.
        with pytest.raises(ValueError, match="BatchNorm1d: expected more than 1 sample"):
            bn(_batch(rng, 1))
        with pytest.raises(ValueError, match="Expected more than 1 value per channel"):
            torch_bn(T(_batch(rng, 1)))
        return
    _step(bn, torch_bn, _batch(rng, batch), rng.normal(size=(batch, F)), close)
    _compare_state(bn, torch_bn, close)


@pytest.mark.parametrize("length", [1, 3])
@pytest.mark.parametrize("variant", VARIANTS)
def test_batchnorm_of_n_c_l_input_matches_torch(variant, length, rng, close, to_torch):
    """(N, C, L): the N L positions are the samples of each of the C features."""
    bn = nn.BatchNorm1d(F, **VARIANTS[variant])
    _randomise_affine(bn, rng)
    torch_bn = to_torch(bn)
    for training in (True, True, False):
        bn.train(training)
        torch_bn.train(training)
        x = np.moveaxis(_batch(rng, 4 * length).reshape(4, length, F), -1, 1)  # (4, F, L)
        grad_output = rng.normal(size=x.shape)
        x_t = torch.tensor(x, requires_grad=True)
        out_t = torch_bn(x_t)
        out_t.backward(T(grad_output))
        out = bn(x)
        assert out.shape == x.shape
        close(out, out_t, "output")
        close(bn.backward(grad_output), x_t.grad, "grad_input")
        for name, param in torch_bn.named_parameters():
            close(getattr(bn, name).grad, param.grad, f"{name}.grad")
        _compare_state(bn, torch_bn, close)
    bn(x)  # a 2-D batch after a 3-D one
    assert bn.backward(np.ones((4, F, length))).shape == (4, F, length)
    assert bn(x[:, :, 0]).shape == (4, F) and bn.backward(np.ones((4, F))).shape == (4, F)


def test_batchnorm_without_bias_saves_and_loads(tmp_path, rng, close):
    import mytorch

    bn = nn.BatchNorm1d(F, bias=False)
    assert list(bn.state_dict()) == list(torch.nn.BatchNorm1d(F, bias=False).state_dict())
    bn(_batch(rng, 8))
    mytorch.save(nn.Sequential(bn), tmp_path / "bn.npz")
    loaded = mytorch.load(tmp_path / "bn.npz")[0]
    assert loaded.bias is None and loaded.get_config()["bias"] is False
    x = _batch(rng, 3)
    close(loaded(x), bn.eval()(x), "output after loading")
    assert "bias" not in nn.BatchNorm1d(F).get_config()  # the old form, when bias is on


def test_batchnorm_accepts_torch_device_and_dtype_arguments():
    bn = nn.BatchNorm1d(F, 1e-5, 0.1, True, True, "cpu", np.float32)
    assert bn.weight.dtype == np.float32
    assert nn.BatchNorm1d(F, device=None, dtype=None).weight.dtype == np.float64


def test_course_batchnorm_keeps_the_course_layout():
    with pytest.raises(ValueError, match=r"^BatchNorm: expected input to be 2-D, got a 3-D array"):
        BatchNorm(F)(np.ones((4, F, 2)))


def test_batchnorm_eval_does_not_update_running_stats(rng):
    bn = nn.BatchNorm1d(F)
    bn(_batch(rng, 8))
    before = {k: v.copy() for k, v in bn.state_dict().items()}
    bn.eval()(_batch(rng, 8))
    for key, value in bn.state_dict().items():
        np.testing.assert_array_equal(value, before[key])


@pytest.mark.parametrize(
    "make", [lambda: nn.BatchNorm1d(F), lambda: BatchNorm(F)], ids=["BatchNorm1d", "BatchNorm"]
)
def test_batchnorm_training_with_batch_size_1_raises(make):
    bn = make()
    with pytest.raises(ValueError, match=r"BatchNorm(1d)?: expected more than 1 sample.*\(1, 5\)"):
        bn(np.ones((1, F)))


# ----------------------------------------------------------------- the course BatchNorm
@pytest.mark.parametrize("batch", [2, 7, 128])
def test_course_batchnorm_matches_handout_formulas_and_torch(batch, rng, close):
    alpha, eps = 0.9, 1e-8
    bn = BatchNorm(F)
    gamma, beta = rng.uniform(0.5, 2.0, (1, F)), rng.normal(size=(1, F))
    bn.gamma, bn.beta = gamma, beta
    running_mean, running_var = np.zeros((1, F)), np.ones((1, F))
    for _ in range(3):
        x, delta = _batch(rng, batch), rng.normal(size=(batch, F))
        x_t = torch.tensor(x, requires_grad=True)
        gamma_t = torch.tensor(gamma.ravel(), requires_grad=True)
        beta_t = torch.tensor(beta.ravel(), requires_grad=True)
        out_t = torch.nn.functional.batch_norm(
            x_t, None, None, gamma_t, beta_t, training=True, eps=eps
        )
        out_t.backward(T(delta))
        # Handout eqs. 5-6: the running variance averages the biased batch variance.
        running_mean = alpha * running_mean + (1 - alpha) * x.mean(axis=0, keepdims=True)
        running_var = alpha * running_var + (1 - alpha) * x.var(axis=0, keepdims=True)

        close(bn(x), out_t, "out")
        close(bn.backward(delta), x_t.grad, "dx", scale=dx_term_scale(x, delta, gamma, eps))
        close(bn.dgamma, gamma_t.grad.reshape(1, F), "dgamma (of the sum)")
        close(bn.dbeta, beta_t.grad.reshape(1, F), "dbeta (of the sum)")
        close(bn.running_mean, running_mean, "running_mean")
        close(bn.running_var, running_var, "running_var")
        close(bn.mean, x.mean(axis=0, keepdims=True), "mean")
        close(bn.var, x.var(axis=0, keepdims=True), "var")
        close(bn.norm, (x - x.mean(0)) / np.sqrt(x.var(0) + eps), "norm")

    x = _batch(rng, batch)
    expected = gamma * (x - running_mean) / np.sqrt(running_var + eps) + beta
    close(bn(x, eval=True), expected, "eval output uses running statistics")
    for name in ("gamma", "beta", "dgamma", "dbeta", "running_mean", "running_var"):
        value = getattr(bn, name)
        assert isinstance(value, np.ndarray) and value.dtype == np.float64
        assert value.shape == (1, F), name


def test_course_batchnorm_follows_module_mode_when_eval_flag_is_none(rng, close):
    bn = BatchNorm(F)
    bn(_batch(rng, 8))
    x = _batch(rng, 3)
    close(bn.eval()(x), bn(x, eval=True), "eval() equals eval=True")


# ----------------------------------------------------------------- shapes and dtypes
@settings(max_examples=25, deadline=None)
@given(
    batch=st.integers(1, 9),
    features=st.integers(1, 9),
    variant=st.sampled_from(sorted(VARIANTS)),
    training=st.booleans(),
    dtype=st.sampled_from([np.float32, np.float64]),
    seed=st.integers(0, 2**32 - 1),
)
def test_batchnorm_keeps_shape_and_dtype(batch, features, variant, training, dtype, seed):
    bn = nn.BatchNorm1d(features, dtype=dtype, **VARIANTS[variant]).train(training)
    needs_batch_stats = training or not bn.track_running_stats
    if needs_batch_stats and batch == 1:
        batch = 2  # batch size 1 in training raises (tested above)
    x = np.random.default_rng(seed).normal(size=(batch, features)).astype(dtype)
    out = bn(x)
    assert out.shape == x.shape and out.dtype == dtype
    grad = bn.backward(np.ones_like(out))
    assert grad.shape == x.shape and grad.dtype == dtype
    for value in bn.state_dict().values():
        assert value.dtype in (dtype, np.int64)


# ----------------------------------------------------------------------- invalid inputs
# nn.BatchNorm1d and the course BatchNorm reject every bad input and argument with an
# error naming the layer (conventions in tests/invalid_inputs.py).
INVALID_INPUTS = CaseTable()
case = INVALID_INPUTS.case


def _after_forward(layer, x):
    layer(x)
    return layer


add_matrix_layer_cases(
    INVALID_INPUTS, "nn.BatchNorm1d", lambda: nn.BatchNorm1d(3), "BatchNorm1d", ranks=CHANNELS_FIRST
)
add_matrix_layer_cases(INVALID_INPUTS, "course BatchNorm", lambda: BatchNorm(3), "BatchNorm")
case(
    "nn.BatchNorm1d",
    "(1, 3, 1) in training",
    lambda: nn.BatchNorm1d(3)(np.ones((1, 3, 1))),
    ValueError,
    r"^BatchNorm1d: expected more than 1 sample.*got input of shape \(1, 3, 1\)",
)
case(
    "nn.BatchNorm1d",
    "empty batch (0, 3, 2)",
    lambda: nn.BatchNorm1d(3)(np.ones((0, 3, 2))),
    ValueError,
    r"^BatchNorm1d: expected a non-empty batch, got input of shape \(0, 3, 2\)",
)
case(
    "nn.BatchNorm1d",
    "delta (N, C) after an (N, C, L) input",
    lambda: _after_forward(nn.BatchNorm1d(3), np.ones((4, 3, 2))).backward(np.ones((4, 3))),
    ValueError,
    r"^BatchNorm1d\.backward: expected delta to be 3-D, got a 2-D array",
)
case(
    "nn.BatchNorm1d",
    "bias not a bool",
    lambda: nn.BatchNorm1d(3, bias=1),
    TypeError,
    r"^BatchNorm1d: expected bias to be a bool, got 1",
)
case(
    "nn.BatchNorm1d",
    "device='cuda:0'",
    lambda: nn.BatchNorm1d(3, device="cuda:0"),
    ValueError,
    r"^BatchNorm1d: expected device None or 'cpu'.*got 'cuda:0'",
)
case(
    "nn.BatchNorm1d",
    "batch of 1 in training",
    lambda: nn.BatchNorm1d(3)(good(1)),
    ValueError,
    r"^BatchNorm1d: expected more than 1 sample.*got input of shape \(1, 3\)",
)

# Constructor arguments.
for value, error, pattern in [
    (0, ValueError, "got 0"),
    (-3, ValueError, "got -3"),
    (2.5, TypeError, "got 2.5"),
    ("3", TypeError, "got '3'"),
    (True, TypeError, "got True"),
]:
    case(
        "nn.BatchNorm1d",
        f"num_features={value!r}",
        lambda v=value: nn.BatchNorm1d(v),
        error,
        rf"^BatchNorm1d: expected num_features to be a positive int, {pattern}",
    )
for name, make in [
    ("nn.BatchNorm1d", lambda **kw: nn.BatchNorm1d(3, **kw)),
    ("course BatchNorm", lambda **kw: BatchNorm(3, **kw)),
]:
    layer = "BatchNorm1d" if name == "nn.BatchNorm1d" else "BatchNorm"
    for eps, pattern in [
        (0.0, r"expected eps in \(0, inf\], got 0.0"),
        (-1e-5, r"expected eps in \(0, inf\], got -1e-05"),
        (NAN, "expected eps to be finite, got nan"),
        ("1e-5", "expected eps to be a number, got '1e-5'"),
    ]:
        case(
            name,
            f"eps={eps!r}",
            lambda make=make, e=eps: make(eps=e),
            TypeError if isinstance(eps, str) else ValueError,
            rf"^{layer}: {pattern}",
        )
    for momentum, pattern in [
        (-0.1, r"expected momentum in \[0, 1\], got -0.1"),
        (1.5, r"expected momentum in \[0, 1\], got 1.5"),
        (NAN, "expected momentum to be finite, got nan"),
    ]:
        case(
            name,
            f"momentum={momentum!r}",
            lambda make=make, m=momentum: make(momentum=m),
            ValueError,
            rf"^{layer}: {pattern}",
        )
for alpha, pattern in [
    (-1, r"expected alpha in \[0, 1\], got -1.0"),
    (NAN, "expected alpha to be finite, got nan"),
]:
    case(
        "course BatchNorm",
        f"alpha={alpha!r}",
        lambda a=alpha: BatchNorm(3, alpha=a),
        ValueError,
        rf"^BatchNorm: {pattern}",
    )


@pytest.mark.parametrize("item", INVALID_INPUTS, ids=[c.id for c in INVALID_INPUTS])
def test_invalid_input_raises_a_clear_error(item: Case):
    assert_raises_a_clear_error(item)
