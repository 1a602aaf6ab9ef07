"""The process the bench times in: no OpenBLAS overrides, pinned threads, named kernels."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

# Set by this workplace, not by a user's machine: they make NumPy's OpenBLAS pick older,
# slower kernels (Haswell's on a CPU with AVX-512) than it would choose for itself.
OPENBLAS_OVERRIDES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def reexec_without_openblas_overrides(script: Path, argv: list[str]) -> None:
    """Run ``script argv`` again in this process, without :data:`OPENBLAS_OVERRIDES`.

    OpenBLAS reads them once, when it is loaded, so the process must start without them.
    The removed settings travel as ``--removed-env`` for the report. Returns (does
    nothing) when none is set.
    """
    present = {k: os.environ[k] for k in OPENBLAS_OVERRIDES if k in os.environ}
    if not present:
        return
    removed = " ".join(f"{k}={v}" for k, v in present.items())
    print(
        f"[bench] re-running without {removed} (set here, not on a user's machine: they "
        "force OpenBLAS onto older kernels)",
        flush=True,
    )
    env = {k: v for k, v in os.environ.items() if k not in OPENBLAS_OVERRIDES}
    os.execve(sys.executable, [sys.executable, str(script), *argv, "--removed-env", removed], env)


def set_threads(threads: int):
    """Pin NumPy's BLAS, every OpenMP runtime, PyTorch and MyTorch to ``threads`` threads.

    JAX's pool is sized when JAX starts (``runners_jax.load_jax``). Returns threadpoolctl's
    limiter, whose ``restore_original_limits()`` undoes the BLAS and OpenMP part.
    """
    from threadpoolctl import threadpool_limits

    import mytorch

    try:
        # numba's np.dot (MyTorch's compiled epoch) calls SciPy's own OpenBLAS: load it now
        # so that it is limited too. Left at its default, two threads spinning on a busy
        # machine made the compiled+numba runs 25x slower.
        import scipy.linalg  # noqa: F401
    except ImportError:
        pass
    limiter = threadpool_limits(limits=threads)
    # MyTorch's own pool, for elementwise optimiser passes over large weights (PyTorch
    # spreads those over its intra-op threads too).
    mytorch.set_num_threads(threads)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)
    return limiter


def threadpools() -> list[dict]:
    """threadpoolctl's view of every BLAS and OpenMP library loaded in this process."""
    from threadpoolctl import threadpool_info

    keep = (
        "user_api", "internal_api", "prefix", "version", "architecture", "corename",
        "threading_layer", "num_threads", "filepath",
    )  # fmt: skip
    return [{k: info[k] for k in keep if k in info} for info in threadpool_info()]


def _pools_of(package: str, pools: list[dict]) -> list[dict]:
    marker = f"{os.sep}{package}"
    return [p for p in pools if marker in p.get("filepath", "")]


def _describe(pool: dict) -> str:
    kernel = pool.get("architecture") or pool.get("corename")
    parts = [pool.get("internal_api"), pool.get("version"), kernel and f"kernel {kernel}"]
    return " ".join(p for p in parts if p) + f", {_threads(pool.get('num_threads'))}"


def _threads(count) -> str:
    return f"{count} thread" + ("" if count == 1 else "s")


def kernels(jax_note: str | None) -> dict[str, str]:
    """Which BLAS and kernels NumPy, PyTorch and JAX run, as far as each tells."""
    pools = threadpools()
    out = {}
    numpy_blas = [p for p in _pools_of("numpy", pools) if p.get("user_api") == "blas"]
    out["NumPy"] = "; ".join(_describe(p) for p in numpy_blas) or "BLAS not found"
    if "torch" in sys.modules:
        torch = sys.modules["torch"]
        config = torch.__config__.show()
        mkl = re.search(r"Math Kernel Library Version ([\w.]+)", config)
        onednn = re.search(r"MKL-DNN v([\w.]+)", config)
        parts = [f"MKL {mkl.group(1)}" if mkl else "BLAS: " + _blas_info(config)]
        if onednn:
            parts.append(f"oneDNN {onednn.group(1)}")
        parts.append(f"CPU capability {torch.backends.cpu.get_cpu_capability()}")
        parts.append(_threads(torch.get_num_threads()))
        openmp = [_describe(p) for p in _pools_of("torch", pools)]
        out["PyTorch"] = ", ".join(parts) + (f" ({'; '.join(openmp)})" if openmp else "")
    if jax_note is not None and "jax" in sys.modules:
        jax = sys.modules["jax"]
        out["JAX"] = (
            f"XLA:CPU {jax.__version__} (kernels it compiles for this CPU, matrix products "
            f"through its XNNPACK/Eigen; not visible to threadpoolctl), {jax_note}"
        )
    return out


def _blas_info(config: str) -> str:
    found = re.search(r"BLAS_INFO=(\w+)", config)
    return found.group(1) if found else "unknown"
