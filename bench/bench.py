#!/usr/bin/env python3
"""Training and inference speed of MyTorch against PyTorch (CPU) and scikit-learn.

    python3 tools/run.py bench            # full run, a few minutes
    python3 tools/run.py bench --quick    # under a minute
    python3 tools/run.py bench --threads 1 --out /tmp/bench

Every framework trains the same architecture with the same hyper-parameters, dtype and
batches (rows of Fashion-MNIST taken in order, or a synthetic stand-in of the same shape
when the data is absent) in this one process, with the same number of BLAS / OpenMP
threads. Each repeat times a fixed number of samples; the best repeat counts, and the
frameworks take turns within each repeat so that a noisy neighbour slows all of them.
Data loading and model construction are not timed. MyTorch and the plain NumPy loop start
from the weights PyTorch is given, so the last column checks that all three computed the
same thing.

Peak memory of wide-f32 training is measured in a fresh subprocess per framework:
Linux's peak resident set size (VmHWM) is reset after imports and data (``echo 5 >
/proc/self/clear_refs``), the model and optimiser are built and trained, and the peak
above that baseline is reported (``ru_maxrss`` minus the baseline RSS where the reset is
unavailable). For MyTorch, tracemalloc's peak of NumPy allocations is given as well.

Results: a table on stdout, ``results.json`` and ``results.png`` in ``bench/results/``.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import resource
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT.parent / "shared" / "data" / "fashion-mnist"
RESULTS_DIR = ROOT / "bench" / "results"
N_CLASSES = 10


# ---------------------------------------------------------------------------- configs
@dataclass(frozen=True)
class Config:
    """One training configuration, the same for every framework.

    ``samples`` is how many training samples one timed repeat processes (full, quick).
    """

    name: str
    sizes: tuple[int, ...]
    activation: str  # "sigmoid" or "relu"
    batchnorm: bool
    optimizer: str  # "sgd" (momentum) or "adam"
    lr: float
    batch: int
    dtype: str
    samples: tuple[int, int]
    target_vs_torch: float
    momentum: float = 0.9
    sklearn: str = "exact"  # "exact", or what was compared instead
    plain_numpy: bool = False
    description: str = ""


CONFIGS = [
    Config(
        "hw1-f64",
        (784, 64, 64, 32, 10),
        "sigmoid",
        False,
        "sgd",
        0.008,
        100,
        "float64",
        (30000, 5000),
        1.8,
        plain_numpy=True,
        description="784-64-64-32-10 sigmoid, SGD lr 0.008 momentum 0.9, batch 100",
    ),
    Config(
        "hw1-f32",
        (784, 64, 64, 32, 10),
        "sigmoid",
        False,
        "sgd",
        0.008,
        100,
        "float32",
        (30000, 5000),
        2.0,
        plain_numpy=True,
        description="784-64-64-32-10 sigmoid, SGD lr 0.008 momentum 0.9, batch 100",
    ),
    Config(
        "wide-f32",
        (784, 1024, 1024, 10),
        "relu",
        True,
        "adam",
        1e-3,
        128,
        "float32",
        (6400, 1280),
        1.0,
        sklearn="n/a: no BatchNorm in scikit-learn; compared 784-1024-1024-10 ReLU + Adam "
        "without BatchNorm",
        description="784-1024-1024-10 BatchNorm1d + ReLU, Adam lr 1e-3, batch 128",
    ),
    Config(
        "batch1-f32",
        (784, 128, 10),
        "relu",
        False,
        "sgd",
        1e-3,
        1,
        "float32",
        (3000, 500),
        2.5,
        description="784-128-10 ReLU, SGD lr 1e-3 momentum 0.9, batch 1",
    ),
]
SKLEARN_TARGET = 1.5
INFER_TARGETS = {"infer-f32 (batch 1000)": 1.0, "infer-f32 (batch 1)": 3.0}
ROOFLINE_TARGET = 0.70


# ---------------------------------------------------------------------------- data
def load_data(
    synthetic: bool, data_dir: Path
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, str]:
    """Return ``(X_train, y_train, X_test, y_test, source)``, images float32 in [0, 1]."""
    if not synthetic:
        try:
            from mytorch.datasets import load_fashion_mnist

            X, y, X_test, y_test = load_fashion_mnist(data_dir, dtype=np.float32)
            return X, y, X_test, y_test, f"Fashion-MNIST ({data_dir})"
        except (FileNotFoundError, OSError) as error:
            print(f"[bench] Fashion-MNIST not found ({error}); using synthetic data", flush=True)
    rng = np.random.default_rng(0)
    X = rng.random((60000, 784), dtype=np.float32)
    X_test = rng.random((10000, 784), dtype=np.float32)
    y = rng.integers(0, N_CLASSES, 60000)
    y_test = rng.integers(0, N_CLASSES, 10000)
    return X, y, X_test, y_test, "synthetic stand-in, uniform [0, 1), shape of Fashion-MNIST"


# ---------------------------------------------------------------------------- runners
class MyTorchRunner:
    """MyTorch through its public API: nn.Sequential, nn.*Loss, optim.*.

    ``compiled=False`` is NumPy alone; ``compiled=True`` lets the optimiser use the
    optional numba loops (``mytorch[fast]``), reported as "MyTorch+numba".
    """

    def __init__(self, cfg: Config, seed: int = 0, compiled: bool = False) -> None:
        from mytorch import nn, optim
        from mytorch.optim.kernels import compiled as numba_kernels

        # The switch is global: train() sets it, since the two MyTorch runners take turns.
        self._numba_kernels = numba_kernels
        self.compiled = compiled
        self.name = "MyTorch+numba" if compiled else "MyTorch"

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
        self.model = nn.Sequential(*layers)
        self.criterion = nn.CrossEntropyLoss()
        if cfg.optimizer == "sgd":
            self.opt = optim.SGD(self.model.parameters(), lr=cfg.lr, momentum=cfg.momentum)
        else:
            self.opt = optim.Adam(self.model.parameters(), lr=cfg.lr)
        self.batch = cfg.batch
        self.loss = float("nan")

    def train(self, X: np.ndarray, y: np.ndarray) -> None:
        model, criterion, opt, batch = self.model, self.criterion, self.opt, self.batch
        self._numba_kernels.set_enabled(self.compiled)
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
        return {k: np.array(v) for k, v in self.model.state_dict().items()}


class TorchRunner:
    """PyTorch 2.x CPU: torch.nn.Sequential, autograd, torch.optim (default settings)."""

    name = "PyTorch"

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
        self.model.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in init.items()})
        self.criterion = torch.nn.CrossEntropyLoss()
        if cfg.optimizer == "sgd":
            self.opt = torch.optim.SGD(self.model.parameters(), lr=cfg.lr, momentum=cfg.momentum)
        else:
            self.opt = torch.optim.Adam(self.model.parameters(), lr=cfg.lr)
        self.batch = cfg.batch
        self.loss = float("nan")
        self._tensors: dict[int, tuple] = {}

    def _as_tensors(self, X: np.ndarray, y: np.ndarray):
        # from_numpy shares memory, so this costs nothing per repeat; cached by identity.
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


class SklearnRunner:
    """scikit-learn's MLPClassifier, one ``partial_fit`` (one pass, in order) per repeat."""

    name = "scikit-learn"

    def __init__(self, cfg: Config, seed: int = 0) -> None:
        from sklearn.neural_network import MLPClassifier

        common = dict(
            hidden_layer_sizes=cfg.sizes[1:-1],
            activation="logistic" if cfg.activation == "sigmoid" else "relu",
            alpha=0.0,
            batch_size=cfg.batch,
            learning_rate_init=cfg.lr,
            max_iter=1,
            shuffle=False,
            random_state=seed,
            tol=0.0,
            n_iter_no_change=10**9,
        )
        if cfg.optimizer == "sgd":
            self.model = MLPClassifier(
                solver="sgd",
                learning_rate="constant",
                momentum=cfg.momentum,
                nesterovs_momentum=False,
                **common,
            )
        else:
            self.model = MLPClassifier(solver="adam", **common)
        self.classes = np.arange(N_CLASSES)
        self.loss = float("nan")

    def train(self, X: np.ndarray, y: np.ndarray) -> None:
        self.model.partial_fit(X, y, classes=self.classes)
        self.loss = float(self.model.loss_)

    def eval_mode(self) -> None:
        pass

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.model.predict_proba(X)


