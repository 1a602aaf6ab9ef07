"""Module and Parameter (mytorch/module.py, mytorch/parameter.py): the tree, modes and state."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mytorch import nn

T = torch.from_numpy


def ours_model() -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(4, 5, bias=False, rng=0),
        nn.BatchNorm1d(5),
        nn.ReLU(),
        nn.Dropout(0.5, rng=0),
        nn.Sequential(nn.Linear(5, 3, rng=1), nn.Tanh()),
        nn.BatchNorm1d(3, affine=False, momentum=None),
        nn.BatchNorm1d(3, track_running_stats=False),
        nn.Sigmoid(),
    )


def torch_model() -> torch.nn.Sequential:
    """The same architecture written in torch directly (no conversion helper involved)."""
    f64 = torch.float64
    return torch.nn.Sequential(
        torch.nn.Linear(4, 5, bias=False, dtype=f64),
        torch.nn.BatchNorm1d(5, dtype=f64),
        torch.nn.ReLU(),
        torch.nn.Dropout(0.5),
        torch.nn.Sequential(torch.nn.Linear(5, 3, dtype=f64), torch.nn.Tanh()),
        torch.nn.BatchNorm1d(3, affine=False, momentum=None, dtype=f64),
        torch.nn.BatchNorm1d(3, track_running_stats=False, dtype=f64),
        torch.nn.Sigmoid(),
    )


def test_state_dict_keys_shapes_dtypes_and_layout_equal_torch():
    ours, theirs = ours_model().state_dict(), torch_model().state_dict()
    assert list(ours) == list(theirs)
    for key, value in ours.items():
        expected = theirs[key].numpy()
        assert isinstance(value, np.ndarray), key
        assert value.shape == expected.shape, key
        assert value.dtype == expected.dtype, key
        assert value.flags.c_contiguous, key


def test_parameters_come_in_torch_order():
    ours, theirs = ours_model(), torch_model()
    assert [name for name, _ in ours.named_parameters()] == [
        name for name, _ in theirs.named_parameters()
    ]
    assert [p.shape for p in ours.parameters()] == [tuple(p.shape) for p in theirs.parameters()]
    assert [name for name, _ in ours.named_buffers()] == [
        name for name, _ in theirs.named_buffers()
    ]


def _train_a_little(model, data):
    for x in data:
        model(x)


def _outputs_agree(ours, theirs, x, close):
    """Eval outputs (Dropout off, BatchNorm on its loaded running statistics)."""
    ours.eval()
    theirs.eval()
    close(ours(x), theirs(T(x)), "eval output")


def test_torch_state_dict_loads_into_mytorch(rng, close):
    theirs = torch_model()
    with torch.no_grad():
        for param in theirs.parameters():
            param.uniform_(-1.0, 1.0)
    theirs.train()
    for _ in range(3):  # move the running statistics away from their initial values
        theirs(T(rng.normal(size=(8, 4))))
    ours = ours_model()
    ours.load_state_dict(theirs.state_dict())
    assert int(ours[1].num_batches_tracked) == 3
    _outputs_agree(ours, theirs, rng.normal(size=(6, 4)), close)


def test_mytorch_state_dict_loads_into_torch(rng, close):
    ours = ours_model()
    for param in ours.parameters():
        param.data[...] = rng.uniform(-1.0, 1.0, param.shape)
    _train_a_little(ours, [rng.normal(size=(8, 4)) for _ in range(3)])
    theirs = torch_model()
    theirs.load_state_dict({k: T(np.array(v)) for k, v in ours.state_dict().items()})
    _outputs_agree(ours, theirs, rng.normal(size=(6, 4)), close)


def test_load_state_dict_copies_into_the_existing_arrays():
    layer = nn.Linear(3, 2, rng=0)
    weight = layer.weight.data
    layer.load_state_dict({"weight": np.ones((2, 3)), "bias": np.zeros(2)})
    assert layer.weight.data is weight
    np.testing.assert_array_equal(weight, np.ones((2, 3)))


def test_state_dict_arrays_are_the_modules_own_like_torch():
    layer = nn.Linear(3, 2, rng=0)
    layer.state_dict()["bias"][...] = 7.0
    np.testing.assert_array_equal(layer.bias.data, [7.0, 7.0])


def test_strict_load_names_missing_and_unexpected_keys():
    model = nn.Sequential(nn.Linear(3, 2, rng=0))
    with pytest.raises(KeyError, match=r"missing keys \['0.bias'\], unexpected keys \['0.b'\]"):
        model.load_state_dict({"0.weight": np.ones((2, 3)), "0.b": np.ones(2)})


def test_non_strict_load_takes_the_keys_it_knows():
    model = nn.Sequential(nn.Linear(3, 2, rng=0))
    model.load_state_dict({"0.bias": np.full(2, 3.0), "extra": np.ones(1)}, strict=False)
    np.testing.assert_array_equal(model[0].bias.data, [3.0, 3.0])


def test_load_with_a_wrong_shape_names_the_key():
    with pytest.raises(ValueError, match=r"'weight' has shape \(3, 2\), expected \(2, 3\)"):
        nn.Linear(3, 2, rng=0).load_state_dict({"weight": np.ones((3, 2)), "bias": np.ones(2)})


def test_to_float32_converts_parameters_grads_and_buffers_and_back(rng, close):
    model = ours_model()
    x = rng.normal(size=(6, 4))
    model(x)
    model.backward(np.ones((6, 3)))
    expected = model.eval()(x)
    assert model.to(np.float32) is model
    for key, value in model.state_dict().items():
        wanted = np.int64 if key.endswith("num_batches_tracked") else np.float32
        assert value.dtype == wanted, key
    for param in model.parameters():
        assert param.grad.dtype == np.float32
    out = model(x.astype(np.float32))
    assert out.dtype == np.float32
    close(out, expected, "float32 output", tol=1e-6)
    with pytest.raises(TypeError, match="Linear: expected input of dtype float32"):
        model(x)
    assert model.double() is model
    close(model(x), expected, "back in float64", tol=1e-6)
    assert model(x).dtype == np.float64


def test_to_an_integer_dtype_raises():
    with pytest.raises(TypeError, match="Sequential.to: expected dtype float32 or float64"):
        ours_model().to(np.int32)


def test_train_and_eval_reach_every_nested_module():
    model = ours_model()
    assert model.eval() is model
    assert all(not module.training for module in model.modules())
    assert model.train() is model
    assert all(module.training for module in model.modules())
    model.train(False)
    assert not model[4][1].training


def test_zero_grad_sets_to_none_or_fills_zeros_in_place(rng):
    model = ours_model()
    model(rng.normal(size=(6, 4)))
    model.backward(np.ones((6, 3)))
    grads = [param.grad for param in model.parameters()]
    model.zero_grad(set_to_none=False)
    for param, grad in zip(model.parameters(), grads, strict=True):
        assert param.grad is grad and not param.grad.any()
    model.zero_grad()
    assert all(param.grad is None for param in model.parameters())
    model.zero_grad(set_to_none=False)
    assert all(p.grad.shape == p.shape and not p.grad.any() for p in model.parameters())


def test_attributes_register_in_assignment_order():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = nn.Linear(3, 4, rng=0)
            self.scale = nn.Parameter(np.ones(4))
            self.decoder = nn.Linear(4, 2, rng=1)

    names = [name for name, _ in Net().named_parameters()]
    assert names == ["scale", "encoder.weight", "encoder.bias", "decoder.weight", "decoder.bias"]


def test_a_shared_layer_is_one_set_of_parameters():
    shared = nn.Linear(3, 3, rng=0)
    model = nn.Sequential(shared, nn.ReLU(), shared)
    assert len(list(model.parameters())) == 2


def test_assigning_before_super_init_is_a_clear_error():
    class Broken(nn.Module):
        def __init__(self):
            self.layer = nn.Linear(3, 4)

    with pytest.raises(RuntimeError, match=r"Broken: call super\(\).__init__\(\)"):
        Broken()


def test_parameter_rejects_non_float_arrays():
    with pytest.raises(TypeError, match="Parameter: expected a floating-point numpy.ndarray"):
        nn.Parameter(np.ones(3, dtype=np.int64))


def test_parameter_gradients_add_up_until_cleared():
    param = nn.Parameter(np.zeros(2))
    param.accumulate_grad(np.array([1.0, 2.0]))
    param.accumulate_grad(np.array([0.5, 0.5]))
    np.testing.assert_array_equal(param.grad, [1.5, 2.5])


def test_base_module_forward_and_backward_must_be_overridden():
    module = nn.Module()
    with pytest.raises(NotImplementedError, match="Module does not implement forward"):
        module(np.ones(1))
    with pytest.raises(NotImplementedError, match="Module does not implement backward"):
        module.backward(np.ones(1))
