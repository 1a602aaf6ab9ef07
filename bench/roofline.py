"""How close wide-f32 training comes to the machine's matrix-product rate."""

from __future__ import annotations

import numpy as np
from timing import timed


def gemm_rate(threads: int, repeats: int, size: int = 2048) -> dict[str, float]:
    """FLOP/s of a large float32 matmul, NumPy (OpenBLAS) and PyTorch (MKL / oneDNN).

    ``threads`` is already applied to both by the caller; it is named here for the record.
    """
    import torch

    rng = np.random.default_rng(0)
    a = rng.random((size, size), dtype=np.float32)
    b = rng.random((size, size), dtype=np.float32)
    out = np.empty_like(a)
    ta, tb = torch.from_numpy(a), torch.from_numpy(b)
    tout = torch.empty_like(ta)
    flops = 2.0 * size**3
    rates = {"threads": threads}
    np.matmul(a, b, out=out)
    rates["numpy"] = max(flops / timed(np.matmul, a, b, out) for _ in range(repeats))
    torch.matmul(ta, tb, out=tout)
    rates["torch"] = max(
        flops / timed(lambda: torch.matmul(ta, tb, out=tout)) for _ in range(repeats)
    )
    return rates


def useful_flops_per_sample(sizes: tuple[int, ...]) -> float:
    """GEMM FLOPs one sample needs in training: forward, weight gradients, and the input
    gradients of every layer but the first (whose input needs no gradient)."""
    macs = [fan_in * fan_out for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True)]
    return 2.0 * (2 * sum(macs) + sum(macs[1:]))


def roofline(best_rates: dict[str, float], sizes: tuple[int, ...], gemm: dict) -> dict:
    """Each framework's wide-f32 rate as a fraction of NumPy's GEMM rate.

    ``best_rates`` maps a framework to its best samples/s on wide-f32.
    """
    flops = useful_flops_per_sample(sizes)
    return {
        "size": 2048,
        "numpy_gflops": gemm["numpy"] / 1e9,
        "torch_gflops": gemm["torch"] / 1e9,
        "useful_mflop_per_sample": flops / 1e6,
        "fractions": {name: rate * flops / gemm["numpy"] for name, rate in best_rates.items()},
    }
