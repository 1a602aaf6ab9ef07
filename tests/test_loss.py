"""Losses (mytorch/loss.py) against PyTorch autograd, in every reduction.

The invalid-input cases at the end check that every loss, and the course
``SoftmaxCrossEntropy``, rejects bad outputs, targets, class weights and constructor
arguments with a clear error (table conventions in tests/invalid_inputs.py).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from invalid_inputs import (
    INF,
    LABELS,
    LOGITS,
    NAN,
    ONE_HOT,
    Case,
    CaseTable,
    assert_raises_a_clear_error,
    with_value,
)

from mytorch import nn
from mytorch.loss import SoftmaxCrossEntropy

C = 5  # classes / output features
T = torch.from_numpy


def _soft_targets(rng, n):
    """Probability rows (non-negative, summing to 1)."""
    e = np.exp(rng.normal(size=(n, C)))
    return e / e.sum(axis=1, keepdims=True)


def _positive(rng, shape):
    return rng.uniform(0.2, 2.0, size=shape)


def mse(reduction, rng, n):
    out, target = rng.normal(size=(n, C)), rng.normal(size=(n, C))
    return nn.MSELoss(reduction=reduction), torch.nn.MSELoss(reduction=reduction), out, target


def _bce(weight_shape, pos_weight):
    def build(reduction, rng, n):
        out = rng.normal(scale=3.0, size=(n, C))
        target = rng.uniform(size=(n, C))
        target[0, :2] = [0.0, 1.0]
        shape = None if weight_shape is None else (n, C) if weight_shape == "NC" else (C,)
        weight = None if shape is None else _positive(rng, shape)
        pos = _positive(rng, (C,)) if pos_weight else None
        ours = nn.BCEWithLogitsLoss(weight=weight, reduction=reduction, pos_weight=pos)
        theirs = torch.nn.BCEWithLogitsLoss(
            weight=None if weight is None else T(weight),
            reduction=reduction,
            pos_weight=None if pos is None else T(pos),
        )
        return ours, theirs, out, target

    return build


def _cross_entropy(target_kind, weighted):
    def build(reduction, rng, n):
        out = rng.normal(scale=3.0, size=(n, C))
        if target_kind == "indices":
            target = rng.integers(0, C, size=n)
        elif target_kind == "one-hot":
            target = np.eye(C)[rng.integers(0, C, size=n)]
        else:
            target = _soft_targets(rng, n)
        weight = _positive(rng, (C,)) if weighted else None
        ours = nn.CrossEntropyLoss(weight=weight, reduction=reduction)
        theirs = torch.nn.CrossEntropyLoss(
            weight=None if weight is None else T(weight), reduction=reduction
        )
        return ours, theirs, out, target

    return build


def _nll(weighted):
    def build(reduction, rng, n):
        out = rng.normal(size=(n, C))
        target = rng.integers(0, C, size=n)
        weight = _positive(rng, (C,)) if weighted else None
        ours = nn.NLLLoss(weight=weight, reduction=reduction)
        theirs = torch.nn.NLLLoss(weight=None if weight is None else T(weight), reduction=reduction)
        return ours, theirs, out, target

    return build


def _multi_margin(p, margin, weighted):
    def build(reduction, rng, n):
        out = rng.normal(size=(n, C))
        target = rng.integers(0, C, size=n)
        weight = _positive(rng, (C,)) if weighted else None
        ours = nn.MultiMarginLoss(p=p, margin=margin, weight=weight, reduction=reduction)
        theirs = torch.nn.MultiMarginLoss(
            p=p,
            margin=margin,
            weight=None if weight is None else T(weight),
            reduction=reduction,
        )
        return ours, theirs, out, target

    return build


class _TorchHinge:
    """The notes' hinge max(1 - output * target, 0) (002, section 6.1) in torch."""

    def __init__(self, reduction: str) -> None:
        self.reduction = reduction

    def __call__(self, output, target):
        per = torch.relu(1 - output * target)
        return {"mean": per.mean(), "sum": per.sum(), "none": per}[self.reduction]


