"""PyTorch's full loss semantics (mytorch/nn/loss/): layouts, backward(grad_output), buffers.

test_loss.py holds every loss against torch on (N, C) output in every reduction;
test_parity_module_db.py runs PyTorch's own test inputs. Here: the cases those do not
reach on purpose, each against torch: ``backward(grad_output)`` with random and scalar
gradients, the (N, C, d1, ..., dk) and (C,) layouts with every target option at once,
the loss buffers in ``state_dict()``, the deprecated ``size_average``/``reduce``, the
fast training path against the general formula, and the course's SoftmaxCrossEntropy
keeping its 2-D layout.
"""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest
import torch

from mytorch import nn
from mytorch.loss import SoftmaxCrossEntropy

T = torch.from_numpy
C = 4
CLASS_WEIGHT = np.array([0.5, -1.0, 2.0, 1.5])  # negative weights are PyTorch's too


def _pair(name, **kwargs):
    """The same loss in both libraries (array arguments as tensors for torch)."""
    theirs = {k: T(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
    return getattr(nn, name)(**kwargs), getattr(torch.nn, name)(**theirs)


def _check(ours, theirs, output, target, grad_output, close):
    """Forward and backward in both libraries; ``grad_output`` None means backward()."""
    output_t = torch.tensor(output, requires_grad=True)
    loss_t = theirs(output_t, T(np.asarray(target)))
    loss = ours(output, target)
    close(loss, loss_t, "loss")
    if grad_output is None:
        loss_t.backward()
        grad = ours.backward()
    else:
        loss_t.backward(torch.as_tensor(grad_output, dtype=torch.float64))
        grad = ours.backward(grad_output)
    assert isinstance(grad, np.ndarray) and grad.shape == output.shape
    close(grad, output_t.grad, "grad_input")


ELEMENTWISE = {
    "MSELoss": ({}, lambda rng, shape: rng.normal(size=shape)),
    "BCEWithLogitsLoss": (
        {"weight": np.array([[0.5], [-2.0]]), "pos_weight": np.array([1.0, 3.0, -0.5])},
        lambda rng, shape: rng.uniform(size=shape),
    ),
}


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_elementwise_loss_backward_of_grad_output(name, rng, close):
    kwargs, make_target = ELEMENTWISE[name]
    output = rng.normal(size=(2, 2, 3))
    target = make_target(rng, output.shape)
    ours, theirs = _pair(name, reduction="none", **kwargs)
    _check(ours, theirs, output, target, rng.normal(size=output.shape), close)
    for reduction in ("mean", "sum"):
        ours, theirs = _pair(name, reduction=reduction, **kwargs)
        _check(ours, theirs, output, target, np.float64(-2.5), close)


LAYOUTS = {
    "(N, C, d1, d2)": ((3, C, 2, 2), (3, 2, 2)),
    "(N, C)": ((5, C), (5,)),
    "(C,)": ((C,), ()),
}


def _class_target(rng, shape, ignore):
    target = rng.integers(0, C, size=shape)
    if ignore is not None and target.size > 1:
        target.reshape(-1)[:2] = ignore  # some samples are left out
    return np.asarray(target)


CE_OPTIONS = [
    dict(zip(("weight", "ignore_index", "label_smoothing"), values, strict=True))
    for values in itertools.product([None, CLASS_WEIGHT], [-100, 1, -1], [0.0, 0.25])
]


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("options", CE_OPTIONS, ids=str)
def test_cross_entropy_with_class_indices_in_every_layout(options, layout, reduction, rng, close):
    output_shape, target_shape = LAYOUTS[layout]
    kwargs = {k: v for k, v in options.items() if v is not None}
    ignore = kwargs["ignore_index"] if kwargs["ignore_index"] != -100 else None
    output = rng.normal(scale=2.0, size=output_shape)
    target = _class_target(rng, target_shape, ignore)
    ours, theirs = _pair("CrossEntropyLoss", reduction=reduction, **kwargs)
    grad_output = rng.normal(size=target_shape) if reduction == "none" else None
    _check(ours, theirs, output, target, grad_output, close)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("weighted", [False, True])
def test_cross_entropy_with_probabilities_in_every_layout(weighted, layout, reduction, rng, close):
    output_shape, _ = LAYOUTS[layout]
    output = rng.normal(size=output_shape)
    axis = 0 if len(output_shape) == 1 else 1
    target = np.asarray(rng.uniform(size=output_shape))  # rows need not sum to 1 in PyTorch
    kwargs = {"weight": CLASS_WEIGHT} if weighted else {}
    ours, theirs = _pair("CrossEntropyLoss", reduction=reduction, label_smoothing=0.1, **kwargs)
    shape = output_shape[:axis] + output_shape[axis + 1 :]
    grad_output = rng.normal(size=shape) if reduction == "none" else None
    _check(ours, theirs, output, target, grad_output, close)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("layout", LAYOUTS)
def test_nll_loss_with_weights_and_ignore_index_in_every_layout(layout, reduction, rng, close):
    output_shape, target_shape = LAYOUTS[layout]
    output = rng.normal(size=output_shape)
    target = _class_target(rng, target_shape, ignore=3)
    ours, theirs = _pair("NLLLoss", weight=CLASS_WEIGHT, ignore_index=3, reduction=reduction)
    grad_output = rng.normal(size=target_shape) if reduction == "none" else None
    _check(ours, theirs, output, target, grad_output, close)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("layout", ["(N, C)", "(C,)"])
def test_multi_margin_loss_with_negative_weights_in_both_layouts(layout, reduction, rng, close):
    output_shape, target_shape = LAYOUTS[layout]
    output = rng.normal(size=output_shape)
    target = _class_target(rng, target_shape, ignore=None)
    ours, theirs = _pair(
        "MultiMarginLoss", p=2, margin=0.5, weight=CLASS_WEIGHT, reduction=reduction
    )
    grad_output = rng.normal(size=target_shape) if reduction == "none" else np.float64(0.5)
    _check(ours, theirs, output, target, grad_output, close)


def test_backward_without_grad_output_is_still_the_gradient_of_the_sum(rng, close):
    """What the trainer, the course's derivative() and hw1.MLP rely on."""
    output, target = rng.normal(size=(3, C, 2)), rng.integers(0, C, size=(3, 2))
    ours, theirs = _pair("CrossEntropyLoss", reduction="none")
    _check(ours, theirs, output, target, np.ones(target.shape), close)
    np.testing.assert_array_equal(ours.backward(), ours.backward(np.ones(target.shape)))
    np.testing.assert_array_equal(ours.derivative(), ours.backward())


def test_every_target_ignored_gives_nan_like_torch():
    ours, theirs = _pair("CrossEntropyLoss", ignore_index=1)
    loss = ours(np.zeros((2, 3)), np.array([1, 1]))
    assert np.isnan(loss) and torch.isnan(theirs(torch.zeros(2, 3), torch.tensor([1, 1])))


# ----------------------------------------------------------------------- buffers
@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("CrossEntropyLoss", {"weight": CLASS_WEIGHT}),
        ("NLLLoss", {"weight": CLASS_WEIGHT}),
        ("MultiMarginLoss", {"weight": CLASS_WEIGHT}),
        ("BCEWithLogitsLoss", {"weight": np.array(2.0), "pos_weight": np.ones(C)}),
        ("BCEWithLogitsLoss", {"pos_weight": np.ones(C)}),
        ("BCEWithLogitsLoss", {}),
        ("CrossEntropyLoss", {}),
    ],
    ids=str,
)
def test_loss_buffers_are_in_state_dict_as_torch_keeps_them(name, kwargs, close):
    ours, theirs = _pair(name, **kwargs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for key, value in theirs.state_dict().items():
        close(ours.state_dict()[key], value, key)
    changed = {key: np.asarray(value) + 1.0 for key, value in ours.state_dict().items()}
    fresh, _ = _pair(name, **kwargs)
    fresh.load_state_dict(changed)
    for key, value in changed.items():
        np.testing.assert_array_equal(fresh.state_dict()[key], value)
        assert getattr(fresh, key) is fresh.state_dict()[key]


def test_loss_weight_follows_to_dtype(rng):
    loss = nn.CrossEntropyLoss(weight=CLASS_WEIGHT).to(np.float32)
    assert loss.weight.dtype == np.float32
    value = loss(rng.normal(size=(3, C)).astype(np.float32), np.array([0, 1, 2]))
    assert np.asarray(value).dtype == np.float32 and loss.backward().dtype == np.float32


# ----------------------------------------------------------------------- old arguments
@pytest.mark.parametrize("size_average", [None, True, False])
@pytest.mark.parametrize("reduce", [None, True, False])
def test_deprecated_size_average_and_reduce_mean_what_they_mean_in_torch(size_average, reduce):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = torch.nn.MSELoss(size_average=size_average, reduce=reduce).reduction
    if size_average is None and reduce is None:
        assert nn.MSELoss(size_average=size_average, reduce=reduce).reduction == expected
        return
    with pytest.warns(DeprecationWarning, match=rf"use reduction='{expected}' instead"):
        assert nn.MSELoss(size_average=size_average, reduce=reduce).reduction == expected


def test_loss_constructors_take_torch_positional_arguments():
    """The positional order is PyTorch's (weight, size_average, ignore_index, reduce, ...)."""
    ce = nn.CrossEntropyLoss(CLASS_WEIGHT, None, 2, None, "sum", 0.1)
    assert (ce.ignore_index, ce.reduction, ce.label_smoothing) == (2, "sum", 0.1)
    bce = nn.BCEWithLogitsLoss(None, None, None, "none", np.ones(3))
    assert bce.reduction == "none" and bce.pos_weight.shape == (3,)
    mm = nn.MultiMarginLoss(2, 0.5, None, None, None, "sum")
    assert (mm.p, mm.margin, mm.reduction) == (2, 0.5, "sum")


# ----------------------------------------------------------------------- the fast path
@pytest.mark.parametrize("batch", [1, 7, 128])
def test_cross_entropy_training_path_equals_the_general_formula(batch, rng):
    """The fused path (class indices, 'mean', no weights) against the general one,
    reached with weights of 1 (same value, same divisor)."""
    output, target = rng.normal(scale=3.0, size=(batch, 10)), rng.integers(0, 10, size=batch)
    fast, general = nn.CrossEntropyLoss(), nn.CrossEntropyLoss(weight=np.ones(10))
    np.testing.assert_allclose(fast(output, target), general(output, target), rtol=1e-14)
    np.testing.assert_allclose(fast.backward(), general.backward(), rtol=1e-13, atol=1e-17)


# ----------------------------------------------------------------------- the course
def test_course_softmax_cross_entropy_keeps_the_2d_course_layout():
    with pytest.raises(ValueError, match=r"^SoftmaxCrossEntropy: expected output to be 2-D"):
        SoftmaxCrossEntropy()(np.zeros((2, 3, 4)), np.zeros((2, 3, 4)))
