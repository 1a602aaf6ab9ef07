"""The settings of ``mytorch toy`` and the playground: :class:`ToyConfig`.

A toy run takes most settings of ``mytorch train`` (the network and its training) and a
few of its own (the 2-D problem, its points, the network's input features, its loss:
``commands=("toy",)``), all declared in :data:`mytorch.config.SETTINGS`. Here is which
of the first it takes and where it starts from other values: a small tanh network on
XOR, as ``mytorch toy`` always did.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from mytorch.config import SETTINGS, Setting, TrainConfig
from mytorch.constraints import Options
from mytorch.datasets.toy import TOY_DATASETS

__all__ = ["ToyConfig", "toy_settings"]

#: The settings of ``mytorch train`` that ``mytorch toy`` takes too, and where it differs.
_SHARED: dict[str, dict[str, Any]] = {
    "dataset": {
        "default": "xor",
        "constraint": Options(TOY_DATASETS),
        "help": "which 2-D problem [{default}]",
    },
    "hidden": {"default": (8,)},
    "activation": {"default": "tanh"},
    "batch_norm": {},
    "dropout": {},
    "init": {"default": "xavier"},
    "optimizer": {},
    "lr": {"default": 0.1},
    "momentum": {},
    "weight_decay": {},
    "schedule": {},
    "schedule_interval": {},
    "epochs": {"default": 200},
    "batch_size": {"default": 32},
    "seed": {},
    "out": {"default": "runs/toy", "help": "directory for the pictures and model [{default}]"},
}


def toy_settings() -> dict[str, Setting]:
    """The settings ``mytorch toy`` takes, with its own defaults and data set names.

    Returns
    -------
    dict of str to Setting
        In the order of :data:`mytorch.config.SETTINGS`.
    """
    # Each setting as the toy command takes it (its errors name ``mytorch toy``).
    return {
        name: replace(setting, commands=("toy",), **_SHARED.get(name, {}))
        for name, setting in SETTINGS.items()
        if name in _SHARED or "toy" in setting.commands
    }


def _default(name: str) -> Any:
    value = toy_settings()[name].default
    return list(value) if isinstance(value, tuple) else value


@dataclass
class ToyConfig(TrainConfig):
    """The settings of ``mytorch toy`` (and of the playground).

    The fields of :class:`~mytorch.config.TrainConfig` (those ``mytorch toy`` does not
    take keep their defaults and are not used) and ``n_samples``, ``test_samples``,
    ``noise``, ``features`` and ``loss``; their meaning is the help text of
    :data:`mytorch.config.SETTINGS`. Call :meth:`validate` before use.
    """

    dataset: str = _default("dataset")
    hidden: list[int] = field(default_factory=lambda: _default("hidden"))
    activation: str = _default("activation")
    init: str = _default("init")
    lr: float = _default("lr")
    epochs: int = _default("epochs")
    batch_size: int = _default("batch_size")
    out: str = _default("out")
    n_samples: int = _default("n_samples")
    test_samples: int | None = _default("test_samples")
    noise: float = _default("noise")
    features: list[str] = field(default_factory=lambda: _default("features"))
    loss: str = _default("loss")

    @classmethod
    def settings(cls) -> dict[str, Setting]:
        """The settings the fields are checked with: those of ``mytorch toy``."""
        return toy_settings()
