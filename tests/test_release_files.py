"""Files written by the last release still load: a model file and a training checkpoint
that ``mytorch`` 0.1.0 saved (before the core moved into ``mytorch/nn``) live in
``tests/data/release-0.1.0/``.

* ``model.npz``: Linear, BatchNorm1d, ReLU, Dropout, Tanh, LogSoftmax, saved in eval
  mode; ``model_expected.npz`` holds four inputs and the outputs 0.1.0 computed.
* ``checkpoint.npz``: ``mytorch train --epochs 2 --hidden 8 --batch-norm --dropout 0.1
  --optimizer adam --lr 0.01 --schedule exponential`` on the built-in
  digits; ``run4_state.npz`` holds the weights 0.1.0 ended with after 4 epochs of the
  same command. Resuming the checkpoint to 4 epochs must end there.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

import mytorch
from mytorch import cli

DATA = Path(__file__).resolve().parent / "data" / "release-0.1.0"


def test_a_model_file_of_the_last_release_loads_and_computes_the_same(close):
    model, header = mytorch.load(DATA / "model.npz", return_metadata=True)
    assert header["library_version"] == "0.1.0"
    assert [type(m).__name__ for m in model] == [
        "Linear",
        "BatchNorm1d",
        "ReLU",
        "Dropout",
        "Linear",
        "Tanh",
        "Linear",
        "LogSoftmax",
    ]
    with np.load(DATA / "model_expected.npz") as expected:
        close(model(expected["x"]), expected["out"], "output of the 0.1.0 model file", tol=1e-12)


def test_a_checkpoint_of_the_last_release_resumes_to_the_same_weights(tmp_path, capsys, close):
    run = tmp_path / "run"
    run.mkdir()
    shutil.copy(DATA / "checkpoint.npz", run / "checkpoint.npz")
    status = cli.main(["train", "--resume", "--epochs", "4", "--out", str(run), "--no-progress"])
    assert status == 0, capsys.readouterr().err
    resumed = mytorch.load(run / "model.npz").state_dict()
    with np.load(DATA / "run4_state.npz") as expected:
        assert sorted(resumed) == sorted(expected.files)
        for key in expected.files:
            close(resumed[key], expected[key], f"{key} after resuming to epoch 4", tol=1e-12)
