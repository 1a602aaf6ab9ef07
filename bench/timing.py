"""How the bench times: interleaved repeats of every runner, ratios paired by repeat."""

from __future__ import annotations

import gc
import time
from dataclasses import dataclass, field

import numpy as np
from configs import (
    COMPILED,
    COMPILED_NUMBA,
    FRAMEWORKS,
    INFER_BIG,
    INFER_SINGLE,
    JAX_EPOCH,
    JAX_STEP,
    MYTORCH,
    SKLEARN,
    TORCH,
    Config,
)
from runners_jax import JaxRunner
from runners_mytorch import (
    CompiledPredictRunner,
    MyTorchCompiledRunner,
    MyTorchRunner,
    compiled_predict_missing,
    compiled_step_missing,
    numba_available,
)
from runners_numpy import PlainNumpyRunner
from runners_sklearn import SklearnRunner
from runners_torch import TorchRunner


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

    @property
    def median(self) -> float:
        return float(np.median(self.rates)) if self.rates else float("nan")


def paired_ratios(rates: list[float], reference: list[float]) -> list[float]:
    """rate / the reference's rate in the same repeat, for every repeat both ran.

    The runners take turns within a repeat, so each pair saw about the same load from
    the machine's neighbours.
    """
    return [a / b for a, b in zip(rates, reference, strict=False) if b > 0]


def paired_stats(rates: list[float], reference: list[float]) -> tuple[float, float, float]:
    """``(median, min, max)`` of :func:`paired_ratios`; NaNs when there is no pair."""
    pairs = paired_ratios(rates, reference)
    if not pairs:
        return float("nan"), float("nan"), float("nan")
    return float(np.median(pairs)), min(pairs), max(pairs)


def timed(fn, *args) -> float:
    """Seconds ``fn(*args)`` took, with the garbage collector off."""
    gc.disable()
    try:
        start = time.perf_counter()
        fn(*args)
        return time.perf_counter() - start
    finally:
        gc.enable()


