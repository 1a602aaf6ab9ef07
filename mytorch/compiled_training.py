"""How the ``Trainer`` trains with the compiled step: when a run qualifies, and how.

``Trainer`` (``mytorch/trainer.py``) derives from :class:`CompiledTraining`, which
holds the one decision (``CompiledTraining._compiled_step``: the reference loop, the
compiled step batch by batch, or whole compiled epochs) and the two ways of running a
compiled epoch with the reference loop's guards.

What a run's options do:

==========================================  =========================================
option                                      compiled step
==========================================  =========================================
input noise, augmentation, a progress bar,  batch by batch, compiled
a scheduler stepped per update, a callback
with ``on_step_end`` (weight averaging),
label smoothing (the loss's own code)
``shuffle_rng`` other than a Generator      batch by batch, compiled
none of those, numba installed, a plain     the whole epoch in one compiled call
network (Linear + Identity/Sigmoid/Tanh/
ReLU), class-index targets
gradient clipping (``max_grad_norm``)       reference loop (named in the status)
a callback that watches every step          reference loop (``Diagnostics``)
a subclass's own ``training_step``          reference loop (the course's trainer)
a model, loss or optimiser with no          reference loop (the reason, e.g. course
compiled form                               layers, class weights, RMSprop)
targets equal to the loss's ignore_index    reference loop
``sample_weight`` (class weights)           reference loop (named in the status)
==========================================  =========================================

A whole compiled epoch checks for NaN and inf at its end (the batch-by-batch modes
before every update, as the reference loop does).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NoReturn

import numpy as np

from mytorch.callbacks import Callback
from mytorch.data import DataLoader
from mytorch.divergence import TrainingDivergedError
from mytorch.validation import NonFiniteError

__all__ = ["CompiledTraining"]


class CompiledTraining:
    """The compiled-step part of :class:`mytorch.trainer.Trainer` (a base class of it).

    It reads the trainer's ``compiled``, ``blas_threads``, ``model``, ``criterion``, ``optimizer``,
    ``max_grad_norm``, ``callbacks``, ``input_noise``, ``epoch``, ``step_count`` and its
    guards (``check_finite_loss``, ``check_finite_grads``, ``raise_diverged``).
    """

    if TYPE_CHECKING:  # what it reads of the trainer, declared for type checkers
        compiled: bool | str
        blas_threads: str | int
        model: Any
        criterion: Any
        optimizer: Any
        max_grad_norm: float | None
        callbacks: list[Any]
        input_noise: float
        augment: Any
        schedule_interval: str | None
        epoch: int
        step_count: int
        _step: Any
        _made_for: Any

        def check_finite_loss(self, loss: Any) -> None: ...
        def check_finite_grads(self) -> None: ...
        def raise_diverged(self, error: Any, x: np.ndarray) -> NoReturn: ...
        def loss_sum(self, loss: Any, batch_size: int) -> float: ...

    def _compiled_training_step(
        self, step: Any, x: np.ndarray, y: np.ndarray
    ) -> tuple[np.ndarray, float]:
        """:meth:`training_step` by the compiled step, with the reference's guards."""
        from mytorch.compiled import NotFinite

        try:
            loss = step(x, y)
        except NotFinite as error:
            if error.what == "loss":
                self.check_finite_loss(error.loss)
            self.check_finite_grads()
            raise  # pragma: no cover - one of the checks above raises
        except NonFiniteError as error:
            self.raise_diverged(error, x)
        return step.output, self.loss_sum(loss, len(x))

    def _compiled_epoch(self, step: Any, loader: DataLoader) -> tuple[float, float, float]:
        """A whole epoch in one compiled call (the batches ``loader`` would give)."""
        from mytorch.compiled import NotFinite

        try:
            step.run_epoch(
                loader.X, loader.y, loader.batch_size, shuffle=loader.shuffle, rng=loader.rng
            )
        except NotFinite as error:
            if error.what == "output":
                # The batch where the network's output overflowed, as the reference loop
                # finds it: the guard names the step and the first layer.
                self.step_count += error.step
                self.raise_diverged(NonFiniteError(f"compiled epoch: {error}"), error.batch)
            raise TrainingDivergedError(
                f"Trainer: the loss or the weights became NaN or inf during epoch "
                f"{self.epoch} (found at its end by the compiled epoch). Likely causes: a "
                "learning rate that is too large, unscaled inputs, or a model that "
                "saturates; try a smaller lr, gradient clipping (max_grad_norm) or batch norm"
            ) from None
        self.step_count += len(loader)
        stats = step.epoch_stats
        return stats["loss_sum"], float(stats["errors"] or 0), float(stats["samples"])

    def plan(
        self,
        X: np.ndarray,
        y: np.ndarray,
        progress: Any = None,
        shuffle_rng: Any = None,
        sample_weight: Any = None,
    ) -> str:
        """Say how ``fit`` with these arguments will train, without training.

        Returns
        -------
        str
            ``compiled_status``: "compiled (numba, whole epochs)", "compiled (numpy)", or
            "reference loop: <the reason>".
        """
        self._compiled_step(X, y, progress, shuffle_rng, sample_weight)
        return self.compiled_status

    def _compiled_step(
        self,
        X: np.ndarray,
        y: np.ndarray,
        progress: Any,
        shuffle_rng: Any,
        sample_weight: Any = None,
    ) -> tuple[Any, bool]:
        """The compiled step for this run and whether whole epochs can run compiled, or
        (None, False) with the reason in ``compiled_status`` (see the class's Notes)."""
        reason = self._reference_loop_reason(X, y, sample_weight)
        if reason is None:
            from mytorch.compiled import Unsupported, compile_step

            made_for = (self.model, self.criterion, self.optimizer)
            try:
                if self._step is None or self._made_for != made_for:
                    self._step = compile_step(*made_for, blas_threads=self.blas_threads)
                    self._made_for = made_for
            except Unsupported as error:
                reason = str(error)
        if reason is not None:
            if self.compiled is True:
                raise ValueError(f"Trainer: compiled=True, but {reason}")
            self.compiled_status = f"reference loop: {reason}"
            return None, False
        step = self._step
        watches_steps = any(
            type(callback).on_step_end is not Callback.on_step_end for callback in self.callbacks
        )
        whole = (
            progress is None
            and not self.input_noise
            and self.augment is None
            and self.schedule_interval == "epoch"
            and not watches_steps
            and (shuffle_rng is None or isinstance(shuffle_rng, np.random.Generator))
            and y.dtype.kind in "iu"
            and step.compiles_whole_epochs
        )
        self.compiled_status = f"compiled ({step.backend}{', whole epochs' if whole else ''})"
        return step, whole

    def _reference_loop_reason(
        self, X: np.ndarray, y: np.ndarray, sample_weight: Any = None
    ) -> str | None:
        """Why this run cannot use the compiled step, or None."""
        if self.compiled is False:
            return "compiled=False"
        if not isinstance(X, np.ndarray) or X.ndim != 2:
            return "the compiled step takes inputs of shape (N, features)"
        if len([c for c in type(self).__mro__ if "training_step" in vars(c)]) > 1:
            return f"{type(self).__name__} has a training_step of its own"
        if self.optimizer is None:
            return "no optimizer"
        if self.max_grad_norm is not None:
            return "gradient clipping (max_grad_norm) is not part of the compiled step"
        if sample_weight is not None:
            return "sample weights (sample_weight) are not part of the compiled step"
        for callback in self.callbacks:
            if getattr(callback, "needs_each_step", False):
                return f"the {type(callback).__name__} callback watches every step"
        ignore = getattr(self.criterion, "ignore_index", None)
        if ignore is not None and y.dtype.kind in "iu" and bool(np.any(y == ignore)):
            return "some targets equal the loss's ignore_index"
        return None
