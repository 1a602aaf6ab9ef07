"""Finite-difference gradient checks (mytorch/gradcheck.py) of every module and loss."""

from __future__ import annotations

import numpy as np
import pytest

from mytorch import gradcheck, nn
from mytorch.batchnorm import BatchNorm
from mytorch.linear import Linear as CourseLinear
from mytorch.loss import SoftmaxCrossEntropy

MODULES = {
    "Identity": nn.Identity,
    "Step": nn.Step,
    "Sigmoid": nn.Sigmoid,
    "Tanh": nn.Tanh,
    "ReLU": nn.ReLU,
    "LeakyReLU": lambda: nn.LeakyReLU(0.2),
    "ELU": lambda: nn.ELU(0.7),
    "GELU": nn.GELU,
    "GELU(tanh)": lambda: nn.GELU(approximate="tanh"),
    "Softplus": lambda: nn.Softplus(beta=2.0, threshold=3.0),
    "Softmax(dim=1)": lambda: nn.Softmax(dim=1),
    "Softmax(dim=0)": lambda: nn.Softmax(dim=0),
    "LogSoftmax(dim=1)": lambda: nn.LogSoftmax(dim=1),
    "LogSoftmax(dim=0)": lambda: nn.LogSoftmax(dim=0),
    "Linear": lambda: nn.Linear(4, 3, rng=0),
    "Linear(bias=False)": lambda: nn.Linear(4, 3, bias=False, rng=0),
    "course Linear": lambda: CourseLinear(
        4, 3, lambda i, o: np.random.default_rng(0).normal(size=(i, o)), lambda o: np.ones((1, o))
    ),
    "BatchNorm1d": lambda: nn.BatchNorm1d(4),
    "BatchNorm1d(affine=False)": lambda: nn.BatchNorm1d(4, affine=False),
    "BatchNorm1d(momentum=None)": lambda: nn.BatchNorm1d(4, momentum=None),
    "BatchNorm1d(track_running_stats=False)": lambda: nn.BatchNorm1d(4, track_running_stats=False),
    "BatchNorm1d(eval)": lambda: _trained_batchnorm().eval(),
    "course BatchNorm": lambda: BatchNorm(4),
    "Dropout": lambda: nn.Dropout(0.5, rng=0),
    "Dropout(eval)": lambda: nn.Dropout(0.5, rng=0).eval(),
    "Sequential": lambda: nn.Sequential(
        nn.Linear(4, 5, rng=0),
        nn.BatchNorm1d(5),
        nn.GELU(),
        nn.Dropout(0.3, rng=1),
        nn.Linear(5, 3, rng=2),
        nn.LogSoftmax(dim=1),
    ),
}


def _trained_batchnorm() -> nn.BatchNorm1d:
    bn = nn.BatchNorm1d(4)
    bn(np.random.default_rng(5).normal(loc=1.0, scale=2.0, size=(10, 4)))
    return bn


def _x(n=3, features=4, seed=1):
    return np.random.default_rng(seed).normal(size=(n, features))


@pytest.mark.parametrize("name", MODULES)
def test_gradcheck_passes_for_module(name):
    module = MODULES[name]()
    report = gradcheck(module, _x())
    assert report.passed, f"{name}\n{report}"
    assert set(report) == {"input"} | {n for n, _ in module.named_parameters()}


#: Modules on inputs of PyTorch's other layouts: (make, input shape).
OTHER_SHAPES = {
    "Linear on (2, 3, 4)": (lambda: nn.Linear(4, 3, rng=0), (2, 3, 4)),
    "Linear on (4,)": (lambda: nn.Linear(4, 3, rng=0), (4,)),
    "BatchNorm1d on (3, 4, 2)": (lambda: nn.BatchNorm1d(4), (3, 4, 2)),
    "BatchNorm1d(eval) on (3, 4, 2)": (lambda: _trained_batchnorm().eval(), (3, 4, 2)),
    "BatchNorm1d(bias=False)": (lambda: nn.BatchNorm1d(4, bias=False), (3, 4)),
    "Tanh on ()": (nn.Tanh, ()),
    "GELU on ()": (nn.GELU, ()),
    "Softmax(dim=0) on ()": (lambda: nn.Softmax(dim=0), ()),
    "LogSoftmax(dim=2) on (2, 3, 4)": (lambda: nn.LogSoftmax(dim=2), (2, 3, 4)),
}


