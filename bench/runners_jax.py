"""JAX (CPU) peers: a jitted training step called from Python, and a whole jitted epoch.

Both train what the other frameworks train, from MyTorch's initial weights: the same
layers, PyTorch's cross-entropy (mean over the batch), BatchNorm in training mode (batch
statistics with the biased variance; running statistics updated with momentum 0.1 and
the unbiased variance, as ``torch.nn.BatchNorm1d`` does), and optax's SGD with momentum
(``b = mu b + g; W -= lr b``, the first ``b`` being ``g``: PyTorch's form) or Adam
(PyTorch's defaults). Parameters and batches keep the config's dtype (float64 needs
``jax_enable_x64``, set on import).

XLA:CPU runs its kernels on one intra-op thread pool whose size it takes from the CPUs
the process may run on when the CPU client starts; in jax 0.10 no flag sets it
(``--xla_cpu_multi_thread_eigen=false`` does not: the matrix products go through XNNPACK
on that same pool). :func:`load_jax` therefore starts the client while the calling thread
is pinned to ``threads`` CPUs, and restores the thread's CPUs afterwards: the pool's
threads keep the smaller set.
"""

from __future__ import annotations

import os
import sys

import numpy as np
from configs import JAX_EPOCH, JAX_STEP, Config

_LOADED: dict[str, object] = {}

BATCHNORM_EPS, BATCHNORM_MOMENTUM = 1e-5, 0.1


def load_jax(threads: int):
    """Import jax (float64 enabled) with its CPU pool sized to ``threads``.

    Returns ``(jax, note)``, the note saying how many CPUs the pool could use; the first
    call decides, as the pool is made once per process.
    """
    if "jax" in _LOADED:
        return _LOADED["jax"], _LOADED["note"]
    can_pin = hasattr(os, "sched_getaffinity")
    allowed = sorted(os.sched_getaffinity(0)) if can_pin else []
    pinned = can_pin and threads < len(allowed) and "jax" not in sys.modules
    if pinned:
        os.sched_setaffinity(0, allowed[:threads])
    try:
        import jax

        jax.config.update("jax_enable_x64", True)
        jax.devices("cpu")  # starts the CPU client and its thread pool now
    finally:
        if pinned:
            os.sched_setaffinity(0, allowed)
    if pinned:
        note = f"XLA pool started on {threads} of {len(allowed)} CPUs"
    elif can_pin and threads >= len(allowed):
        note = f"XLA pool on all {len(allowed)} CPUs (--threads {threads})"
    else:
        note = "XLA pool size not limited (no CPU affinity here): it uses every CPU"
    _LOADED.update(jax=jax, note=note)
    return jax, note


def jax_version() -> str | None:
    """JAX's version, or None when it cannot be imported here (without importing it)."""
    from importlib.metadata import PackageNotFoundError, version
    from importlib.util import find_spec

    try:
        if find_spec("jax") is None or find_spec("optax") is None:
            return None
        return version("jax")
    except (ImportError, ValueError, PackageNotFoundError):
        return None


def _network(cfg: Config, init: dict[str, np.ndarray]):
    """The layer plan from MyTorch's state names: [(linear, batchnorm or None), ...]."""
    linears = [k[: -len(".weight")] for k, v in init.items() if k.endswith(".weight")]
    linears = [k for k in linears if np.ndim(init[k + ".weight"]) == 2]
    norms = [k[: -len(".running_mean")] for k in init if k.endswith(".running_mean")]
    plan = []
    for index, linear in enumerate(linears):
        last = index == len(linears) - 1
        norm = None if last or not cfg.batchnorm else norms[index]
        plan.append((linear, norm))
    return plan


