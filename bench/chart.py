"""The bench's chart: paired ratios to PyTorch and throughput, one bar per framework."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from configs import CONFIGS, FRAMEWORKS, INFER_TARGETS, SKLEARN, TORCH
from timing import Result, paired_stats

COLOURS = {
    "MyTorch": "tab:blue",
    "MyTorch+numba": "tab:cyan",
    "MyTorch compiled": "tab:purple",
    "MyTorch compiled+numba": "tab:pink",
    "PyTorch": "tab:orange",
    "JAX per-step jit": "tab:olive",
    "JAX whole-epoch": "tab:brown",
    "NumPy loop": "tab:green",
    "scikit-learn": "tab:red",
}


def plot(results: list[Result], roofline: dict, path: Path) -> None:
    """Left: paired median ratio to PyTorch with its min-max; right: median samples/s."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    ran = [r for r in results if r.rates]
    configs = list(dict.fromkeys(r.config for r in ran))
    frameworks = [f for f in FRAMEWORKS if any(r.framework == f for r in ran)]
    found = {(r.config, r.framework): r for r in ran}
    targets = {c.name: c.target_vs_torch for c in CONFIGS} | INFER_TARGETS
    exact_sklearn = {c.name for c in CONFIGS if c.sklearn == "exact"}
    fig, axes = plt.subplots(1, 2, figsize=(16, 5.5))
    width = 0.8 / max(len(frameworks), 1)
    x = np.arange(len(configs))
    for k, framework in enumerate(frameworks):
        offset = x + (k - (len(frameworks) - 1) / 2) * width
        stats = []
        for config in configs:
            r, torch = found.get((config, framework)), found.get((config, TORCH))
            stats.append(paired_stats(r.rates, torch.rates) if r and torch else (np.nan,) * 3)
        medians = np.array([s[0] for s in stats])
        errors = np.array([[s[0] - s[1] for s in stats], [s[2] - s[0] for s in stats]])
        rates = [
            found[(c, framework)].median if (c, framework) in found else np.nan for c in configs
        ]
        colour = COLOURS.get(framework, "grey")
        bars = axes[0].bar(offset, medians, width, label=framework, color=colour)
        axes[0].errorbar(offset, medians, yerr=errors, fmt="none", ecolor="black", lw=0.7)
        axes[1].bar(offset, rates, width, label=framework, color=colour)
        if framework == SKLEARN:  # hatched where it trains a different network
            for bar, config in zip(bars, configs, strict=True):
                if config not in exact_sklearn:
                    bar.set_hatch("//")
    axes[0].scatter(
        x,
        [targets.get(c, np.nan) for c in configs],
        marker="_",
        s=1200,
        color="black",
        zorder=3,
        label="MyTorch target",
    )
    axes[0].axhline(1.0, color="grey", lw=0.8)
    axes[0].set_yscale("log")
    as_ratio = matplotlib.ticker.FuncFormatter(lambda value, _: f"{value:g}x")
    axes[0].yaxis.set_major_formatter(as_ratio)
    axes[0].yaxis.set_minor_formatter(as_ratio)
    axes[0].tick_params(axis="y", which="minor", labelsize=7)
    axes[0].set_ylabel("rate / PyTorch's in the same repeat (median, min-max; log)")
    axes[1].set_yscale("log")
    axes[1].set_ylabel("samples / s (median of repeats, log)")
    for ax in axes:
        ax.set_xticks(x, configs, rotation=20, ha="right")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=5, fontsize=8, frameon=False)
    fractions = roofline.get("fractions", {}) if roofline else {}
    title = "speed relative to PyTorch (higher is faster)"
    if "MyTorch" in fractions:
        title += f"; wide-f32: MyTorch at {100 * fractions['MyTorch']:.0f}% of GEMM roofline"
    axes[0].set_title(title, fontsize=10)
    axes[1].set_title("throughput; hatched: scikit-learn without BatchNorm", fontsize=10)
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)