class PlainNumpyRunner:
    """The hw1 network written out by hand in NumPy: the floor for Python + BLAS."""

    name = "NumPy loop"

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


# ---------------------------------------------------------------------------- timing
@dataclass
class Result:
    """Samples per second of every repeat of one framework on one config."""

    config: str
    framework: str
    rates: list[float] = field(default_factory=list)
    note: str = ""
    loss: float = float("nan")
    rel_diff_vs_torch: float | None = None

    @property
    def best(self) -> float:
        return max(self.rates) if self.rates else float("nan")


def _timed(fn, *args) -> float:
    gc.disable()
    try:
        start = time.perf_counter()
        fn(*args)
        return time.perf_counter() - start
    finally:
        gc.enable()


def _max_diff(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> float:
    """Largest difference between two states, relative to the largest value, per tensor."""
    worst = 0.0
    for key in a:
        if key not in b or np.asarray(a[key]).dtype.kind != "f":
            continue
        x, ref = np.asarray(a[key], np.float64), np.asarray(b[key], np.float64)
        worst = max(worst, float(np.max(np.abs(x - ref)) / max(np.max(np.abs(ref)), 1e-300)))
    return worst


def numba_available() -> bool:
    from mytorch.optim.kernels import compiled

    return compiled.available()


def bench_training(
    cfg: Config, X: np.ndarray, y: np.ndarray, repeats: int, quick: bool, pause: float
) -> tuple[list[Result], dict]:
    """Time training of ``cfg`` in every framework; return results and the trained models."""
    n = cfg.samples[1] if quick else cfg.samples[0]
    X = np.ascontiguousarray(X[:n], dtype=np.dtype(cfg.dtype))
    y = np.ascontiguousarray(y[:n], dtype=np.int64)
    warm = min(n, 5 * cfg.batch)
    mytorch = MyTorchRunner(cfg)
    init = mytorch.state()
    runners = [mytorch, TorchRunner(cfg, init)]
    if numba_available():
        runners.append(MyTorchRunner(cfg, compiled=True))
    if cfg.plain_numpy:
        runners.append(PlainNumpyRunner(cfg, init))
    runners.append(SklearnRunner(cfg))
    results = {r.name: Result(cfg.name, r.name) for r in runners}
    if cfg.sklearn != "exact":
        results["scikit-learn"].note = cfg.sklearn
    for runner in runners:  # identical warm-up steps, so the models stay comparable
        runner.train(X[:warm], y[:warm])
    for repeat in range(repeats):
        # Rotate the order so that no framework always runs right after another one.
        order = runners[repeat % len(runners) :] + runners[: repeat % len(runners)]
        for runner in order:
            time.sleep(pause)  # let the previous framework's spinning threads go to sleep
            results[runner.name].rates.append(n / _timed(runner.train, X, y))
    reference = runners[1].state()
    for runner in runners:
        results[runner.name].loss = runner.loss
        if hasattr(runner, "state") and runner is not runners[1]:
            results[runner.name].rel_diff_vs_torch = _max_diff(runner.state(), reference)
    return list(results.values()), {r.name: r for r in runners}


def bench_inference(
    runners: dict, X_test: np.ndarray, repeats: int, quick: bool, pause: float
) -> list[Result]:
    """Forward only, eval mode: batch 1000 throughput and batch 1 latency."""
    X = np.ascontiguousarray(X_test[: 2000 if quick else 10000], dtype=np.float32)
    n_single = 200 if quick else 1000
    big, single = "infer-f32 (batch 1000)", "infer-f32 (batch 1)"
    results = []
    # The compiled loops only speed up optimiser steps: inference is MyTorch's alone.
    runners = {name: runner for name, runner in runners.items() if name != "MyTorch+numba"}
    for name, runner in runners.items():
        runner.eval_mode()
        note = "wide model without BatchNorm" if name == "scikit-learn" else ""
        results.append((runner, Result(big, name, note=note), Result(single, name, note=note)))

    def batched(runner):
        for start in range(0, X.shape[0], 1000):
            runner.predict(X[start : start + 1000])

    def one_by_one(runner):
        for i in range(n_single):
            runner.predict(X[i : i + 1])

    # Inference compares like with like: PyTorch gets MyTorch's trained weights (Adam in
    # float32 drifts apart over hundreds of steps, see the README).
    runners["PyTorch"].model.load_state_dict(
        {k: runners["PyTorch"].torch.from_numpy(v) for k, v in runners["MyTorch"].state().items()}
    )
    for runner, _, _ in results:
        runner.predict(X[:1000])
        runner.predict(X[:1])
    for _ in range(repeats):
        for runner, r_big, r_single in results:
            time.sleep(pause)
            r_big.rates.append(X.shape[0] / _timed(batched, runner))
            time.sleep(pause)
            r_single.rates.append(n_single / _timed(one_by_one, runner))
    reference = results[1][0].predict(X[:1000])
    for runner, r_big, _ in results[:1]:
        r_big.rel_diff_vs_torch = _max_diff({"out": runner.predict(X[:1000])}, {"out": reference})
    return [r for _, r_big, r_single in results for r in (r_big, r_single)]


def gemm_rate(threads: int, repeats: int, size: int = 2048) -> dict[str, float]:
    """FLOP/s of a large float32 matmul, NumPy (OpenBLAS) and PyTorch (MKL / oneDNN)."""
    import torch

    rng = np.random.default_rng(0)
    a = rng.random((size, size), dtype=np.float32)
    b = rng.random((size, size), dtype=np.float32)
    out = np.empty_like(a)
    ta, tb = torch.from_numpy(a), torch.from_numpy(b)
    tout = torch.empty_like(ta)
    flops = 2.0 * size**3
    rates = {}
    np.matmul(a, b, out=out)
    rates["numpy"] = max(flops / _timed(np.matmul, a, b, out) for _ in range(repeats))
    torch.matmul(ta, tb, out=tout)
    rates["torch"] = max(
        flops / _timed(lambda: torch.matmul(ta, tb, out=tout)) for _ in range(repeats)
    )
    return rates


def useful_flops_per_sample(sizes: tuple[int, ...]) -> float:
    """GEMM FLOPs one sample needs in training: forward, weight gradients, and the input
    gradients of every layer but the first (whose input needs no gradient)."""
    macs = [fan_in * fan_out for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True)]
    return 2.0 * (2 * sum(macs) + sum(macs[1:]))