def hinge(reduction, rng, n):
    out, target = rng.normal(scale=2.0, size=n), rng.choice([-1.0, 1.0], size=n)
    return nn.HingeLoss(reduction=reduction), _TorchHinge(reduction), out, target


LOSSES = {
    "MSELoss": mse,
    "HingeLoss": hinge,
    "BCEWithLogitsLoss": _bce(None, False),
    "BCEWithLogitsLoss(weight=(C,))": _bce("C", False),
    "BCEWithLogitsLoss(weight=(N,C))": _bce("NC", False),
    "BCEWithLogitsLoss(pos_weight)": _bce(None, True),
    "BCEWithLogitsLoss(weight,pos_weight)": _bce("C", True),
    "CrossEntropyLoss(indices)": _cross_entropy("indices", False),
    "CrossEntropyLoss(indices,weight)": _cross_entropy("indices", True),
    "CrossEntropyLoss(probabilities)": _cross_entropy("probabilities", False),
    "CrossEntropyLoss(probabilities,weight)": _cross_entropy("probabilities", True),
    "CrossEntropyLoss(one-hot)": _cross_entropy("one-hot", False),
    "NLLLoss": _nll(False),
    "NLLLoss(weight)": _nll(True),
    "MultiMarginLoss(p=1)": _multi_margin(1, 1.0, False),
    "MultiMarginLoss(p=2)": _multi_margin(2, 1.0, False),
    "MultiMarginLoss(p=1,margin=0.5,weight)": _multi_margin(1, 0.5, True),
    "MultiMarginLoss(p=2,margin=2,weight)": _multi_margin(2, 2.0, True),
}


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("batch", [1, 7, 128])
@pytest.mark.parametrize("name", LOSSES)
def test_loss_and_its_gradient_match_torch(name, batch, reduction, rng, close):
    ours, theirs, output, target = LOSSES[name](reduction, rng, batch)
    output_t = torch.tensor(output, requires_grad=True)
    loss_t = theirs(output_t, T(target))
    # For reduction='none' our backward() is the gradient of the sum of the losses.
    (loss_t.sum() if reduction == "none" else loss_t).backward()

    loss = ours(output, target)
    close(loss, loss_t, "loss")
    assert np.asarray(loss).dtype == np.float64
    grad = ours.backward()
    close(grad, output_t.grad, "grad_input")
    assert grad.dtype == np.float64
    np.testing.assert_array_equal(ours.derivative(), grad)


@pytest.mark.parametrize("name", ["MSELoss", "CrossEntropyLoss(indices)", "NLLLoss"])
def test_loss_does_not_depend_on_train_or_eval_mode(name, rng):
    ours, _, output, target = LOSSES[name]("mean", rng, 7)
    in_train = float(ours.train()(output, target))
    in_eval = float(ours.eval()(output, target))
    assert in_train == in_eval


def test_course_softmax_cross_entropy_matches_torch_per_sample(rng, close):
    logits = rng.normal(scale=3.0, size=(20, 10))
    labels = np.eye(10)[rng.integers(0, 10, size=20)]
    logits_t = torch.tensor(logits, requires_grad=True)
    loss_t = torch.nn.functional.cross_entropy(logits_t, T(labels), reduction="none")
    loss_t.sum().backward()

    criterion = SoftmaxCrossEntropy()
    loss = criterion(logits, labels)
    assert isinstance(loss, np.ndarray) and loss.shape == (20,) and loss.dtype == np.float64
    close(loss, loss_t, "loss")
    derivative = criterion.derivative()
    assert derivative.shape == (20, 10) and derivative.dtype == np.float64
    close(derivative, logits_t.grad, "derivative")
    close(criterion.sm, torch.softmax(T(logits), dim=1), "sm")


