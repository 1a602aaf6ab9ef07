"""The bench's tables: every framework against PyTorch, and the targets of issue 14."""

from __future__ import annotations

import numpy as np
from configs import (
    COMPILED,
    COMPILED_INFER_TARGETS,
    COMPILED_TARGETS,
    CONFIGS,
    INFER_SINGLE,
    INFER_TARGETS,
    ROOFLINE_TARGET,
    SKLEARN,
    SKLEARN_TARGET,
    TORCH,
)
from memory import FRAMEWORKS as MEMORY_FRAMEWORKS
from timing import Result, paired_stats


def _ratio(value: float) -> str:
    return "" if np.isnan(value) else f"{value:.2f}x"


def _by_key(results: list[Result]) -> dict[tuple[str, str], Result]:
    return {(r.config, r.framework): r for r in results}


def format_table(results: list[Result]) -> str:
    """One row per config and framework: median samples/s and paired ratios to PyTorch."""
    found = _by_key(results)
    targets = {c.name: c.target_vs_torch for c in CONFIGS} | INFER_TARGETS
    exact_sklearn = {c.name for c in CONFIGS if c.sklearn == "exact"}
    header = (
        f"{'config':23s} {'framework':22s} {'samples/s':>10s} {'vs PyTorch':>10s} "
        f"{'min':>6s} {'max':>6s} {'target':>7s} {'vs sklearn':>10s} {'loss':>7s} "
        f"{'rel diff':>8s}  note"
    )
    lines = [header, "-" * len(header)]
    for r in results:
        if not r.rates:
            lines.append(f"{r.config:23s} {r.framework:22s} {'-':>10s}  {r.note}")
            continue
        torch = found.get((r.config, TORCH))
        median, low, high = paired_stats(r.rates, torch.rates if torch else [])
        target, mark = "", ""
        if r.framework.startswith("MyTorch") and r.config in targets:
            target = f">={targets[r.config]:.1f}x"
            mark = "ok" if median >= targets[r.config] else "MISS"
        vs_sklearn = ""
        sklearn = found.get((r.config, SKLEARN))
        if r.framework.startswith("MyTorch") and sklearn is not None and sklearn.rates:
            if r.config in exact_sklearn:
                ratio = paired_stats(r.rates, sklearn.rates)[0]
                vs_sklearn = f"{ratio:.2f}x" + ("" if ratio >= SKLEARN_TARGET else "!")
            else:
                vs_sklearn = "n/a"
        diff = "" if r.rel_diff_vs_torch is None else f"{r.rel_diff_vs_torch:.1e}"
        loss = "" if np.isnan(r.loss) else f"{r.loss:.4f}"
        latency = f"({1e6 / r.median:.0f} us/sample)" if r.config == INFER_SINGLE else ""
        note = " ".join(part for part in (mark, latency, r.note) if part)
        lines.append(
            f"{r.config:23s} {r.framework:22s} {r.median:10.0f} {_ratio(median):>10s} "
            f"{_ratio(low):>6s} {_ratio(high):>6s} {target:>7s} {vs_sklearn:>10s} "
            f"{loss:>7s} {diff:>8s}  {note}".rstrip()
        )
    return "\n".join(lines)


def _target_line(label: str, numerator: Result | None, denominator: Result | None, at_least):
    missing = [r for r in (numerator, denominator) if r is None or not r.rates]
    if missing:
        why = "; ".join(r.note for r in missing if r is not None and r.note) or "not run"
        return f"{label:58s} {'n/a':>6s} {'':>13s} >={at_least:.2f}x  n/a ({why})"
    median, low, high = paired_stats(numerator.rates, denominator.rates)
    mark = "ok" if median >= at_least else "MISS"
    return f"{label:58s} {median:5.2f}x [{low:5.2f}-{high:5.2f}] >={at_least:.2f}x  {mark}".rstrip()


def format_targets(results: list[Result], memory: dict) -> str:
    """Issue 14's targets for the compiled step, as measured in this run."""
    found = _by_key(results)
    lines = [
        "Issue 14: the compiled step (paired median over repeats [min-max], same run)",
        f"{'':58s} {'median':>6s} {'[min-max]':>13s} {'target':>7s}",
    ]
    for cfg in CONFIGS:
        if not any(r.config == cfg.name for r in results):
            continue
        for numerator, denominator, at_least in COMPILED_TARGETS:
            label = f"{cfg.name:11s} {numerator} / {denominator}"
            pair = (found.get((cfg.name, numerator)), found.get((cfg.name, denominator)))
            lines.append(_target_line(label, *pair, at_least))
    for config, at_least in COMPILED_INFER_TARGETS.items():
        if any(r.config == config for r in results):
            label = f"{config} {COMPILED} / {TORCH}"
            pair = (found.get((config, COMPILED)), found.get((config, TORCH)))
            lines.append(_target_line(label, *pair, at_least))
    if memory:
        torch_peak = memory.get("torch", {}).get("peak_delta_mib")
        for key in ("mytorch-compiled", "mytorch-compiled-numba"):
            entry = memory.get(key, {})
            label = f"wide-f32 peak memory, {MEMORY_FRAMEWORKS[key]} < {TORCH}"
            if "peak_delta_mib" not in entry or torch_peak is None:
                why = entry.get("skipped") or entry.get("error") or "not measured"
                lines.append(f"{label:58s} n/a ({why})")
                continue
            peak = entry["peak_delta_mib"]
            mark = "ok" if peak < torch_peak else "MISS"
            lines.append(f"{label:58s} {peak:.1f} MiB vs {torch_peak:.1f} MiB  {mark}")
    return "\n".join(lines)


def format_notes(roofline: dict, memory: dict, kernels: dict[str, str], env: dict) -> str:
    """The roofline, the memory peaks, the kernels and the environment, one line each."""
    lines = []
    if roofline:
        lines.append(
            f"GEMM roofline (float32 {roofline['size']}^3 matmul, same threads): NumPy "
            f"{roofline['numpy_gflops']:.1f} GFLOP/s, PyTorch {roofline['torch_gflops']:.1f}"
            " GFLOP/s"
        )
        fractions = roofline["fractions"]
        if fractions:
            parts = ", ".join(f"{name} {100 * f:.0f}%" for name, f in fractions.items())
            lines.append(
                f"wide-f32 useful GEMM work: {roofline['useful_mflop_per_sample']:.2f} "
                f"MFLOP/sample, as a share of the NumPy GEMM rate (MyTorch target >= "
                f"{100 * ROOFLINE_TARGET:.0f}%): {parts}"
            )
    if memory:
        parts = []
        for key, label in MEMORY_FRAMEWORKS.items():
            entry = memory.get(key, {})
            if key == "mytorch-tracemalloc":
                if entry.get("tracemalloc_peak_mib") is not None:
                    parts.append(f"{label} {entry['tracemalloc_peak_mib']:.1f} MiB")
            elif "peak_delta_mib" in entry:
                parts.append(f"{label} {entry['peak_delta_mib']:.1f} MiB")
            elif "skipped" not in entry:
                parts.append(f"{label} error {entry.get('error')}")
        lines.append(
            "wide-f32 training peak memory above baseline (fresh process each): " + ", ".join(parts)
        )
    for library, kernel in kernels.items():
        lines.append(f"kernels, {library}: {kernel}")
    if env.get("removed"):
        lines.append(f"environment: ran without {env['removed']} (removed by the bench)")
    return "\n".join(lines)
