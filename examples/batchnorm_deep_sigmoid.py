"""Batch norm in a deep sigmoid network
====================================

A deep sigmoid network hardly trains; with batch norm the same network trains fast.

The notes: the gradient that reaches the first layer has been multiplied by every
weight matrix and every activation's slope on the way back, so in a deep network it can
vanish. A sigmoid's slope is at most 1/4, so six sigmoid layers shrink it by 4^6 or
more. Batch normalisation standardises each unit's pre-activation over the mini-batch,
which keeps the sigmoids in their steep middle part. Here a 64-(32 x 6)-10 sigmoid
network learns the 8x8 digits with and without a BatchNorm1d before every sigmoid;
``Diagnostics`` records each layer's gradient norm.

Run:  python examples/batchnorm_deep_sigmoid.py [--fast] [--out DIR]
Prints both runs' loss, accuracy and first-to-last gradient ratio; saves
batchnorm_deep_sigmoid.png.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from mytorch import nn, optim
from mytorch.datasets import load_digits_default
from mytorch.tools.diagnostics import Diagnostics
from mytorch.trainer import Trainer

DEPTH, WIDTH = 6, 32


def build(batch_norm: bool) -> nn.Sequential:
    rng = np.random.default_rng(0)  # the same weights with and without batch norm
    layers: list[nn.Module] = []
    n_in = 64
    for _ in range(DEPTH):
        layers.append(nn.Linear(n_in, WIDTH, rng=rng))
        if batch_norm:
            layers.append(nn.BatchNorm1d(WIDTH))
        layers.append(nn.Sigmoid())
        n_in = WIDTH
    layers.append(nn.Linear(n_in, 10, rng=rng))
    return nn.Sequential(*layers)


def gradient_norms(record: dict) -> list[float]:
    """Gradient norm of each Linear weight, first layer first."""
    return [
        p["grad_norm"]
        for name, p in record["parameters"].items()
        if p["module"] == "Linear" and name.endswith("weight")
    ]


def main(argv: list[str] | None = None) -> dict[str, dict[str, float]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="fewer samples and epochs (CI)")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "output")
    args = parser.parse_args(argv)
    n_train, epochs = (800, 5) if args.fast else (1500, 20)

    X, y = load_digits_default()
    order = np.random.default_rng(0).permutation(len(X))
    X, y = X[order][:n_train], y[order][:n_train]
    runs = {}
    for name, batch_norm in (("without batch norm", False), ("with batch norm", True)):
        model = build(batch_norm)
        diagnostics = Diagnostics()
        trainer = Trainer(
            model,
            nn.CrossEntropyLoss(),
            optim.SGD(model.parameters(), lr=0.1, momentum=0.9),
            callbacks=[diagnostics],
            rng=0,
        )
        history = trainer.fit(X, y, epochs=epochs, batch_size=32)
        runs[name] = (history, diagnostics)
    results = {}
    for name, (history, diagnostics) in runs.items():
        norms = gradient_norms(diagnostics.records[0])
        results[name] = {
            "loss": history.train_loss[-1],
            "accuracy": 1.0 - history.train_error[-1],
            "gradient_ratio": norms[0] / norms[-1],
        }

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    args.out.mkdir(parents=True, exist_ok=True)
    figure, (loss_axis, grad_axis) = plt.subplots(1, 2, figsize=(11, 4))
    for name, (history, diagnostics) in runs.items():
        loss_axis.plot(
            np.arange(1, len(history) + 1), history.train_loss, "-o", markersize=3, label=name
        )
        norms = gradient_norms(diagnostics.records[0])
        grad_axis.plot(np.arange(1, len(norms) + 1), norms, "-o", label=name)
    loss_axis.set_title(f"training loss, {DEPTH} sigmoid layers")
    loss_axis.set_xlabel("epoch")
    grad_axis.set_title("gradient norm ||dL/dW|| per layer (epoch 1)")
    grad_axis.set_xlabel("layer (1 = next to the input)")
    grad_axis.set_yscale("log")
    for axis in (loss_axis, grad_axis):
        axis.grid(True, alpha=0.3)
        axis.legend()
    figure.tight_layout()
    picture = args.out / "batchnorm_deep_sigmoid.png"
    figure.savefig(picture, dpi=120)
    plt.close(figure)

    print("Advice from the diagnostics without batch norm:")
    for line in runs["without batch norm"][1].summary():
        print(f"  - {line}")
    print(
        f"finding: after {epochs} epochs: "
        + "; ".join(
            f"{name}: loss {r['loss']:.3f}, accuracy {r['accuracy']:.1%}, "
            f"layer 1/last gradient {r['gradient_ratio']:.1e}"
            for name, r in results.items()
        )
    )
    print(f"saved {picture}")
    return results


if __name__ == "__main__":
    main()
