#!/usr/bin/env python3
"""Training and inference speed of MyTorch against PyTorch, JAX (CPU) and scikit-learn.

    python3 tools/run.py bench            # full run, several minutes
    python3 tools/run.py bench --quick    # about a minute
    python3 tools/run.py bench --threads 1 --out /tmp/bench

Every framework trains the same architecture with the same hyper-parameters, dtype,
initial weights and batches (rows of Fashion-MNIST taken in order, or a synthetic
stand-in of the same shape when the data is absent) in this one process, with the same
number of threads. Each repeat trains a fixed number of samples in every framework in
turn (the order rotating from repeat to repeat); a ratio is the median over repeats of a
framework's rate over PyTorch's rate in the same repeat. bench/README.md says how to
read the table.

The process runs without OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE: when they are set, the
bench starts itself again without them and says so.

Results: a table on stdout, ``results.json`` and ``results.png`` in ``bench/results/``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
from configs import (
    CONFIGS,
    DATA_DIR,
    FRAMEWORKS,
    RESULTS_DIR,
    Config,
    load_data,
)
from environment import reexec_without_openblas_overrides, set_threads, threadpools
from runners_mytorch import MyTorchRunner
from timing import Result, paired_stats

# What bench/ab.py and older scripts import from here.
__all__ = ["CONFIGS", "DATA_DIR", "Config", "MyTorchRunner", "load_data", "np", "set_threads"]

SCRIPT = Path(__file__).resolve()


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small run, about a minute")
    parser.add_argument("--threads", type=int, default=2, help="BLAS/OpenMP/torch/XLA threads")
    parser.add_argument(
        "--repeats", type=int, default=None, help="timed repeats per framework (default 9, quick 7)"
    )
    parser.add_argument(
        "--configs",
        nargs="+",
        default=None,
        help="subset of " + ", ".join(c.name for c in CONFIGS) + ", infer-f32",
    )
    parser.add_argument("--data-dir", type=Path, default=DATA_DIR)
    parser.add_argument("--synthetic", action="store_true", help="ignore the real data")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR, help="folder for JSON, PNG")
    parser.add_argument("--no-memory", action="store_true", help="skip the memory subprocesses")
    parser.add_argument("--no-jax", action="store_true", help="leave JAX out")
    parser.add_argument("--memory-child", help=argparse.SUPPRESS)
    parser.add_argument("--memory-steps", type=int, default=20, help=argparse.SUPPRESS)
    parser.add_argument("--removed-env", default="", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def _versions(jax_loaded: bool) -> dict[str, str]:
    import sklearn
    import torch

    versions = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "torch": torch.__version__,
        "sklearn": sklearn.__version__,
    }
    if jax_loaded:
        import jax
        import optax

        versions |= {"jax": jax.__version__, "optax": optax.__version__}
    try:
        import numba

        versions["numba"] = numba.__version__
    except ImportError:
        pass
    return versions


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    if args.memory_child:
        from memory import memory_child

        print(json.dumps(memory_child(args.memory_child, args.memory_steps, args.threads)))
        return 0

    import torch
    from environment import kernels
    from roofline import gemm_rate, roofline
    from runners_jax import jax_version, load_jax
    from timing import bench_inference, bench_training

    limiter = set_threads(args.threads)
    torch.set_num_threads(args.threads)
    jax_note, jax_skipped = None, None
    if args.no_jax:
        jax_skipped = "skipped: --no-jax"
    elif jax_version() is None:
        jax_skipped = "skipped: jax is not installed (pip install 'mytorch[bench]')"
    else:
        jax_note = load_jax(args.threads)[1]
    repeats = args.repeats or (7 if args.quick else 9)
    # OpenBLAS's idle threads spin for up to 0.2 s after a product (measured here: a
    # numba epoch on another BLAS ran 2x slower within 0.1-0.2 s of a NumPy product).
    pause = 0.02 if args.quick else 0.3
    wanted = set(args.configs or [c.name for c in CONFIGS] + ["infer-f32"])
    if "infer-f32" in wanted:
        wanted.add("wide-f32")
    X, y, X_test, _, source = load_data(args.synthetic, args.data_dir)
    versions = _versions(jax_note is not None)
    kernel_text = kernels(jax_note)
    print(
        f"[bench] data: {source}; threads: {args.threads}; repeats: {repeats}; "
        + ", ".join(f"{k} {v}" for k, v in versions.items()),
        flush=True,
    )
    for library, text in kernel_text.items():
        print(f"[bench] kernels, {library}: {text}", flush=True)

    started = time.perf_counter()
    results: list[Result] = []
    wide_runners = None
    for cfg in CONFIGS:
        if cfg.name not in wanted:
            continue
        print(f"[bench] {cfg.name}: {cfg.description}", flush=True)
        config_results, runners = bench_training(
            cfg, X, y, repeats, args.quick, pause, args.threads, jax_skipped
        )
        results += config_results
        if cfg.name == "wide-f32":
            wide_runners = runners
    if "infer-f32" in wanted and wide_runners is not None:
        print("[bench] infer-f32: forward of the trained wide model, batch 1000 and 1", flush=True)
        results += bench_inference(wide_runners, X_test, repeats, args.quick, pause)

    wide = next(c for c in CONFIGS if c.name == "wide-f32")
    best_wide = {r.framework: r.best for r in results if r.config == wide.name and r.rates}
    line = roofline(best_wide, wide.sizes, gemm_rate(args.threads, 3 if args.quick else 5))
    memory = {}
    if not args.no_memory and "wide-f32" in wanted:
        from memory import measure_memory

        print("[bench] peak memory of wide-f32 training (fresh subprocesses)", flush=True)
        memory = measure_memory(SCRIPT, 5 if args.quick else 20, args.threads)

    text = _report(results, memory, line, kernel_text, args.removed_env)
    print()
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    record = {
        "quick": args.quick,
        "threads": args.threads,
        "repeats": repeats,
        "data": source,
        "seconds": time.perf_counter() - started,
        "versions": versions,
        "machine": {
            "processor": platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count(),
            "openblas_env": {k: v for k, v in os.environ.items() if k.startswith("OPENBLAS")},
            "removed_env": args.removed_env,
        },
        "kernels": kernel_text,
        "threadpools": threadpools(),
        "frameworks": FRAMEWORKS,
        "configs": [asdict(c) for c in CONFIGS if c.name in wanted],
        "results": [_result_record(r, results) for r in results],
        "roofline": line,
        "memory_wide_f32": memory,
        "table": text,
    }
    (args.out / "results.json").write_text(json.dumps(record, indent=2, default=float))
    from chart import plot

    plot(results, line, args.out / "results.png")
    print(
        f"\n[bench] wrote {args.out / 'results.json'} and {args.out / 'results.png'} "
        f"({time.perf_counter() - started:.0f} s)"
    )
    limiter.restore_original_limits()
    return 0


def _report(results, memory, line, kernel_text, removed_env) -> str:
    from report import format_notes, format_table, format_targets

    parts = [
        format_table(results),
        format_targets(results, memory),
        format_notes(line, memory, kernel_text, {"removed": removed_env}),
    ]
    return "\n\n".join(parts)


def _result_record(r: Result, results: list[Result]) -> dict:
    torch = next((t for t in results if t.config == r.config and t.framework == "PyTorch"), None)
    median, low, high = paired_stats(r.rates, torch.rates if torch else [])
    return asdict(r) | {
        "best": r.best,
        "median": r.median,
        "paired_vs_torch": {"median": median, "min": low, "max": high},
    }


if __name__ == "__main__":
    reexec_without_openblas_overrides(SCRIPT, sys.argv[1:])
    sys.exit(main())
