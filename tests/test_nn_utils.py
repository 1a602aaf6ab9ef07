"""``mytorch.nn.utils``: PyTorch's names, signatures and results for the four utilities."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import torch

from mytorch import nn
from mytorch.nn import utils

NAMES = ["clip_grad_norm_", "clip_grad_value_", "parameters_to_vector", "vector_to_parameters"]


@pytest.mark.parametrize("name", NAMES)
def test_each_utility_has_pytorchs_signature(name):
    ours = inspect.signature(getattr(utils, name))
    theirs = inspect.signature(getattr(torch.nn.utils, name))
    # The same leading parameters, in order, with the same defaults (PyTorch's later
    # keyword-only extras such as ``foreach`` have no meaning here).
    theirs_params = [p for p in theirs.parameters.values() if p.kind != p.KEYWORD_ONLY]
    ours_params = list(ours.parameters.values())[: len(theirs_params)]
    assert [p.name for p in ours_params] == [p.name for p in theirs_params]
    assert [p.default for p in ours_params] == [p.default for p in theirs_params]


def _twins(seed: int = 0):
    model = nn.Sequential(nn.Linear(3, 4, rng=seed), nn.Tanh(), nn.Linear(4, 2, rng=seed + 1))
    twin = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2))
    twin = twin.double()
    twin.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in model.state_dict().items()})
    rng = np.random.default_rng(seed + 2)
    for (_, p), (_, q) in zip(model.named_parameters(), twin.named_parameters(), strict=True):
        p.grad = rng.standard_normal(p.shape) * 3
        q.grad = torch.from_numpy(p.grad.copy())
    return model, twin


def test_parameters_to_vector_and_back_match_torch(close):
    model, twin = _twins()
    vector = utils.parameters_to_vector(model.parameters())
    expected = torch.nn.utils.parameters_to_vector(twin.parameters())
    close(vector, expected, "parameters_to_vector")
    assert vector.shape == (sum(p.data.size for p in model.parameters()),)

    new = np.arange(vector.size, dtype=np.float64)
    assert utils.vector_to_parameters(new, model.parameters()) is None
    torch.nn.utils.vector_to_parameters(torch.from_numpy(new), twin.parameters())
    for (name, p), (_, q) in zip(model.named_parameters(), twin.named_parameters(), strict=True):
        close(p.data, q.detach(), f"vector_to_parameters {name}")
    np.testing.assert_array_equal(utils.parameters_to_vector(model.parameters()), new)


def test_clip_grad_norm_returns_the_total_norm_as_torch_does(close):
    model, twin = _twins(3)
    total = utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
    expected = torch.nn.utils.clip_grad_norm_(twin.parameters(), max_norm=1.0)
    close(total, expected, "total norm before clipping")
    for (name, p), (_, q) in zip(model.named_parameters(), twin.named_parameters(), strict=True):
        close(p.grad, q.grad, f"clipped {name}")


def test_clip_grad_value_returns_none_and_clamps_as_torch_does(close):
    model, twin = _twins(5)
    assert utils.clip_grad_value_(model.parameters(), clip_value=0.5) is None
    torch.nn.utils.clip_grad_value_(twin.parameters(), clip_value=0.5)
    for (name, p), (_, q) in zip(model.named_parameters(), twin.named_parameters(), strict=True):
        close(p.grad, q.grad, f"clamped {name}")


def test_vector_to_parameters_refuses_a_vector_of_the_wrong_length():
    model, _ = _twins()
    with pytest.raises(ValueError, match=r"^vector_to_parameters: vec has 3 entries but"):
        utils.vector_to_parameters(np.zeros(3), model.parameters())
    with pytest.raises(TypeError, match=r"^vector_to_parameters: expected vec to be a 1-D"):
        utils.vector_to_parameters(np.zeros((2, 2)), model.parameters())
    with pytest.raises(TypeError, match=r"^parameters_to_vector: expected Parameters, got int"):
        utils.parameters_to_vector([1, 2])


def test_the_old_path_mytorch_nn_clip_grad_norm_is_the_same_function():
    assert nn.clip_grad_norm_ is utils.clip_grad_norm_
    assert nn.clip_grad_value_ is utils.clip_grad_value_