def max_rel_diff(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> float:
    """Largest difference between two states, relative to the largest value, per tensor."""
    worst = 0.0
    for key in a:
        if key not in b or np.asarray(a[key]).dtype.kind != "f":
            continue
        x, ref = np.asarray(a[key], np.float64), np.asarray(b[key], np.float64)
        worst = max(worst, float(np.max(np.abs(x - ref)) / max(np.max(np.abs(ref)), 1e-300)))
    return worst


def _in_table_order(results: list[Result]) -> list[Result]:
    """Grouped by config (in order of first appearance), then by framework."""
    configs = list(dict.fromkeys(r.config for r in results))
    return sorted(results, key=lambda r: (configs.index(r.config), FRAMEWORKS.index(r.framework)))


def _training_runners(
    cfg: Config, threads: int, jax_skipped: str | None
) -> tuple[list, list[Result]]:
    """Every runner that can train ``cfg`` here, and a result with a note for each that cannot.

    ``jax_skipped`` says why the JAX runners are left out, or is None to run them.
    """
    reference = MyTorchRunner(cfg)
    init = reference.state()  # PyTorch, JAX and the NumPy loop start from these weights
    runners = [reference, TorchRunner(cfg, init)]
    skipped = []
    if numba_available():
        runners.append(MyTorchRunner(cfg, compiled=True))
    for backend, name in (("numpy", COMPILED), ("numba", COMPILED_NUMBA)):
        why = compiled_step_missing(backend)
        if why is None:
            try:
                runners.append(MyTorchCompiledRunner(cfg, backend))
            except Exception as error:  # shown in the table rather than stopping the run
                why = f"compile_step failed: {type(error).__name__}: {error}"
        if why is not None:
            skipped.append(Result(cfg.name, name, note=why))
    if jax_skipped is not None:
        skipped += [Result(cfg.name, name, note=jax_skipped) for name in (JAX_STEP, JAX_EPOCH)]
    else:
        runners += [JaxRunner(cfg, init, threads, whole_epoch=w) for w in (False, True)]
    if cfg.plain_numpy:
        runners.append(PlainNumpyRunner(cfg, init))
    runners.append(SklearnRunner(cfg))
    return runners, skipped


def bench_training(
    cfg: Config,
    X: np.ndarray,
    y: np.ndarray,
    repeats: int,
    quick: bool,
    pause: float,
    threads: int,
    jax_skipped: str | None = None,
) -> tuple[list[Result], dict]:
    """Time training of ``cfg`` in every framework; return results and the trained runners."""
    n = cfg.samples[1] if quick else cfg.samples[0]
    X = np.ascontiguousarray(X[:n], dtype=np.dtype(cfg.dtype))
    y = np.ascontiguousarray(y[:n], dtype=np.int64)
    warm = min(n, 5 * cfg.batch)
    runners, skipped = _training_runners(cfg, threads, jax_skipped)
    results = {r.name: Result(cfg.name, r.name, note=getattr(r, "note", "")) for r in runners}
    if cfg.sklearn != "exact":
        results[SKLEARN].note = cfg.sklearn
    for runner in list(runners):
        # Identical warm-up steps, so that the models stay comparable; then whatever a
        # runner does once per data set (JAX: batches to the device, compiling the epoch).
        try:
            getattr(runner, "warm_up", runner.train)(X[:warm], y[:warm])
            if hasattr(runner, "prepare"):
                runner.prepare(X, y)
        except Exception as error:
            if not getattr(runner, "optional", False):
                raise
            # A tier still being built fails in its row, not the whole run.
            runners.remove(runner)
            note = f"failed: {type(error).__name__}: {error}"
            skipped.append(Result(cfg.name, results.pop(runner.name).framework, note=note))
    for repeat in range(repeats):
        # Rotate the order, so that every framework sometimes runs first and sometimes
        # right after the longest one.
        order = runners[repeat % len(runners) :] + runners[: repeat % len(runners)]
        for runner in order:
            time.sleep(pause)  # let the previous framework's spinning threads go to sleep
            results[runner.name].rates.append(n / timed(runner.train, X, y))
    reference = runners[1].state()
    for runner in runners:
        results[runner.name].loss = runner.loss
        if hasattr(runner, "final_note"):  # what it chose while it trained
            results[runner.name].note = runner.final_note()
        if hasattr(runner, "state") and runner is not runners[1]:
            results[runner.name].rel_diff_vs_torch = max_rel_diff(runner.state(), reference)
    return _in_table_order(list(results.values()) + skipped), {r.name: r for r in runners}


def bench_inference(
    runners: dict, X_test: np.ndarray, repeats: int, quick: bool, pause: float
) -> list[Result]:
    """Forward only, eval mode, of the trained wide model: batch 1000 and batch 1 latency."""
    X = np.ascontiguousarray(X_test[: 2000 if quick else 10000], dtype=np.float32)
    n_single = 200 if quick else 1000
    # Inference compares like with like: PyTorch gets MyTorch's trained weights (Adam in
    # float32 drifts apart over hundreds of steps, see the README).
    runners[TORCH].load(runners[MYTORCH].state())
    chosen = [runners[MYTORCH], runners[TORCH], runners[SKLEARN]]
    skipped = []
    why = compiled_predict_missing()
    if why is None:
        try:
            chosen.insert(1, CompiledPredictRunner(runners[MYTORCH].model))
        except Exception as error:
            why = f"compile_predict failed: {type(error).__name__}: {error}"
    if why is not None:
        skipped = [Result(config, COMPILED, note=why) for config in (INFER_BIG, INFER_SINGLE)]
    pairs = []
    for runner in chosen:
        runner.eval_mode()
        note = "wide model without BatchNorm" if runner.name == SKLEARN else ""
        note = getattr(runner, "note", "") or note
        pairs.append((runner, Result(INFER_BIG, runner.name, note=note)))
        pairs.append((runner, Result(INFER_SINGLE, runner.name, note=note)))

    def batched(runner):
        for start in range(0, X.shape[0], 1000):
            runner.predict(X[start : start + 1000])

    def one_by_one(runner):
        for i in range(n_single):
            runner.predict(X[i : i + 1])

    for runner in chosen:
        runner.predict(X[:1000])
        runner.predict(X[:1])
    for repeat in range(repeats):
        order = pairs[repeat % len(pairs) :] + pairs[: repeat % len(pairs)]
        for runner, result in order:
            time.sleep(pause)
            if result.config == INFER_BIG:
                result.rates.append(X.shape[0] / timed(batched, runner))
            else:
                result.rates.append(n_single / timed(one_by_one, runner))
    reference = {"out": np.array(runners[TORCH].predict(X[:1000]))}
    for runner, result in pairs:
        if runner.name in (MYTORCH, COMPILED) and result.config == INFER_BIG:
            out = {"out": np.array(runner.predict(X[:1000]))}  # a copy: buffers are reused
            result.rel_diff_vs_torch = max_rel_diff(out, reference)
    return _in_table_order([r for _, r in pairs] + skipped)
