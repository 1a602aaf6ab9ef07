"""The speed tier: a compiled training step and a compiled predictor.

``compile_step(model, criterion, optimizer)`` returns a :class:`TrainStep` that trains a
mini-batch (``step(x, y)``) or a whole epoch (``step.run_epoch(X, y, batch_size)``) with
the same results as the reference loop, faster; ``compile_predict(model)`` an
evaluation-mode forward with BatchNorm folded into the Linear before it. The layers in
``mytorch/nn`` stay the readable reference: this package reads them, never the other
way round.
"""

from __future__ import annotations

from typing import Any

from mytorch.compiled.blas_threads import check_setting
from mytorch.compiled.plan import NotFinite, Unsupported
from mytorch.compiled.predict import Predictor
from mytorch.compiled.train_step import TrainStep

__all__ = [
    "NotFinite",
    "Predictor",
    "TrainStep",
    "Unsupported",
    "compile_predict",
    "compile_step",
    "numba_available",
]


def numba_available() -> bool:
    """Whether numba can be imported and the compiled loops are switched on."""
    from mytorch.optim.kernels import compiled

    return compiled.enabled()


def _backend(backend: str, where: str) -> str:
    if backend not in ("auto", "numba", "numpy"):
        raise ValueError(f"{where}: expected backend 'auto', 'numba' or 'numpy', got {backend!r}")
    if backend == "numba" and not numba_available():
        raise ImportError(f"{where}: backend='numba' needs numba (pip install mytorch[fast])")
    if backend == "auto":
        return "numba" if numba_available() else "numpy"
    return backend


def compile_step(
    model: Any,
    criterion: Any,
    optimizer: Any,
    *,
    backend: str = "auto",
    blas_threads: str | int = "as set",
) -> TrainStep:
    """Compile one training step of ``model`` with ``criterion`` and ``optimizer``.

    Parameters
    ----------
    model : Module
        A ``Sequential`` (nested ones too) of ``nn.Linear``, ``nn.BatchNorm1d``,
        ``nn.Dropout`` and activations, starting with a Linear.
    criterion : Loss
        ``nn.CrossEntropyLoss``, ``nn.MSELoss`` or ``nn.BCEWithLogitsLoss`` with
        reduction 'mean' or 'sum' and no class weights or label smoothing.
    optimizer : Optimizer
        ``optim.SGD`` (momentum, Nesterov, weight decay), ``optim.Adam`` or
        ``optim.AdamW`` with one parameter group holding the model's parameters.
    backend : {'auto', 'numba', 'numpy'}
        'auto' uses numba when it is installed (``mytorch[fast]``) and switched on.
    blas_threads : {'as set', 'fastest'} or int
        The BLAS threads of the step's matrix products: as the BLAS is set (the default:
        a seeded run repeats bit for bit), at most this many, or 'fastest': timed on the
        first calls, the BLAS's threads or one, whichever ran faster (small networks can
        run faster on one core; the choice may change the last bits between runs; see
        ``mytorch/compiled/blas_threads.py``). Needs threadpoolctl to set threads.

    Returns
    -------
    TrainStep

    Raises
    ------
    Unsupported
        (a ValueError) naming the first thing that has no compiled form.
    ImportError
        If ``backend='numba'`` and numba is not installed.
    """
    blas_threads = check_setting(blas_threads, "compile_step")
    return TrainStep(
        model, criterion, optimizer, _backend(backend, "compile_step"), blas_threads=blas_threads
    )


def compile_predict(model: Any, *, backend: str = "auto") -> Predictor:
    """Compile the evaluation-mode forward of ``model``, BatchNorm folded into the Linear.

    Parameters
    ----------
    model : Module
        A ``Sequential`` of ``nn.Linear``, ``nn.BatchNorm1d`` (with running statistics),
        ``nn.Dropout`` and activations, starting with a Linear.
    backend : {'auto', 'numba', 'numpy'}
        As for :func:`compile_step`.

    Returns
    -------
    Predictor
        ``predictor(X)`` returns the model's eval-mode output for ``X``, a new array,
        from the weights as they are now (compile again after more training).

    Raises
    ------
    Unsupported
        (a ValueError) naming the first thing that has no compiled form.
    """
    return Predictor(model, _backend(backend, "compile_predict"))
