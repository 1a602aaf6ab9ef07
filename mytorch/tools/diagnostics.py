"""Training diagnostics: the numbers inside a network that tell why it learns or does not.

The lecture notes name the usual ways training goes wrong: sigmoid or tanh units pushed
into their flat tails by large weights (their slope, and so the gradient through them,
is almost zero), ReLU units that never fire again, a step size that is too small or too
large, and gradients that vanish or explode as they are multiplied back through the
layers. :class:`Diagnostics` is a :class:`~mytorch.trainer.Callback` that measures each
of these per layer and epoch, and :func:`summarize` turns the numbers into advice.

What is measured
----------------
For every parameter (``0.weight``, ``0.bias``, ...), averaged over the epoch's steps:

* ``norm``: ||W|| (Frobenius) at the end of the epoch;
* ``grad_norm``: ||dL/dW|| of the gradient the optimiser used (after clipping);
* ``update_ratio``: ||W_after - W_before|| / ||W_before|| of one optimiser step, i.e.
  ||lr * update|| / ||W|| whatever the optimiser (momentum, Adam and weight decay
  included). About 1e-3 is the usual healthy value; much below 1e-5 the weights hardly
  move, above 1e-1 each step rewrites them.

For every activation module (Sigmoid, Tanh, ReLU, ...), over every output of the epoch's
training batches (or of a fixed probe batch, see ``probe``):

* ``mean`` and ``std`` of the outputs;
* ``saturated`` (Sigmoid and Tanh): the share of outputs near an asymptote, where the
  slope is under a fifth of its peak: sigmoid output below 0.05 or above 0.95
  (|z| > 2.94, slope < 0.048 of at most 0.25), tanh output with |y| > 0.95
  (|z| > 1.83, slope < 0.098 of at most 1);
* ``dead`` (ReLU): the share of units whose output was 0 for *every* sample seen, so
  that no gradient reaches their weights and they cannot recover.

Cost: nothing unless the callback is used. When it is, each optimiser step also reads
each activation's saved output (``state``, kept by the module anyway), takes a norm of
each gradient and copies each parameter once: a few passes over arrays the step touches
anyway, negligible for the small models this library is for.
"""

from __future__ import annotations

import json
import math
import os
from typing import Any

import numpy as np

from mytorch.nn.activation import Activation, Identity, LogSoftmax, ReLU, Sigmoid, Softmax, Tanh
from mytorch.nn.linear import Linear
from mytorch.nn.module import Module
from mytorch.trainer import Callback

__all__ = [
    "Diagnostics",
    "activation_statistics",
    "format_table",
    "plot_diagnostics",
    "save_report",
    "summarize",
    "SIGMOID_SATURATION",
    "TANH_SATURATION",
]

#: A sigmoid output below this or above 1 minus this counts as saturated.
SIGMOID_SATURATION = 0.05
#: A tanh output with |y| above this counts as saturated.
TANH_SATURATION = 0.95

#: Advice is given when at least this share of a layer's outputs is saturated...
SATURATED_WARNING = 0.4
#: ... or at least this share of its ReLU units is dead ...
DEAD_WARNING = 0.25
#: ... or the typical update/weight ratio of a layer lies outside this range ...
UPDATE_RATIO_RANGE = (1e-5, 1e-1)
#: ... or the first layer's gradient is this many times smaller (or larger) than the last's.
GRADIENT_SPREAD_WARNING = 1e3

# Softmax/LogSoftmax are output normalisers, Identity does nothing: no unit to diagnose.
_SKIPPED = (Identity, Softmax, LogSoftmax)


