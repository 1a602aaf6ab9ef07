"""Weight averaging while training: an EMA of the weights, or SWA, as callbacks.

Averaging the weights a run passes through lands nearer the middle of a flat region
of the loss than the last weights do, which usually generalises a little better:

* :class:`ExponentialMovingAverage` (EMA): after every optimiser step,
  ``avg = decay avg + (1 - decay) param`` (BatchNorm's running statistics averaged the
  same way);
* :class:`StochasticWeightAveraging` (SWA, Izmailov et al., 2018): the plain mean of the
  weights at the end of each epoch from ``start_epoch`` on, with the BatchNorm
  statistics recomputed for the mean (:func:`mytorch.optim.swa_utils.update_bn`).

Both keep a :class:`mytorch.optim.swa_utils.AveragedModel` (the arithmetic of
``torch.optim.swa_utils``), and both make the averaged model the one that is measured
and kept:

* each epoch's **validation** (``fit(val_data=...)``) evaluates the averaged weights:
  they are put into the model for the validation pass and the training weights are put
  back after it (``on_validation_begin`` / ``on_validation_end``), so ``val_loss`` and
  ``val_error`` in the history are the averaged model's (the training numbers are the
  training weights', measured while training);
* at the **end** of ``fit`` the model keeps the averaged weights (as early stopping
  keeps its best ones), so what is scored and saved afterwards is the averaged model.

Until the first average exists (SWA before ``start_epoch``) everything is the training
weights'. Their state (the averaged arrays, ``n_averaged`` and the random state of the
averaged copy) is in ``state_dict``, so a checkpoint holds it and a resumed run ends
bit for bit as the uninterrupted one.

Do not combine them with :class:`~mytorch.callbacks.EarlyStopping` that restores the
best weights: it would keep the *training* weights of the epoch whose *averaged* weights
validated best. ``mytorch train`` refuses the combination.

Examples
--------
>>> import numpy as np
>>> from mytorch import nn, optim
>>> from mytorch.trainer import Trainer
>>> X = np.random.default_rng(0).normal(size=(64, 4)); y = (X[:, 0] > 0).astype(int)
>>> model = nn.Sequential(nn.Linear(4, 8, rng=0), nn.ReLU(), nn.Linear(8, 2, rng=1))
>>> ema = ExponentialMovingAverage(decay=0.9)
>>> trainer = Trainer(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.5),
...                   callbacks=[ema], rng=0)
>>> history = trainer.fit(X, y, epochs=5, batch_size=16, val_data=(X, y))
>>> int(ema.averaged.n_averaged)  # 5 epochs of 4 steps
20
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mytorch.callbacks import Callback
from mytorch.data import DataLoader
from mytorch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn, update_bn
from mytorch.validation import check_float_array, check_number, check_positive_int

#: The ``mytorch.trainer.Trainer`` running the hooks (not imported: it imports callbacks).
Trainer = Any

__all__ = ["ExponentialMovingAverage", "StochasticWeightAveraging", "WeightAveraging"]


def _generators(module: Any) -> list[np.random.Generator]:
    """The random generators of ``module``'s layers (dropout), in a fixed order."""
    return [
        m.rng for m in module.modules() if isinstance(getattr(m, "rng", None), np.random.Generator)
    ]


