"""``TrainStep``: forward, loss, backward and update of a mini-batch as one compiled call.

The reference loop (``opt.zero_grad(); crit(model(x), y);
model.backward(crit.backward()); opt.step()``) runs every module's checks and Python
dispatch, allocates every activation, and updates each parameter with its own dozen
NumPy calls. A ``TrainStep`` computes the same values with the same formulas, read once
into a plan (``plan.py``):

* the input is checked at the boundary, with the layers' own messages (NaN and inf
  batch by batch, just before the first product, while the batch is in the cache);
* every array is preallocated per batch shape and reused, and GEMMs write into them;
* a Linear's bias add and the activation after it, and the activation's derivative and
  the gradient it multiplies, run as one pass each (``kernels.py``: in place with NumPy,
  one loop with numba);
* the optimiser updates all parameters at once, over flat views (``flat.py``);
* the matrix products run on the BLAS threads as set, or, if asked, on as many as
  timing the first calls shows to be fastest (``blas_threads.py``).

It leaves the parameters, their gradients, the optimiser's state and BatchNorm's running
statistics as the reference loop does (float64 within about 1e-12 after 50 steps,
float32 within about 1e-5), and draws dropout masks from the same generators in the
same order. BatchNorm and dropout, and the activations without a fused kernel, run
their modules' own code.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from mytorch.compiled import epoch, kernels
from mytorch.compiled.blas_threads import BlasThreads
from mytorch.compiled.flat import FlatParameters
from mytorch.compiled.numpy_kernels import mean_cross_entropy
from mytorch.compiled.plan import NotFinite, Plan, make_plan
from mytorch.nn.kernels import batch_sum, weight_gradient
from mytorch.optim.kernels.threaded import for_each_chunk
from mytorch.optim.optimizer import gradient_with_decay
from mytorch.underflow import quiet_underflow
from mytorch.validation import (
    all_finite,
    assume_finite,
    check_class_indices,
    check_finite,
    check_float_array,
    check_positive_int,
    check_rng,
)

__all__ = ["TrainStep"]


class _Buffers:
    """The arrays of one batch size: each layer's output and each gradient on the way back."""

    def __init__(self, plan: Plan, n: int) -> None:
        dtype = plan.dtype
        self.out: list[np.ndarray | None] = []
        self.back: list[np.ndarray | None] = []
        width = plan.in_features
        for step in plan.steps:
            if step.kind == "linear":
                width = step.module.out_features
                self.out.append(np.empty((n, width), dtype))
                self.back.append(np.empty((n, step.module.in_features), dtype))
            else:
                self.out.append(None)
                self.back.append(None)
        self.scratch = np.empty((n, max(_widths(plan))), dtype)
        self.loss_grad = np.empty((n, width), dtype)


def _widths(plan: Plan) -> list[int]:
    return [s.module.out_features for s in plan.steps if s.kind == "linear"]