# ------------------------------------------------------------------ activation statistics
class _ActivationStats:
    """Running statistics of one activation's outputs, batch after batch.

    The mean and variance are merged batch by batch (Chan et al.'s pairwise update),
    which stays accurate where the textbook E[x^2] - E[x]^2 would cancel.
    """

    def __init__(self, module: Activation) -> None:
        self.kind = type(module).__name__
        self.saturating = isinstance(module, (Sigmoid, Tanh))
        self.is_relu = isinstance(module, ReLU)
        self.count = 0
        self.mean = 0.0
        self.m2 = 0.0
        self.saturated = 0
        self.alive: np.ndarray | None = None

    def add(self, output: np.ndarray) -> None:
        """Take in one batch of outputs, shape (N, units) (or (N,): one unit)."""
        values = output.reshape(len(output), -1) if output.ndim > 1 else output.reshape(-1, 1)
        n = values.size
        if n == 0:
            return
        batch_mean = float(values.mean(dtype=np.float64))
        batch_m2 = float(np.square(values - batch_mean, dtype=np.float64).sum())
        total = self.count + n
        delta = batch_mean - self.mean
        self.m2 += batch_m2 + delta * delta * self.count * n / total
        self.mean += delta * n / total
        self.count = total
        if self.saturating:
            if self.kind == "Sigmoid":
                tails = (values < SIGMOID_SATURATION) | (values > 1.0 - SIGMOID_SATURATION)
            else:
                tails = np.abs(values) > TANH_SATURATION
            self.saturated += int(np.count_nonzero(tails))
        if self.is_relu:
            fired = np.any(values != 0, axis=0)
            self.alive = fired if self.alive is None else self.alive | fired

    def result(self, layer: int) -> dict[str, Any]:
        units = None if self.alive is None else int(self.alive.size)
        return {
            "layer": layer,
            "kind": self.kind,
            "mean": _number(self.mean if self.count else math.nan),
            "std": _number(math.sqrt(self.m2 / self.count) if self.count else math.nan),
            "saturated": _number(self.saturated / self.count)
            if self.saturating and self.count
            else None,
            "dead": _number(1.0 - self.alive.mean()) if self.is_relu and units else None,
        }


def _number(value: float) -> float | None:
    """A float for JSON: NaN and inf become None."""
    value = float(value)
    return value if math.isfinite(value) else None


def _leaves(model: Module) -> list[tuple[str, Module]]:
    """(name, module) of every module without sub-modules, in forward order."""
    return [
        (name or type(module).__name__, module)
        for name, module in model.named_modules()
        if not module._modules
    ]


def _layer_numbers(model: Module) -> dict[str, int]:
    """Number the layers as the notes do: each Linear starts a new layer, and the
    modules after it (batch norm, activation, dropout) belong to that layer."""
    numbers, layer = {}, 0
    for name, module in _leaves(model):
        if isinstance(module, Linear):
            layer += 1
        numbers[name] = max(layer, 1)
    return numbers


def _tracked_activations(model: Module) -> list[tuple[str, Activation]]:
    return [
        (name, module)
        for name, module in _leaves(model)
        if isinstance(module, Activation) and not isinstance(module, _SKIPPED)
    ]


def activation_statistics(model: Module, X: np.ndarray) -> dict[str, dict[str, Any]]:
    """Run ``model`` on a probe batch in evaluation mode and describe each activation.

    Parameters
    ----------
    model : Module
        E.g. an ``nn.Sequential``; every activation module in it is described.
    X : numpy.ndarray
        Probe inputs, shape (N, in_features), cast to the model's dtype.

    Returns
    -------
    dict
        ``{module name: {"layer", "kind", "mean", "std", "saturated", "dead"}}``
        (see the module docstring; ``saturated`` is None except for Sigmoid and Tanh,
        ``dead`` None except for ReLU).

    Examples
    --------
    >>> from mytorch import nn
    >>> model = nn.Sequential(nn.Linear(2, 3, rng=0), nn.ReLU())
    >>> model[0].bias.data[:] = -10.0   # every pre-activation negative for small inputs
    >>> activation_statistics(model, np.zeros((4, 2)))["1"]["dead"]
    1.0
    """
    numbers = _layer_numbers(model)
    tracked = _tracked_activations(model)
    was_training = model.training
    model.eval()
    try:
        model(np.asarray(X, dtype=_model_dtype(model)))
    finally:
        model.train(was_training)
    out = {}
    for name, module in tracked:
        stats = _ActivationStats(module)
        if module.state is not None:
            stats.add(module.state)
        out[name] = stats.result(numbers[name])
    return out


def _model_dtype(model: Module) -> np.dtype:
    for param in model.parameters():
        return param.data.dtype
    return np.dtype(np.float64)


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


# ------------------------------------------------------------------ reading the records
def _linear_weights(record: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (name, p)
        for name, p in record["parameters"].items()
        if p["module"] == "Linear" and name.endswith("weight")
    ]