# ---------------------------------------------------------------------------- memory
def _status_kib(key: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise KeyError(key)


def memory_child(framework: str, steps: int, threads: int) -> dict:
    """Train wide-f32 for ``steps`` steps in this (fresh) process; return peak memory."""
    cfg = next(c for c in CONFIGS if c.name == "wide-f32")
    set_threads(threads)
    if framework == "torch":
        import torch  # noqa: F401  (imported before the baseline)
    import mytorch.nn  # noqa: F401

    rng = np.random.default_rng(0)
    X = rng.random((steps * cfg.batch, cfg.sizes[0]), dtype=np.float32)
    y = rng.integers(0, N_CLASSES, steps * cfg.batch)
    init = MyTorchRunner(cfg).state() if framework == "torch" else None
    gc.collect()
    try:
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")  # reset VmHWM (peak RSS) to the current RSS
        method = "VmHWM after reset by /proc/self/clear_refs, minus VmRSS at reset"
    except OSError:
        method = "ru_maxrss minus VmRSS before the model was built (peak may predate it)"
    baseline = _status_kib("VmRSS")
    traced = None
    if framework == "mytorch-tracemalloc":
        import tracemalloc

        tracemalloc.start()
    runner = MyTorchRunner(cfg) if init is None else TorchRunner(cfg, init)
    runner.train(X, y)
    if framework == "mytorch-tracemalloc":
        traced = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    try:
        peak = _status_kib("VmHWM")
    except KeyError:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "framework": framework,
        "steps": steps,
        "peak_delta_mib": (peak - baseline) / 1024,
        "baseline_rss_mib": baseline / 1024,
        "tracemalloc_peak_mib": traced,
        "method": method,
    }