@pytest.mark.parametrize("name", LOSSES)
@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_every_loss_is_stable_for_outputs_up_to_1e4(name, reduction, rng, close):
    """Under np.errstate(all="raise"): no underflow, overflow or invalid operation."""
    ours, theirs, example, target = LOSSES[name](reduction, rng, 4)
    output = np.array(
        [
            [1e4, -1e4, 0.0, 50.0, -50.0],
            [-1e4, 1e4, 1e3, -1e3, 1.0],
            [1e4, 1e4, -1e4, -1e4, 0.0],
            [-1e4, -1e4, -1e4, -1e4, -1e4],
        ]
    )
    if example.ndim == 1:  # one score per sample
        output = output[:, 1]
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        loss = ours(output, target)
        grad = ours.backward()
    assert np.all(np.isfinite(loss)) and np.all(np.isfinite(grad))
    output_t = torch.tensor(output, requires_grad=True)
    loss_t = theirs(output_t, T(target))
    loss_t.sum().backward()
    close(loss, loss_t, "loss")
    close(grad, output_t.grad, "grad_input")


@settings(max_examples=25, deadline=None)
@given(
    name=st.sampled_from(sorted(LOSSES)),
    reduction=st.sampled_from(["mean", "sum", "none"]),
    batch=st.integers(1, 9),
    dtype=st.sampled_from([np.float32, np.float64]),
    seed=st.integers(0, 2**32 - 1),
)
def test_loss_keeps_dtype_and_gradient_shape(name, reduction, batch, dtype, seed):
    ours, _, output, target = LOSSES[name](reduction, np.random.default_rng(seed), batch)
    output = output.astype(dtype)
    if target.dtype.kind == "f":
        target = target.astype(dtype)
        if target.shape == output.shape and name.startswith("CrossEntropy"):
            target /= target.sum(axis=1, keepdims=True)  # rows sum to 1 in float32 too
    loss = np.asarray(ours(output, target))
    assert loss.dtype == dtype
    expected_shape = (
        () if reduction != "none" else output.shape if name[:3] in ("MSE", "BCE") else (batch,)
    )
    assert loss.shape == expected_shape
    grad = ours.backward()
    assert grad.shape == output.shape and grad.dtype == dtype


# ----------------------------------------------------------------------- invalid inputs
# Every loss, and the course SoftmaxCrossEntropy, rejects bad output, targets, class
# weights and constructor arguments with an error naming it (conventions in
# tests/invalid_inputs.py).
INVALID_INPUTS = CaseTable()
case = INVALID_INPUTS.case


def _after_forward(loss, target=LABELS):
    """``loss`` after a forward on ``LOGITS`` (4 samples of 3 classes)."""
    loss(LOGITS, target)
    return loss