def summarize(records: list[dict[str, Any]]) -> list[str]:
    """Turn diagnostics records into advice in plain words, one line per finding.

    Saturation and dead units are judged on the last epoch; the update/weight ratio
    on its median over the epochs (it shrinks naturally as training converges, which
    is no reason to raise the learning rate); vanishing or exploding gradients on the
    last epoch's ratio of the first to the last layer's gradient norm.

    Parameters
    ----------
    records : list of dict
        ``Diagnostics.records`` / ``History.diagnostics``.

    Returns
    -------
    list of str
        E.g. ``"layer 2: 63% of sigmoid outputs saturated; try smaller initial weights
        or batch norm"``; one reassuring line if nothing looks wrong.
    """
    if not records:
        return ["no diagnostics recorded"]
    last = records[-1]
    lines: list[str] = []
    for stats in last["activations"].values():
        layer, kind = stats["layer"], stats["kind"].lower()
        saturated, dead = stats.get("saturated"), stats.get("dead")
        if saturated is not None and saturated >= SATURATED_WARNING:
            lines.append(
                f"layer {layer}: {saturated:.0%} of {kind} outputs saturated (their "
                "slope is near 0, so little gradient gets through); try smaller "
                "initial weights, standardised inputs or batch norm"
            )
        if dead is not None and dead >= DEAD_WARNING:
            lines.append(
                f"layer {layer}: {dead:.0%} of ReLU units dead (0 for every sample, "
                "so they get no gradient); try a smaller learning rate, He "
                "(kaiming) init or LeakyReLU"
            )
    low, high = UPDATE_RATIO_RANGE
    for name, param in _linear_weights(last):
        ratios = [r["parameters"][name]["update_ratio"] for r in records if name in r["parameters"]]
        ratios = [r for r in ratios if r is not None]
        if not ratios:
            continue
        typical = float(np.median(ratios))
        if typical < low:
            lines.append(
                f"layer {param['layer']}: update/weight ratio {typical:.0e} "
                "(about 1e-3 is typical): the learning rate may be too small, or "
                "hardly any gradient reaches this layer"
            )
        elif typical > high:
            lines.append(
                f"layer {param['layer']}: update/weight ratio {typical:.0e} "
                f"(about 1e-3 is typical): the learning rate may be too large"
            )
    weights = _linear_weights(last)
    if len(weights) >= 2:
        first, final = weights[0][1]["grad_norm"], weights[-1][1]["grad_norm"]
        if first is not None and final:
            spread = first / final
            if spread < 1 / GRADIENT_SPREAD_WARNING:
                lines.append(
                    f"gradients vanish toward the input: layer 1's gradient norm is "
                    f"{spread:.0e} of the last layer's; try ReLU, batch norm or "
                    "smaller initial weights"
                )
            elif spread > GRADIENT_SPREAD_WARNING:
                lines.append(
                    f"gradients explode toward the input: layer 1's gradient norm is "
                    f"{spread:.0e} times the last layer's; try a smaller learning "
                    "rate, gradient clipping or batch norm"
                )
    if not lines:
        lines.append(
            f"no warning signs: under {SATURATED_WARNING:.0%} of sigmoid/tanh outputs "
            f"saturated and under {DEAD_WARNING:.0%} of ReLU units dead in every layer, "
            f"update/weight ratios between {low:.0e} and {high:.0e}"
        )
    return lines


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def _sci(value: float | None) -> str:
    return "-" if value is None else f"{value:.2e}"


def format_table(records: list[dict[str, Any]]) -> str:
    """The last epoch's diagnostics as a table: one row per layer.

    Columns: weight norm, gradient norm and update/weight ratio of the layer's Linear
    weight; the kind, mean and std of its activation and the saturated or dead share.
    """
    if not records:
        return "(no diagnostics recorded)"
    last = records[-1]
    rows = {}
    for name, param in _linear_weights(last):
        rows.setdefault(param["layer"], {})["weight"] = (name, param)
    for name, stats in last["activations"].items():
        rows.setdefault(stats["layer"], {})["activation"] = (name, stats)
    header = (
        f"{'layer':>5}  {'|W|':>9}  {'|dW|':>9}  {'update/W':>9}  {'activation':<10}  "
        f"{'mean':>7}  {'std':>7}  {'saturated':>9}  {'dead':>5}"
    )
    lines = [f"diagnostics after epoch {last['epoch']} ({last['source']})", header]
    for layer in sorted(rows):
        weight = rows[layer].get("weight", (None, {}))[1]
        stats = rows[layer].get("activation", (None, {}))[1]
        mean, std = stats.get("mean"), stats.get("std")
        lines.append(
            f"{layer:>5}  {_sci(weight.get('norm')):>9}  {_sci(weight.get('grad_norm')):>9}  "
            f"{_sci(weight.get('update_ratio')):>9}  {stats.get('kind', '-'):<10}  "
            f"{'-' if mean is None else f'{mean:.3f}':>7}  "
            f"{'-' if std is None else f'{std:.3f}':>7}  "
            f"{_percent(stats.get('saturated')):>9}  {_percent(stats.get('dead')):>5}"
        )
    return "\n".join(lines)