@pytest.mark.parametrize("name", OTHER_SHAPES)
def test_gradcheck_passes_for_module_on_other_layouts(name):
    make, shape = OTHER_SHAPES[name]
    module = make()
    x = np.asarray(np.random.default_rng(1).normal(size=shape))
    report = gradcheck(module, x)
    assert report.passed, f"{name}\n{report}"


LOSSES = {
    "MSELoss": (lambda r: nn.MSELoss(reduction=r), lambda rng: rng.normal(size=(3, 4))),
    "BCEWithLogitsLoss(weight,pos_weight)": (
        lambda r: nn.BCEWithLogitsLoss(
            weight=np.array([0.5, 1.0, 2.0, 1.5]), reduction=r, pos_weight=np.full(4, 3.0)
        ),
        lambda rng: rng.uniform(size=(3, 4)),
    ),
    "CrossEntropyLoss(indices,weight)": (
        lambda r: nn.CrossEntropyLoss(weight=np.array([0.5, 1.0, 2.0, 1.5]), reduction=r),
        lambda rng: np.array([0, 3, 1]),
    ),
    "CrossEntropyLoss(probabilities)": (
        lambda r: nn.CrossEntropyLoss(reduction=r),
        lambda rng: rng.dirichlet(np.ones(4), size=3),
    ),
    "NLLLoss(weight)": (
        lambda r: nn.NLLLoss(weight=np.array([0.5, 1.0, 2.0, 1.5]), reduction=r),
        lambda rng: np.array([2, 0, 2]),
    ),
    "CrossEntropyLoss(indices,weight<0,ignore_index,label_smoothing)": (
        lambda r: nn.CrossEntropyLoss(
            weight=np.array([0.5, -1.0, 2.0, 1.5]), ignore_index=1, reduction=r, label_smoothing=0.2
        ),
        lambda rng: np.array([0, 1, 3]),
    ),
    "CrossEntropyLoss(probabilities,label_smoothing)": (
        lambda r: nn.CrossEntropyLoss(reduction=r, label_smoothing=0.3),
        lambda rng: rng.dirichlet(np.ones(4), size=3),
    ),
    "NLLLoss(ignore_index)": (
        lambda r: nn.NLLLoss(ignore_index=2, reduction=r),
        lambda rng: np.array([2, 0, 1]),
    ),
    "MultiMarginLoss(p=1)": (
        lambda r: nn.MultiMarginLoss(p=1, margin=0.7, reduction=r),
        lambda rng: np.array([1, 0, 3]),
    ),
    "MultiMarginLoss(p=2,weight)": (
        lambda r: nn.MultiMarginLoss(p=2, weight=np.array([0.5, 1.0, 2.0, 1.5]), reduction=r),
        lambda rng: np.array([1, 0, 3]),
    ),
}


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("name", LOSSES)
def test_gradcheck_passes_for_loss(name, reduction, rng):
    make_loss, make_target = LOSSES[name]
    report = gradcheck(make_loss(reduction), _x(), make_target(rng))
    assert report.passed, f"{name}\n{report}"


#: Losses of class scores on (N, C, d1, d2) and (C,) outputs: (make, output shape, target).
LOSS_LAYOUTS = {
    "CrossEntropyLoss on (2, 4, 3, 2)": (
        lambda r: nn.CrossEntropyLoss(weight=np.array([0.5, 1.0, 2.0, 1.5]), reduction=r),
        (2, 4, 3, 2),
        np.array([[[0, 1], [2, 3], [3, 3]], [[1, 1], [0, 2], [2, 0]]]),
    ),
    "CrossEntropyLoss(probabilities) on (2, 4, 3)": (
        lambda r: nn.CrossEntropyLoss(reduction=r, label_smoothing=0.1),
        (2, 4, 3),
        np.moveaxis(np.random.default_rng(2).dirichlet(np.ones(4), size=(2, 3)), -1, 1),
    ),
    "NLLLoss(ignore_index) on (2, 4, 3)": (
        lambda r: nn.NLLLoss(ignore_index=0, reduction=r),
        (2, 4, 3),
        np.array([[0, 1, 2], [3, 0, 2]]),
    ),
    "CrossEntropyLoss on (4,)": (
        lambda r: nn.CrossEntropyLoss(reduction=r),
        (4,),
        np.array(2),
    ),
    "MultiMarginLoss on (4,)": (
        lambda r: nn.MultiMarginLoss(p=2, reduction=r),
        (4,),
        np.array(1),
    ),
}


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("name", LOSS_LAYOUTS)
def test_gradcheck_passes_for_loss_on_other_layouts(name, reduction):
    make_loss, shape, target = LOSS_LAYOUTS[name]
    output = np.asarray(np.random.default_rng(3).normal(size=shape))
    report = gradcheck(make_loss(reduction), output, target)
    assert report.passed, f"{name}\n{report}"


