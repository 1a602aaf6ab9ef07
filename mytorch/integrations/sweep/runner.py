"""Run a sweep: plan its runs, send the missing ones to Dask, collect the results."""

from __future__ import annotations

import os
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mytorch.integrations.sweep.cluster import _client
from mytorch.integrations.sweep.plan import _WHERE, expand_runs, load_sweep, run_name
from mytorch.integrations.sweep.results import (
    _full_settings,
    _plot_best,
    _resumed_row,
    _summary,
    _write_results,
)
from mytorch.integrations.sweep.task import run_one
from mytorch.serialization import atomic_write

__all__ = ["SweepResult", "run_sweep"]


@dataclass
class SweepResult:
    """What :func:`run_sweep` did.

    Attributes
    ----------
    runs : list of dict
        One row per run, in the sweep's order: ``run``, ``status``, ``test_accuracy``,
        ``best_val_loss``, ``epochs_run``, ``seconds``, ``error``, ``resumed`` (True if
        it was finished before and not run again) and ``settings``.
    best : dict or None
        The row of the ok run with the lowest best validation loss.
    executed : list of str
        Names of the runs trained by this call.
    out : pathlib.Path
        The sweep's directory.
    seconds : float
        Wall time of the call.
    """

    runs: list[dict[str, Any]]
    best: dict[str, Any] | None
    executed: list[str]
    out: Path
    seconds: float


def run_sweep(
    config: str | os.PathLike | dict[str, Any],
    out_dir: str | os.PathLike | None = None,
    scheduler: str | None = None,
    n_workers: int | None = None,
    resume: bool = True,
    *,
    blas_threads: int | None = None,
    top: int | None = None,
    stream: Any = None,
) -> SweepResult:
    """Run every run of a sweep as a Dask task and collect the results.

    Parameters
    ----------
    config : str, path-like or dict
        The sweep's TOML file or its tables (see the module docstring).
    out_dir : str or path-like, optional
        The sweep's directory; default ``[sweep] out``, else ``sweeps/<file stem>``.
    scheduler : str, optional
        Address of an existing Dask scheduler (``tcp://HOST:PORT``); its workers must
        import mytorch and see ``out_dir``. Default ``[sweep] scheduler``, else a new
        ``LocalCluster``.
    n_workers : int, optional
        Worker processes of the LocalCluster (default ``[sweep] n_workers``, else 2).
    resume : bool
        Skip runs whose directory already has a ``report.json``.
    blas_threads : int, optional
        BLAS threads per run; default: each host's cores divided by its workers.
    top : int, optional
        How many of the best runs ``best_runs.png`` shows (default 5).
    stream : file-like, optional
        Where progress lines go (default ``sys.stdout``).

    Returns
    -------
    SweepResult

    Raises
    ------
    ValueError
        If the sweep file is malformed or ``n_workers`` is not a positive int.
    ImportError
        If dask[distributed] is not installed.
    """
    started = time.perf_counter()
    stream = sys.stdout if stream is None else stream
    spec = load_sweep(config)
    options = spec.options
    default_out = (
        (Path("sweeps") / Path(config).stem)
        if not isinstance(config, dict)
        else Path("sweeps/latest")
    )
    out = Path(out_dir or options.get("out") or default_out)
    scheduler = scheduler or options.get("scheduler")
    n_workers = n_workers if n_workers is not None else options.get("n_workers", 2)
    top = top if top is not None else options.get("top", 5)
    for name, value in (("n_workers", n_workers), ("top", top)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{_WHERE}: expected {name} to be a positive int, got {value!r}")
    if blas_threads is not None and (
        isinstance(blas_threads, bool) or not isinstance(blas_threads, int) or blas_threads < 1
    ):
        raise ValueError(
            f"{_WHERE}: expected blas_threads to be a positive int, got {blas_threads!r}"
        )

    planned = []
    for swept, settings in expand_runs(spec):
        name = run_name(swept, settings)
        planned.append((name, swept, settings, out / "runs" / name))
    names = [name for name, *_ in planned]
    if len(set(names)) != len(names):
        duplicates = sorted({n for n in names if names.count(n) > 1})
        raise ValueError(f"{_WHERE}: the sweep has identical runs {duplicates}")

    rows: dict[str, dict[str, Any]] = {}
    pending = []
    for name, _, _, run_dir in planned:
        if resume and (run_dir / "report.json").exists():
            rows[name] = {**_resumed_row(name, run_dir), "resumed": True}
        else:
            pending.append((name, run_dir))
    print(
        f"mytorch sweep: {len(planned)} runs, {len(rows)} already finished, "
        f"{len(pending)} to run -> {out}",
        file=stream,
        flush=True,
    )
    out.mkdir(parents=True, exist_ok=True)
    settings_of = {name: settings for name, _, settings, _ in planned}
    if pending:
        with _client(scheduler, n_workers, blas_threads) as (client, threads, description):
            print(f"mytorch sweep: {description}", file=stream, flush=True)
            from distributed import as_completed

            futures = {
                client.submit(
                    run_one,
                    name,
                    settings_of[name],
                    str(run_dir.resolve()),
                    threads,
                    key=f"mytorch-run-{name}-{uuid.uuid4().hex[:8]}",
                    pure=False,
                ): name
                for name, run_dir in pending
            }
            for done, future in enumerate(as_completed(futures), start=1):
                name = futures[future]
                try:
                    row = future.result()
                except Exception as error:  # e.g. a worker that died
                    row = {
                        "run": name,
                        "status": "failed",
                        "test_accuracy": None,
                        "best_val_loss": None,
                        "epochs_run": None,
                        "seconds": None,
                        "error": f"{type(error).__name__}: {error}",
                    }
                rows[name] = {**row, "resumed": False}
                print(f"  [{done}/{len(pending)}] {_summary(rows[name])}", file=stream, flush=True)

    runs = [
        {**rows[name], "settings": _full_settings(settings)} for name, _, settings, _ in planned
    ]
    finished = [row for row in runs if row["status"] == "ok" and row["best_val_loss"] is not None]
    best = min(
        finished, key=lambda r: (r["best_val_loss"], -(r["test_accuracy"] or 0)), default=None
    )
    swept_keys = list(dict.fromkeys(k for _, swept, _, _ in planned for k in swept))
    _write_results(out, runs, best, swept_keys, spec)
    if best is not None:
        model = (out / "runs" / best["run"] / "model.npz").read_bytes()
        atomic_write(out / "best_model.npz", lambda file: file.write(model))
        _plot_best(out, sorted(finished, key=lambda r: r["best_val_loss"])[:top])
    seconds = time.perf_counter() - started
    failed = sum(row["status"] != "ok" for row in runs)
    print(
        f"mytorch sweep: done in {seconds:.1f}s, {len(runs) - failed} ok, {failed} failed"
        + (f"; best {_summary(best)}" if best else ""),
        file=stream,
        flush=True,
    )
    return SweepResult(
        runs=runs, best=best, executed=[name for name, _ in pending], out=out, seconds=seconds
    )
