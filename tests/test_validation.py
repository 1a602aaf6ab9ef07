"""Bad input gets a clear error (mytorch/validation.py and every entry point that uses it).

Each message must name the layer, what it expected and what it got, so every case checks
the exception type and the message.

The per-module invalid-input tables (see tests/invalid_inputs.py) are counted here, all
together: ``test_case_count`` prints how many cases run and fails if they shrink below
150. ``test_the_library_never_uses_assert`` keeps ``assert`` out of mytorch/ and hw1/,
since it vanishes under ``python -O``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest
from invalid_inputs import TABLE_MODULES, all_tables, cli_case_count, modules_defining_a_table

from mytorch import nn
from mytorch.activation import Identity, Sigmoid
from mytorch.batchnorm import BatchNorm
from mytorch.linear import Linear as CourseLinear
from mytorch.loss import SoftmaxCrossEntropy

ROOT = Path(__file__).resolve().parent.parent


def _x(n=5, features=4, dtype=np.float64):
    return np.random.default_rng(0).normal(size=(n, features)).astype(dtype)


def _with(value, index=(0, 1)):
    x = _x()
    x[index] = value
    return x


LOGITS = np.zeros((5, 3))

INPUT_CASES = [
    # --- Linear: shape, rank, dtype, values, emptiness
    pytest.param(lambda: nn.Linear(4, 3)(_x(features=3)), ValueError,
                 r"^Linear: expected input with 4 features \(shape \(N, 4\)\), got shape \(5, 3\)",
                 id="Linear-wrong-feature-count"),
    pytest.param(lambda: nn.Linear(4, 3)(np.ones(3)), ValueError,
                 r"^Linear: expected input with 4 features \(shape \(\*, 4\)\), got shape \(3,\)",
                 id="Linear-1d-input-wrong-feature-count"),
    pytest.param(lambda: CourseLinear(4, 3)(np.ones(4)), ValueError,
                 r"^Linear: expected input to be 2-D, got a 1-D array of shape \(4,\).*reshape",
                 id="course-Linear-1d-input"),
    pytest.param(lambda: nn.Linear(4, 3)(np.ones((5, 4), dtype=np.int64)), TypeError,
                 r"^Linear: expected input of a floating dtype .*got dtype int64",
                 id="Linear-integer-input"),
    pytest.param(lambda: nn.Linear(4, 3)(np.ones((5, 4), dtype=object)), TypeError,
                 r"^Linear: expected input of a floating dtype .*got dtype object",
                 id="Linear-object-input"),
    pytest.param(lambda: nn.Linear(4, 3)(np.ones((5, 4), dtype=np.complex128)), TypeError,
                 r"^Linear: expected input of a floating dtype .*got dtype complex128",
                 id="Linear-complex-input"),
    pytest.param(lambda: nn.Linear(4, 3)(_x(dtype=np.float32)), TypeError,
                 r"^Linear: expected input of dtype float64 \(the layer's dtype\), got float32",
                 id="Linear-float32-input-to-float64-layer"),
    pytest.param(lambda: nn.Linear(4, 3, dtype=np.float32)(_x()), TypeError,
                 r"^Linear: expected input of dtype float32 \(the layer's dtype\), got float64",
                 id="Linear-float64-input-to-float32-layer"),
    pytest.param(lambda: nn.Linear(4, 3)(_with(np.nan)), ValueError,
                 r"^Linear: input contains 1 NaN and 0 inf values \(first at index \(0, 1\)\)",
                 id="Linear-nan-input"),
    pytest.param(lambda: nn.Linear(4, 3)(_with(-np.inf, (2, 3))), ValueError,
                 r"^Linear: input contains 0 NaN and 1 inf values \(first at index \(2, 3\)\)",
                 id="Linear-inf-input"),
    pytest.param(lambda: nn.Linear(4, 3)([[1.0, 2.0, 3.0, 4.0]]), TypeError,
                 r"^Linear: expected input to be a numpy.ndarray, got list",
                 id="Linear-list-input"),
    pytest.param(lambda: nn.Linear(4, 3)(np.ones((0, 4))), ValueError,
                 r"^Linear: expected a non-empty batch, got input of shape \(0, 4\)",
                 id="Linear-empty-batch"),
    pytest.param(lambda: CourseLinear(4, 3)(_x(features=5)), ValueError,
                 r"^Linear: expected input with 4 features", id="course-Linear-wrong-features"),
    # --- BatchNorm
    pytest.param(lambda: nn.BatchNorm1d(4)(_x(features=6)), ValueError,
                 r"^BatchNorm1d: expected input with 4 features .*got shape \(5, 6\)",
                 id="BatchNorm1d-wrong-feature-count"),
    pytest.param(lambda: nn.BatchNorm1d(4)(_x(n=1)), ValueError,
                 r"^BatchNorm1d: expected more than 1 sample per feature in training mode, "
                 r"got input of shape \(1, 4\)", id="BatchNorm1d-training-batch-of-1"),
    pytest.param(lambda: BatchNorm(4)(_x(n=1)), ValueError,
                 r"^BatchNorm: expected more than 1 sample per feature in training mode",
                 id="course-BatchNorm-training-batch-of-1"),
    pytest.param(lambda: nn.BatchNorm1d(4)(np.ones((5, 4), dtype=np.int32)), TypeError,
                 r"^BatchNorm1d: expected input of a floating dtype .*got dtype int32",
                 id="BatchNorm1d-integer-input"),
    pytest.param(lambda: nn.BatchNorm1d(4)(_x(dtype=np.float32)), TypeError,
                 r"^BatchNorm1d: expected input of dtype float64 .*got float32",
                 id="BatchNorm1d-float32-input-to-float64-layer"),
    pytest.param(lambda: nn.BatchNorm1d(4)(np.ones((0, 4))), ValueError,
                 r"^BatchNorm1d: expected a non-empty batch", id="BatchNorm1d-empty-batch"),
    # --- activations and dropout
    pytest.param(lambda: nn.Sigmoid()(np.ones((2, 3), dtype=np.int64)), TypeError,
                 r"^Sigmoid: expected input of a floating dtype .*got dtype int64",
                 id="Sigmoid-integer-input"),
    pytest.param(lambda: nn.ReLU()(np.ones((2, 3), dtype=np.complex64)), TypeError,
                 r"^ReLU: expected input of a floating dtype .*got dtype complex64",
                 id="ReLU-complex-input"),
    pytest.param(lambda: nn.Tanh()(_with(np.nan)), ValueError,
                 r"^Tanh: input contains 1 NaN", id="Tanh-nan-input"),
    pytest.param(lambda: nn.Softmax(dim=2)(LOGITS), ValueError,
                 r"^Softmax: dim 2 is out of range for a 2-D input", id="Softmax-dim-out-of-range"),
    pytest.param(lambda: nn.Dropout(0.5)(np.ones((2, 3), dtype=object)), TypeError,
                 r"^Dropout: expected input of a floating dtype .*got dtype object",
                 id="Dropout-object-input"),
    # --- losses: labels
    pytest.param(lambda: nn.CrossEntropyLoss()(LOGITS, np.array([0, 1, 2, 3, 0])), ValueError,
                 r"^CrossEntropyLoss: target label 3 is out of range; expected class indices "
                 r"in \[0, 2\] for 3 classes", id="CrossEntropyLoss-label-too-large"),
    pytest.param(lambda: nn.CrossEntropyLoss()(LOGITS, np.array([0, 1, -1, 2, 0])), ValueError,
                 r"^CrossEntropyLoss: target label -1 is out of range",
                 id="CrossEntropyLoss-negative-label"),
    pytest.param(lambda: nn.CrossEntropyLoss()(LOGITS, np.array([0.0, 1, 2, 1, 0])), TypeError,
                 r"^CrossEntropyLoss: expected integer class indices of shape \(5,\) or "
                 r"probabilities of shape \(5, 3\), got a 1-D float64 target",
                 id="CrossEntropyLoss-float-labels"),
    pytest.param(lambda: nn.CrossEntropyLoss()(LOGITS, np.array(list("abcab"))), TypeError,
                 r"^CrossEntropyLoss: expected integer class indices as target, got dtype <U1",
                 id="CrossEntropyLoss-string-labels"),
    pytest.param(lambda: nn.CrossEntropyLoss()(LOGITS, np.array([0, 1, 2, 1])), ValueError,
                 r"^CrossEntropyLoss: target has 4 labels but the input has 5 rows",
                 id="CrossEntropyLoss-wrong-number-of-labels"),
    pytest.param(lambda: nn.CrossEntropyLoss()(LOGITS, np.zeros((5, 1), dtype=np.int64)),
                 ValueError, r"^CrossEntropyLoss: expected target of shape \(5,\), got \(5, 1\)",
                 id="CrossEntropyLoss-2d-class-indices"),
    pytest.param(lambda: SoftmaxCrossEntropy()(LOGITS, np.full((5, 3), 0.5)), ValueError,
                 r"^SoftmaxCrossEntropy: expected each row of target to be a probability vector "
                 r"\(non-negative, summing to 1\), but row 0 sums to 1.5",
                 id="SoftmaxCrossEntropy-rows-not-summing-to-1"),
    pytest.param(lambda: nn.CrossEntropyLoss()(LOGITS, np.tile([1.5, -0.5, 0.0], (5, 1))),
                 ValueError, r"^CrossEntropyLoss: expected target probabilities in \[0, 1\], "
                 r"got values in \[-0.5, 1.5\]",
                 id="CrossEntropyLoss-negative-probability"),
    pytest.param(lambda: nn.CrossEntropyLoss()(LOGITS, np.eye(3)[[0, 1, 2, 0]]), ValueError,
                 r"^CrossEntropyLoss: expected target of shape \(5, 3\), got \(4, 3\)",
                 id="CrossEntropyLoss-wrong-number-of-one-hot-rows"),
    pytest.param(lambda: nn.CrossEntropyLoss()(LOGITS, np.eye(3, dtype=np.float32)[[0] * 5]),
                 TypeError, r"^CrossEntropyLoss: expected target of dtype float64 like the input, "
                 r"got float32", id="CrossEntropyLoss-float32-one-hot-for-float64-logits"),
    pytest.param(lambda: SoftmaxCrossEntropy()(LOGITS, 2 * np.eye(3)[[0, 1, 2, 0, 1]]),
                 ValueError, r"^SoftmaxCrossEntropy: expected each row of target to be a "
                 r"probability vector", id="SoftmaxCrossEntropy-one-hot-times-2"),
    pytest.param(lambda: nn.NLLLoss()(LOGITS, np.array([0, 1, 2, 5, 0])), ValueError,
                 r"^NLLLoss: target label 5 is out of range", id="NLLLoss-label-out-of-range"),
    pytest.param(lambda: nn.NLLLoss()(LOGITS, np.zeros(5)), TypeError,
                 r"^NLLLoss: expected integer class indices as target, got dtype float64",
                 id="NLLLoss-float-labels"),
    pytest.param(lambda: nn.MultiMarginLoss()(LOGITS, np.array([0, 1, 2])), ValueError,
                 r"^MultiMarginLoss: target has 3 labels but the input has 5 rows",
                 id="MultiMarginLoss-wrong-number-of-labels"),
    pytest.param(lambda: nn.MultiMarginLoss()(LOGITS, np.array([0, 1, 3, 1, 0])), ValueError,
                 r"^MultiMarginLoss: target label 3 is out of range",
                 id="MultiMarginLoss-label-out-of-range"),
    # --- losses: outputs and float targets
    pytest.param(lambda: nn.CrossEntropyLoss()(np.zeros(3), np.array([0])), ValueError,
                 r"^CrossEntropyLoss: expected target of shape \(\), got \(1,\)",
                 id="CrossEntropyLoss-1d-logits-batched-target"),
    pytest.param(lambda: nn.CrossEntropyLoss()(np.array(1.0), np.array(0)), ValueError,
                 r"^CrossEntropyLoss: expected output of shape \(C,\), \(N, C\) or "
                 r"\(N, C, d1, ...\), got a 0-D array",
                 id="CrossEntropyLoss-0d-logits"),
    pytest.param(lambda: nn.CrossEntropyLoss()(np.zeros((0, 3)), np.zeros(0, dtype=np.int64)),
                 ValueError, r"^CrossEntropyLoss: expected a non-empty batch, got output of "
                 r"shape \(0, 3\)", id="CrossEntropyLoss-empty-batch"),
    pytest.param(lambda: nn.CrossEntropyLoss()(np.full((5, 3), np.inf), np.zeros(5, dtype=int)),
                 ValueError, r"^CrossEntropyLoss: output contains 0 NaN and 15 inf values",
                 id="CrossEntropyLoss-inf-logits"),
    pytest.param(lambda: nn.CrossEntropyLoss(weight=np.ones(2))(LOGITS, np.zeros(5, dtype=int)),
                 ValueError, r"^CrossEntropyLoss: expected weight of shape \(3,\), got \(2,\)",
                 id="CrossEntropyLoss-weight-of-wrong-length"),
    pytest.param(lambda: nn.MSELoss()(LOGITS, np.zeros((5, 2))), ValueError,
                 r"^MSELoss: expected target of shape \(5, 3\) like the output, got \(5, 2\)",
                 id="MSELoss-target-shape"),
    pytest.param(lambda: nn.MSELoss()(LOGITS, np.zeros((5, 3), dtype=np.int64)), TypeError,
                 r"^MSELoss: expected target of a floating dtype .*got dtype int64",
                 id="MSELoss-integer-target"),
    pytest.param(lambda: nn.BCEWithLogitsLoss()(LOGITS, np.full((5, 3), 2.0)), ValueError,
                 r"^BCEWithLogitsLoss: expected target values in \[0, 1\], got values in "
                 r"\[2.0, 2.0\]", id="BCEWithLogitsLoss-target-out-of-range"),
]  # fmt: skip


@pytest.mark.parametrize(("call", "error", "message"), INPUT_CASES)
def test_bad_input_raises_a_clear_error(call, error, message):
    with pytest.raises(error, match=message):
        call()


BACKWARD_FIRST = {
    "Linear": lambda: nn.Linear(4, 3).backward(np.ones((5, 3))),
    "course Linear": lambda: CourseLinear(4, 3).backward(np.ones((5, 3))),
    "BatchNorm1d": lambda: nn.BatchNorm1d(4).backward(np.ones((5, 4))),
    "BatchNorm": lambda: BatchNorm(4).backward(np.ones((5, 4))),
    "Dropout": lambda: nn.Dropout(0.5).backward(np.ones((5, 4))),
    "Identity": lambda: Identity().backward(np.ones((5, 4))),
    "Sigmoid": lambda: Sigmoid().backward(np.ones((5, 4))),
    "GELU": lambda: nn.GELU().backward(np.ones((5, 4))),
    "Softmax": lambda: nn.Softmax(dim=1).backward(np.ones((5, 4))),
    "LogSoftmax": lambda: nn.LogSoftmax(dim=1).backward(np.ones((5, 4))),
    "CrossEntropyLoss": lambda: nn.CrossEntropyLoss().backward(),
    "MSELoss": lambda: nn.MSELoss().derivative(),
}


@pytest.mark.parametrize("name", BACKWARD_FIRST)
def test_backward_before_forward_raises(name):
    layer = name.removeprefix("course ")
    with pytest.raises(
        RuntimeError, match=rf"^{layer}\.backward: backward\(\) called before forward\(\)"
    ):
        BACKWARD_FIRST[name]()


def test_sigmoid_derivative_before_forward_names_derivative():
    with pytest.raises(RuntimeError, match=r"^Sigmoid\.derivative: backward\(\) called before"):
        Sigmoid().derivative()


@pytest.mark.parametrize(
    "make",
    [nn.Sigmoid, nn.Identity, lambda: nn.Softmax(dim=1), lambda: nn.LogSoftmax(dim=1)],
    ids=["Sigmoid", "Identity", "Softmax", "LogSoftmax"],
)
def test_activation_backward_with_a_wrong_grad_output_shape_raises(make):
    act = make()
    act(_x())
    name = type(act).__name__
    with pytest.raises(
        ValueError,
        match=rf"^{name}\.backward: expected grad_output of shape \(5, 4\) "
        r"\(the output's\), got \(5, 3\)",
    ):
        act.backward(np.ones((5, 3)))


def test_activation_backward_with_an_integer_grad_output_raises():
    act = nn.Softmax(dim=1)
    act(_x())
    with pytest.raises(TypeError, match=r"^Softmax\.backward: expected grad_output of a floating"):
        act.backward(np.ones((5, 4), dtype=np.int64))


def test_linear_backward_with_a_wrong_delta_shape_raises():
    layer = nn.Linear(4, 3)
    layer(_x())
    with pytest.raises(ValueError, match=r"^Linear\.backward: expected delta of shape \(5, 3\)"):
        layer.backward(np.ones((4, 3)))


def test_batchnorm_backward_with_a_wrong_delta_shape_raises():
    bn = nn.BatchNorm1d(4)
    bn(_x())
    with pytest.raises(ValueError, match=r"^BatchNorm1d\.backward: expected delta of shape"):
        bn.backward(np.ones((5, 3)))


CONSTRUCTOR_CASES = [
    pytest.param(lambda: nn.Linear(0, 3), ValueError,
                 r"^Linear: expected in_features to be a positive int, got 0", id="Linear-0-in"),
    pytest.param(lambda: nn.Linear(3, 2.5), TypeError,
                 r"^Linear: expected out_features to be a positive int, got 2.5",
                 id="Linear-float-out"),
    pytest.param(lambda: nn.Linear(3, 3, bias=3), TypeError,
                 r"^Linear: expected bias to be a bool, got 3", id="Linear-bias-not-bool"),
    pytest.param(lambda: nn.Linear(3, 3, dtype=np.int64), TypeError,
                 r"^Linear: expected dtype float32 or float64", id="Linear-integer-dtype"),
    pytest.param(lambda: CourseLinear(3, 2, lambda i, o: np.ones((o, i))), ValueError,
                 r"^Linear: weight_init_fn returned shape \(2, 3\), expected \(3, 2\)",
                 id="course-Linear-transposed-init"),
    pytest.param(lambda: nn.BatchNorm1d(3, momentum=2.0), ValueError,
                 r"^BatchNorm1d: expected momentum in \[0, 1\], got 2.0",
                 id="BatchNorm1d-momentum-above-1"),
    pytest.param(lambda: nn.BatchNorm1d(3, eps=0.0), ValueError,
                 r"^BatchNorm1d: expected eps in \(0, inf\]", id="BatchNorm1d-eps-0"),
    pytest.param(lambda: nn.Dropout(1.5), ValueError,
                 r"^Dropout: expected p in \[0, 1\], got 1.5", id="Dropout-p-above-1"),
    pytest.param(lambda: nn.GELU("fast"), ValueError,
                 r"^GELU: expected approximate 'none' or 'tanh', got 'fast'", id="GELU-mode"),
    pytest.param(lambda: nn.Softplus(beta=0.0), ValueError,
                 r"^Softplus: expected beta in \(0, inf\]", id="Softplus-beta-0"),
    pytest.param(lambda: nn.LeakyReLU("0.1"), TypeError,
                 r"^LeakyReLU: expected negative_slope to be a number, got '0.1'",
                 id="LeakyReLU-slope-string"),
    pytest.param(lambda: nn.CrossEntropyLoss(reduction="avg"), ValueError,
                 r"^CrossEntropyLoss: expected reduction in \('mean', 'sum', 'none'\), got 'avg'",
                 id="CrossEntropyLoss-reduction"),
    pytest.param(lambda: nn.MultiMarginLoss(p=3), ValueError,
                 r"^MultiMarginLoss: expected p to be 1 or 2, got 3", id="MultiMarginLoss-p"),
]  # fmt: skip


@pytest.mark.parametrize(("call", "error", "message"), CONSTRUCTOR_CASES)
def test_bad_constructor_argument_raises_a_clear_error(call, error, message):
    with pytest.raises(error, match=message):
        call()


# ----------------------------------------------------------------------- the invalid-input tables
def test_case_count():
    """The invalid-input tables of all modules together cover 150+ invalid inputs (the
    number is printed with ``-s``)."""
    assert modules_defining_a_table() == set(TABLE_MODULES), (
        "a test module defines INVALID_INPUTS but is not in invalid_inputs.TABLE_MODULES "
        "(or the reverse)"
    )
    cases = [c for table in all_tables().values() for c in table]
    cli_cases = cli_case_count()
    total = len(cases) + cli_cases
    entries = sorted({c.entry for c in cases})
    print(
        f"\n{len(cases)} library cases over {len(entries)} entry points "
        f"+ {cli_cases} command-line cases = {total} invalid-input cases"
    )
    assert len({c.id for c in cases}) == len(cases), "duplicate case ids"
    assert total >= 150


# ----------------------------------------------------------------------- no assert for users
def test_the_library_never_uses_assert():
    """``assert`` vanishes under ``python -O``, so it must never guard a user's input."""
    offenders = []
    for folder in ("mytorch", "hw1"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            tree = ast.parse(path.read_text(), filename=str(path))
            offenders += [
                f"{path.relative_to(ROOT)}:{node.lineno}"
                for node in ast.walk(tree)
                if isinstance(node, ast.Assert)
            ]
    assert not offenders, f"assert statements in the library: {offenders}"


def test_assume_finite_skips_only_the_nan_scan_nests_and_restores():
    from mytorch.validation import assume_finite, check_float_array, finite_checks_enabled

    bad = np.array([[np.nan, 1.0]])
    with pytest.raises(ValueError, match="input contains 1 NaN"):
        check_float_array(bad, "f")
    with assume_finite():
        assert not finite_checks_enabled()
        assert check_float_array(bad, "f") is bad  # the scan is skipped ...
        with pytest.raises(TypeError, match="floating dtype"):
            check_float_array(np.ones((1, 2), np.int64), "f")  # ... the rest is not
        with assume_finite(False):
            with pytest.raises(ValueError, match="NaN"):
                check_float_array(bad, "f")
        assert not finite_checks_enabled()
    assert finite_checks_enabled()
    with pytest.raises(RuntimeError, match="boom"), assume_finite():
        raise RuntimeError("boom")
    assert finite_checks_enabled()  # restored after an exception too
