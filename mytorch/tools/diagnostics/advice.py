"""Reading the records: advice in words, a table, and the JSON report."""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np

from mytorch.tools.diagnostics.statistics import SIGMOID_SATURATION, TANH_SATURATION

#: Advice is given when at least this share of a layer's outputs is saturated...
SATURATED_WARNING = 0.4
#: ... or at least this share of its ReLU units is dead ...
DEAD_WARNING = 0.25
#: ... or the typical update/weight ratio of a layer lies outside this range ...
UPDATE_RATIO_RANGE = (1e-5, 1e-1)
#: ... or the first layer's gradient is this many times smaller (or larger) than the last's.
GRADIENT_SPREAD_WARNING = 1e3


# ------------------------------------------------------------------ reading the records
def linear_weights(record: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
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
    for name, param in linear_weights(last):
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
    weights = linear_weights(last)
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
    rows: dict[str, Any] = {}
    for name, param in linear_weights(last):
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
