"""The training loop's guards: a NaN or inf loss or gradient stops training, named.

``Trainer`` derives from :class:`DivergenceGuards`: before every update the loss and the
gradients are checked, and a NaN or inf becomes a :class:`TrainingDivergedError` that
names the epoch, the step and, where it can, the first layer or parameter it appeared
in. Non-finite *data* stays a ``ValueError`` (the data's fault, not the training's).
"""

from __future__ import annotations

import copy
from typing import Any, NoReturn

import numpy as np

from mytorch.validation import NonFiniteError

__all__ = ["DivergenceGuards", "TrainingDivergedError"]


class TrainingDivergedError(RuntimeError):
    """Training produced a NaN or inf loss or gradient and was stopped."""


class DivergenceGuards:
    """The guards part of :class:`mytorch.trainer.Trainer` (a base class of it); they
    read the trainer's ``model``, ``epoch`` and ``step_count``."""

    # The trainer's attributes the guards read, declared for type checkers.
    model: Any
    epoch: int
    step_count: int

    def check_finite_loss(self, loss: Any) -> None:
        """Stop training with a helpful message if the loss is NaN or inf."""
        if not np.all(np.isfinite(loss)):
            raise TrainingDivergedError(
                f"Trainer: the loss became {np.asarray(loss).ravel()[0]} at epoch {self.epoch}, "
                f"step {self.step_count}. Likely causes: a learning rate that is too large, "
                "unscaled inputs (scale images to [0, 1] or standardise), or a model that "
                "saturates; try a smaller lr, gradient clipping (max_grad_norm) or batch norm"
            )

    def raise_diverged(self, error: NonFiniteError, x: np.ndarray) -> NoReturn:
        """Re-raise a NaN/inf found inside the network as ``TrainingDivergedError``.

        Finite weights can still overflow to inf in a forward pass; the layer that
        receives it raises ``NonFiniteError``. Non-finite *data* stays a ``ValueError``.
        """
        if not np.isfinite(x).all():
            raise error
        origin = self.locate_non_finite(x)
        raise TrainingDivergedError(
            f"Trainer: NaN or inf inside the network at epoch {self.epoch}, step "
            f"{self.step_count}{': ' + origin if origin else ''} (detected by {error}). "
            "Likely causes: a learning rate that is too large or unscaled inputs; try a "
            "smaller lr, max_grad_norm or batch norm"
        ) from None

    def locate_non_finite(self, x: np.ndarray) -> str:
        """Say where NaN or inf first appears for the batch ``x``, or ``""`` if unknown.

        First a parameter that already holds NaN or inf (the last update put it there),
        else the first module of the model's ``forward_chain()`` (a ``Sequential``'s
        layers) whose output for ``x`` is not finite. The modules run on a copy of the
        model, so its state and random generators are untouched.
        """
        named = getattr(self.model, "named_parameters", None)
        for name, param in named() if named is not None else ():
            if not np.isfinite(param.data).all():
                return f"parameter '{name}' holds NaN or inf after the last update"
        if not callable(getattr(self.model, "forward_chain", None)):
            return ""
        output = x
        try:
            with np.errstate(all="ignore"):
                chain = copy.deepcopy(self.model).forward_chain()
                for index, (_, layer) in enumerate(chain if len(chain) > 1 else []):
                    output = layer(output)
                    if not np.isfinite(output).all():
                        return (
                            f"layer {index} ({type(layer).__name__}) is the first whose "
                            "output holds NaN or inf"
                        )
        except Exception:  # a diagnosis only; the original error is what matters
            return ""
        return ""

    def check_finite_grads(self) -> None:
        """Stop training if any gradient holds NaN or inf, naming the first such parameter."""
        named = getattr(self.model, "named_parameters", None)
        if named is None:
            return
        for name, param in named():
            if param.grad is not None and not np.isfinite(np.sum(param.grad)):
                if np.isfinite(param.grad).all():
                    continue
                raise TrainingDivergedError(
                    f"Trainer: the gradient of '{name}' holds NaN or inf at epoch "
                    f"{self.epoch}, step {self.step_count} (the first layer where it appears). "
                    "Likely causes: too large a learning rate or unscaled inputs; try a "
                    "smaller lr or max_grad_norm"
                )
