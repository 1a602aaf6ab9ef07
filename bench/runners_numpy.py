"""The hw1 network written out by hand in NumPy: the floor for Python + BLAS."""

from __future__ import annotations

import numpy as np
from configs import NUMPY_LOOP, Config


class PlainNumpyRunner:
    """The hw1 network written out by hand in NumPy: the floor for Python + BLAS."""

    name = NUMPY_LOOP

    def __init__(self, cfg: Config, init: dict[str, np.ndarray]) -> None:
        n_layers = len(cfg.sizes) - 1
        # Sequential indices of the Linear layers: 0, 2, 4, ... (each followed by Sigmoid).
        self.weights = [np.array(init[f"{2 * i}.weight"]) for i in range(n_layers)]
        self.biases = [np.array(init[f"{2 * i}.bias"]) for i in range(n_layers)]
        self.buffers = [np.zeros_like(p) for p in self.weights + self.biases]
        self.lr, self.momentum, self.batch = cfg.lr, cfg.momentum, cfg.batch
        self.loss = float("nan")

    def train(self, X: np.ndarray, y: np.ndarray) -> None:
        weights, biases, batch = self.weights, self.biases, self.batch
        params = weights + biases
        last = len(weights) - 1
        for start in range(0, X.shape[0], batch):
            xb, yb = X[start : start + batch], y[start : start + batch]
            rows = np.arange(xb.shape[0])
            activations = [xb]
            for i, (W, b) in enumerate(zip(weights, biases, strict=True)):
                z = activations[-1] @ W.T
                z += b
                if i < last:
                    # sigmoid(z) = (1 + tanh(z / 2)) / 2: one transcendental, no overflow
                    z *= 0.5
                    np.tanh(z, out=z)
                    z += 1.0
                    z *= 0.5
                activations.append(z)
            logits = activations.pop()
            logits -= logits.max(axis=1, keepdims=True)
            probs = np.exp(logits)
            total = probs.sum(axis=1, keepdims=True)
            loss = np.log(total[:, 0]).sum() - logits[rows, yb].sum()
            probs /= total
            probs[rows, yb] -= 1.0
            probs /= xb.shape[0]
            delta = probs
            grads_w, grads_b = [None] * (last + 1), [None] * (last + 1)
            for i in range(last, -1, -1):
                a = activations[i]
                grads_w[i] = delta.T @ a
                grads_b[i] = delta.sum(axis=0)
                if i > 0:
                    delta = delta @ weights[i]
                    delta *= a * (1.0 - a)
            for p, g, buf in zip(params, grads_w + grads_b, self.buffers, strict=True):
                buf *= self.momentum
                buf += g
                p -= self.lr * buf
        self.loss = float(loss) / xb.shape[0]

    def state(self) -> dict[str, np.ndarray]:
        out = {}
        for i, (W, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            out[f"{2 * i}.weight"], out[f"{2 * i}.bias"] = W, b
        return out
