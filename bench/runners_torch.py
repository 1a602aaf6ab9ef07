"""PyTorch's runner: the reference every ratio in the table is taken against."""

from __future__ import annotations

import numpy as np
from configs import TORCH, Config


class TorchRunner:
    """PyTorch 2.x CPU: torch.nn.Sequential, autograd, torch.optim (default settings)."""

    name = TORCH

    def __init__(self, cfg: Config, init: dict[str, np.ndarray]) -> None:
        import torch

        self.torch = torch
        dtype = {"float32": torch.float32, "float64": torch.float64}[cfg.dtype]
        layers = []
        pairs = list(zip(cfg.sizes[:-1], cfg.sizes[1:], strict=True))
        for index, (fan_in, fan_out) in enumerate(pairs):
            layers.append(torch.nn.Linear(fan_in, fan_out))
            if index < len(pairs) - 1:
                if cfg.batchnorm:
                    layers.append(torch.nn.BatchNorm1d(fan_out))
                layers.append(
                    torch.nn.Sigmoid() if cfg.activation == "sigmoid" else torch.nn.ReLU()
                )
        self.model = torch.nn.Sequential(*layers).to(dtype)
        self.load(init)
        self.criterion = torch.nn.CrossEntropyLoss()
        if cfg.optimizer == "sgd":
            self.opt = torch.optim.SGD(self.model.parameters(), lr=cfg.lr, momentum=cfg.momentum)
        else:
            self.opt = torch.optim.Adam(self.model.parameters(), lr=cfg.lr)
        self.batch = cfg.batch
        self.loss = float("nan")
        self._tensors: dict[tuple[int, int], tuple] = {}

    def load(self, state: dict[str, np.ndarray]) -> None:
        """Copy ``state`` (PyTorch's names, NumPy arrays) into the model."""
        torch = self.torch
        self.model.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in state.items()})

    def _as_tensors(self, X: np.ndarray, y: np.ndarray):
        # from_numpy shares memory, so this costs nothing per repeat; cached by identity
        # (the tensors keep the arrays alive, so an id cannot be reused while cached).
        key = (id(X), id(y))
        if key not in self._tensors:
            self._tensors[key] = (self.torch.from_numpy(X), self.torch.from_numpy(y))
        return self._tensors[key]

    def train(self, X: np.ndarray, y: np.ndarray) -> None:
        Xt, yt = self._as_tensors(X, y)
        model, criterion, opt, batch = self.model, self.criterion, self.opt, self.batch
        model.train()
        for start in range(0, Xt.shape[0], batch):
            xb, yb = Xt[start : start + batch], yt[start : start + batch]
            opt.zero_grad()
            loss = criterion(model(xb), yb)
            loss.backward()
            opt.step()
        self.loss = loss.item()

    def eval_mode(self) -> None:
        self.model.eval()

    def predict(self, X: np.ndarray) -> np.ndarray:
        with self.torch.inference_mode():
            return self.model(self.torch.from_numpy(X)).numpy()

    def state(self) -> dict[str, np.ndarray]:
        return {k: v.detach().numpy().copy() for k, v in self.model.state_dict().items()}
