"""``mytorch.optim.swa_utils``: weight averaging, BatchNorm statistics and the SWA
schedule, against ``torch.optim.swa_utils``."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mytorch import nn, optim
from mytorch.data import DataLoader
from mytorch.optim import swa_utils


def _twins(seed: int = 0):
    model = nn.Sequential(nn.Linear(5, 6, rng=seed), nn.BatchNorm1d(6), nn.ReLU(), nn.Linear(6, 3))
    twin = torch.nn.Sequential(
        torch.nn.Linear(5, 6), torch.nn.BatchNorm1d(6), torch.nn.ReLU(), torch.nn.Linear(6, 3)
    ).double()
    twin.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in model.state_dict().items()})
    return model, twin


def _nudge(model, twin, rng):
    x = rng.standard_normal((16, 5))
    model(x)  # move the running statistics
    twin(torch.from_numpy(x))
    for (_, p), (_, q) in zip(model.named_parameters(), twin.named_parameters(), strict=True):
        step = rng.standard_normal(p.shape)
        p.data += step
        with torch.no_grad():
            q += torch.from_numpy(step)


@pytest.mark.parametrize(
    "kind", ["swa", "ema", "ema-buffers", "avg_fn"], ids=["swa", "ema", "ema-buffers", "avg_fn"]
)
def test_averaged_model_matches_torch(kind, close):
    model, twin = _twins()
    options, torch_options = {}, {}
    if kind.startswith("ema"):
        options["multi_avg_fn"] = swa_utils.get_ema_multi_avg_fn(0.8)
        torch_options["multi_avg_fn"] = torch.optim.swa_utils.get_ema_multi_avg_fn(0.8)
    if kind == "avg_fn":
        options["avg_fn"] = swa_utils.get_ema_avg_fn(0.7)
        torch_options["avg_fn"] = torch.optim.swa_utils.get_ema_avg_fn(0.7)
    if kind == "ema-buffers":
        options["use_buffers"] = torch_options["use_buffers"] = True
    averaged = swa_utils.AveragedModel(model, **options)
    theirs = torch.optim.swa_utils.AveragedModel(twin, **torch_options)
    rng = np.random.default_rng(1)
    for _ in range(5):
        _nudge(model, twin, rng)
        averaged.update_parameters(model)
        theirs.update_parameters(twin)
    ours_state = averaged.state_dict()
    for key, value in theirs.state_dict().items():
        if value.dtype.is_floating_point:
            close(ours_state[key], value.detach(), f"{kind} {key}", tol=1e-12)
    assert int(averaged.n_averaged) == int(theirs.n_averaged) == 5
    x = rng.standard_normal((4, 5))
    averaged.eval()
    theirs.eval()
    close(averaged(x), theirs(torch.from_numpy(x)).detach(), f"{kind} output", tol=1e-12)


def test_update_bn_recomputes_the_running_statistics_as_torch_does(close):
    model, twin = _twins(2)
    rng = np.random.default_rng(3)
    X = rng.standard_normal((50, 5))
    model.eval()
    swa_utils.update_bn(DataLoader(X, None, batch_size=16), model)
    loader = torch.utils.data.DataLoader(torch.from_numpy(X), batch_size=16)
    twin.eval()
    torch.optim.swa_utils.update_bn(loader, twin)
    for key in ("1.running_mean", "1.running_var"):
        close(model.state_dict()[key], twin.state_dict()[key], key, tol=1e-12)
    assert not model.training and model[1].momentum == 0.1  # mode and momentum restored


@pytest.mark.parametrize("strategy", ["cos", "linear"])
@pytest.mark.parametrize("anneal_epochs", [0, 1, 4])
def test_swalr_matches_torch(strategy, anneal_epochs, close):
    w = nn.Parameter(np.ones(3))
    t = torch.nn.Parameter(torch.ones(3, dtype=torch.float64))
    ours_opt, torch_opt = optim.SGD([w], lr=0.5), torch.optim.SGD([t], lr=0.5)
    ours = swa_utils.SWALR(
        ours_opt, swa_lr=0.05, anneal_epochs=anneal_epochs, anneal_strategy=strategy
    )
    theirs = torch.optim.swa_utils.SWALR(
        torch_opt, swa_lr=0.05, anneal_epochs=anneal_epochs, anneal_strategy=strategy
    )
    for epoch in range(8):
        close(ours.get_last_lr(), theirs.get_last_lr(), f"epoch {epoch}", tol=1e-12)
        ours_opt.step()
        torch_opt.step()
        ours.step()
        theirs.step()


def test_averaged_model_refuses_another_architecture():
    averaged = swa_utils.AveragedModel(nn.Sequential(nn.Linear(3, 2)))
    averaged.update_parameters(nn.Sequential(nn.Linear(3, 2)))
    with pytest.raises(ValueError, match="do not match the averaged model"):
        averaged.update_parameters(nn.Sequential(nn.Linear(4, 2)))
    with pytest.raises(ValueError, match=r"decay in \[0.0, 1.0\]"):
        swa_utils.get_ema_multi_avg_fn(1.5)