def measure_memory(steps: int, threads: int) -> dict:
    out = {}
    for framework in ("mytorch", "torch", "mytorch-tracemalloc"):
        command = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--memory-child",
            framework,
            "--memory-steps",
            str(steps),
            "--threads",
            str(threads),
        ]
        done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False)
        if done.returncode != 0:
            out[framework] = {"error": done.stderr.strip().splitlines()[-1:]}
            continue
        out[framework] = json.loads(done.stdout.strip().splitlines()[-1])
    return out


# ---------------------------------------------------------------------------- report
def set_threads(threads: int):
    """Pin NumPy's BLAS, every OpenMP runtime, PyTorch and MyTorch to ``threads`` threads."""
    from threadpoolctl import threadpool_limits

    import mytorch

    limiter = threadpool_limits(limits=threads)
    # MyTorch's own pool, for elementwise optimiser passes over large weights (PyTorch
    # spreads those over its intra-op threads too).
    mytorch.set_num_threads(threads)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)
    return limiter


def blas_info() -> list[dict]:
    from threadpoolctl import threadpool_info

    keep = ("internal_api", "prefix", "version", "architecture", "num_threads", "filepath")
    return [{k: info.get(k) for k in keep} for info in threadpool_info()]


def paired_median_ratio(rates: list[float], torch_rates: list[float]) -> float:
    """Median over repeats of rate / PyTorch's rate in the same repeat.

    The frameworks run one after another within a repeat, so each pair saw about the
    same load from the machine's neighbours: a second, steadier view of the ratio than
    best over best when the machine is noisy.
    """
    pairs = [a / b for a, b in zip(rates, torch_rates, strict=False) if b > 0]
    return float(np.median(pairs)) if pairs else float("nan")


