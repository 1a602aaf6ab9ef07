"""A sweep's results: one row per run, ``results.csv`` / ``results.json`` and the
validation-loss curves of the best runs (``best_runs.png``)."""

from __future__ import annotations

import csv
import io
import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from mytorch.config import TrainConfig
from mytorch.integrations.sweep.plan import SETTING_NAMES, SweepSpec
from mytorch.integrations.sweep.task import _best_val_loss, _finished_row
from mytorch.serialization import atomic_write

__all__: list[str] = []


def _resumed_row(name: str, run_dir: Path) -> dict[str, Any]:
    saved = run_dir / "sweep_run.json"
    if saved.exists():
        with open(saved) as file:
            return json.load(file)
    return _finished_row(name, run_dir, None)


def _full_settings(settings: dict[str, Any]) -> dict[str, Any]:
    config = asdict(TrainConfig(**settings))
    config.pop("out")
    return config


def _summary(row: dict[str, Any]) -> str:
    if row["status"] != "ok":
        return f"{row['run']}: FAILED ({row['error'].splitlines()[0] if row['error'] else ''})"
    accuracy = row["test_accuracy"]
    loss = row["best_val_loss"]
    return (
        f"{row['run']}: test accuracy {accuracy:.2%}, best val loss "
        f"{loss if loss is None else format(loss, '.4f')}"
        + ("" if row.get("seconds") is None else f", {row['seconds']:.1f}s")
    )


_COLUMNS = (
    "run",
    "status",
    "test_accuracy",
    "best_val_loss",
    "epochs_run",
    "seconds",
    "resumed",
    "error",
)


def _write_results(
    out: Path,
    runs: list[dict[str, Any]],
    best: dict[str, Any] | None,
    swept_keys: list[str],
    spec: SweepSpec,
) -> None:
    setting_keys = swept_keys + [k for k in SETTING_NAMES if k not in swept_keys]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([*_COLUMNS, *setting_keys])
    for row in runs:
        values = [row.get(c) for c in _COLUMNS]
        settings = [
            " ".join(map(str, v)) if isinstance(v, list) else v
            for v in (row["settings"].get(k) for k in setting_keys)
        ]
        writer.writerow(["" if v is None else v for v in values + settings])
    atomic_write(out / "results.csv", lambda file: file.write(buffer.getvalue().encode()))
    document = {
        "sweep": asdict(spec),
        "swept": swept_keys,
        "best": None if best is None else best["run"],
        "runs": runs,
    }
    text = json.dumps(document, indent=2, default=str)
    atomic_write(out / "results.json", lambda file: file.write(text.encode()))


def _plot_best(out: Path, best_runs: list[dict[str, Any]]) -> None:
    try:
        from mytorch.tools.plots import _pyplot, _save

        plt = _pyplot()
    except ImportError as error:
        print(f"(no best_runs.png: {error})", file=sys.stderr)
        return
    figure, axis = plt.subplots(figsize=(8, 4.5))
    for rank, row in enumerate(best_runs, start=1):
        _, curve = _best_val_loss(out / "runs" / row["run"])
        values = np.array([np.nan if v is None else v for v in curve], dtype=float)
        axis.plot(
            np.arange(1, len(values) + 1),
            values,
            "-o",
            markersize=3,
            label=f"#{rank} {row['run']} (acc {row['test_accuracy']:.1%})",
        )
    axis.set_xlabel("Epoch")
    axis.set_ylabel("Validation loss (cross-entropy)")
    axis.set_title(f"Best {len(best_runs)} runs by validation loss")
    axis.grid(True, alpha=0.3)
    axis.legend(fontsize=7)
    _save(figure, out / "best_runs.png")
    plt.close(figure)
