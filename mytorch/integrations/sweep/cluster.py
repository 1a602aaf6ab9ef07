"""The Dask cluster a sweep runs on, and the BLAS threads each of its runs gets.

Runs go to a new ``distributed.LocalCluster`` (``n_workers`` processes of one thread
each) or to an existing cluster given by its scheduler's address. BLAS gets
``cores // workers`` threads per worker, so that workers do not oversubscribe the CPU.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from typing import Any

__all__: list[str] = []

_BLAS_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


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