def format_table(results: list[Result], memory: dict, roofline: dict) -> str:
    torch_best = {r.config: r.best for r in results if r.framework == "PyTorch"}
    torch_rates = {r.config: r.rates for r in results if r.framework == "PyTorch"}
    sklearn_best = {r.config: r.best for r in results if r.framework == "scikit-learn"}
    targets = {c.name: c.target_vs_torch for c in CONFIGS} | INFER_TARGETS
    exact_sklearn = {c.name for c in CONFIGS if c.sklearn == "exact"}
    lines = [
        f"{'config':24s} {'framework':13s} {'samples/s':>11s} {'vs PyTorch':>10s} "
        f"{'median':>7s} {'target':>7s} {'vs sklearn':>10s} {'loss':>8s} {'rel diff':>8s}  note"
    ]
    lines.append("-" * len(lines[0]))
    for r in results:
        ratio = r.best / torch_best[r.config]
        target, mark = "", ""
        if r.framework.startswith("MyTorch"):
            target = f">={targets[r.config]:.1f}x"
            mark = " ok" if ratio >= targets[r.config] else " MISS"
        vs_sklearn = ""
        if r.framework.startswith("MyTorch") and r.config in sklearn_best:
            if r.config in exact_sklearn:
                ok = r.best / sklearn_best[r.config] >= SKLEARN_TARGET
                vs_sklearn = f"{r.best / sklearn_best[r.config]:.2f}x" + ("" if ok else "!")
            else:
                vs_sklearn = "n/a"
        diff = "" if r.rel_diff_vs_torch is None else f"{r.rel_diff_vs_torch:.1e}"
        loss = "" if np.isnan(r.loss) else f"{r.loss:.4f}"
        rate = r.best if "batch 1)" not in r.config else r.best
        extra = f" ({1e6 / r.best:.0f} us/sample)" if r.config.endswith("(batch 1)") else ""
        paired = paired_median_ratio(r.rates, torch_rates[r.config])
        lines.append(
            f"{r.config:24s} {r.framework:13s} {rate:11.0f} {ratio:9.2f}x {paired:6.2f}x "
            f"{target:>7s} {vs_sklearn:>10s} {loss:>8s} {diff:>8s} "
            f" {mark.strip()}{extra} {r.note}".rstrip()
        )
    lines.append("")
    lines.append(
        f"GEMM roofline (float32 {roofline['size']}^3 matmul, same threads): NumPy "
        f"{roofline['numpy_gflops']:.1f} GFLOP/s, PyTorch {roofline['torch_gflops']:.1f}"
        f" GFLOP/s"
    )
    if not np.isnan(roofline["mytorch_fraction"]):
        numba_part = (
            f", MyTorch+numba {100 * roofline['mytorch_numba_fraction']:.0f}%"
            if not np.isnan(roofline.get("mytorch_numba_fraction", np.nan))
            else ""
        )
        lines.append(
            f"wide-f32 useful GEMM work: {roofline['useful_mflop_per_sample']:.2f} MFLOP/"
            f"sample -> MyTorch {100 * roofline['mytorch_fraction']:.0f}% of the NumPy "
            f"GEMM rate (target >= {100 * ROOFLINE_TARGET:.0f}%){numba_part}, PyTorch "
            f"{100 * roofline['torch_fraction']:.0f}%"
        )
    if memory:
        parts = []
        for key, label in (("mytorch", "MyTorch"), ("torch", "PyTorch")):
            m = memory.get(key, {})
            parts.append(
                f"{label} {m['peak_delta_mib']:.1f} MiB"
                if "peak_delta_mib" in m
                else f"{label} error {m.get('error')}"
            )
        traced = memory.get("mytorch-tracemalloc", {}).get("tracemalloc_peak_mib")
        lines.append(
            "wide-f32 training peak memory above baseline (fresh process each): "
            + ", ".join(parts)
            + (f"; MyTorch tracemalloc peak {traced:.1f} MiB" if traced else "")
        )
    return "\n".join(lines)


