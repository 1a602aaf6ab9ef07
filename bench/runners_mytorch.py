"""MyTorch's runners: the reference training loop, the compiled step, compiled inference.

Every runner has ``name``, ``train(X, y)`` (one pass over ``X`` in batches, in order),
``loss`` (of the last batch) and ``state()`` (parameters and buffers by PyTorch's names);
inference runners have ``eval_mode()`` and ``predict(X)``.
"""

from __future__ import annotations

import numpy as np
from configs import COMPILED, COMPILED_NUMBA, MYTORCH, MYTORCH_NUMBA, Config


def build_training(cfg: Config, seed: int = 0):
    """Return ``(model, criterion, optimizer)`` for ``cfg``; the same weights for a seed."""
    from mytorch import nn, optim

    dtype = np.dtype(cfg.dtype)
    layers = []
    pairs = list(zip(cfg.sizes[:-1], cfg.sizes[1:], strict=True))
    for index, (fan_in, fan_out) in enumerate(pairs):
        layers.append(nn.Linear(fan_in, fan_out, dtype=dtype, rng=seed + index))
        if index < len(pairs) - 1:
            if cfg.batchnorm:
                layers.append(nn.BatchNorm1d(fan_out, dtype=dtype))
            # In place, as mytorch's model builder does: no one keeps the output
            # of the Linear or BatchNorm before it.
            act = nn.Sigmoid if cfg.activation == "sigmoid" else nn.ReLU
            layers.append(act(inplace=True))
    model = nn.Sequential(*layers)
    if cfg.optimizer == "sgd":
        opt = optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum)
    else:
        opt = optim.Adam(model.parameters(), lr=cfg.lr)
    return model, nn.CrossEntropyLoss(), opt


def numba_available() -> bool:
    from mytorch.optim.kernels import compiled

    return compiled.available()


def _set_numba_kernels(enabled: bool) -> None:
    # The switch is global: every MyTorch runner sets it before it trains, since they
    # take turns in one process.
    from mytorch.optim.kernels import compiled

    compiled.set_enabled(enabled)


def _state(model) -> dict[str, np.ndarray]:
    return {k: np.array(v) for k, v in model.state_dict().items()}


class MyTorchRunner:
    """MyTorch through its public API: nn.Sequential, nn.*Loss, optim.*, a Python loop.

    ``compiled=False`` is NumPy alone; ``compiled=True`` lets the optimiser use the
    optional numba loops (``mytorch[fast]``), reported as "MyTorch+numba".
    """

    def __init__(self, cfg: Config, seed: int = 0, compiled: bool = False) -> None:
        self.compiled = compiled
        self.name = MYTORCH_NUMBA if compiled else MYTORCH
        self.model, self.criterion, self.opt = build_training(cfg, seed)
        self.batch = cfg.batch
        self.loss = float("nan")

    def train(self, X: np.ndarray, y: np.ndarray) -> None:
        model, criterion, opt, batch = self.model, self.criterion, self.opt, self.batch
        _set_numba_kernels(self.compiled)
        model.train()
        for start in range(0, X.shape[0], batch):
            xb, yb = X[start : start + batch], y[start : start + batch]
            opt.zero_grad()
            out = model(xb)
            loss = criterion(out, yb)
            # As mytorch's Trainer does: the gradient w.r.t. the data is never used (PyTorch's
            # autograd does not compute it either, the input not requiring grad).
            model.backward(criterion.backward(), need_input_grad=False)
            opt.step()
        self.loss = float(loss)

    def eval_mode(self) -> None:
        self.model.eval()

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.model(X)

    def state(self) -> dict[str, np.ndarray]:
        return _state(self.model)


def compiled_step_missing(backend: str) -> str | None:
    """Why ``mytorch.compile_step(..., backend=backend)`` cannot run here, or None."""
    import mytorch

    if not hasattr(mytorch, "compile_step"):
        return "skipped: mytorch.compile_step is not in this checkout"
    if backend == "numba" and not numba_available():
        return "skipped: numba is not installed (pip install 'mytorch[fast]')"
    return None


class MyTorchCompiledRunner:
    """``mytorch.compile_step``: the whole epoch through ``step.run_epoch(X, y, batch)``.

    Without shuffling, ``run_epoch`` trains the batches in order, as a loop of
    ``step(xb, yb)`` would; with ``backend="numba"`` the batch loop itself is compiled.
    The BLAS threads are the default, "as set" (the bench's thread count, as every other
    library gets): what a user gets. ``blas_threads="fastest"`` may be given instead,
    and the row's note then says what the timing chose.
    """

    optional = True  # an error in it is reported in its row instead of ending the run

    def __init__(
        self, cfg: Config, backend: str, seed: int = 0, blas_threads: str | int = "as set"
    ) -> None:
        import mytorch

        self.name = COMPILED_NUMBA if backend == "numba" else COMPILED
        self.backend = backend
        self.model, criterion, opt = build_training(cfg, seed)
        self.model.train()
        self.step = mytorch.compile_step(
            self.model, criterion, opt, backend=backend, blas_threads=blas_threads
        )
        self.batch = cfg.batch
        self.loss = float("nan")
        ran = getattr(self.step, "backend", "?")
        self.note = f"step.backend {ran}" + ("" if ran == backend else f" (asked: {backend})")

    def final_note(self) -> str:
        threads = getattr(self.step, "blas_threads", None)
        if threads is None or not threads.chosen:
            return self.note
        chosen = ", ".join(
            f"{kind} {'1 thread' if how == 1 else 'threads as set'}"
            for (kind, _), how in sorted(threads.chosen.items())
        )
        return f"{self.note}; BLAS {chosen}"

    def train(self, X: np.ndarray, y: np.ndarray) -> None:
        # The reference optimiser's switch must not leak into a tier that names its own.
        _set_numba_kernels(self.backend == "numba")
        losses = self.step.run_epoch(X, y, self.batch, shuffle=False)
        # run_epoch returns the batches' losses (or one number): keep the last batch's,
        # as every other runner does.
        self.loss = float(np.ravel(losses)[-1]) if losses is not None else float("nan")

    def state(self) -> dict[str, np.ndarray]:
        return _state(self.model)


def compiled_predict_missing() -> str | None:
    import mytorch

    if not hasattr(mytorch, "compile_predict"):
        return "skipped: mytorch.compile_predict is not in this checkout"
    return None


class CompiledPredictRunner:
    """``mytorch.compile_predict`` of a trained model (eval mode, BatchNorm folded)."""

    name = COMPILED

    def __init__(self, model) -> None:
        import mytorch

        model.eval()
        self.predictor = mytorch.compile_predict(model)
        self.note = f"backend {getattr(self.predictor, 'backend', '?')}"

    def eval_mode(self) -> None:
        pass

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.predictor(X)