def _make_functions(jax, cfg: Config, plan):
    """Build ``(train_step, train_epoch, predict, optimiser)`` for ``plan`` and ``cfg``."""
    import optax

    activation = jax.nn.sigmoid if cfg.activation == "sigmoid" else jax.nn.relu

    def batchnorm(h, params, buffers, norm: str):
        """Training mode: normalise with the batch's statistics, update the running ones."""
        mean, var = h.mean(axis=0), h.var(axis=0)  # the biased variance normalises
        n, m = h.shape[0], BATCHNORM_MOMENTUM
        unbiased = jax.lax.stop_gradient(var) * (n / (n - 1))  # the running one is unbiased
        running_mean, running_var = (
            buffers[f"{norm}.{k}"] for k in ("running_mean", "running_var")
        )
        updated = {
            f"{norm}.running_mean": (1 - m) * running_mean + m * jax.lax.stop_gradient(mean),
            f"{norm}.running_var": (1 - m) * running_var + m * unbiased,
            f"{norm}.num_batches_tracked": buffers[f"{norm}.num_batches_tracked"] + 1,
        }
        h = (h - mean) * jax.lax.rsqrt(var + BATCHNORM_EPS)
        return h * params[f"{norm}.weight"] + params[f"{norm}.bias"], updated

    def forward(params, buffers, x):
        """Logits of ``x`` and the BatchNorm buffers updated by this batch."""
        new_buffers = {}
        h = x
        for index, (linear, norm) in enumerate(plan):
            h = h @ params[f"{linear}.weight"].T + params[f"{linear}.bias"]
            if index == len(plan) - 1:
                break
            if norm is not None:
                h, updated = batchnorm(h, params, buffers, norm)
                new_buffers |= updated
            h = activation(h)
        return h, new_buffers

    def loss_fn(params, buffers, xb, yb):
        logits, new_buffers = forward(params, buffers, xb)
        loss = optax.losses.softmax_cross_entropy_with_integer_labels(logits, yb).mean()
        return loss, new_buffers

    if cfg.optimizer == "sgd":
        optimiser = optax.sgd(cfg.lr, momentum=cfg.momentum)
    else:
        optimiser = optax.adam(cfg.lr)

    def train_step(params, opt_state, buffers, xb, yb):
        grad_fn = jax.value_and_grad(loss_fn, has_aux=True)
        (loss, new_buffers), grads = grad_fn(params, buffers, xb, yb)
        updates, opt_state = optimiser.update(grads, opt_state, params)
        params = optax.apply_updates(params, updates)
        return params, opt_state, buffers | new_buffers, loss

    def train_epoch(params, opt_state, buffers, X_batches, y_batches):
        def body(carry, batch):
            params, opt_state, buffers, loss = train_step(*carry, *batch)
            return (params, opt_state, buffers), loss

        carry, losses = jax.lax.scan(body, (params, opt_state, buffers), (X_batches, y_batches))
        # The last batch's loss, picked here: indexing the result outside would compile
        # (and time) a slicing program on the first repeat.
        return (*carry, losses[-1])

    return train_step, train_epoch, optimiser