def plot(results: list[Result], roofline: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    configs = list(dict.fromkeys(r.config for r in results))
    frameworks = ["MyTorch", "MyTorch+numba", "PyTorch", "NumPy loop", "scikit-learn"]
    colours = {
        "MyTorch": "tab:blue",
        "MyTorch+numba": "tab:cyan",
        "PyTorch": "tab:orange",
        "NumPy loop": "tab:green",
        "scikit-learn": "tab:red",
    }
    best = {(r.config, r.framework): r.best for r in results}
    repeat_rates = {(r.config, r.framework): r.rates for r in results}
    targets = {c.name: c.target_vs_torch for c in CONFIGS} | INFER_TARGETS
    exact_sklearn = {c.name for c in CONFIGS if c.sklearn == "exact"}
    fig, axes = plt.subplots(1, 2, figsize=(14, 5))
    width = 0.16
    x = np.arange(len(configs))
    for k, fw in enumerate(frameworks):
        ratios = [best.get((c, fw), np.nan) / best[(c, "PyTorch")] for c in configs]
        rates = [best.get((c, fw), np.nan) for c in configs]
        for ax, values in ((axes[0], ratios), (axes[1], rates)):
            bars = ax.bar(x + (k - 2) * width, values, width, label=fw, color=colours[fw])
            if fw == "scikit-learn":  # hatched where it trains a different network
                for bar, config in zip(bars, configs, strict=True):
                    if config not in exact_sklearn:
                        bar.set_hatch("//")
    axes[0].scatter(
        x - 1.5 * width,  # between the two MyTorch bars
        [targets[c] for c in configs],
        marker="_",
        s=400,
        color="black",
        zorder=3,
        label="MyTorch target",
    )
    for k, fw in enumerate(frameworks):
        medians = [
            paired_median_ratio(repeat_rates[(c, fw)], repeat_rates[(c, "PyTorch")])
            if (c, fw) in repeat_rates
            else np.nan
            for c in configs
        ]
        axes[0].scatter(
            x + (k - 2) * width,
            medians,
            marker="o",
            s=14,
            color="black",
            zorder=4,
            label="median of paired repeats" if k == 0 else None,
        )
    axes[0].axhline(1.0, color="grey", lw=0.8)
    axes[0].set_ylabel("speed relative to PyTorch: bars best/best (higher is faster)")
    axes[1].set_yscale("log")
    axes[1].set_ylabel("samples / s (log)")
    for ax in axes:
        ax.set_xticks(x, configs, rotation=20, ha="right")
        ax.legend(fontsize=8)
    numba_fraction = roofline.get("mytorch_numba_fraction", np.nan)
    axes[0].set_title(
        f"wide-f32: MyTorch at {100 * roofline['mytorch_fraction']:.0f}% of NumPy GEMM roofline"
        + ("" if np.isnan(numba_fraction) else f" (+numba {100 * numba_fraction:.0f}%)")
    )
    axes[1].set_title("throughput (best repeat); hatched: scikit-learn without BatchNorm")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ---------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small run, under a minute")
    parser.add_argument("--threads", type=int, default=2, help="BLAS/OpenMP/torch threads")
    parser.add_argument(
        "--repeats", type=int, default=None, help="timed repeats per framework (default 9, quick 3)"
    )
    parser.add_argument(
        "--configs",
        nargs="+",
        default=None,
        help="subset of " + ", ".join(c.name for c in CONFIGS) + ", infer-f32",
    )
    parser.add_argument("--data-dir", type=Path, default=DATA_DIR)
    parser.add_argument("--synthetic", action="store_true", help="ignore the real data")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR, help="folder for JSON, PNG")
    parser.add_argument("--no-memory", action="store_true", help="skip the memory subprocesses")
    parser.add_argument("--memory-child", help=argparse.SUPPRESS)
    parser.add_argument("--memory-steps", type=int, default=20, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.memory_child:
        print(json.dumps(memory_child(args.memory_child, args.memory_steps, args.threads)))
        return 0

    import sklearn
    import torch

    limiter = set_threads(args.threads)
    torch.set_num_threads(args.threads)
    repeats = args.repeats or (3 if args.quick else 9)
    pause = 0.02 if args.quick else 0.1
    wanted = set(args.configs or [c.name for c in CONFIGS] + ["infer-f32"])
    if "infer-f32" in wanted:
        wanted.add("wide-f32")
    X, y, X_test, _, source = load_data(args.synthetic, args.data_dir)
    print(
        f"[bench] data: {source}; threads: {args.threads}; repeats: {repeats}; "
        f"numpy {np.__version__}, torch {torch.__version__}, sklearn {sklearn.__version__}",
        flush=True,
    )

    started = time.perf_counter()
    results: list[Result] = []
    wide_runners = None
    for cfg in CONFIGS:
        if cfg.name not in wanted:
            continue
        print(f"[bench] {cfg.name}: {cfg.description}", flush=True)
        config_results, runners = bench_training(cfg, X, y, repeats, args.quick, pause)
        results += config_results
        if cfg.name == "wide-f32":
            wide_runners = runners
    if "infer-f32" in wanted and wide_runners is not None:
        print("[bench] infer-f32: forward of the trained wide model, batch 1000 and 1", flush=True)
        results += bench_inference(wide_runners, X_test, repeats, args.quick, pause)

    gemm = gemm_rate(args.threads, 3 if args.quick else 5)
    wide_cfg = next(c for c in CONFIGS if c.name == "wide-f32")
    flops = useful_flops_per_sample(wide_cfg.sizes)
    best = {(r.config, r.framework): r.best for r in results}
    roofline = {
        "size": 2048,
        "numpy_gflops": gemm["numpy"] / 1e9,
        "torch_gflops": gemm["torch"] / 1e9,
        "useful_mflop_per_sample": flops / 1e6,
        "mytorch_fraction": best.get(("wide-f32", "MyTorch"), np.nan) * flops / gemm["numpy"],
        "mytorch_numba_fraction": best.get(("wide-f32", "MyTorch+numba"), np.nan)
        * flops
        / gemm["numpy"],
        "torch_fraction": best.get(("wide-f32", "PyTorch"), np.nan) * flops / gemm["numpy"],
    }
    memory = {}
    if not args.no_memory and "wide-f32" in wanted:
        print("[bench] peak memory of wide-f32 training (fresh subprocesses)", flush=True)
        memory = measure_memory(5 if args.quick else 20, args.threads)

    table = format_table(results, memory, roofline)
    torch_rates = {r.config: r.rates for r in results if r.framework == "PyTorch"}
    print()
    print(table)
    args.out.mkdir(parents=True, exist_ok=True)
    report = {
        "quick": args.quick,
        "threads": args.threads,
        "repeats": repeats,
        "data": source,
        "seconds": time.perf_counter() - started,
        "versions": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "torch": torch.__version__,
            "sklearn": sklearn.__version__,
        },
        "machine": {
            "processor": platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count(),
            "openblas_env": {k: v for k, v in os.environ.items() if k.startswith("OPENBLAS")},
        },
        "threadpools": blas_info(),
        "configs": [asdict(c) for c in CONFIGS if c.name in wanted],
        "results": [
            asdict(r)
            | {
                "best": r.best,
                "paired_median_vs_torch": paired_median_ratio(r.rates, torch_rates[r.config]),
            }
            for r in results
        ],
        "roofline": roofline,
        "memory_wide_f32": memory,
        "table": table,
    }
    (args.out / "results.json").write_text(json.dumps(report, indent=2, default=float))
    plot(results, roofline, args.out / "results.png")
    print(
        f"\n[bench] wrote {args.out / 'results.json'} and {args.out / 'results.png'} "
        f"({time.perf_counter() - started:.0f} s)"
    )
    limiter.restore_original_limits()
    return 0


if __name__ == "__main__":
    sys.exit(main())
