"""Momentum and Adam
=================

Momentum and Adam reach a low loss in far fewer epochs than plain SGD.

The notes' section on step size: plain gradient descent with one learning rate for
every weight crawls along flat directions and bounces across steep ones. Momentum
averages recent gradients, so the bouncing cancels and the steady direction builds up
speed; Adam also divides each weight's step by a running size of its gradient, so flat
and steep directions move alike. Here the same network (2-32-32-2, tanh) starts from
the same weights on two moons and trains for the same number of epochs with each.

Run:  python examples/momentum_and_adam.py [--fast] [--out DIR]
Prints the final training loss of each optimiser; saves momentum_and_adam.png.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from mytorch import nn, optim
from mytorch.datasets.toy import make_toy
from mytorch.trainer import Trainer

OPTIMIZERS = {
    "SGD": lambda params: optim.SGD(params, lr=0.05),
    "SGD+momentum": lambda params: optim.SGD(params, lr=0.05, momentum=0.9),
    "Adam": lambda params: optim.Adam(params, lr=0.01),
}


def build() -> nn.Sequential:
    """The same starting weights for every optimiser (fixed seeds)."""
    return nn.Sequential(
        nn.Linear(2, 32, rng=0),
        nn.Tanh(),
        nn.Linear(32, 32, rng=1),
        nn.Tanh(),
        nn.Linear(32, 2, rng=2),
    )


def main(argv: list[str] | None = None) -> dict[str, list[float]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="fewer epochs (CI)")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "output")
    args = parser.parse_args(argv)
    epochs = 20 if args.fast else 60

    X, y = make_toy("moons", 300, noise=0.1, rng=0)
    curves = {}
    for name, make in OPTIMIZERS.items():
        model = build()
        history = Trainer(model, nn.CrossEntropyLoss(), make(model.parameters()), rng=0).fit(
            X, y, epochs=epochs, batch_size=32
        )
        curves[name] = history.train_loss

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    args.out.mkdir(parents=True, exist_ok=True)
    figure, axis = plt.subplots(figsize=(6, 4))
    for name, losses in curves.items():
        axis.plot(np.arange(1, epochs + 1), losses, "-o", markersize=3, label=name)
    axis.set_yscale("log")
    axis.set_xlabel("epoch")
    axis.set_ylabel("training loss (cross-entropy)")
    axis.set_title("Two moons, same network and start")
    axis.grid(True, alpha=0.3)
    axis.legend()
    figure.tight_layout()
    picture = args.out / "momentum_and_adam.png"
    figure.savefig(picture, dpi=120)
    plt.close(figure)

    print(
        f"finding: training loss after {epochs} epochs: "
        + "; ".join(f"{name} {losses[-1]:.3f}" for name, losses in curves.items())
    )
    print(f"saved {picture}")
    return curves


if __name__ == "__main__":
    main()