class JaxRunner:
    """JAX on the CPU: ``jax.jit`` of one step in a Python loop, or of a whole epoch.

    ``whole_epoch=False`` ("JAX per-step jit") calls the jitted step once per batch, as a
    JAX user's training loop does; ``whole_epoch=True`` ("JAX whole-epoch") runs the batch
    loop inside the compiled program with ``jax.lax.scan``. Batches are on the device
    before the clock starts (as the other frameworks get theirs as views of an array in
    memory), and the clock stops when the last step's results are ready (JAX dispatches
    asynchronously).
    """

    def __init__(self, cfg: Config, init: dict[str, np.ndarray], threads: int, whole_epoch: bool):
        jax, pool = load_jax(threads)
        self.jax = jax
        self.note = f"jax {jax.__version__}; {pool}"
        self.name = JAX_EPOCH if whole_epoch else JAX_STEP
        self.whole_epoch = whole_epoch
        self.batch = cfg.batch
        self.dtype = np.dtype(cfg.dtype)
        plan = _network(cfg, init)
        trainable = {f"{lin}.{p}" for lin, norm in plan for p in ("weight", "bias")}
        trainable |= {f"{norm}.{p}" for _, norm in plan if norm for p in ("weight", "bias")}
        self.params = {k: jax.numpy.asarray(v) for k, v in init.items() if k in trainable}
        self.buffers = {k: jax.numpy.asarray(v) for k, v in init.items() if k not in trainable}
        train_step, train_epoch, optimiser = _make_functions(jax, cfg, plan)
        self.opt_state = optimiser.init(self.params)
        # Donated: the old parameters' memory is reused for the new ones, as in place.
        self._step = jax.jit(train_step, donate_argnums=(0, 1, 2))
        self._epoch = jax.jit(train_epoch, donate_argnums=(0, 1, 2))
        self._compiled: dict[tuple, object] = {}
        self._data: dict[tuple[int, int], tuple] = {}
        self.loss = float("nan")

    def _device_batches(self, X: np.ndarray, y: np.ndarray):
        """The batches of ``X``, ``y`` on the device, made once per array pair."""
        key = (id(X), id(y))
        if key not in self._data:
            n = X.shape[0]
            if n % self.batch:
                raise ValueError(f"JAX runner: {n} samples is not a whole number of batches")
            jnp = self.jax.numpy
            X_batches = X.reshape(n // self.batch, self.batch, *X.shape[1:])
            y_batches = y.reshape(n // self.batch, self.batch)
            if self.whole_epoch:
                batches = (jnp.asarray(X_batches), jnp.asarray(y_batches))
            else:
                batches = [
                    (jnp.asarray(a), jnp.asarray(b))
                    for a, b in zip(X_batches, y_batches, strict=True)
                ]
            # The arrays are kept with their device copies, so that their ids stay unique.
            self._data[key] = (X, y, batches)
        return self._data[key][2]

    def _epoch_program(self, X_batches, y_batches):
        """The epoch compiled ahead of time for these shapes (compiling is not timed)."""
        key = (X_batches.shape, y_batches.shape)
        if key not in self._compiled:
            lowered = self._epoch.lower(*self._state(), X_batches, y_batches)
            self._compiled[key] = lowered.compile()
        return self._compiled[key]

    def warm_up(self, X: np.ndarray, y: np.ndarray) -> None:
        """Train ``X``, ``y`` through the jitted step, compiling it (both runners).

        The whole-epoch runner warms up this way too, so that its program is compiled
        once, for the timed shape, in :meth:`prepare`.
        """
        state = self._state()
        for start in range(0, X.shape[0], self.batch):
            *state, loss = self._step(
                *state, X[start : start + self.batch], y[start : start + self.batch]
            )
        self.jax.block_until_ready(state)
        self.params, self.opt_state, self.buffers = state
        self.loss = float(loss)

    def prepare(self, X: np.ndarray, y: np.ndarray) -> None:
        """Move the batches to the device and compile, before the timed repeats.

        The compiled epoch also runs once, on copies of the state (which it consumes):
        its first run costs more than later ones (measured: about 20 ms more on hw1).
        """
        batches = self._device_batches(X, y)
        if self.whole_epoch:
            program = self._epoch_program(*batches)
            copies = self.jax.tree_util.tree_map(lambda a: a.copy(), self._state())
            self.jax.block_until_ready(program(*copies, *batches))

    def _state(self) -> tuple:
        return self.params, self.opt_state, self.buffers

    def train(self, X: np.ndarray, y: np.ndarray) -> None:
        batches = self._device_batches(X, y)
        state = self._state()
        if self.whole_epoch:
            *state, loss = self._epoch_program(*batches)(*state, *batches)
        else:
            step = self._step
            for xb, yb in batches:
                *state, loss = step(*state, xb, yb)
        self.jax.block_until_ready(state)
        self.params, self.opt_state, self.buffers = state
        self.loss = float(loss)

    def state(self) -> dict[str, np.ndarray]:
        state = {k: np.asarray(v) for k, v in (self.params | self.buffers).items()}
        for key, value in state.items():
            if value.dtype.kind == "f" and value.dtype != self.dtype:
                raise RuntimeError(f"JAX runner: {key} is {value.dtype}, not {self.dtype}")
        return state