CLASS_LOSSES: dict[str, Callable[..., nn.Module]] = {
    "CrossEntropyLoss": nn.CrossEntropyLoss,
    "NLLLoss": nn.NLLLoss,
    "MultiMarginLoss": nn.MultiMarginLoss,
}
for name, make in CLASS_LOSSES.items():
    call = lambda make=make, out=LOGITS, y=LABELS: make()(out, y)  # noqa: E731
    case(
        name,
        "labels out of range",
        lambda make=make: make()(LOGITS, LABELS + 1),
        ValueError,
        rf"^{name}: target label 3 is out of range; expected class indices in \[0, 2\]",
    )
    case(
        name,
        "negative labels",
        lambda make=make: make()(LOGITS, LABELS - 1),
        ValueError,
        rf"^{name}: target label -1 is out of range",
    )
    case(
        name,
        "string labels",
        lambda make=make: make()(LOGITS, LABELS.astype(str)),
        TypeError,
        rf"^{name}: expected integer class indices as target, got dtype <U",
    )
    case(
        name,
        "bool labels",
        lambda make=make: make()(LOGITS, LABELS > 0),
        TypeError,
        rf"^{name}: expected integer class indices as target, got dtype bool",
    )
    case(
        name,
        "labels a list",
        lambda make=make: make()(LOGITS, LABELS.tolist()),
        TypeError,
        rf"^{name}: expected target to be a numpy.ndarray, got list",
    )
    case(
        name,
        "more labels than rows",
        lambda make=make: make()(LOGITS, np.append(LABELS, 0)),
        ValueError,
        rf"^{name}: target has 5 labels but the input has 4 rows",
    )
    case(
        name,
        "one sample (C,) with a batch of labels",
        lambda make=make: make()(LOGITS[0], LABELS[:1]),
        ValueError,
        rf"^{name}: expected target of shape \(\), got \(1,\)",
    )
    case(
        name,
        "output of rank 0",
        lambda make=make: make()(np.array(0.5), np.array(0)),
        ValueError,
        rf"^{name}: expected output of shape \(C,\)(,| or) \(N, C\).*got a 0-D array",
    )
    case(
        name,
        "backward(grad_output) an array for reduction='mean'",
        lambda make=make: _after_forward(make()).backward(np.ones(4)),
        TypeError,
        rf"^{name}\.backward: expected grad_output to be a number or a 0-d array \(the loss is "
        rf"a scalar with reduction='mean'\), got array of shape \(4,\)",
    )
    case(
        name,
        "backward(grad_output) of the wrong shape for reduction='none'",
        lambda make=make: _after_forward(make(reduction="none")).backward(np.ones(3)),
        ValueError,
        rf"^{name}\.backward: expected grad_output of shape \(4,\) \(the output's\), got \(3,\)",
    )
    case(
        name,
        "backward(grad_output) NaN",
        lambda make=make: _after_forward(make()).backward(NAN),
        ValueError,
        rf"^{name}\.backward: grad_output contains 1 NaN",
    )
    case(
        name,
        "size_average a string",
        lambda make=make: make(size_average="yes"),
        TypeError,
        rf"^{name}: expected size_average to be a bool or None, got 'yes'",
    )
    case(
        name,
        "NaN output",
        lambda make=make: make()(with_value(NAN), LABELS),
        ValueError,
        rf"^{name}: output contains 1 NaN",
    )
    case(
        name,
        "integer output",
        lambda make=make: make()(LOGITS.astype(np.int64), LABELS),
        TypeError,
        rf"^{name}: expected output of a floating dtype.*int64",
    )
    case(
        name,
        "empty batch",
        lambda make=make: make()(np.ones((0, 3)), LABELS[:0]),
        ValueError,
        rf"^{name}: expected a non-empty batch, got output of shape \(0, 3\)",
    )
    case(
        name,
        "backward before forward",
        lambda make=make: make().backward(),
        RuntimeError,
        rf"^{name}\.backward: backward\(\) called before forward\(\)",
    )
    case(
        name,
        "unknown reduction",
        lambda make=make: make(reduction="avg"),
        ValueError,
        rf"^{name}: expected reduction in \('mean', 'sum', 'none'\), got 'avg'",
    )
    case(
        name,
        "NaN class weight",
        lambda make=make: make(weight=np.array([1.0, NAN, 1.0]))(LOGITS, LABELS),
        ValueError,
        rf"^{name}: expected weight to hold finite numbers, got",
    )
    case(
        name,
        "class weight of strings",
        lambda make=make: make(weight=["a", "b", "c"]),
        TypeError,
        rf"^{name}: expected weight to be an array of numbers, got",
    )
    case(
        name,
        "class weight of the wrong shape",
        lambda make=make: make(weight=np.ones(4))(LOGITS, LABELS),
        ValueError,
        rf"^{name}: expected weight of shape \(3,\), got \(4,\)",
    )
