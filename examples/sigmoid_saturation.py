"""Sigmoid saturation
==================

Large initial weights saturate sigmoid units and slow learning; small ones do not.

The notes: "many of our activation functions have (near) zero slope when the
pre-activation z values have large magnitude, so we generally want to keep the initial
weights small". Here the same sigmoid network (64-32-32-10, the 8x8 digits) starts once
with hidden weights drawn from N(0, 5^2) and once with Xavier's small weights. The
``Diagnostics`` callback measures, per epoch, the share of saturated sigmoid outputs
(below 0.05 or above 0.95) and how far each step moves the first layer's weights
(the update/weight ratio). Saturated units pass back almost no gradient, so the first
layer barely moves and the loss falls more slowly.

Run:  python examples/sigmoid_saturation.py [--fast] [--out DIR]
Prints both runs' saturation, update ratio and loss; saves sigmoid_saturation.png and
sigmoid_saturation_diagnostics.png (all diagnostics of the large-weight run).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from mytorch import nn, optim
from mytorch.datasets import load_digits_default
from mytorch.nn import init
from mytorch.tools.diagnostics import Diagnostics, plot_diagnostics
from mytorch.trainer import History, Trainer

SIZES = (64, 32, 32, 10)


def build(hidden_std: float | None, seed: int = 0) -> nn.Sequential:
    """The sigmoid MLP; hidden weights ~ N(0, hidden_std^2), or Xavier if None. The
    output layer always starts small, so only the hidden units can saturate."""
    rng = np.random.default_rng(seed)
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(SIZES[:-1], SIZES[1:], strict=True)):
        linear = nn.Linear(n_in, n_out, rng=rng)
        last = i == len(SIZES) - 2
        if hidden_std is None or last:
            init.xavier_normal_(linear.weight, rng=rng)
        else:
            init.normal_(linear.weight, 0.0, hidden_std, rng=rng)
        init.zeros_(linear.bias)
        layers.append(linear)
        if not last:
            layers.append(nn.Sigmoid())
    return nn.Sequential(*layers)


def run(hidden_std: float | None, X, y, epochs: int) -> tuple[History, Diagnostics]:
    model = build(hidden_std)
    # A fixed probe batch makes the saturation comparable from epoch to epoch.
    diagnostics = Diagnostics(probe=X[:200])
    trainer = Trainer(
        model,
        nn.CrossEntropyLoss(),
        optim.Adam(model.parameters(), lr=0.01),
        callbacks=[diagnostics],
        rng=0,
    )
    history = trainer.fit(X, y, epochs=epochs, batch_size=32)
    return history, diagnostics


def first_layer(records: list[dict], key: str) -> np.ndarray:
    return np.array([r["parameters"]["0.weight"][key] for r in records], dtype=float)


def saturation(records: list[dict]) -> np.ndarray:
    """Share of saturated outputs over both hidden layers, per epoch."""
    return np.array([np.mean([a["saturated"] for a in r["activations"].values()]) for r in records])


def main(argv: list[str] | None = None) -> dict[str, dict[str, float]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="fewer samples and epochs (CI)")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "output")
    args = parser.parse_args(argv)
    n_train, epochs = (800, 6) if args.fast else (1200, 20)

    X, y = load_digits_default()
    order = np.random.default_rng(0).permutation(len(X))
    X, y = X[order][:n_train], y[order][:n_train]
    runs = {"large": run(5.0, X, y, epochs), "small": run(None, X, y, epochs)}
    results = {}
    for name, (history, diagnostics) in runs.items():
        results[name] = {
            "saturated": float(saturation(diagnostics.records)[0]),
            "update_ratio": float(first_layer(diagnostics.records, "update_ratio")[0]),
            "loss": history.train_loss[-1],
        }

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    args.out.mkdir(parents=True, exist_ok=True)
    figure, axes = plt.subplots(1, 3, figsize=(14, 4))
    labels = {"large": "hidden weights ~ N(0, 5²)", "small": "Xavier (small) weights"}
    for name, (history, diagnostics) in runs.items():
        epoch = np.arange(1, len(history) + 1)
        axes[0].plot(epoch, history.train_loss, "-o", markersize=3, label=labels[name])
        axes[1].plot(epoch, saturation(diagnostics.records), "-o", markersize=3, label=labels[name])
        axes[2].plot(
            epoch,
            first_layer(diagnostics.records, "update_ratio"),
            "-o",
            markersize=3,
            label=labels[name],
        )
    axes[0].set_title("training loss")
    axes[1].set_title("saturated sigmoid outputs (hidden layers)")
    axes[1].yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.0%}"))
    axes[2].set_title("layer 1: update / weight ratio per step")
    axes[2].set_yscale("log")
    for axis in axes:
        axis.set_xlabel("epoch")
        axis.grid(True, alpha=0.3)
        axis.legend(fontsize=8)
    figure.tight_layout()
    picture = args.out / "sigmoid_saturation.png"
    figure.savefig(picture, dpi=120)
    plt.close(figure)
    panel = args.out / "sigmoid_saturation_diagnostics.png"
    plot_diagnostics(runs["large"][1].records, panel, title="Diagnostics of the large-weight run")

    large, small = results["large"], results["small"]
    print("Advice from the diagnostics of the large-weight run:")
    for line in runs["large"][1].summary():
        print(f"  - {line}")
    print(
        f"finding: large initial weights: {large['saturated']:.0%} of sigmoid outputs "
        f"saturated, layer 1 update/weight {large['update_ratio']:.1e}, loss after "
        f"{epochs} epochs {large['loss']:.3f}; small initial weights: "
        f"{small['saturated']:.0%} saturated, layer 1 update/weight "
        f"{small['update_ratio']:.1e}, loss {small['loss']:.3f}"
    )
    print(f"saved {picture}, {panel}")
    return results


if __name__ == "__main__":
    main()
