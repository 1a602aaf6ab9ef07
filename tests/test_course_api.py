"""The course API (hw1/hw1.py, hw1/mc.py) as the CMU 11-785 HW1P1 autograder uses it.

Each handout configuration is trained for 5 steps next to a PyTorch model written out
here with the handout's rules:

* forward: z = x W + b (W (in, out), b (1, out)); on the first ``num_bn_layers`` layers
  BatchNorm with the batch mean and *biased* variance, eps = 1e-8, running averages
  with alpha = 0.9; sigmoid on hidden layers, identity on the output;
* loss: softmax cross-entropy per sample, shape (batch,);
* gradients: dW, db of the *mean* loss; dgamma, dbeta (and dx) of the *sum*;
* step: v = momentum v - lr dW; W += v (same for b); gamma -= lr dgamma; beta -= lr dbeta.

The invalid-input cases at the end check that ``hw1.MLP`` rejects inconsistent
arguments, bad input and bad labels with a clear error (table conventions in
tests/invalid_inputs.py).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch
from invalid_inputs import NAN, ONE_HOT, Case, CaseTable, assert_raises_a_clear_error, good

from hw1 import hw1 as hw1_package
from mytorch.activation import Identity, Sigmoid
from mytorch.loss import SoftmaxCrossEntropy

ROOT = Path(__file__).resolve().parents[1]


def _load_course_file(name: str):
    """Run hw1/<name>.py as a module of its own. Not ``import hw1`` with hw1/ on
    sys.path: that would claim the name ``hw1`` in sys.modules, which the invalid-input
    cases below import as the folder (``from hw1 import hw1``, here ``hw1_package``).
    test_course_import.py covers the course's own import statements."""
    spec = importlib.util.spec_from_file_location(f"_course_{name}", ROOT / "hw1" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


hw1 = _load_course_file("hw1")
mc = _load_course_file("mc")

INPUT, OUTPUT, BATCH, LR, STEPS = 784, 10, 20, 0.008, 5
ALPHA, EPS = 0.9, 1e-8

CONFIGS = {
    "linear classifier": ([], 0.0, 0),
    "one hidden layer [32]": ([32], 0.0, 0),
    "hidden [64, 32]": ([64, 32], 0.0, 0),
    "five hidden layers [32]*5": ([32] * 5, 0.0, 0),
    "batch norm on the first layer": ([64, 32], 0.0, 1),
    "momentum 0.856": ([64, 32], 0.856, 0),
    "momentum 0.856 and batch norm": ([64, 32], 0.856, 1),
}


def weight_init_fn(n_in, n_out):
    return np.random.randn(n_in, n_out)  # noqa: NPY002 - the course API


def bias_init_fn(n_out):
    return np.zeros((1, n_out))


def build_mlp(hiddens, momentum, num_bn_layers):
    np.random.seed(11785)  # noqa: NPY002 - the handout seeds the global generator
    activations = [Sigmoid() for _ in hiddens] + [Identity()]
    return hw1.MLP(
        INPUT,
        OUTPUT,
        hiddens,
        activations,
        weight_init_fn,
        bias_init_fn,
        SoftmaxCrossEntropy(),
        LR,
        momentum=momentum,
        num_bn_layers=num_bn_layers,
    )


def handout_weights(hiddens):
    """The weights the handout's seeding gives: randn(in, out) layer by layer, in order."""
    np.random.seed(11785)  # noqa: NPY002 - the handout seeds the global generator
    sizes = [INPUT, *hiddens, OUTPUT]
    pairs = zip(sizes[:-1], sizes[1:], strict=True)
    return [np.random.randn(n_in, n_out) for n_in, n_out in pairs]  # noqa: NPY002


class HandoutTorchMLP:
    """The handout's network and update rule, in PyTorch tensors (float64)."""

    def __init__(self, weights, num_bn_layers, momentum):
        def leaf(array):
            return torch.tensor(array, dtype=torch.float64, requires_grad=True)

        self.W = [leaf(w) for w in weights]
        self.b = [leaf(np.zeros((1, w.shape[1]))) for w in weights]
        features = [w.shape[1] for w in weights[:num_bn_layers]]
        self.gamma = [leaf(np.ones((1, f))) for f in features]
        self.beta = [leaf(np.zeros((1, f))) for f in features]
        self.running_mean = [torch.zeros((1, f), dtype=torch.float64) for f in features]
        self.running_var = [torch.ones((1, f), dtype=torch.float64) for f in features]
        self.v_W = [torch.zeros_like(w) for w in self.W]
        self.v_b = [torch.zeros_like(b) for b in self.b]
        self.momentum = momentum
        self.pre_bn = [None] * len(features)

    def forward(self, x, train=True):
        h = x
        for i, (W, b) in enumerate(zip(self.W, self.b, strict=True)):
            z = h @ W + b
            if i < len(self.gamma):
                if train:
                    if z.requires_grad:
                        z.retain_grad()
                        self.pre_bn[i] = z
                    mean = z.mean(dim=0, keepdim=True)
                    var = z.var(dim=0, unbiased=False, keepdim=True)
                    with torch.no_grad():
                        self.running_mean[i] = ALPHA * self.running_mean[i] + (1 - ALPHA) * mean
                        self.running_var[i] = ALPHA * self.running_var[i] + (1 - ALPHA) * var
                else:
                    mean, var = self.running_mean[i], self.running_var[i]
                z = self.gamma[i] * (z - mean) / torch.sqrt(var + EPS) + self.beta[i]
            h = torch.sigmoid(z) if i < len(self.W) - 1 else z
        return h

    def zero_grads(self):
        for tensor in self.W + self.b + self.gamma + self.beta:
            tensor.grad = None

    def step(self, batch):
        with torch.no_grad():
            for i, (W, b) in enumerate(zip(self.W, self.b, strict=True)):
                self.v_W[i] = self.momentum * self.v_W[i] - LR * W.grad / batch
                self.v_b[i] = self.momentum * self.v_b[i] - LR * b.grad / batch
                W += self.v_W[i]
                b += self.v_b[i]
            for gamma, beta in zip(self.gamma, self.beta, strict=True):
                gamma -= LR * gamma.grad
                beta -= LR * beta.grad


def course_array(close, value, expected, what, shape, scale=None):
    """A float64 ndarray of the course's shape, equal to the reference."""
    assert isinstance(value, np.ndarray), f"{what} is {type(value).__name__}"
    assert value.dtype == np.float64, f"{what} has dtype {value.dtype}"
    assert value.shape == shape, f"{what} has shape {value.shape}, the course's is {shape}"
    close(value, expected, what, scale=scale)


def random_batch(rng):
    x = rng.normal(size=(BATCH, INPUT))
    labels = np.eye(OUTPUT)[rng.integers(0, OUTPUT, size=BATCH)]
    return x, labels


@pytest.mark.parametrize("config", CONFIGS)
def test_mlp_trains_like_the_handout_rules_in_torch(config, rng, close):
    hiddens, momentum, num_bn_layers = CONFIGS[config]
    mlp = build_mlp(hiddens, momentum, num_bn_layers)
    weights = handout_weights(hiddens)
    for layer, weight in zip(mlp.linear_layers, weights, strict=True):
        np.testing.assert_array_equal(layer.W, weight)  # the seeded draws, in order
    reference = HandoutTorchMLP(weights, num_bn_layers, momentum)
    sizes = [INPUT, *hiddens, OUTPUT]

    for _ in range(STEPS):
        x, labels = random_batch(rng)
        x_t = torch.tensor(x, requires_grad=True)
        reference.zero_grads()
        out_t = reference.forward(x_t)
        loss_t = torch.nn.functional.cross_entropy(
            out_t, torch.from_numpy(labels), reduction="none"
        )
        loss_t.sum().backward()

        mlp.zero_grads()
        course_array(close, mlp.forward(x), out_t, "output", (BATCH, OUTPUT))
        course_array(close, mlp.backward(labels), x_t.grad, "dx (of the sum)", (BATCH, INPUT))
        course_array(close, mlp.loss, loss_t, "loss", (BATCH,))
        # A bias feeding BatchNorm has gradient 0 exactly (BatchNorm removes the mean), so
        # both libraries hold rounding noise there: measure it against the size of the
        # terms that cancel, d(mean loss)/dz of the pre-normalisation z.
        bias_scale = [z.grad.abs().max().item() / BATCH for z in reference.pre_bn]
        bias_scale += [None] * (len(sizes) - 1 - num_bn_layers)
        for i, layer in enumerate(mlp.linear_layers):
            shape = (sizes[i], sizes[i + 1])
            course_array(close, layer.dW, reference.W[i].grad / BATCH, f"dW[{i}]", shape)
            course_array(
                close,
                layer.db,
                reference.b[i].grad / BATCH,
                f"db[{i}]",
                (1, shape[1]),
                scale=bias_scale[i],
            )
        for i, bn in enumerate(mlp.bn_layers or []):
            shape = (1, sizes[i + 1])
            course_array(close, bn.dgamma, reference.gamma[i].grad, f"dgamma[{i}]", shape)
            course_array(close, bn.dbeta, reference.beta[i].grad, f"dbeta[{i}]", shape)

        mlp.step()
        reference.step(BATCH)
        for i, layer in enumerate(mlp.linear_layers):
            course_array(close, layer.W, reference.W[i], f"W[{i}] after step", weights[i].shape)
            scale = None if bias_scale[i] is None else LR * bias_scale[i]
            course_array(
                close, layer.b, reference.b[i], f"b[{i}] after step", (1, sizes[i + 1]), scale=scale
            )
        for i, bn in enumerate(mlp.bn_layers or []):
            course_array(close, bn.gamma, reference.gamma[i], f"gamma[{i}]", (1, sizes[i + 1]))
            course_array(close, bn.beta, reference.beta[i], f"beta[{i}]", (1, sizes[i + 1]))

    for i, bn in enumerate(mlp.bn_layers or []):
        shape = (1, sizes[i + 1])
        course_array(close, bn.running_mean, reference.running_mean[i], "running_mean", shape)
        course_array(close, bn.running_var, reference.running_var[i], "running_var", shape)
    x, _ = random_batch(rng)
    mlp.eval()
    expected = reference.forward(torch.from_numpy(x), train=False).detach()
    course_array(close, mlp.forward(x), expected, "eval output (running stats)", (BATCH, OUTPUT))


def test_mlp_eval_mode_does_not_touch_running_stats(rng):
    mlp = build_mlp([64, 32], 0.0, 1)
    x, labels = random_batch(rng)
    mlp.forward(x)
    before = mlp.bn_layers[0].running_mean.copy(), mlp.bn_layers[0].running_var.copy()
    mlp.eval()
    mlp.forward(random_batch(rng)[0])
    np.testing.assert_array_equal(mlp.bn_layers[0].running_mean, before[0])
    np.testing.assert_array_equal(mlp.bn_layers[0].running_var, before[1])


def test_mlp_zero_grads_clears_every_gradient(rng):
    mlp = build_mlp([32], 0.0, 1)
    x, labels = random_batch(rng)
    mlp.forward(x)
    mlp.backward(labels)
    mlp.zero_grads()
    for layer in mlp.linear_layers:
        assert not layer.dW.any() and not layer.db.any()
    assert not mlp.bn_layers[0].dgamma.any() and not mlp.bn_layers[0].dbeta.any()


def test_mlp_error_counts_the_wrong_predictions_and_total_loss_sums_the_losses(rng, close):
    mlp = build_mlp([32], 0.0, 0)
    x, labels = random_batch(rng)
    output = mlp.forward(x)
    truth = labels.argmax(axis=1)
    # Make exactly three predictions right, whatever the random weights predict.
    right = [0, 5, 7]
    wrong = [i for i in range(len(x)) if i not in right]
    output[right, truth[right]] = output.max() + 1.0
    for i in wrong:
        if output[i].argmax() == truth[i]:
            output[i, truth[i]] = output.min() - 1.0
    assert mlp.error(labels) == len(x) - 3
    z = torch.from_numpy(output)
    expected = torch.nn.functional.cross_entropy(z, torch.from_numpy(truth), reduction="sum")
    close(mlp.total_loss(labels), expected, "total_loss: the sum of the per-sample losses")
    assert np.ndim(mlp.total_loss(labels)) == 0


@pytest.mark.parametrize("config", ["hidden [64, 32]", "batch norm on the first layer"])
def test_to_sequential_gives_a_model_torch_loads_with_the_same_outputs(
    config, rng, close, to_torch
):
    mlp = build_mlp(*CONFIGS[config])
    for _ in range(2):
        x, labels = random_batch(rng)
        mlp.zero_grads()
        mlp.forward(x)
        mlp.backward(labels)
        mlp.step()
    model = mlp.to_sequential()
    theirs = to_torch(model)  # torch.nn.Sequential loaded from model.state_dict()
    x, _ = random_batch(rng)
    # Eval first: a training forward moves the running statistics (and torch's running
    # variance is the unbiased one, the course's the biased one).
    mlp.eval()
    close(mlp.forward(x), theirs.eval()(torch.from_numpy(x)), "eval-mode output")
    mlp.train()
    close(mlp.forward(x), theirs.train()(torch.from_numpy(x)), "training-mode output")
    assert list(mlp.state_dict()) == list(theirs.state_dict())


def test_mc_question_1_is_the_option_that_running_the_handout_code_gives():
    a = np.arange(60.0).reshape(3, 4, 5)
    b = np.sum(a, axis=0, keepdims=True)
    c = np.sum(a, axis=0)
    options = {
        "a": ((3, 4, 5), (4, 5)),
        "b": ((1, 4, 5), (4, 5)),
        "c": ((3, 4, 5), (1, 4, 5)),
        "d": ((3, 4, 5), (3, 4, 5)),
    }
    (answer,) = [letter for letter, shapes in options.items() if shapes == (b.shape, c.shape)]
    assert mc.question_1() == answer


@pytest.mark.parametrize(
    ("question", "answer"),
    [
        (mc.question_2, "a"),  # per neuron, over the batch (handout appendix)
        (mc.question_3, "a"),  # yes: inference has no batch statistics
        (mc.question_4, "a"),  # "Yes"
        (mc.question_5, "c"),  # z = f(np.dot(x, w) + b), the layer of the lectures
    ],
)
def test_mc_answers_are_the_handout_letters(question, answer):
    assert question() == answer


@pytest.mark.parametrize(
    "question", [mc.question_1, mc.question_2, mc.question_3, mc.question_4, mc.question_5]
)
def test_mc_answers_are_single_lower_case_letters(question):
    letter = question()
    assert isinstance(letter, str) and len(letter) == 1 and letter in "abcd"


def test_mlp_backward_before_forward_raises():
    mlp = hw1.MLP(4, 2, [], [Identity()], None, None, SoftmaxCrossEntropy(), 0.1)
    with pytest.raises(RuntimeError, match=r"^MLP\.backward: backward\(\) called before"):
        mlp.backward(np.eye(2))


@pytest.mark.parametrize(
    ("hiddens", "activations", "num_bn_layers", "message"),
    [
        ([3], [Sigmoid()], 0, r"^MLP: expected 2 activations .*got 1"),
        ([], [Identity()], 1, r"^MLP: expected num_bn_layers in \[0, 0\]"),
    ],
    ids=["activation-count", "too-many-batchnorms"],
)
def test_mlp_rejects_inconsistent_arguments_with_a_clear_error(
    hiddens, activations, num_bn_layers, message
):
    with pytest.raises(ValueError, match=message):
        hw1.MLP(
            4,
            2,
            hiddens,
            activations,
            None,
            None,
            SoftmaxCrossEntropy(),
            0.1,
            num_bn_layers=num_bn_layers,
        )


# ----------------------------------------------------------------------- invalid inputs
# hw1.MLP, imported as the folder (from hw1 import hw1), rejects inconsistent arguments,
# bad input and bad labels with an error naming the part that finds the problem
# (conventions in tests/invalid_inputs.py).
INVALID_INPUTS = CaseTable()
case = INVALID_INPUTS.case


def mlp(hiddens=(4,), activations=None, criterion=None, lr=0.1, **kwargs) -> hw1_package.MLP:
    if activations is None:
        activations = [Sigmoid() for _ in hiddens] + [Identity()]
    return hw1_package.MLP(
        3,
        2,
        list(hiddens) if isinstance(hiddens, tuple) else hiddens,
        activations,
        lambda i, o: np.full((i, o), 0.1),
        lambda o: np.zeros((1, o)),
        SoftmaxCrossEntropy() if criterion is None else criterion,
        lr,
        **kwargs,
    )


def mlp_sizes(input_size, output_size):
    return lambda: hw1_package.MLP(
        input_size,
        output_size,
        [4],
        [Sigmoid(), Identity()],
        None,
        None,
        SoftmaxCrossEntropy(),
        0.1,
    )


for name, call, error, pattern in [
    (
        "input_size=0",
        mlp_sizes(0, 2),
        ValueError,
        "expected input_size to be a positive int, got 0",
    ),
    (
        "input_size=2.5",
        mlp_sizes(2.5, 2),
        TypeError,
        "expected input_size to be a positive int, got 2.5",
    ),
    (
        "output_size=-1",
        mlp_sizes(3, -1),
        ValueError,
        "expected output_size to be a positive int, got -1",
    ),
    (
        "hidden size 0",
        lambda: mlp(hiddens=(0,)),
        ValueError,
        "expected each hidden size to be a positive int, got 0",
    ),
    (
        "hiddens an int",
        lambda: mlp(hiddens=4, activations=[Sigmoid(), Identity()]),
        TypeError,
        "expected hiddens to be a list, got 4",
    ),
    (
        "hiddens None",
        lambda: mlp(hiddens=None, activations=[Identity()]),
        TypeError,
        "expected hiddens to be a list, got None",
    ),
    (
        "activations None",
        lambda: mlp(activations=None or Identity()),
        TypeError,
        "expected activations to be a list, got Identity",
    ),
    (
        "too few activations",
        lambda: mlp(activations=[Identity()]),
        ValueError,
        r"expected 2 activations \(one per layer for hiddens \[4\]\), got 1",
    ),
    (
        "activation a string",
        lambda: mlp(activations=["sigmoid", Identity()]),
        TypeError,
        "expected Activation objects, got 'sigmoid'",
    ),
    (
        "criterion a string",
        lambda: mlp(criterion="ce"),
        TypeError,
        "expected a Criterion, got 'ce'",
    ),
    ("lr=-0.1", lambda: mlp(lr=-0.1), ValueError, r"expected lr in \[0, inf\], got -0.1"),
    ("lr=NaN", lambda: mlp(lr=NAN), ValueError, "expected lr to be finite, got nan"),
    (
        "momentum=-0.5",
        lambda: mlp(momentum=-0.5),
        ValueError,
        r"expected momentum in \[0, 1\], got -0.5",
    ),
    (
        "momentum=NaN",
        lambda: mlp(momentum=NAN),
        ValueError,
        "expected momentum to be finite, got nan",
    ),
    (
        "num_bn_layers=2",
        lambda: mlp(num_bn_layers=2),
        ValueError,
        r"expected num_bn_layers in \[0, 1\] \(one per hidden layer at most\), got 2",
    ),
    (
        "num_bn_layers=-1",
        lambda: mlp(num_bn_layers=-1),
        ValueError,
        r"expected num_bn_layers in \[0, 1\].*got -1",
    ),
    (
        "num_bn_layers=0.5",
        lambda: mlp(num_bn_layers=0.5),
        TypeError,
        "expected num_bn_layers to be a non-negative int, got 0.5",
    ),
    (
        "num_bn_layers a string",
        lambda: mlp(num_bn_layers="1"),
        TypeError,
        "expected num_bn_layers to be a non-negative int, got '1'",
    ),
    (
        "backward before forward",
        lambda: mlp().backward(ONE_HOT[:, :2]),
        RuntimeError,
        r"backward\(\) called before forward\(\)",
    ),
]:
    case("hw1.MLP", name, call, error, rf"^MLP(\.backward)?: {pattern}")
case(
    "hw1.MLP",
    "input of the wrong feature count",
    lambda: mlp().forward(good(4, 5)),
    ValueError,
    r"^Linear: expected input with 3 features.*5 features",
)
case(
    "hw1.MLP",
    "integer input",
    lambda: mlp().forward(good().astype(int)),
    TypeError,
    r"^Linear: expected input of a floating dtype.*int64",
)


def mlp_backward(labels: np.ndarray) -> None:
    net = mlp()
    net.forward(good())
    net.backward(labels)


case(
    "hw1.MLP",
    "labels not one-hot",
    lambda: mlp_backward(np.ones((4, 2))),
    ValueError,
    r"^SoftmaxCrossEntropy: expected each row of target to be a probability vector",
)
case(
    "hw1.MLP",
    "labels of the wrong length",
    lambda: mlp_backward(np.eye(2)[[0, 1, 0]]),
    ValueError,
    r"^SoftmaxCrossEntropy: expected target of shape \(4, 2\), got \(3, 2\)",
)


@pytest.mark.parametrize("item", INVALID_INPUTS, ids=[c.id for c in INVALID_INPUTS])
def test_invalid_input_raises_a_clear_error(item: Case):
    assert_raises_a_clear_error(item)