class TrainStep:
    """A compiled training step of ``model`` with ``criterion`` and ``optimizer``.

    Made by :func:`mytorch.compile_step`; see there.

    Attributes
    ----------
    backend : str
        "numba" (fused loops compiled with numba) or "numpy".
    fused : list of str
        The fused kernels this model uses, e.g. ``["linear+sigmoid", "flat SGD"]``.
    output : numpy.ndarray or None
        The model's output for the last batch (a buffer the next call overwrites).
    guard : bool
        Check the loss and the gradients of every step and raise :class:`NotFinite`
        before an update with NaN or inf (default True); the whole-epoch loop checks
        the epoch's loss and the parameters at its end instead.
    blas_threads : BlasThreads
        The BLAS threads the products run on: ``blas_threads.setting``, and for
        "fastest" what the timing chose for each kind of call (``blas_threads.chosen``).
    epoch_stats : dict
        After :meth:`run_epoch`: ``loss_sum`` (the per-sample losses summed, as the
        reference trainer counts them), ``errors`` (arg-max errors, for class targets)
        and ``samples``.
    """

    def __init__(
        self,
        model: Any,
        criterion: Any,
        optimizer: Any,
        backend: str,
        guard: bool = True,
        blas_threads: str | int = "as set",
    ) -> None:
        self.model, self.criterion, self.optimizer = model, criterion, optimizer
        self.backend = backend
        self._blas_setting = blas_threads
        self.guard = guard
        self.output: np.ndarray | None = None
        self._replan()

    # ------------------------------------------------------------------ planning
    def _replan(self) -> None:
        self._plan = make_plan(self.model, self.criterion, self.optimizer)
        self._index = {id(p): i for i, p in enumerate(self._plan.parameters)}
        self._adopt_parameters()
        self._buffers: dict[int, _Buffers] = {}
        self._kernels = kernels.for_backend(self.backend)
        self._mean = self.criterion.reduction == "mean"
        # The input's NaN and inf are looked for batch by batch, each batch just before
        # its first product, while it is in the cache (checking a whole epoch's X first
        # streamed it from memory twice: 6-8% of an hw1 epoch). NaN or inf in x makes its
        # rows of x W^T NaN or inf (NaN propagates; inf times any weight is inf or NaN),
        # so where that product is the smaller array the step looks there, after the
        # product, and in x only then, for the Linear's own message (hw1: 6,400 numbers
        # instead of 78,400).
        first = self._plan.steps[0].module
        self._late_input_check = first.out_features < first.in_features
        # The training case of the cross-entropy ('mean', class indices, no smoothing)
        # runs as one function into the step's buffer; other losses run their own code.
        self._fused_loss = (
            self._plan.loss == "CrossEntropyLoss"
            and self._mean
            and not self.criterion.label_smoothing
        )
        self.fused = self._fused_names()
        linears = [s.module for s in self._plan.steps if s.kind == "linear"]
        widest = max(m.in_features * m.out_features for m in linears)
        self.blas_threads = BlasThreads(widest, self._blas_setting)

    def _adopt_parameters(self) -> None:
        """Make the parameters and the optimiser's state views of flat arrays."""
        flat = self._flat = FlatParameters(
            self._plan.parameters, self.optimizer, self._plan.optimizer
        )
        # The parameters are views of the flat arrays now: that is the picture to keep.
        self._plan.remember(self.model, self.criterion, self.optimizer)
        # Each Linear's gradient slices, by position in the chain (no lookups per step).
        self._grad_views: list[tuple[np.ndarray, np.ndarray | None] | None] = [
            (
                flat.grad_view(self._index[id(s.module.weight)]),
                None if s.module.bias is None else flat.grad_view(self._index[id(s.module.bias)]),
            )
            if s.kind == "linear"
            else None
            for s in self._plan.steps
        ]
        self._epoch_inputs = None

    def _fused_names(self) -> list[str]:
        names = []
        steps = self._plan.steps
        for before, step in zip(steps, steps[1:], strict=False):
            if before.kind == "linear" and step.kind == "activation":
                if step.name in self._kernels.FUSED_ACTIVATIONS:
                    names.append(f"linear+{step.name.lower()}")
        if epoch.plain_layers(self) is not None:
            names.append("whole epoch: batch loop, softmax cross-entropy, every layer")
        names.append(f"flat {self._plan.optimizer}")
        return names

    @property
    def compiles_whole_epochs(self) -> bool:
        """Whether :meth:`run_epoch` runs the whole epoch in one compiled call (numba and a
        plain network: Linear + Identity/Sigmoid/Tanh/ReLU, cross-entropy)."""
        return epoch.plain_layers(self) is not None

    def _follow_edits(self) -> None:
        """Plan again if the model, loss or optimiser changed; re-adopt replaced state."""
        if not self._plan.matches(self.model, self.criterion, self.optimizer):
            self._replan()
        elif not self._flat.in_place():
            self._adopt_parameters()

    # ------------------------------------------------------------------ checks
    def _check(self, x: Any, y: Any, finite: bool = True) -> None:
        """The input's and the targets' checks, with the layers' messages (``finite``:
        also look for NaN and inf in ``x``)."""
        first = self._plan.steps[0].module
        check_float_array(
            x, type(first).__name__, features=first.in_features, dtype=first.dtype, finite=finite
        )
        if self._plan.loss == "CrossEntropyLoss" and not (
            isinstance(y, np.ndarray) and y.dtype.kind == "f"
        ):
            check_class_indices(
                y,
                "CrossEntropyLoss",
                n_classes=self._last_width(),
                n_samples=x.shape[0],
            )

    def _last_width(self) -> int:
        return _widths(self._plan)[-1]

    # ------------------------------------------------------------------ one batch
    @quiet_underflow.wrap
    def __call__(self, x: np.ndarray, y: np.ndarray) -> float:
        """Train on one mini-batch; return its loss (the criterion's reduction) as a float."""
        self._follow_edits()
        self._check(x, y, finite=False)  # NaN and inf: looked for in _forward
        with assume_finite():
            return self.blas_threads.run("step", x.shape[0], self._train, x, y, True)

    def _buffers_for(self, n: int) -> _Buffers:
        buffers = self._buffers.get(n)
        if buffers is None:
            if len(self._buffers) > 4:  # a few shapes at most: the full and the last batch
                self._buffers.clear()
            buffers = self._buffers[n] = _Buffers(self._plan, n)
        return buffers

    def _train(self, x: np.ndarray, y: np.ndarray, check_input: bool = False) -> float:
        """One step on a batch whose shape, dtype and targets are checked (``check_input``:
        NaN and inf in ``x`` not yet looked for; see ``_forward``)."""
        buffers = self._buffers_for(x.shape[0])
        saved = self._forward(x, buffers, check_input)
        delta = buffers.loss_grad  # our own copy of the loss's gradient: the steps work in place
        fused = self._fused_loss and y.dtype.kind in "iu"
        loss = mean_cross_entropy(self.output, y, delta) if fused else math.nan
        if not math.isfinite(loss):  # another loss, or NaN/inf logits: the loss's own code
            with assume_finite(False):  # it checks the network's output, as the reference
                loss = float(self.criterion(self.output, y))
            np.copyto(delta, self.criterion.backward())
        if self.guard and not math.isfinite(loss):
            raise NotFinite("loss", loss)
        self._backward(saved, buffers, delta)
        if self.guard and not all_finite(self._flat.grad):
            raise NotFinite("gradient", loss)
        self._update()
        return loss

    def _forward(
        self, x: np.ndarray, buffers: _Buffers, check_input: bool = False
    ) -> list[np.ndarray | None]:
        """Run the chain; return what backward needs of each step (a Linear's input, a
        fused activation's output)."""
        k = self._kernels
        steps = self._plan.steps
        saved: list[np.ndarray | None] = [None] * len(steps)
        a = x
        i = 0
        while i < len(steps):
            step = steps[i]
            if step.kind == "linear":
                layer = step.module
                saved[i] = a
                out = buffers.out[i]
                if check_input and i == 0 and not self._late_input_check:
                    check_finite(x, type(layer).__name__)
                np.matmul(a, layer.weight.data.T, out=out)  # y = x W^T (+ b below)
                if check_input and i == 0 and self._late_input_check:
                    if not all_finite(out):
                        check_finite(x, type(layer).__name__)  # raises if x is the cause
                bias = None if layer.bias is None else layer.bias.data
                following = steps[i + 1] if i + 1 < len(steps) else None
                if following is not None and following.name in k.FUSED_ACTIVATIONS:
                    k.bias_activation(out, bias, following.name)  # + b, then f, in place
                    saved[i + 1] = out
                    i += 1
                elif bias is not None:
                    out += bias
                a = out
            elif step.name in k.FUSED_ACTIVATIONS:
                # After a BatchNorm or Dropout, whose outputs are new arrays: in place.
                k.bias_activation(a, None, step.name)
                saved[i] = a
            else:
                a = step.module(a)  # BatchNorm, Dropout, other activations: their own code
            i += 1
        self.output = a
        return saved

    def _backward(
        self, saved: list[np.ndarray | None], buffers: _Buffers, delta: np.ndarray
    ) -> None:
        """Back from ``delta``, the loss's gradient in the step's buffer (changed in place)."""
        k = self._kernels
        steps = self._plan.steps
        grad_views = self._grad_views
        for i in range(len(steps) - 1, -1, -1):
            step = steps[i]
            if step.kind == "linear":
                layer = step.module
                weight_grad, bias_grad = grad_views[i]
                weight_gradient(delta, saved[i], weight_grad)  # dW = delta^T x
                if bias_grad is not None:
                    batch_sum(delta, out=bias_grad)  # db
                if i > 0:
                    delta = np.matmul(delta, layer.weight.data, out=buffers.back[i])  # dx
            elif step.name in k.FUSED_ACTIVATIONS:
                k.times_derivative(delta, saved[i], step.name, buffers.scratch)  # *= f'(z)
            elif step.kind == "batchnorm":
                delta = self._module_backward(step.module, delta)
            else:
                delta = step.module.backward(delta)
        self._flat.grads_to_parameters()

    def _module_backward(self, module: Any, delta: np.ndarray) -> np.ndarray:
        """A module's own backward, its parameter gradients copied into the flat array."""
        params = [p for p in (module.weight, module.bias) if p is not None]
        for param in params:
            param.grad = None
        delta = module.backward(delta)
        for param in params:
            self._flat.grad_view(self._index[id(param)])[...] = param.grad
        return delta

    # ------------------------------------------------------------------ the update
    def _update(self) -> None:
        """One optimiser step over the flat arrays: the optimiser's own kernel and numbers."""
        flat, optimizer = self._flat, self.optimizer
        group = optimizer.param_groups[0]
        kind = self._plan.optimizer
        decay = 0.0 if group.get("decoupled_weight_decay") else group["weight_decay"]
        grad = flat.grad
        if decay:
            grad = gradient_with_decay(flat.data, flat.grad, decay, False, self._scratch(0))
        if kind == "SGD":
            first = False
            buffer = grad
            if group["momentum"] != 0:
                if not flat.state:
                    flat.start_state()
                    flat.state["momentum_buffer"][...] = grad  # PyTorch: b_1 = g_1
                    first = True
                buffer = flat.state["momentum_buffer"]
            arrays = [flat.data, grad, buffer]
            numbers = optimizer.kernel_numbers(group, first)
        else:
            if not flat.state:
                flat.start_state()
            flat.step += 1
            m, v = flat.state["exp_avg"], flat.state["exp_avg_sq"]
            arrays = [flat.data, grad, m, v, v]
            numbers = optimizer.kernel_numbers(group, flat.step)
            flat.record_step()
        if self.backend == "numba" and optimizer.compiled_kernel(*arrays, *numbers):
            return
        for_each_chunk(optimizer.kernel, [*arrays, self._scratch(1)], *numbers)

    def _scratch(self, index: int) -> np.ndarray:
        """Flat scratch array ``index`` (0: the decayed gradient, 1: the NumPy kernel's),
        made when first needed: a compiled update without weight decay needs neither."""
        scratch = self.__dict__.setdefault("_scratch_arrays", {})
        array = scratch.get(index)
        if array is None or array.shape != self._flat.data.shape:
            array = scratch[index] = np.empty_like(self._flat.data)
        return array

    # ------------------------------------------------------------------ a whole epoch
    @quiet_underflow.wrap
    def run_epoch(
        self,
        X: np.ndarray,
        y: np.ndarray,
        batch_size: int,
        shuffle: bool = False,
        rng: np.random.Generator | int | None = None,
    ) -> float:
        """Train on ``X``, ``y`` for one epoch of mini-batches; return the mean loss.

        The batches are those of ``DataLoader(X, y, batch_size, shuffle, rng=rng)``: in
        order, or a permutation drawn from ``rng``; the short last batch is trained, not
        dropped. The mean loss is over samples (each batch's loss weighted by its size,
        for a 'mean' reduction).

        Parameters
        ----------
        X : numpy.ndarray
            Inputs (N, in_features) of the model's dtype.
        y : numpy.ndarray
            Targets for the criterion.
        batch_size : int
            Samples per batch.
        shuffle : bool
            Draw a random permutation first.
        rng : numpy.random.Generator or int or None
            Source of the permutation.

        Raises
        ------
        ValueError
            With the first Linear's message, when a batch holds NaN or inf: as in the
            reference loop, the batches before it are trained (each batch is checked
            just before it is used, while it is in the cache).
        NotFinite
            When the loss, a gradient or the network's output is NaN or inf.
        """
        self._follow_edits()
        batch_size = check_positive_int(batch_size, "TrainStep.run_epoch", "batch_size")
        self._check(X, y, finite=False)  # NaN and inf: batch by batch, as the layers do
        n = X.shape[0]
        if y.shape[0] != n:
            raise ValueError(f"TrainStep.run_epoch: X has {n} rows but y has {y.shape[0]} targets")
        order = check_rng(rng, "TrainStep.run_epoch").permutation(n) if shuffle else None
        count_errors = y.dtype.kind in "iu" and self.criterion.classification
        with assume_finite():
            if epoch.plain_layers(self) is not None and y.dtype.kind in "iu":
                total, errors = epoch.compiled_epoch(self, X, y, order, batch_size)
            else:
                total, errors = 0.0, 0
                for start in range(0, n, batch_size):
                    stop = min(start + batch_size, n)
                    index = slice(start, stop) if order is None else order[start:stop]
                    yb = y[index]
                    loss = self.blas_threads.run(
                        "step", stop - start, self._train, X[index], yb, True
                    )
                    total += loss * (stop - start) if self._mean else loss
                    if count_errors:
                        errors += int(np.count_nonzero(self.output.argmax(axis=1) != yb))
        self.epoch_stats = {
            "loss_sum": total,
            "errors": errors if count_errors else None,
            "samples": n,
        }
        return total / n
