"""Hyper-parameter sweeps of ``mytorch train`` runs, one Dask task per run.

A sweep is a TOML file (or the same data as a dict)::

    [train]                  # base settings: any `mytorch train` setting
    dataset = "digits"
    epochs = 10
    standardize = true

    [grid]                   # every combination of these lists ...
    lr = [0.01, 0.03, 0.1]
    hidden = [[32], [64, 32]]

    # ... or, instead of [grid], a random search:
    # [random]
    # n_trials = 20
    # seed = 0
    # lr = {low = 1e-4, high = 0.3, log = true}       # (log-)uniform float
    # batch_size = {low = 16, high = 256, log = true, integer = true}
    # hidden = [[32], [64, 32], [128, 64]]            # a list: one of its items
    # dropout = {low = 0.0, high = 0.5}

    [sweep]                  # optional defaults of the command-line flags
    n_workers = 2
    out = "sweeps/digits"

Each run calls :func:`mytorch.workflows.train.train` in its own directory ``OUT/runs/NAME``, where
NAME is made from the run's settings (the swept values and a hash of all of them), so
it is the same every time. The sweep writes to ``OUT``:

    results.csv / results.json   one row per run: settings, test accuracy, best
                                 validation loss, status, error message, seconds
    best_runs.png                validation-loss curves of the best runs
    best_model.npz               a copy of the model with the lowest validation loss

A failed run (an invalid setting, a diverging loss, even a crashed worker) is
recorded with its error and the others go on. With ``resume=True`` (the default) a
run whose directory already holds a ``report.json`` is not run again.

Runs go to a new ``distributed.LocalCluster`` (``n_workers`` processes of one thread
each) or to an existing cluster given by its scheduler's address. BLAS gets
``cores // workers`` threads per worker, so that workers do not oversubscribe the CPU.

Needs ``dask[distributed]`` (``pip install mytorch[sweep]``; ``threadpoolctl`` is used
when installed). ``import mytorch`` does not import this module.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import itertools
import json
import logging
import math
import os
import re
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from mytorch.config import TrainConfig
from mytorch.serialization import atomic_write
from mytorch.workflows.train import train

__all__ = ["SweepResult", "expand_runs", "load_sweep", "run_name", "run_one", "run_sweep"]

_SETTINGS = tuple(f.name for f in fields(TrainConfig) if f.name != "out")
_SWEEP_OPTIONS = ("n_workers", "scheduler", "out", "top")
_BLAS_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
_WHERE = "run_sweep"


# ---------------------------------------------------------------------- the sweep's runs
@dataclass
class SweepSpec:
    """A parsed sweep file.

    Attributes
    ----------
    base : dict
        Settings shared by every run (``TrainConfig`` fields).
    grid : dict of str to list, or None
        Values to combine, in the file's order.
    random : dict or None
        ``n_trials``, ``seed`` and each setting's choices or range.
    options : dict
        The ``[sweep]`` table: ``n_workers``, ``scheduler``, ``out``, ``top``.
    """

    base: dict[str, Any] = field(default_factory=dict)
    grid: dict[str, list[Any]] | None = None
    random: dict[str, Any] | None = None
    options: dict[str, Any] = field(default_factory=dict)


def _check_keys(table: dict[str, Any], known: tuple[str, ...], section: str) -> dict[str, Any]:
    table = {key.replace("-", "_"): value for key, value in table.items()}
    unknown = sorted(set(table) - set(known))
    if unknown:
        raise ValueError(
            f"{_WHERE}: unknown settings {unknown} in [{section}]; expected some of {sorted(known)}"
        )
    return table


def load_sweep(source: str | os.PathLike | dict[str, Any]) -> SweepSpec:
    """Read a sweep from a TOML file or a dict with the same tables.

    Parameters
    ----------
    source : str, path-like or dict
        The file, or ``{"train": {...}, "grid": {...}}`` / ``{"random": {...}}``.

    Returns
    -------
    SweepSpec

    Raises
    ------
    ValueError
        On unknown tables or settings, empty grid lists, both [grid] and [random],
        or a malformed range.
    """
    if isinstance(source, dict):
        data = source
    else:
        try:
            import tomllib
        except ImportError:  # Python 3.10
            import tomli as tomllib
        with open(source, "rb") as file:
            data = tomllib.load(file)
    unknown = sorted(set(data) - {"train", "grid", "random", "sweep"})
    if unknown:
        raise ValueError(
            f"{_WHERE}: unknown tables {unknown}; expected [train], [grid] or [random], and [sweep]"
        )
    spec = SweepSpec(
        base=_check_keys(dict(data.get("train", {})), _SETTINGS, "train"),
        options=_check_keys(dict(data.get("sweep", {})), _SWEEP_OPTIONS, "sweep"),
    )
    if "grid" in data and "random" in data:
        raise ValueError(f"{_WHERE}: expected either [grid] or [random], got both")
    if "grid" in data:
        spec.grid = _check_keys(dict(data["grid"]), _SETTINGS, "grid")
        for key, values in spec.grid.items():
            if not isinstance(values, list) or not values:
                raise ValueError(
                    f"{_WHERE}: expected [grid] {key} to be a non-empty list, got {values!r}"
                )
    if "random" in data:
        table = dict(data["random"])
        n_trials, seed = table.pop("n_trials", None), table.pop("seed", 0)
        if isinstance(n_trials, bool) or not isinstance(n_trials, int) or n_trials < 1:
            raise ValueError(
                f"{_WHERE}: expected [random] n_trials to be a positive int, got {n_trials!r}"
            )
        ranges = _check_keys(table, _SETTINGS, "random")
        for key, value in ranges.items():
            if isinstance(value, dict):
                _check_range(key, value)
        spec.random = {"n_trials": n_trials, "seed": seed, "ranges": ranges}
    return spec


def _check_range(key: str, value: dict[str, Any]) -> None:
    extra = sorted(set(value) - {"low", "high", "log", "integer"})
    low, high = value.get("low"), value.get("high")
    numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (low, high))
    if extra or not numbers or low > high or (value.get("log") and low <= 0):
        raise ValueError(
            f"{_WHERE}: expected [random] {key} = {{low = A, high = B, "
            f"log = false, integer = false}} with A <= B (A > 0 with log), "
            f"got {value!r}"
        )


def _draw(value: Any, rng: np.random.Generator) -> Any:
    if isinstance(value, list):
        return value[int(rng.integers(len(value)))]
    if not isinstance(value, dict):
        return value
    low, high = float(value["low"]), float(value["high"])
    if value.get("log"):
        drawn = math.exp(rng.uniform(math.log(low), math.log(high)))
    else:
        drawn = rng.uniform(low, high)
    if value.get("integer"):
        return int(min(max(round(drawn), math.ceil(low)), math.floor(high)))
    return float(drawn)


def expand_runs(spec: SweepSpec) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """The sweep's runs in a fixed order, each as ``(swept values, all settings)``.

    Every run's settings are ``base`` updated with its swept values; a random search
    draws them from ``numpy.random.default_rng(seed)``, so the same file always gives
    the same runs.
    """
    runs: list[dict[str, Any]] = []
    if spec.grid:
        keys = list(spec.grid)
        runs = [
            dict(zip(keys, combo, strict=True))
            for combo in itertools.product(*(spec.grid[k] for k in keys))
        ]
    elif spec.random:
        rng = np.random.default_rng(spec.random["seed"])
        ranges = spec.random["ranges"]
        runs = [
            {key: _draw(value, rng) for key, value in ranges.items()}
            for _ in range(spec.random["n_trials"])
        ]
    else:
        runs = [{}]
    return [(swept, {**spec.base, **swept}) for swept in runs]


def _short(value: Any) -> str:
    if isinstance(value, list):
        return "x".join(_short(v) for v in value) or "none"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def run_name(swept: dict[str, Any], settings: dict[str, Any]) -> str:
    """A directory name for a run: its swept values, then a hash of all its settings.

    Examples
    --------
    >>> run_name({"lr": 0.01, "hidden": [16, 8]}, {"lr": 0.01, "hidden": [16, 8]})
    'lr=0.01_hidden=16x8_f8d3d37a'
    """
    pairs = [f"{key}={_short(value)}".replace("_", "-") for key, value in swept.items()]
    readable = re.sub(r"[^A-Za-z0-9._=+-]+", "-", "_".join(pairs))[:80] or "run"
    # The hash covers every setting, so a changed base setting never reuses a directory.
    digest = hashlib.sha1(json.dumps(settings, sort_keys=True, default=str).encode())
    return f"{readable}_{digest.hexdigest()[:8]}"


# ---------------------------------------------------------------------- one run (a task)
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


# ---------------------------------------------------------------------- the cluster
def _blas_threads_of(client: Any) -> dict[str, int]:
    """BLAS threads per worker of an existing cluster: its host's cores shared out."""
    try:
        info = client.scheduler_info(n_workers=-1)  # newer distributed lists only 5 by default
    except TypeError:
        info = client.scheduler_info()
    workers = info["workers"]
    cores = client.run(os.cpu_count)
    per_host: dict[str, int] = {}
    for worker in workers.values():
        per_host[worker["host"]] = per_host.get(worker["host"], 0) + int(worker.get("nthreads", 1))
    return {
        address: max(1, int(cores.get(address) or 1) // per_host[worker["host"]])
        for address, worker in workers.items()
    }


@contextlib.contextmanager
def _client(
    scheduler: str | None, n_workers: int, blas_threads: int | None
) -> Iterator[tuple[Any, int | dict[str, int] | None, str]]:
    """Yield (client, BLAS threads per run, description) and close what was started."""
    try:
        import dask
        from distributed import Client, LocalCluster
    except ImportError as error:
        raise ImportError(
            "mytorch sweep needs dask[distributed]: pip install 'mytorch[sweep]'"
        ) from error
    if scheduler:
        with Client(scheduler, timeout="30s") as client:
            threads = blas_threads or _blas_threads_of(client)
            yield client, threads, f"cluster at {scheduler}"
        return
    threads = blas_threads or max(1, (os.cpu_count() or 1) // n_workers)
    # Set before the worker processes start, so BLAS is initialised with these numbers.
    environment = {
        f"distributed.nanny.pre-spawn-environ.{name}": threads for name in _BLAS_VARIABLES
    }
    with (
        dask.config.set(environment),
        LocalCluster(
            n_workers=n_workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            silence_logs=logging.ERROR,
        ) as cluster,
        Client(cluster) as client,
    ):
        yield (
            client,
            threads,
            (f"LocalCluster, {n_workers} worker processes x 1 thread, {threads} BLAS threads each"),
        )


# ---------------------------------------------------------------------- the sweep
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
    setting_keys = swept_keys + [k for k in _SETTINGS if k not in swept_keys]
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