def test_gradcheck_passes_for_course_softmax_cross_entropy():
    labels = np.eye(4)[[2, 0, 1]]
    assert gradcheck(SoftmaxCrossEntropy(), _x(), labels).passed


def test_gradcheck_leaves_batchnorm_running_stats_and_dropout_rng_untouched():
    model = nn.Sequential(nn.BatchNorm1d(4), nn.Dropout(0.5, rng=0))
    before = {k: v.copy() for k, v in model.state_dict().items()}
    rng_state = model[1].rng.bit_generator.state
    gradcheck(model, _x())
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[key])
    assert model[1].rng.bit_generator.state == rng_state


# --------------------------------------------------------------- deliberately broken modules
class DoubledInputGradLinear(nn.Linear):
    def backward(self, grad_output):
        return 2.0 * super().backward(grad_output)


class TransposedBiasGradLinear(nn.Linear):
    def backward(self, grad_output):
        grad_input = super().backward(grad_output)
        self.bias.grad = self.bias.grad[::-1].copy()  # gradient of the wrong units
        return grad_input


class SigmoidWithoutOneMinus(nn.Sigmoid):
    def backward(self, grad_output):
        return grad_output * self.state  # forgot the (1 - sigmoid) factor


class BatchNormWithoutMeanTerms(nn.BatchNorm1d):
    def backward(self, delta):
        super().backward(delta)
        return (
            delta * self.weight.data / np.sqrt(self.batch_var + self.eps)
        )  # as if stats were fixed


class CrossEntropyForgettingTheMean(nn.CrossEntropyLoss):
    def backward(self):
        return super().backward() * self.logits.shape[0]


BROKEN = {
    "input gradient doubled": (lambda: DoubledInputGradLinear(4, 3, rng=0), "input"),
    "bias gradient permuted": (lambda: TransposedBiasGradLinear(4, 3, rng=0), "bias"),
    "sigmoid derivative wrong": (SigmoidWithoutOneMinus, "input"),
    "batchnorm mean terms dropped": (lambda: BatchNormWithoutMeanTerms(4), "input"),
}


@pytest.mark.parametrize("name", BROKEN)
def test_gradcheck_fails_for_a_wrong_backward(name):
    make, bad_tensor = BROKEN[name]
    report = gradcheck(make(), _x())
    assert not report.passed
    assert report[bad_tensor] > 1e-2
    assert "FAIL" in str(report)


def test_gradcheck_fails_for_a_loss_with_a_wrong_gradient():
    report = gradcheck(CrossEntropyForgettingTheMean(), _x(), np.array([0, 1, 2]))
    assert not report.passed and report["input"] > 0.5


def test_gradcheck_refuses_float32_inputs():
    with pytest.raises(TypeError, match="gradcheck: finite differences need float64 inputs"):
        gradcheck(nn.Tanh(), _x().astype(np.float32))


def test_gradcheck_refuses_a_non_module():
    with pytest.raises(TypeError, match="gradcheck: expected a Module or loss, got function"):
        gradcheck(lambda x: x, _x())


def test_numeric_gradient_perturbs_a_transposed_view_in_place():
    # The course's Linear.W is weight.data.T: reshape(-1) of it would be a copy.
    from mytorch.tools.gradcheck import numeric_gradient

    rng = np.random.default_rng(0)
    x, upstream = rng.normal(size=(8, 5)), rng.normal(size=(8, 3))
    layer = CourseLinear(5, 3, lambda i, o: rng.normal(size=(i, o)), lambda o: np.zeros((1, o)))
    assert not layer.W.flags.c_contiguous
    numeric = numeric_gradient(layer.W, lambda: float(np.sum(layer.forward(x) * upstream)))
    np.testing.assert_allclose(numeric, x.T @ upstream, rtol=1e-6, atol=1e-8)
