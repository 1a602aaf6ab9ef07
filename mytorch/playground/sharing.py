"""What a learner takes away: the trained model, the command, the Python.

* :func:`model_file`: the model as ``mytorch.save`` writes it (``mytorch.load`` reads
  it; its metadata records the input features, which ``mytorch predict`` and
  ``evaluate`` apply to raw points, and every setting of the run).
* :func:`command`: the ``mytorch toy`` command that trains the same run; it saves the
  model the page has when the page reaches the run's last epoch.
* :func:`snippet`: Python that builds the same network, loss and optimiser with
  ``mytorch.nn`` and ``mytorch.optim``, written from the modules themselves.
"""

from __future__ import annotations

import shlex
import tempfile
from pathlib import Path
from typing import Any

from mytorch.serialization import save
from mytorch.toy_config import ToyConfig, toy_settings
from mytorch.workflows.targets import two_class_loss
from mytorch.workflows.toy import model_metadata

__all__ = ["command", "model_file", "snippet"]


def model_file(session: Any) -> bytes:
    """The session's model now, as the bytes of a ``.npz`` model file."""
    with session.lock, tempfile.TemporaryDirectory() as folder:
        model = session.trainer.model
        was_training = model.training
        model.eval()
        try:
            path = Path(folder) / "model.npz"
            save(model, path, metadata=model_metadata(session.config))
        finally:
            model.train(was_training)
        return path.read_bytes()


def _words(value: Any) -> list[str]:
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    return [repr(value) if isinstance(value, float) else str(value)]


def command(config: ToyConfig, out: str = "runs/playground") -> str:
    """The ``mytorch toy`` command of the run ``config``: every setting, spelled out.

    Examples
    --------
    >>> command(ToyConfig(hidden=[]))[:40]
    'mytorch toy --dataset xor --n-samples 40'
    """
    words = ["mytorch", "toy"]
    for name, setting in toy_settings().items():
        value = out if name == "out" else getattr(config, name)
        if value is None or value is False:
            continue
        words.append(setting.flag)
        if value is not True:
            words += _words(value)
    return " ".join(shlex.quote(word) for word in words)


def _call(kind: str, config: dict[str, Any], first: str = "") -> str:
    arguments = [first] if first else []
    arguments += [f"{key}={value!r}" for key, value in config.items()]
    return f"{kind}({', '.join(arguments)})"


def snippet(session: Any) -> str:
    """Python that builds the session's network, loss and optimiser and trains them.

    The layers are written from each module's ``get_config()`` (so the snippet names
    what the model holds), the optimiser from its ``defaults``.
    """
    config = session.config
    with session.lock:
        layers = [
            _call(f"nn.{type(module).__name__}", module.get_config())
            for _, module in session.trainer.model.forward_chain()
        ]
        optimizer = session.trainer.optimizer
        optimizer_call = _call(
            f"optim.{type(optimizer).__name__}", dict(optimizer.defaults), "model.parameters()"
        )
    loss = two_class_loss(config.loss)
    n_test = config.test_samples or config.n_samples
    lines = [
        "import numpy as np",
        "import mytorch",
        "from mytorch import nn, optim",
        "from mytorch.datasets.features import feature_map",
        "from mytorch.datasets.toy import make_toy",
        "from mytorch.trainer import Trainer",
        "",
        f"X, y = make_toy({config.dataset!r}, {config.n_samples}, noise={config.noise!r}, "
        f"rng={config.seed})",
        f"X_test, y_test = make_toy({config.dataset!r}, {n_test}, noise={config.noise!r}, "
        f"rng={config.seed + 1})",
        f"features = {list(config.features)!r}",
        "inputs = feature_map(X, features)  # the network's inputs, one column each",
        "model = nn.Sequential(",
        *[f"    {layer}," for layer in layers],
        ")",
        loss.code,
        f"optimizer = {optimizer_call}",
    ]
    if config.schedule != "none":
        lines += [
            "from mytorch.toy_config import ToyConfig",
            "from mytorch.workflows.build import build_scheduler",
            f"scheduler = build_scheduler(ToyConfig(schedule={config.schedule!r}, "
            f"epochs={config.epochs}), optimizer)",
        ]
    scheduler = "scheduler" if config.schedule != "none" else "None"
    lines += [
        f"trainer = Trainer(model, criterion, optimizer, scheduler={scheduler}, rng={config.seed})",
        f"trainer.fit(inputs, targets, epochs={config.epochs}, batch_size={config.batch_size})",
        "logits = model.eval()(feature_map(X_test, features))",
        'print("test accuracy", np.mean(np.argmax(logits, axis=1) == y_test))',
        "# The page's trained model itself: model = mytorch.load('model.npz')",
    ]
    return "\n".join(lines)
