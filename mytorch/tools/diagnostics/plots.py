"""The picture of the records: per-layer curves over the epochs."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from mytorch.tools.diagnostics.advice import linear_weights


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
    weights = linear_weights(records[-1]) if records else []
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
