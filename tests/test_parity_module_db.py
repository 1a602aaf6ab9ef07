"""PyTorch's own test inputs for every module MyTorch mirrors, through both libraries.

``torch.testing._internal.common_modules.module_db`` is the table PyTorch's test suite
checks its modules with: for each module, the constructor arguments and the inputs
(shapes, reductions, targets, weights, ...) it must handle. Every one of those inputs
for the modules ``mytorch.nn`` also has is run here through ``mytorch.nn`` and
``torch.nn`` in float64, with the same weights, in training and in evaluation mode,
and must agree to 1e-9: the forward output, the gradient of the input, the parameters'
gradients, the buffers (BatchNorm's running statistics; a loss's ``weight``), and the
``state_dict`` keys.

The gradient that goes back is a fixed random tensor of the output's shape for a
module and for a loss with ``reduction='none'`` (``backward(grad_output)``), and 1 for a
loss reduced to a scalar (``backward()``).

Importing ``module_db`` needs ``expecttest`` (a test dependency, as torch is). If it
cannot be imported this module fails: it never skips. The numbers of inputs collected
per module are pinned (torch is pinned too), so an input that vanishes is noticed; an
input that MyTorch refuses on purpose is listed in ``REFUSED`` with its reason, must
raise a clear error, and is counted in the printed summary.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import torch
from conftest import rel_err, to_numpy
from torch.testing._internal.common_modules import module_db

from mytorch import nn

#: Largest relative error accepted (max |difference| / max |PyTorch's value|).
TOLERANCE = 1e-9

#: Inputs per module and mode that module_db holds for torch 2.13.0 (the pinned version).
EXPECTED_COUNTS = {
    "Linear": 3,
    "BatchNorm1d": 8,
    "Tanh": 3,
    "GELU": 3,
    "Softmax": 3,
    "LogSoftmax": 4,
    "ReLU": 4,
    "Sigmoid": 4,
    "LeakyReLU": 5,
    "ELU": 4,
    "Softplus": 5,
    "MSELoss": 8,
    "CrossEntropyLoss": 105,
    "NLLLoss": 28,
    "BCEWithLogitsLoss": 6,
    "MultiMarginLoss": 7,
}

#: (module, input description) -> why MyTorch refuses that input on purpose. Each must
#: raise a ValueError or TypeError whose message names the module.
REFUSED = {
    ("BatchNorm1d", "zero_batch"): (
        "an empty batch (0, C, L) is refused by every MyTorch layer (empty data is a "
        "mistake in a training loop; PyTorch returns an empty output and still counts "
        "the batch in num_batches_tracked)"
    ),
}

MODES = {True: "train", False: "eval"}


def _collect() -> dict[str, list[tuple[bool, object]]]:
    """module name -> [(training, ModuleInput), ...] for the modules mytorch.nn has."""
    torch.manual_seed(0)  # module_db draws its inputs from torch's global generator
    inputs: dict[str, list[tuple[bool, object]]] = {}
    for info in module_db:
        name = info.module_cls.__name__
        if not hasattr(nn, name):
            continue
        for training in MODES:
            for module_input in info.module_inputs_func(
                info, device="cpu", dtype=torch.float64, requires_grad=True, training=training
            ):
                inputs.setdefault(name, []).append((training, module_input))
    return inputs


INPUTS = _collect()


def _numpy(value):
    """Tensors (in args, kwargs, lists) as NumPy arrays; everything else unchanged."""
    if isinstance(value, torch.Tensor):
        return value.detach().numpy().copy()
    if isinstance(value, (list, tuple)):
        return type(value)(_numpy(v) for v in value)
    if isinstance(value, dict):
        return {k: _numpy(v) for k, v in value.items()}
    return value


def _forward_args(module_input) -> list:
    """The forward input as positional arguments (module_db passes Linear's as input=)."""
    forward = module_input.forward_input
    extra = set(forward.kwargs) - {"input"}
    if extra:
        raise AssertionError(f"unexpected forward keyword arguments {extra}")
    args = list(forward.args)
    if "input" in forward.kwargs:
        args.insert(0, forward.kwargs["input"])
    return args


def _compare(actual, expected, what: str, failures: list[str], array: bool = True) -> None:
    """Record in ``failures`` where ``actual`` is not PyTorch's ``expected`` (an array of
    its shape and dtype, unless ``array`` is False: a loss's scalar is a NumPy float)."""
    expected = to_numpy(expected)
    if array and not isinstance(actual, np.ndarray):
        failures.append(f"{what}: a {type(actual).__name__}, not an array")
    actual = np.asarray(actual)
    if actual.dtype != expected.dtype:
        failures.append(f"{what}: dtype {actual.dtype}, PyTorch's {expected.dtype}")
    if actual.shape != expected.shape:
        failures.append(f"{what}: shape {actual.shape}, PyTorch's {expected.shape}")
        return
    error = rel_err(actual, expected)
    if not error <= TOLERANCE:
        failures.append(f"{what}: relative error {error:.2e}")


def _run_one(name: str, training: bool, module_input) -> list[str]:
    """Run one input through both libraries; return what differs (empty if nothing)."""
    constructor = module_input.constructor_input
    theirs = getattr(torch.nn, name)(*constructor.args, **constructor.kwargs).double()
    ours = getattr(nn, name)(*_numpy(constructor.args), **_numpy(constructor.kwargs))
    theirs.train(training)
    ours.train(training)
    failures: list[str] = []
    their_state = theirs.state_dict()
    if list(ours.state_dict()) != list(their_state):
        failures.append(f"state_dict keys {list(ours.state_dict())}, PyTorch's {list(their_state)}")
        return failures
    ours.load_state_dict({k: to_numpy(v) for k, v in their_state.items()})

    args = _forward_args(module_input)
    x = args[0].detach().clone().requires_grad_(True)
    rest = [a.detach() if isinstance(a, torch.Tensor) else a for a in args[1:]]
    their_out = theirs(x, *rest)
    our_x = x.detach().numpy().copy()
    our_out = ours(our_x, *_numpy(rest))
    is_loss = isinstance(ours, nn.Loss)
    scalar_loss = is_loss and ours.reduction != "none"
    _compare(our_out, their_out, "output", failures, array=not scalar_loss)
    if scalar_loss:
        their_out.backward()
        our_grad = ours.backward()
    else:
        grad = torch.from_numpy(np.random.default_rng(0).normal(size=tuple(their_out.shape)))
        their_out.backward(grad)
        our_grad = ours.backward(grad.numpy().copy())
    _compare(our_grad, x.grad, "input gradient", failures)
    for key, param in theirs.named_parameters():
        mine = dict(ours.named_parameters())[key].grad
        expected = torch.zeros_like(param) if param.grad is None else param.grad
        _compare(np.zeros(param.shape) if mine is None else mine, expected, f"{key}.grad", failures)
    ours_after = ours.state_dict()
    for key, buffer in theirs.named_buffers():
        _compare(ours_after[key], buffer, f"buffer {key}", failures)
    return failures


def _check_refused(name: str, module_input) -> None:
    constructor = module_input.constructor_input
    ours = getattr(nn, name)(*_numpy(constructor.args), **_numpy(constructor.kwargs))
    with pytest.raises((ValueError, TypeError), match=rf"^{name}"):
        ours(*_numpy(_forward_args(module_input)))


@pytest.mark.parametrize("name", sorted(EXPECTED_COUNTS))
def test_module_agrees_with_pytorch_on_its_module_db_inputs(name):
    failures = []
    for training, module_input in INPUTS[name]:
        label = f"{name} {MODES[training]} {module_input.desc or '(default)'}"
        if (name, module_input.desc) in REFUSED:
            _check_refused(name, module_input)
            continue
        try:
            problems = _run_one(name, training, module_input)
        except Exception as error:  # noqa: BLE001 - reported with the input that raised it
            problems = [f"raised {type(error).__name__}: {error}"]
        failures += [f"{label}: {problem}" for problem in problems]
    assert not failures, f"{len(failures)} disagreements:\n" + "\n".join(failures)


def test_every_mirrored_module_and_input_is_collected():
    """The modules of module_db that mytorch.nn has, and their inputs, are all here."""
    assert set(INPUTS) == set(EXPECTED_COUNTS), (
        "module_db and mytorch.nn share other modules than EXPECTED_COUNTS lists: "
        f"{sorted(set(INPUTS) ^ set(EXPECTED_COUNTS))}"
    )
    counts = {name: Counter(training for training, _ in inputs) for name, inputs in INPUTS.items()}
    for name, expected in EXPECTED_COUNTS.items():
        assert counts[name] == {True: expected, False: expected}, (name, counts[name])
    total = sum(len(inputs) for inputs in INPUTS.values())
    assert total >= 400
    refused = [
        (name, MODES[training], mi.desc)
        for name, inputs in INPUTS.items()
        for training, mi in inputs
        if (name, mi.desc) in REFUSED
    ]
    assert {(name, desc) for name, _, desc in refused} == set(REFUSED), "a REFUSED entry is stale"
    print(
        f"\nmodule_db parity: {total} inputs over {len(INPUTS)} modules; "
        f"{total - len(refused)} compared with PyTorch, {len(refused)} refused on purpose:"
    )
    for (name, desc), reason in REFUSED.items():
        modes = sorted(mode for n, mode, d in refused if (n, d) == (name, desc))
        print(f"  {name} {desc} ({', '.join(modes)}): {reason}")
