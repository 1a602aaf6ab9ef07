"""The whole epoch in one compiled call, for a plain network (``numba_loops.train_epoch``).

A plain network is Linear layers, each followed by at most an activation with a fused
loop (Identity, Sigmoid, Tanh, ReLU), ending with a Linear, trained with the softmax
cross-entropy on class indices. For it the batch loop itself, the matrix products, the
loss and the optimiser's update all run in compiled code: what batch size 1 needs, where
the per-step Python work is most of the time.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from mytorch.compiled.plan import NotFinite
from mytorch.validation import all_finite, check_finite

__all__ = ["compiled_epoch", "plain_layers"]


def plain_layers(step: Any) -> list[tuple[Any, int]] | None:
    """[(Linear, activation code), ...] when the whole epoch can run compiled: Linear
    layers each followed by at most a fused activation, ending with a Linear, the
    softmax cross-entropy (without label smoothing, which the step runs by the loss's
    own code, batch by batch); else None."""
    if step.backend != "numba" or step._plan.loss != "CrossEntropyLoss":
        return None
    if getattr(step.criterion, "label_smoothing", 0.0):
        return None
    from mytorch.compiled.numba_loops import ACTIVATION_CODES

    layers = []
    for item in step._plan.steps:
        if item.kind == "linear":
            layers.append([item.module, 0])
        elif item.name in ACTIVATION_CODES and layers and layers[-1][1] == 0:
            layers[-1][1] = ACTIVATION_CODES[item.name]
        else:
            return None
    if layers[-1][1] != 0 or any(s.kind == "activation" for s in step._plan.steps[-1:]):
        return None
    return [(layer, code) for layer, code in layers]


def compiled_epoch(
    step: Any, X: np.ndarray, y: np.ndarray, order: np.ndarray | None, batch_size: int
) -> tuple[float, int]:
    """Train one epoch of ``step``'s plain network in one compiled call; return (the
    per-sample losses summed, the arg-max errors)."""
    from mytorch.compiled import numba_loops
    from mytorch.compiled.numba_blas import blas_addresses

    layers = plain_layers(step)
    flat, group = step._flat, step.optimizer.param_groups[0]
    dtype = step._plan.dtype
    rows = min(batch_size, X.shape[0])
    if step._epoch_inputs is None or step._epoch_inputs[0] != rows:
        weights = [layer.weight.data for layer, _ in layers]
        empty = np.zeros(1, dtype)
        biases = [empty if layer.bias is None else layer.bias.data for layer, _ in layers]
        grad_w = [flat.grad_view(step._index[id(layer.weight)]) for layer, _ in layers]
        grad_b = [
            empty if layer.bias is None else flat.grad_view(step._index[id(layer.bias)])
            for layer, _ in layers
        ]
        outs = [np.empty((rows, layer.out_features), dtype) for layer, _ in layers]
        backs = [np.empty((rows, layer.in_features), dtype) for layer, _ in layers]
        step._epoch_inputs = (
            rows,
            tuple(weights),
            tuple(biases),
            np.array([layer.bias is not None for layer, _ in layers]),
            np.array([code for _, code in layers], dtype=np.int64),
            tuple(grad_w),
            tuple(grad_b),
            tuple(outs),
            tuple(backs),
            np.empty((rows, layers[-1][0].out_features), dtype),
        )
    _, weights, biases, has_bias, codes, grad_w, grad_b, outs, backs, loss_grad = step._epoch_inputs
    if step._plan.optimizer == "SGD":
        kind = 0
        momentum = group["momentum"]
        first = momentum != 0 and not flat.state
        if first:
            flat.start_state()
        state_a = flat.state["momentum_buffer"] if momentum != 0 else flat.data
        state_b = state_a
        hyper = np.array([group["lr"], momentum, group["weight_decay"], group["nesterov"]])
        start = 0 if first else 1
    else:
        kind = 1
        if not flat.state:
            flat.start_state()
        state_a, state_b = flat.state["exp_avg"], flat.state["exp_avg_sq"]
        beta1, beta2 = group["betas"]
        hyper = np.array(
            [
                group["lr"],
                beta1,
                beta2,
                group["eps"],
                group["weight_decay"],
                group["decoupled_weight_decay"],
            ]
        )
        start = flat.step
    y = y.astype(np.int64, copy=False)
    # The compiled products take row-major batches (numba_blas.gemm): rows of a
    # C-ordered X are; an F-ordered X (scikit-learn's checks pass one) is copied once.
    X = np.ascontiguousarray(X)
    n = X.shape[0]
    fixed = (
        *(batch_size, weights, biases, has_bias, codes, grad_w, grad_b, outs, backs),
        *(loss_grad, flat.data, flat.grad, state_a, state_b, kind, hyper),
    )

    blas = blas_addresses(dtype)

    def train(begin: int, end: int, start: int) -> tuple[float, int, int, int, bool]:
        # Rows begin:end of the epoch (whole batches, or up to the end).
        if order is None:
            part = (X[begin:end], y[begin:end], np.zeros(0, np.int64))
        else:
            part = (X, y, order[begin:end].astype(np.int64))
        return numba_loops.train_epoch(*part, *fixed, start, step._mean, blas)

    # On NumPy's own BLAS the threads are those of every other call; on SciPy's (numba's
    # np.dot), a second pool of threads: see BlasThreads.run_second_pool.
    run = step.blas_threads.run if blas[0] else step.blas_threads.run_second_pool

    # While the BLAS threads are still being chosen (blas_threads.py), the epoch runs
    # in pieces of a few batches, each timed; then the rest in one call.
    total, errors, failed_at, begin, bad_input = 0.0, 0, -1, 0, False
    piece = 2 * batch_size
    while begin < n:
        deciding = step.blas_threads.deciding("epoch", batch_size)
        end = min(begin + piece, n) if deciding else n
        part_total, part_errors, steps_done, part_failed, bad_input = run(
            "epoch", batch_size, train, begin, end, start
        )
        total += part_total
        errors += part_errors
        if part_failed >= 0:
            failed_at = begin + part_failed
            break
        start = steps_done if kind == 1 else 1
        begin = end
    if kind == 1:
        flat.step = steps_done
        flat.record_step()
    flat.grads_to_parameters()
    if failed_at >= 0:
        index = slice(failed_at, failed_at + batch_size)
        batch = X[index if order is None else order[index]]
        if bad_input:  # the batch itself: the first Linear's own error, as in the reference
            check_finite(batch, type(layers[0][0]).__name__)
        raise NotFinite("output", total, batch, failed_at // batch_size + 1)
    if step.guard and not (math.isfinite(total) and all_finite(flat.data)):
        raise NotFinite("loss", total)
    last = X.shape[0] - (X.shape[0] - 1) // batch_size * batch_size
    step.output = outs[-1][:last]
    return total, errors
