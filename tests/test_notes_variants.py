"""The notes' variants in the speed tier and in checkpoints: the compiled step refuses
``NotesDropout``, ``HingeLoss``, ``NotesSGD``, ``NotesAdam`` and ``NotesAdadelta`` with
the reason (``mytorch/compiled/plan.py``'s ``NOTES_VARIANTS``), the trainer falls back
to the reference loop and names it, and a run of them resumed from a checkpoint ends
bit for bit as the uninterrupted run."""

from __future__ import annotations

import re

import numpy as np
import pytest

from mytorch import nn, optim
from mytorch.compiled import Unsupported, compile_step
from mytorch.compiled.plan import NOTES_VARIANTS
from mytorch.serialization import load_checkpoint, save_checkpoint
from mytorch.trainer import Trainer


def _data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(48, 3))
    return X, np.where(X[:, 0] + X[:, 1] > 0, 1.0, -1.0)


def _run(dropout=False, loss=None, optimizer=optim.SGD):
    layers = [nn.Linear(3, 5, rng=0), nn.Tanh()]
    if dropout:
        layers.append(nn.NotesDropout(0.7, rng=1))
    model = nn.Sequential(*layers, nn.Linear(5, 1, rng=2))
    return model, loss or nn.MSELoss(), optimizer(model.parameters(), lr=0.05)


CASES = {
    "NotesDropout": {"dropout": True},
    "HingeLoss": {"loss": nn.HingeLoss()},
    "NotesSGD": {"optimizer": optim.NotesSGD},
    "NotesAdam": {"optimizer": optim.NotesAdam},
    "NotesAdadelta": {"optimizer": optim.NotesAdadelta},
}


def test_every_notes_variant_is_listed_with_its_reason():
    assert set(NOTES_VARIANTS) == set(CASES)
    assert all(name in reason for name, reason in NOTES_VARIANTS.items())


@pytest.mark.parametrize("name", CASES)
def test_the_compiled_step_refuses_it_and_the_trainer_falls_back_naming_it(name):
    X, y = _data()
    target = y if name == "HingeLoss" else y[:, None]
    model, loss, optimizer = _run(**CASES[name])
    with pytest.raises(Unsupported, match=re.escape(NOTES_VARIANTS[name])):
        compile_step(model, loss, optimizer)
    trainer = Trainer(model, loss, optimizer, rng=0)
    trainer.fit(X, target, epochs=1, batch_size=16)
    assert trainer.compiled_status == f"reference loop: {NOTES_VARIANTS[name]}"
    with pytest.raises(ValueError, match=re.escape(f"compiled=True, but {NOTES_VARIANTS[name]}")):
        Trainer(model, loss, optimizer, compiled=True).fit(X, target, epochs=1)


def _trainer():
    model = nn.Sequential(
        nn.Linear(3, 6, rng=0), nn.Tanh(), nn.NotesDropout(0.8, rng=1), nn.Linear(6, 1, rng=2)
    )
    optimizer = optim.NotesSGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-3)
    scheduler = optim.lr_scheduler.InverseTimeLR(optimizer, decay=0.1)
    return Trainer(
        model, nn.HingeLoss(), optimizer, scheduler=scheduler, schedule_interval="step", rng=3
    )


def _generators(trainer):
    return [trainer.rng] + [m.rng for m in trainer.model.modules() if hasattr(m, "rng")]


def test_a_run_of_the_notes_variants_resumes_from_a_checkpoint_bit_for_bit(tmp_path):
    X, y = _data()
    whole = _trainer()
    whole.fit(X, y, epochs=4, batch_size=10, val_data=(X, y))
    first = _trainer()
    first.fit(X, y, epochs=2, batch_size=10, val_data=(X, y))
    save_checkpoint(
        tmp_path / "checkpoint.npz",
        {
            "model": dict(first.model.state_dict()),
            "optimizer": first.optimizer.state_dict(),
            "scheduler": first.scheduler.state_dict(),
            "rng": [g.bit_generator.state for g in _generators(first)],
            "epoch": first.epoch,
            "step": first.step_count,
        },
    )
    state = load_checkpoint(tmp_path / "checkpoint.npz")
    resumed = _trainer()
    resumed.model.load_state_dict(state["model"])
    resumed.optimizer.load_state_dict(state["optimizer"])
    resumed.scheduler.load_state_dict(state["scheduler"])
    for generator, saved in zip(_generators(resumed), state["rng"], strict=True):
        generator.bit_generator.state = saved
    resumed.epoch, resumed.step_count = state["epoch"], state["step"]
    resumed.fit(X, y, epochs=2, batch_size=10, val_data=(X, y))
    for key, value in whole.model.state_dict().items():
        np.testing.assert_array_equal(resumed.model.state_dict()[key], value, err_msg=key)
    assert resumed.optimizer.param_groups[0]["lr"] == whole.optimizer.param_groups[0]["lr"]
    assert resumed.history.val_loss == whole.history.val_loss[2:]
