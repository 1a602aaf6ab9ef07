#!/usr/bin/env python3
"""Time MyTorch's training loop in two checkouts against each other: is a change faster?

    python bench/ab.py /path/to/old/checkout /path/to/new/checkout [--repeats 9]

For every training configuration of ``bench/bench.py`` both checkouts train the same
number of samples in turns (old, new, new, old, ...), each in a worker process of its
own whose ``mytorch`` and ``bench`` come from its checkout (its ``PYTHONPATH``), with
``OPENBLAS_CORETYPE``/``OPENBLAS_L2_SIZE`` unset and the same BLAS threads. The result
per configuration is the median over repeats of the paired ratio new rate / old rate
(above 1: the new checkout is faster), with its minimum and maximum.

With ``--threads 1``, ``--pin CPU`` runs both workers on that one CPU: unpinned, each
worker can settle on a core of its own, and a core that serves more of the machine's
other work then biases every pair the same way (measured here: batch1-f32 read 0.94
unpinned and 0.97 pinned, the same two checkouts, minutes apart).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PAUSE = 0.2  # seconds between turns


def worker(checkout: Path, config: str, threads: int, quick: bool) -> None:
    """Serve ``train`` requests on stdin, answering each with the seconds it took."""
    sys.path.insert(0, str(checkout / "bench"))
    import bench  # the checkout's own harness and runner

    bench.set_threads(threads)
    cfg = next(c for c in bench.CONFIGS if c.name == config)
    X, y, *_ = bench.load_data(False, bench.DATA_DIR)
    n = cfg.samples[1] if quick else cfg.samples[0]
    X = bench.np.ascontiguousarray(X[:n], dtype=bench.np.dtype(cfg.dtype))
    y = bench.np.ascontiguousarray(y[:n], dtype=bench.np.int64)
    runner = bench.MyTorchRunner(cfg)
    runner.train(X[: 5 * cfg.batch], y[: 5 * cfg.batch])  # warm-up
    print("ready", flush=True)
    for line in sys.stdin:
        if line.strip() != "train":
            break
        gc.disable()  # as the bench times: the collector's pauses are not the code's speed
        try:
            started = time.perf_counter()
            runner.train(X, y)
            seconds = time.perf_counter() - started
        finally:
            gc.enable()
        print(json.dumps({"seconds": seconds, "n": n}), flush=True)


def _start(checkout: Path, config: str, threads: int, quick: bool) -> subprocess.Popen:
    unset = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")  # a user's machine has neither
    env = {k: v for k, v in os.environ.items() if k not in unset}
    env["PYTHONPATH"] = str(checkout)
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", str(checkout)]
    command += ["--config", config]
    command += ["--threads", str(threads)] + (["--quick"] if quick else [])
    process = subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env
    )
    if process.stdout.readline().strip() != "ready":
        raise RuntimeError(f"worker for {checkout} ({config}) did not start")
    return process


def _time(process: subprocess.Popen) -> float:
    # As bench.py does between frameworks: the other worker's idle BLAS threads spin for
    # a while after its last product, and would take a core from this one's threads.
    time.sleep(PAUSE)
    process.stdin.write("train\n")
    process.stdin.flush()
    answer = json.loads(process.stdout.readline())
    return answer["n"] / answer["seconds"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("old", type=Path, nargs="?")
    parser.add_argument("new", type=Path, nargs="?")
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--configs", nargs="*", default=None)
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--config", help=argparse.SUPPRESS)
    parser.add_argument("--pin", type=int, default=None, help="run both workers on this CPU")
    args = parser.parse_args(argv)
    if args.pin is not None:
        os.sched_setaffinity(0, {args.pin})  # the workers inherit it
    if args.worker:
        worker(args.worker, args.config, args.threads, args.quick)
        return 0
    if args.old is None or args.new is None:
        parser.error("give the old and the new checkout")
    sys.path.insert(0, str(HERE))
    import bench

    names = args.configs or [c.name for c in bench.CONFIGS]
    print(f"{'config':<12} {'new/old median':>15} {'min':>6} {'max':>6}  (paired, {args.repeats})")
    for name in names:
        old = _start(args.old.resolve(), name, args.threads, args.quick)
        new = _start(args.new.resolve(), name, args.threads, args.quick)
        ratios = []
        for repeat in range(args.repeats):
            pair = (old, new) if repeat % 2 == 0 else (new, old)
            rates = {id(p): _time(p) for p in pair}
            ratios.append(rates[id(new)] / rates[id(old)])
        for process in (old, new):
            process.stdin.close()
            process.wait()
        print(
            f"{name:<12} {statistics.median(ratios):>15.3f} {min(ratios):>6.3f} "
            f"{max(ratios):>6.3f}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