class WeightAveraging(Callback):
    """What both averages share: the averaged copy, swapping it in, its saved state.

    Subclasses say how the copy is made (:meth:`make_averaged`) and when weights are
    folded into it; :meth:`evaluation_state` is what the model holds while it is
    measured.

    Attributes
    ----------
    averaged : mytorch.optim.swa_utils.AveragedModel or None
        The averaged model, made afresh when training begins.
    """

    def __init__(self) -> None:
        self.averaged: AveragedModel | None = None
        self._training_state: dict[str, np.ndarray] | None = None

    def _average(self) -> AveragedModel:
        """The average, which exists from ``on_train_begin`` on."""
        if self.averaged is None:
            raise RuntimeError(f"{type(self).__name__}: used before the training began")
        return self.averaged

    # ------------------------------------------------------------------ to override
    def make_averaged(self, model: Any) -> AveragedModel:
        """A new :class:`AveragedModel` of ``model``."""
        raise NotImplementedError(f"{type(self).__name__} does not implement make_averaged()")

    def evaluation_state(self, trainer: Trainer) -> dict[str, np.ndarray]:
        """The parameters and buffers the model holds while it is measured."""
        return self._average().module.state_dict()

    # ------------------------------------------------------------------ state
    def state_dict(self) -> dict[str, Any]:
        """The averaged arrays (``module.*``, ``n_averaged``) and the random state of
        the averaged copy's dropout layers (which :func:`update_bn` runs)."""
        if self.averaged is None:
            return {}
        return {
            "averaged": {k: np.array(v, copy=True) for k, v in self.averaged.state_dict().items()},
            "generators": [g.bit_generator.state for g in _generators(self.averaged)],
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Take back a :meth:`state_dict` (called after :meth:`on_train_begin`)."""
        where = f"{type(self).__name__}.load_state_dict"
        keys = {"averaged", "generators"}
        if not isinstance(state, dict) or not keys <= set(state):
            got = sorted(state) if isinstance(state, dict) else state
            raise ValueError(f"{where}: expected the keys {sorted(keys)}, got {got}")
        if self.averaged is None:
            raise ValueError(f"{where}: called before on_train_begin made the averaged model")
        self.averaged.load_state_dict(state["averaged"])
        generators = _generators(self.averaged)
        if len(generators) != len(state["generators"]):
            raise ValueError(
                f"{where}: the saved state has {len(state['generators'])} random generators, "
                f"the averaged model {len(generators)} (another architecture?)"
            )
        for generator, saved in zip(generators, state["generators"], strict=True):
            generator.bit_generator.state = saved

    # ------------------------------------------------------------------ hooks
    def on_train_begin(self, trainer: Trainer) -> None:
        self.averaged = self.make_averaged(trainer.model)
        self._training_state = None

    def on_validation_begin(self, trainer: Trainer) -> None:
        if int(self._average().n_averaged) == 0:
            return  # nothing averaged yet: the training weights are measured
        self._training_state = trainer.snapshot()
        trainer.restore(self.evaluation_state(trainer))

    def on_validation_end(self, trainer: Trainer) -> None:
        if self._training_state is not None:
            trainer.restore(self._training_state)
            self._training_state = None

    def on_train_end(self, trainer: Trainer) -> None:
        if int(self._average().n_averaged) > 0:
            trainer.restore(self.evaluation_state(trainer))


class ExponentialMovingAverage(WeightAveraging):
    """Keep an exponential moving average of the weights, updated after every step.

    ``avg = decay avg + (1 - decay) param`` after each optimiser step (the first step
    copies the weights), as ``AveragedModel(model,
    multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=True)`` in PyTorch: the
    BatchNorm running statistics are averaged with the weights, so the average needs no
    extra pass over the data. It spans about ``1 / (1 - decay)`` steps: 0.999 is the
    last thousand or so updates.

    Validation (each epoch) and the model at the end of ``fit`` use the average; see
    :mod:`mytorch.weight_averaging`.

    Parameters
    ----------
    decay : float
        In [0, 1): the weight of the old average (0 keeps the latest weights).
    """

    def __init__(self, decay: float = 0.999) -> None:
        super().__init__()
        self.decay = check_number(
            decay, "ExponentialMovingAverage", "decay", low=0.0, high=1.0, high_inclusive=False
        )

    def make_averaged(self, model: Any) -> AveragedModel:
        return AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(self.decay), use_buffers=True)

    def on_step_end(self, trainer: Trainer, step: int) -> None:
        self._average().update_parameters(trainer.model)

    def __repr__(self) -> str:
        return f"ExponentialMovingAverage(decay={self.decay})"


class StochasticWeightAveraging(WeightAveraging):
    """Average the weights at the end of each epoch from ``start_epoch`` on (SWA).

    The plain mean of the weights after epochs ``start_epoch``, ``start_epoch + 1``,
    ... (each folded in after the epoch's training, before its validation), as
    ``AveragedModel(model)`` updated once per epoch in PyTorch. A mean of weights has
    no BatchNorm statistics of its own: they are recomputed with
    :func:`~mytorch.optim.swa_utils.update_bn` over ``bn_data`` before the averaged
    model is measured (each validation, and the end of ``fit``): one forward pass over
    it in training mode.

    The learning rate is the run's own schedule; PyTorch's recipe holds it constant or
    cyclic while averaging (:class:`~mytorch.optim.swa_utils.SWALR`), which a trainer
    takes as its scheduler.

    Parameters
    ----------
    start_epoch : int
        The first epoch (counted from 1) whose weights are averaged.
    bn_data : numpy.ndarray of shape (N, features) or None
        The inputs the BatchNorm statistics are recomputed on, in random order (the
        training data); None for a model without BatchNorm (its statistics are then
        those of the last weights, as PyTorch's without ``update_bn``).
    batch_size : int
        Rows per batch of the recomputation (the training batch size gives the
        statistics the training batches had).
    """

    def __init__(
        self, start_epoch: int, bn_data: np.ndarray | None = None, batch_size: int = 128
    ) -> None:
        super().__init__()
        where = "StochasticWeightAveraging"
        self.start_epoch = check_positive_int(start_epoch, where, "start_epoch")
        if bn_data is not None:
            check_float_array(bn_data, where, ndim=2)
        self.bn_data = bn_data
        self.batch_size = check_positive_int(batch_size, where, "batch_size")
        self._folded_epoch = 0
        self._bn_stale = False

    def make_averaged(self, model: Any) -> AveragedModel:
        return AveragedModel(model)

    def state_dict(self) -> dict[str, Any]:
        """As :meth:`WeightAveraging.state_dict`, and whether the BatchNorm statistics
        still have to be recomputed for the latest average."""
        state = super().state_dict()
        if state:
            state["bn_stale"] = bool(self._bn_stale)
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self._bn_stale = bool(state.get("bn_stale", False))

    def on_train_begin(self, trainer: Trainer) -> None:
        super().on_train_begin(trainer)
        self._folded_epoch, self._bn_stale = 0, False

    def _fold(self, trainer: Trainer) -> None:
        """Fold the epoch's weights into the mean, once per epoch from ``start_epoch``."""
        if trainer.epoch < self.start_epoch or self._folded_epoch == trainer.epoch:
            return
        self._average().update_parameters(trainer.model)
        self._folded_epoch = trainer.epoch
        self._bn_stale = True

    def evaluation_state(self, trainer: Trainer) -> dict[str, np.ndarray]:
        if self._bn_stale and self.bn_data is not None:
            update_bn(DataLoader(self.bn_data, batch_size=self.batch_size), self._average())
        self._bn_stale = False
        return super().evaluation_state(trainer)

    def on_validation_begin(self, trainer: Trainer) -> None:
        self._fold(trainer)
        super().on_validation_begin(trainer)

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict[str, float]) -> None:
        self._fold(trainer)  # without validation data, the epoch is folded in here

    def __repr__(self) -> str:
        return f"StochasticWeightAveraging(start_epoch={self.start_epoch})"
