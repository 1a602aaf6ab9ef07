"""One run of a sweep, as the function a Dask task calls: train, record, never raise."""

from __future__ import annotations

import contextlib
import json
import math
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mytorch.config import TrainConfig
from mytorch.serialization import atomic_write
from mytorch.workflows.train import train

__all__ = ["run_one"]


@contextlib.contextmanager
def _blas_threads(threads: int | None) -> Iterator[None]:
    """Limit BLAS/OpenMP threads in this process while the block runs (threadpoolctl)."""
    if threads is None:
        yield
        return
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # the environment variables set for LocalCluster workers remain
        yield
        return
    with threadpool_limits(limits=threads):
        yield


def _threads_here(blas_threads: int | dict[str, int] | None) -> int | None:
    if not isinstance(blas_threads, dict):
        return blas_threads
    try:
        from distributed import get_worker

        return blas_threads.get(get_worker().address)
    except (ImportError, ValueError):
        return None


def _best_val_loss(run_dir: Path) -> tuple[float | None, list[float | None]]:
    with open(run_dir / "metrics.json") as file:
        curve = json.load(file).get("val_loss", [])
    finite = [v for v in curve if v is not None and math.isfinite(v)]
    return (min(finite) if finite else None), curve


def _finished_row(name: str, run_dir: Path, seconds: float | None) -> dict[str, Any]:
    with open(run_dir / "report.json") as file:
        report = json.load(file)
    best, _ = _best_val_loss(run_dir)
    return {
        "run": name,
        "status": "ok",
        "test_accuracy": report.get("test_accuracy"),
        "best_val_loss": best,
        "epochs_run": report.get("epochs_run"),
        "seconds": seconds,
        "error": "",
    }


def run_one(
    name: str,
    settings: dict[str, Any],
    run_dir: str,
    blas_threads: int | dict[str, int] | None = None,
) -> dict[str, Any]:
    """Train one run of a sweep (the function each Dask task calls); never raises.

    Parameters
    ----------
    name : str
        The run's name (see :func:`run_name`).
    settings : dict
        ``TrainConfig`` fields except ``out``.
    run_dir : str
        The run's directory (``TrainConfig.out``); its ``train.log`` gets the output.
    blas_threads : int or dict or None
        BLAS threads for this run, or a map from worker address to threads.

    Returns
    -------
    dict
        ``run``, ``status`` ('ok' or 'failed'), ``test_accuracy``, ``best_val_loss``,
        ``epochs_run``, ``seconds`` and ``error`` (``'Type: message'`` when failed).
    """
    started = time.perf_counter()
    directory = Path(run_dir)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        # A run trained again must not leave an older run's verdict behind.
        for stale in ("report.json", "sweep_run.json", "error.txt"):
            (directory / stale).unlink(missing_ok=True)
        with _blas_threads(_threads_here(blas_threads)), open(directory / "train.log", "w") as log:
            train(TrainConfig(**settings, out=str(directory)), progress=False, stream=log)
        row = _finished_row(name, directory, round(time.perf_counter() - started, 3))
        text = json.dumps(row, indent=2)
        atomic_write(directory / "sweep_run.json", lambda file: file.write(text.encode()))
        return row
    except Exception as error:  # a failed run is a result, not a crash
        message = f"{type(error).__name__}: {error}".strip()
        with contextlib.suppress(OSError):
            (directory / "error.txt").write_text(message + "\n")
        return {
            "run": name,
            "status": "failed",
            "test_accuracy": None,
            "best_val_loss": None,
            "epochs_run": None,
            "seconds": round(time.perf_counter() - started, 3),
            "error": message,
        }
