"""The ``Diagnostics`` callback: per-layer numbers of every epoch, recorded during training."""

from __future__ import annotations

from typing import Any

import numpy as np

from mytorch.nn.module import Module
from mytorch.tools.diagnostics.advice import format_table, summarize
from mytorch.tools.diagnostics.statistics import (
    _ActivationStats,
    _layer_numbers,
    _number,
    _tracked_activations,
    activation_statistics,
)
from mytorch.trainer import Callback


# ------------------------------------------------------------------ the callback
class Diagnostics(Callback):
    """Record weight and gradient norms, update/weight ratios, saturation and dead units.

    Add it to a :class:`~mytorch.trainer.Trainer`'s callbacks. After each epoch it
    appends one record (a dict of plain numbers, ready for JSON) to
    ``trainer.history.diagnostics`` and to ``self.records`` (the same list)::

        {"epoch": 3, "source": "training batches",
         "parameters": {"0.weight": {"layer": 1, "module": "Linear", "norm": ...,
                                     "grad_norm": ..., "update_ratio": ...}, ...},
         "activations": {"1": {"layer": 1, "kind": "Sigmoid", "mean": ..., "std": ...,
                               "saturated": 0.63, "dead": None}, ...}}

    Layers are numbered as in the notes: each Linear starts a layer, the batch norm,
    activation and dropout after it belong to it. NaN and inf are stored as None.

    Parameters
    ----------
    probe : numpy.ndarray or None
        A fixed batch of inputs (N, in_features). If given, the activation statistics
        come from running it through the model in evaluation mode after each epoch
        (comparable from epoch to epoch); otherwise from every training batch of the
        epoch (what the optimiser actually saw; a unit is dead if it was 0 for every
        training sample of the epoch).

    Notes
    -----
    The callback wraps ``trainer.optimizer.step`` during ``fit`` (and unwraps it at the
    end) so that it sees the weights just before and after every step and the
    activations of the batch being learned from; the model itself is not changed. With
    no optimiser (a model that steps itself) it falls back to the last batch's gradients
    and activations and records no update ratio.

    It keeps no state of its own from one epoch to the next: its sums start afresh every
    epoch and its records live in the trainer's history, which a checkpoint holds. So a
    resumed run needs nothing from it (its ``state_dict()`` is empty) and continues its
    records where they stopped.

    Examples
    --------
    >>> from mytorch import nn, optim
    >>> from mytorch.trainer import Trainer
    >>> X = np.random.default_rng(0).normal(size=(64, 2)); y = (X[:, 0] > 0).astype(int)
    >>> model = nn.Sequential(nn.Linear(2, 4, rng=0), nn.Tanh(), nn.Linear(4, 2, rng=1))
    >>> diagnostics = Diagnostics()
    >>> trainer = Trainer(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1),
    ...                   callbacks=[diagnostics], rng=0)
    >>> _ = trainer.fit(X, y, epochs=2, batch_size=16)
    >>> sorted(trainer.history.diagnostics[-1]["parameters"])
    ['0.bias', '0.weight', '2.bias', '2.weight']
    """

    #: It wraps the optimiser's step to see every update: the trainer then runs the
    #: reference loop, not the compiled step.
    needs_each_step = True

    def __init__(self, probe: np.ndarray | None = None) -> None:
        self.probe = None if probe is None else np.asarray(probe)
        self.records: list[dict[str, Any]] = []
        self._unwrap: Any = None

    # -------------------------------------------------------------- hooks
    def on_train_begin(self, trainer: Any) -> None:
        history = trainer.history
        if not isinstance(getattr(history, "diagnostics", None), list):
            history.diagnostics = []
        # One list: records of a resumed run (History.from_dict) continue in it.
        self.records = history.diagnostics
        model = trainer.model
        if not isinstance(model, Module):
            raise TypeError(
                f"Diagnostics: expected the trainer's model to be a mytorch Module, got "
                f"{type(model).__name__}"
            )
        self._layers = _layer_numbers(model)
        self._params = [(name, param) for name, param in model.named_parameters()]
        self._module_of = {}
        for module_name, module in model.named_modules():
            for name in module._parameters:
                dotted = f"{module_name}.{name}" if module_name else name
                self._module_of[dotted] = (module_name or type(module).__name__, module)
        self._activations = _tracked_activations(model)
        self._before = [np.empty_like(param.data) for _, param in self._params]
        self._reset_epoch()
        self._unhook()
        self._hook(trainer.optimizer)

    def on_epoch_end(self, trainer: Any, epoch: int, logs: dict[str, float]) -> None:
        if self._steps == 0:
            # No wrapped optimiser: describe the last batch (its gradients and outputs).
            self._read_gradients()
            self._read_activations()
        source = "training batches"
        if self.probe is not None:
            probed = activation_statistics(trainer.model, self.probe)
            source = f"probe batch of {len(self.probe)}"
        parameters = {}
        for index, (name, param) in enumerate(self._params):
            module_name, module = self._module_of[name]
            parameters[name] = {
                "layer": self._layers.get(module_name, 1),
                "module": type(module).__name__,
                "norm": _number(np.linalg.norm(param.data)),
                "grad_norm": _number(self._grad_norm[index] / self._grad_count[index])
                if self._grad_count[index]
                else None,
                "update_ratio": _number(self._ratio[index] / self._ratio_count[index])
                if self._ratio_count[index]
                else None,
            }
        if self.probe is not None:
            activations = probed
        else:
            activations = {
                name: self._stats[name].result(self._layers[name]) for name, _ in self._activations
            }
        self.records.append(
            {
                "epoch": int(epoch),
                "source": source,
                "parameters": parameters,
                "activations": activations,
            }
        )
        self._reset_epoch()

    def on_train_end(self, trainer: Any) -> None:
        self._unhook()

    # -------------------------------------------------------------- per step
    def _reset_epoch(self) -> None:
        n = len(self._params)
        self._steps = 0
        self._grad_norm = [0.0] * n
        self._grad_count = [0] * n
        self._ratio = [0.0] * n
        self._ratio_count = [0] * n
        self._norm_before = [0.0] * n
        self._stats = {name: _ActivationStats(module) for name, module in self._activations}

    def _hook(self, optimizer: Any) -> None:
        step = getattr(optimizer, "step", None)
        if step is None:
            return
        had_own = "step" in getattr(optimizer, "__dict__", {})

        def diagnosed_step(*args: Any, **kwargs: Any) -> Any:
            self._before_step()
            result = step(*args, **kwargs)
            self._after_step()
            return result

        optimizer.step = diagnosed_step

        def unwrap() -> None:
            if had_own:
                optimizer.step = step
            else:
                del optimizer.step  # back to the class's method

        self._unwrap = unwrap

    def _unhook(self) -> None:
        if self._unwrap is not None:
            self._unwrap()
            self._unwrap = None

    def _read_gradients(self) -> None:
        for index, (_, param) in enumerate(self._params):
            if param.grad is not None:
                self._grad_norm[index] += float(np.linalg.norm(param.grad))
                self._grad_count[index] += 1

    def _read_activations(self) -> None:
        if self.probe is not None:
            return
        for name, module in self._activations:
            if module.state is not None:
                self._stats[name].add(module.state)

    def _before_step(self) -> None:
        self._read_gradients()
        self._read_activations()
        for index, (_, param) in enumerate(self._params):
            np.copyto(self._before[index], param.data)
            self._norm_before[index] = float(np.linalg.norm(param.data))

    def _after_step(self) -> None:
        self._steps += 1
        for index, (_, param) in enumerate(self._params):
            before = self._before[index]
            # In place: the buffer is refilled before the next step anyway.
            np.subtract(param.data, before, out=before)
            if self._norm_before[index] > 0:
                self._ratio[index] += float(np.linalg.norm(before)) / self._norm_before[index]
                self._ratio_count[index] += 1

    # -------------------------------------------------------------- reading
    def summary(self) -> list[str]:
        """Plain-words advice from the records (see :func:`summarize`)."""
        return summarize(self.records)

    def table(self) -> str:
        """The last epoch's numbers per layer (see :func:`format_table`)."""
        return format_table(self.records)
