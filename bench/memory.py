"""Peak memory of wide-f32 training, one fresh process per framework."""

from __future__ import annotations

import dataclasses
import gc
import json
import resource
import subprocess
import sys
from pathlib import Path

import numpy as np
from configs import CONFIGS, N_CLASSES, ROOT

# What each child trains: the key is passed as --memory-child.
FRAMEWORKS = {
    "mytorch": "MyTorch",
    "mytorch-compiled": "MyTorch compiled",
    "mytorch-compiled-numba": "MyTorch compiled+numba",
    "torch": "PyTorch",
    "mytorch-tracemalloc": "MyTorch (tracemalloc)",
}


def _status_kib(key: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise KeyError(key)


def _runner(framework: str, cfg, init):
    from runners_mytorch import MyTorchCompiledRunner, MyTorchRunner
    from runners_torch import TorchRunner

    if framework == "torch":
        return TorchRunner(cfg, init)
    if framework.startswith("mytorch-compiled"):
        return MyTorchCompiledRunner(cfg, "numba" if framework.endswith("numba") else "numpy")
    return MyTorchRunner(cfg)


def memory_child(framework: str, steps: int, threads: int) -> dict:
    """Train wide-f32 for ``steps`` steps in this (fresh) process; return peak memory.

    A small network of the same layers trains one batch first, so that what happens once
    per process (numba compiling its loops, PyTorch's lazy start-up) is not counted.
    """
    from environment import set_threads
    from runners_mytorch import MyTorchRunner, compiled_step_missing

    if framework not in FRAMEWORKS:
        raise ValueError(f"memory child: unknown framework {framework!r}")
    if framework.startswith("mytorch-compiled"):
        why = compiled_step_missing("numba" if framework.endswith("numba") else "numpy")
        if why is not None:
            return {"framework": framework, "skipped": why}
    cfg = next(c for c in CONFIGS if c.name == "wide-f32")
    set_threads(threads)
    if framework == "torch":
        import torch  # noqa: F401  (imported before the baseline)
    rng = np.random.default_rng(0)
    X = rng.random((steps * cfg.batch, cfg.sizes[0]), dtype=np.float32)
    y = rng.integers(0, N_CLASSES, steps * cfg.batch)
    small = dataclasses.replace(cfg, sizes=(cfg.sizes[0], 16, 16, N_CLASSES))
    _runner(framework, small, MyTorchRunner(small).state()).train(X[: cfg.batch], y[: cfg.batch])
    init = MyTorchRunner(cfg).state() if framework == "torch" else None
    gc.collect()
    try:
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")  # reset VmHWM (peak RSS) to the current RSS
        method = "VmHWM after reset by /proc/self/clear_refs, minus VmRSS at reset"
    except OSError:
        method = "ru_maxrss minus VmRSS before the model was built (peak may predate it)"
    baseline = _status_kib("VmRSS")
    traced = None
    if framework == "mytorch-tracemalloc":
        import tracemalloc

        tracemalloc.start()
    runner = _runner(framework, cfg, init)
    runner.train(X, y)
    if framework == "mytorch-tracemalloc":
        traced = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    try:
        peak = _status_kib("VmHWM")
    except KeyError:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "framework": framework,
        "steps": steps,
        "peak_delta_mib": (peak - baseline) / 1024,
        "baseline_rss_mib": baseline / 1024,
        "tracemalloc_peak_mib": traced,
        "method": method,
    }


def measure_memory(script: Path, steps: int, threads: int) -> dict:
    """Run :func:`memory_child` for every framework, each in a fresh ``script`` process."""
    out = {}
    for framework in FRAMEWORKS:
        command = [sys.executable, str(script), "--memory-child", framework]
        command += ["--memory-steps", str(steps), "--threads", str(threads)]
        done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False)
        if done.returncode != 0:
            out[framework] = {"error": done.stderr.strip().splitlines()[-1:]}
            continue
        out[framework] = json.loads(done.stdout.strip().splitlines()[-1])
    return out