def save_report(records: list[dict[str, Any]], path: str | os.PathLike) -> dict[str, Any]:
    """Write the records, the thresholds and the advice as JSON (atomically); return it.

    The file holds ``{"thresholds": {...}, "summary": [lines], "epochs": records}``.
    """
    from mytorch.serialization import atomic_write

    report = {
        "thresholds": {
            "sigmoid_saturated_below": SIGMOID_SATURATION,
            "sigmoid_saturated_above": 1.0 - SIGMOID_SATURATION,
            "tanh_saturated_abs_above": TANH_SATURATION,
            "saturated_warning": SATURATED_WARNING,
            "dead_warning": DEAD_WARNING,
            "update_ratio_range": list(UPDATE_RATIO_RANGE),
            "gradient_spread_warning": GRADIENT_SPREAD_WARNING,
        },
        "summary": summarize(records),
        "epochs": records,
    }
    text = json.dumps(report, indent=2)
    atomic_write(path, lambda file: file.write(text.encode()))
    return report


# ------------------------------------------------------------------ the picture
def _series(records: list[dict[str, Any]], group: str, name: str, key: str) -> np.ndarray:
    return np.array(
        [
            np.nan if r[group].get(name, {}).get(key) is None else r[group][name][key]
            for r in records
        ],
        dtype=float,
    )


def plot_diagnostics(
    records: list[dict[str, Any]], path: str | os.PathLike, title: str = "Diagnostics"
) -> None:
    """Draw six small plots of the records against the epoch; save a PNG.

    Top row, per layer's Linear weight: ||W||, ||dL/dW|| (log scale) and the
    update/weight ratio (log scale, with the 1e-3 rule of thumb dashed). Bottom row,
    per activation: the share of saturated outputs, the share of dead ReLU units and
    the mean output with a band of one standard deviation. Needs matplotlib.
    """
    from mytorch.tools.plots import _pyplot, _save

    plt = _pyplot()
    epochs = np.array([r["epoch"] for r in records])
    figure, axes = plt.subplots(2, 3, figsize=(13, 7))
    weights = _linear_weights(records[-1]) if records else []
    activations = list(records[-1]["activations"].items()) if records else []
    panels = (
        (axes[0, 0], "norm", "weight norm ||W||", False),
        (axes[0, 1], "grad_norm", "gradient norm ||dL/dW||", True),
        (axes[0, 2], "update_ratio", "update / weight ratio", True),
    )
    for axis, key, label, log in panels:
        for name, param in weights:
            values = _series(records, "parameters", name, key)
            axis.plot(epochs, values, "-o", markersize=2, label=f"layer {param['layer']}")
        if log and weights:
            axis.set_yscale("log")
        axis.set_title(label, fontsize=10)
    axes[0, 2].axhline(1e-3, color="grey", linestyle="--", linewidth=1)
    for axis, key, label, kinds in (
        (axes[1, 0], "saturated", "saturated sigmoid/tanh outputs", ("Sigmoid", "Tanh")),
        (axes[1, 1], "dead", "dead ReLU units", ("ReLU",)),
    ):
        drawn = False
        for name, stats in activations:
            if stats["kind"] in kinds:
                values = _series(records, "activations", name, key)
                axis.plot(
                    epochs,
                    values,
                    "-o",
                    markersize=2,
                    label=f"layer {stats['layer']} ({stats['kind'].lower()})",
                )
                drawn = True
        if not drawn:
            axis.text(
                0.5,
                0.5,
                f"no {'/'.join(k.lower() for k in kinds)} layers",
                ha="center",
                va="center",
                transform=axis.transAxes,
                color="grey",
            )
        axis.set_ylim(-0.05, 1.05)
        axis.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.0%}"))
        axis.set_title(label, fontsize=10)
    axis = axes[1, 2]
    for name, stats in activations:
        mean = _series(records, "activations", name, "mean")
        std = _series(records, "activations", name, "std")
        (line,) = axis.plot(
            epochs, mean, "-", label=f"layer {stats['layer']} ({stats['kind'].lower()})"
        )
        axis.fill_between(epochs, mean - std, mean + std, color=line.get_color(), alpha=0.2)
    axis.set_title("activation mean ± std", fontsize=10)
    for axis in axes.flat:
        axis.set_xlabel("epoch", fontsize=9)
        axis.grid(True, alpha=0.3)
        if axis.get_legend_handles_labels()[0]:
            axis.legend(fontsize=7)
    figure.suptitle(title)
    figure.tight_layout()
    _save(figure, path)
    plt.close(figure)
