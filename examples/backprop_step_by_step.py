"""Back-propagation step by step
=============================

Back-propagation by hand: every module's output and the blame passed back through it.

The notes call back-propagation "blame propagation": d(loss)/d(output) is how much the
output is to blame for the loss; each module, last to first, keeps the share of the
blame that belongs to its weights (their gradients) and passes the rest back to its
input. ``mytorch.explain.backprop`` records this for a tiny network, 2-3-2 with sigmoid
units, on one sample, prints it as a table and checks every gradient against finite
differences. Then one gradient-descent step with those gradients lowers the loss, as
it must for a small enough step.

Run:  python examples/backprop_step_by_step.py [--fast] [--out DIR]
Prints the table and the check; saves backprop_step_by_step.png. (``--fast`` changes
nothing: the example is already instant; it is accepted like the other examples'.)
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from mytorch import nn
from mytorch.tools.explain import backprop


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="accepted for CI; no effect")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "output")
    args = parser.parse_args(argv)

    model = nn.Sequential(nn.Linear(2, 3, rng=0), nn.Sigmoid(), nn.Linear(3, 2, rng=1))
    x = np.array([[1.0, -0.5]])
    y = np.array([1])
    record = backprop(model, x, y)
    print(record)

    # One step of gradient descent with the gradients just recorded.
    lr = 0.5
    for param in model.parameters():
        param.data -= lr * param.grad
    loss_after = float(nn.CrossEntropyLoss()(model(x), y))

    args.out.mkdir(parents=True, exist_ok=True)
    picture = args.out / "backprop_step_by_step.png"
    record.plot(picture, title="2-3-2 sigmoid network, one sample")

    count = sum(len(step.check) for step in record.steps)
    verdict = "match" if record.passed else "do NOT match"
    print(
        f"\nfinding: all {count} gradients {verdict} finite differences (worst relative "
        f"error {record.worst_error:.1e}); one step with lr {lr} lowers the loss from "
        f"{record.loss:.4f} to {loss_after:.4f}"
    )
    print(f"saved {picture}")
    return {
        "worst_error": record.worst_error,
        "passed": float(record.passed),
        "loss_before": record.loss,
        "loss_after": loss_after,
    }


if __name__ == "__main__":
    main()