case(
    "CrossEntropyLoss",
    "float class labels",
    lambda: nn.CrossEntropyLoss()(LOGITS, LABELS.astype(float)),
    TypeError,
    r"^CrossEntropyLoss: expected integer class indices of shape \(4,\) or probabilities.*"
    r"got a 1-D float64 target",
)
case(
    "CrossEntropyLoss",
    "probabilities above 1",
    lambda: nn.CrossEntropyLoss()(LOGITS, ONE_HOT * 2),
    ValueError,
    r"^CrossEntropyLoss: expected target probabilities in \[0, 1\], got values in \[0.0, 2.0\]",
)
case(
    "CrossEntropyLoss",
    "negative probabilities",
    lambda: nn.CrossEntropyLoss()(LOGITS, ONE_HOT * 2 - 0.5 * (ONE_HOT > 0) - 0.5),
    ValueError,
    r"^CrossEntropyLoss: expected target probabilities in \[0, 1\], got values in \[-0.5",
)
case(
    "CrossEntropyLoss",
    "float labels of (N, d1) for (N, C, d1) output",
    lambda: nn.CrossEntropyLoss()(np.zeros((2, 3, 4)), np.zeros((2, 4))),
    TypeError,
    r"^CrossEntropyLoss: expected integer class indices of shape \(2, 4\) or probabilities "
    r"of shape \(2, 3, 4\), got a 2-D float64 target",
)
for name, make in [("CrossEntropyLoss", nn.CrossEntropyLoss), ("NLLLoss", nn.NLLLoss)]:
    case(
        name,
        "(N, C, d1) output with labels of another shape",
        lambda make=make: make()(np.zeros((2, 3, 4)), np.zeros((2, 3), dtype=np.int64)),
        ValueError,
        rf"^{name}: expected target of shape \(2, 4\), got \(2, 3\)",
    )
    case(
        name,
        "label out of range next to ignore_index",
        lambda make=make: make(ignore_index=1)(LOGITS, np.array([1, 1, 5, 0])),
        ValueError,
        rf"^{name}: target label 5 is out of range; expected class indices in \[0, 2\] for 3 "
        rf"classes, or ignore_index \(1\)",
    )
    case(
        name,
        "ignore_index a float",
        lambda make=make: make(ignore_index=1.0),
        TypeError,
        rf"^{name}: expected ignore_index to be an int, got 1.0",
    )
for smoothing, error, pattern in [
    (1.5, ValueError, r"expected label_smoothing in \[0, 1\], got 1.5"),
    (-0.1, ValueError, r"expected label_smoothing in \[0, 1\], got -0.1"),
    (NAN, ValueError, r"expected label_smoothing to be finite, got nan"),
    ("0.1", TypeError, r"expected label_smoothing to be a number, got '0.1'"),
]:
    case(
        "CrossEntropyLoss",
        f"label_smoothing={smoothing!r}",
        lambda smoothing=smoothing: nn.CrossEntropyLoss(label_smoothing=smoothing),
        error,
        rf"^CrossEntropyLoss: {pattern}",
    )
case(
    "MultiMarginLoss",
    "output of rank 3",
    lambda: nn.MultiMarginLoss()(np.zeros((2, 3, 4)), np.zeros((2, 4), dtype=np.int64)),
    ValueError,
    r"^MultiMarginLoss: expected output of shape \(C,\) or \(N, C\), got a 3-D array",
)
case(
    "CrossEntropyLoss",
    "one-hot of the wrong width",
    lambda: nn.CrossEntropyLoss()(LOGITS, np.eye(4)[LABELS]),
    ValueError,
    r"^CrossEntropyLoss: expected target of shape \(4, 3\), got \(4, 4\)",
)
case(
    "CrossEntropyLoss",
    "float32 one-hot for float64 output",
    lambda: nn.CrossEntropyLoss()(LOGITS, ONE_HOT.astype(np.float32)),
    TypeError,
    r"^CrossEntropyLoss: expected target of dtype float64 like the input, got float32",
)
case(
    "MultiMarginLoss",
    "p=3",
    lambda: nn.MultiMarginLoss(p=3),
    ValueError,
    r"^MultiMarginLoss: expected p to be 1 or 2, got 3",
)
case(
    "MultiMarginLoss",
    "margin=NaN",
    lambda: nn.MultiMarginLoss(margin=NAN),
    ValueError,
    r"^MultiMarginLoss: expected margin to be finite, got nan",
)
case(
    "SoftmaxCrossEntropy",
    "one-hot rows not summing to 1",
    lambda: SoftmaxCrossEntropy()(LOGITS, ONE_HOT * 0.5),
    ValueError,
    r"^SoftmaxCrossEntropy: expected each row of target to be a probability vector.*0.5",
)
case(
    "SoftmaxCrossEntropy",
    "labels of the wrong length",
    lambda: SoftmaxCrossEntropy()(LOGITS, ONE_HOT[:3]),
    ValueError,
    r"^SoftmaxCrossEntropy: expected target of shape \(4, 3\), got \(3, 3\)",
)
case(
    "SoftmaxCrossEntropy",
    "derivative before forward",
    lambda: SoftmaxCrossEntropy().derivative(),
    RuntimeError,
    r"^SoftmaxCrossEntropy\.backward: backward\(\) called before forward\(\)",
)
TARGET = np.full((4, 3), 0.5)
for name, make in [("MSELoss", nn.MSELoss), ("BCEWithLogitsLoss", nn.BCEWithLogitsLoss)]:
    case(
        name,
        "target of another shape",
        lambda make=make: make()(LOGITS, np.ones((4, 2))),
        ValueError,
        rf"^{name}: expected target of shape \(4, 3\).*got \(4, 2\)",
    )
    case(
        name,
        "float32 target for float64 output",
        lambda make=make: make()(LOGITS, TARGET.astype(np.float32)),
        TypeError,
        rf"^{name}: expected target of dtype float64.*got float32",
    )
    case(
        name,
        "NaN target",
        lambda make=make: make()(LOGITS, with_value(NAN)),
        ValueError,
        rf"^{name}: target contains 1 NaN",
    )
    case(
        name,
        "integer target",
        lambda make=make: make()(LOGITS, np.ones((4, 3), int)),
        TypeError,
        rf"^{name}: expected target of a floating dtype.*int64",
    )
    case(
        name,
        "inf output",
        lambda make=make: make()(with_value(INF), TARGET),
        ValueError,
        rf"^{name}: output contains 0 NaN and 1 inf",
    )
    case(
        name,
        "empty batch",
        lambda make=make: make()(np.ones((0, 3)), np.ones((0, 3))),
        ValueError,
        rf"^{name}: expected a non-empty batch",
    )
    case(
        name,
        "backward before forward",
        lambda make=make: make().backward(),
        RuntimeError,
        rf"^{name}\.backward: backward\(\) called before forward\(\)",
    )
case(
    "BCEWithLogitsLoss",
    "target outside [0, 1]",
    lambda: nn.BCEWithLogitsLoss()(LOGITS, np.full((4, 3), 2.0)),
    ValueError,
    r"^BCEWithLogitsLoss: expected target values in \[0, 1\], got values in \[2.0, 2.0\]",
)
case(
    "BCEWithLogitsLoss",
    "inf pos_weight",
    lambda: nn.BCEWithLogitsLoss(pos_weight=np.array(INF)),
    ValueError,
    r"^BCEWithLogitsLoss: expected pos_weight to hold finite numbers, got inf",
)
case(
    "BCEWithLogitsLoss",
    "NaN weight",
    lambda: nn.BCEWithLogitsLoss(weight=np.array([1.0, NAN, 1.0])),
    ValueError,
    r"^BCEWithLogitsLoss: expected weight to hold finite numbers, got",
)
for name in ("weight", "pos_weight"):
    case(
        "BCEWithLogitsLoss",
        f"{name} not broadcastable to the output",
        lambda name=name: nn.BCEWithLogitsLoss(**{name: np.ones(4)})(LOGITS, TARGET),
        ValueError,
        rf"^BCEWithLogitsLoss: expected {name} broadcastable to the output's shape \(4, 3\), "
        rf"got shape \(4,\)",
    )
    case(
        "BCEWithLogitsLoss",
        f"{name} that would enlarge the output",
        lambda name=name: nn.BCEWithLogitsLoss(**{name: np.ones((2, 4, 3))})(LOGITS, TARGET),
        ValueError,
        rf"^BCEWithLogitsLoss: expected {name} broadcastable to the output's shape \(4, 3\), "
        rf"got shape \(2, 4, 3\)",
    )
case(
    "MSELoss",
    "backward(grad_output) float32 for float64 output",
    lambda: _after_forward(nn.MSELoss(reduction="none"), TARGET).backward(
        np.ones((4, 3), np.float32)
    ),
    TypeError,
    r"^MSELoss\.backward: expected grad_output of dtype float64",
)


@pytest.mark.parametrize("item", INVALID_INPUTS, ids=[c.id for c in INVALID_INPUTS])
def test_invalid_input_raises_a_clear_error(item: Case):
    assert_raises_a_clear_error(item)
