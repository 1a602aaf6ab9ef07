"""Input validation shared by every public entry point.

Every check raises ``TypeError`` (wrong kind of object or dtype) or ``ValueError``
(wrong shape or values) whose message starts with the name of the layer or function
that was called, then says what it expected and what it got. Modules call these
helpers instead of ``assert`` so that a user's mistake is reported the same way
everywhere.
"""

from __future__ import annotations

import contextvars
import math
from typing import Any

import numpy as np

#: Whether the NaN/inf scan of arrays is skipped (see :func:`assume_finite`).
_ASSUME_FINITE: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "mytorch_assume_finite", default=False
)


class assume_finite:  # noqa: N801 - used like a function, as contextlib's helpers are
    """Skip the NaN/inf scan of inputs and gradients inside the ``with`` block.

    Every layer checks that its input is finite (one pass over the array). Where the
    input comes from another layer that has already been checked, the scan repeats work:
    ``nn.Sequential`` checks the data once, at its first module, and runs the modules
    after it inside ``assume_finite()`` (a value that overflows inside the network still
    shows in the loss, and the trainer then names the layer). Shapes and dtypes are
    checked either way. This is scikit-learn's ``assume_finite`` switch, as a context
    manager that nests and is local to the thread (a ``contextvars`` variable). A class
    rather than a ``contextlib.contextmanager`` generator: it is entered twice per
    training step, and a plain ``__enter__``/``__exit__`` costs a fraction of that.

    Parameters
    ----------
    enabled : bool
        True skips the scan; False turns it back on inside an outer block.

    Examples
    --------
    >>> import numpy as np
    >>> from mytorch import nn
    >>> from mytorch.validation import assume_finite
    >>> with assume_finite():
    ...     out = nn.ReLU()(np.array([np.nan, 1.0]))  # no NaN check here
    """

    __slots__ = ("_enabled", "_token")

    def __init__(self, enabled: bool = True) -> None:
        self._enabled = bool(enabled)
        self._token: contextvars.Token | None = None

    def __enter__(self) -> None:
        self._token = _ASSUME_FINITE.set(self._enabled)

    def __exit__(self, *exc_info: object) -> None:
        _ASSUME_FINITE.reset(self._token)


def finite_checks_enabled() -> bool:
    """False inside :func:`assume_finite`, True otherwise."""
    return not _ASSUME_FINITE.get()


class NonFiniteError(ValueError):
    """An array holds NaN or inf (a ``ValueError``; the trainer turns it into a
    ``TrainingDivergedError`` when it arises inside the network during training)."""


def describe(x: Any) -> str:
    """What ``x`` is, for an error message: "array of shape (2, 3) and dtype int64" or a type."""
    if isinstance(x, np.ndarray):
        return f"array of shape {x.shape} and dtype {x.dtype}"
    return f"{type(x).__name__}"


def check_float_array(
    x: Any,
    where: str,
    *,
    ndim: int | tuple[int, ...] | None = 2,
    features: int | None = None,
    dtype: np.dtype | None = None,
    allow_empty: bool = False,
    name: str = "input",
    finite: bool | None = None,
) -> np.ndarray:
    """Check that ``x`` is a finite floating-point array of the expected shape.

    Parameters
    ----------
    x : Any
        The value to check. Must already be a ``numpy.ndarray``: layers never copy or
        convert their input silently (a float32 batch stays float32).
    where : str
        Name of the layer or function, used to start the error message.
    ndim : int or tuple of int or None
        Allowed numbers of dimensions; ``None`` accepts any.
    features : int or None
        Required size of the last axis, if any.
    dtype : numpy.dtype or None
        Required dtype (the layer's own); ``None`` accepts float32 and float64.
    allow_empty : bool
        Whether an array with no rows is accepted.
    name : str
        What the array is, for the message ("input", "grad_output", "target").
    finite : bool or None
        Also check for NaN and inf (one pass over ``x``). ``None`` (the default) checks
        unless inside :func:`assume_finite`.

    Returns
    -------
    numpy.ndarray
        ``x`` itself, unchanged.

    Raises
    ------
    TypeError
        If ``x`` is not an ndarray, or its dtype is not floating or not ``dtype``.
    ValueError
        If the rank, the feature count or the length is wrong, or ``x`` holds NaN or inf.
    """
    if not isinstance(x, np.ndarray):
        raise TypeError(
            f"{where}: expected {name} to be a numpy.ndarray, got {describe(x)}; "
            "convert it with np.asarray(..., dtype=np.float64) first"
        )
    if x.dtype.kind != "f":
        raise TypeError(
            f"{where}: expected {name} of a floating dtype (float32 or float64), "
            f"got dtype {x.dtype}; convert it with x.astype(np.float64) "
            "(scale integer images to [0, 1] as well)"
        )
    if dtype is not None and x.dtype != dtype:
        raise TypeError(
            f"{where}: expected {name} of dtype {np.dtype(dtype)} (the layer's dtype), "
            f"got {x.dtype}; convert the data with x.astype(np.{np.dtype(dtype)}) "
            f"or the model with model.to(np.{x.dtype})"
        )
    # ndim == x.ndim first: the common case then skips building a tuple.
    if ndim is not None and ndim != x.ndim:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if x.ndim not in allowed:
            expected = " or ".join(f"{d}-D" for d in allowed)
            hint = " (one sample? use x.reshape(1, -1))" if x.ndim == 1 and 2 in allowed else ""
            raise ValueError(
                f"{where}: expected {name} to be {expected}, got a {x.ndim}-D array "
                f"of shape {x.shape}{hint}"
            )
    if features is not None and (x.ndim == 0 or x.shape[-1] != features):
        if x.ndim == 0:
            raise ValueError(
                f"{where}: expected {name} with {features} features on its last axis "
                f"(shape (*, {features})), got a 0-D array"
            )
        layout = f"(N, {features})" if x.ndim == 2 else f"(*, {features})"
        raise ValueError(
            f"{where}: expected {name} with {features} features (shape {layout}), "
            f"got shape {x.shape} ({x.shape[-1]} features)"
        )
    if not allow_empty and x.ndim > 0 and x.shape[0] == 0:
        raise ValueError(f"{where}: expected a non-empty batch, got {name} of shape {x.shape}")
    if finite if finite is not None else not _ASSUME_FINITE.get():
        check_finite(x, where, name=name)
    return x


#: Arrays up to this size are checked with ``isfinite(x)`` directly (see ``all_finite``).
_SMALL_ARRAY = 2048


def all_finite(x: np.ndarray) -> bool:
    """Whether ``x`` holds no NaN and no inf.

    A large array gets one cheap pass with no temporary array: the dot product of ``x``
    with itself (BLAS, about 3x faster than ``np.sum``), or the sum where ``x`` is not
    contiguous. NaN or inf anywhere makes the probe non-finite; only then (or when a
    finite array's probe overflows) do we look element by element. A small array (a
    batch of one, a loss's logits) is tested directly: for it the ``errstate`` that
    silences a possible overflow of the probe costs more than the test.
    """
    if x.size <= _SMALL_ARRAY:
        # ufunc.reduce, not .all(): that goes through a Python function of NumPy's,
        # which costs as much as the test itself for an array this small.
        return bool(np.logical_and.reduce(np.isfinite(x), axis=None))
    with np.errstate(over="ignore", invalid="ignore"):
        if x.flags.c_contiguous:
            flat = x.reshape(-1)
            probe = np.dot(flat, flat)
        else:
            probe = np.sum(x)
    return math.isfinite(probe) or bool(np.logical_and.reduce(np.isfinite(x), axis=None))


def check_finite(x: np.ndarray, where: str, *, name: str = "input") -> None:
    """Raise ``NonFiniteError`` (a ``ValueError``) if ``x`` holds NaN or inf, naming how
    many of each and the first one's index (the test itself: :func:`all_finite`)."""
    if all_finite(x):
        return
    bad = ~np.isfinite(x)
    n_nan = int(np.isnan(x).sum())
    n_inf = int(bad.sum()) - n_nan
    first = tuple(int(i) for i in np.argwhere(bad)[0])
    raise NonFiniteError(
        f"{where}: {name} contains {n_nan} NaN and {n_inf} inf values "
        f"(first at index {first}); check the data and the learning rate"
    )


def check_class_indices(
    y: Any, where: str, *, n_classes: int, n_samples: int, name: str = "target"
) -> np.ndarray:
    """Check that ``y`` is a 1-D integer array of class indices in ``[0, n_classes)``.

    Parameters
    ----------
    y : Any
        The labels, shape (N,).
    where : str
        Name of the caller, for the message.
    n_classes : int
        Number of classes C.
    n_samples : int
        Required length N.

    Returns
    -------
    numpy.ndarray
        ``y`` as an int64 array of shape (N,).
    """
    if not isinstance(y, np.ndarray):
        raise TypeError(f"{where}: expected {name} to be a numpy.ndarray, got {describe(y)}")
    if y.dtype.kind not in "iu":
        raise TypeError(f"{where}: expected integer class indices as {name}, got dtype {y.dtype}")
    if y.ndim != 1:
        raise ValueError(f"{where}: expected {name} of shape ({n_samples},), got {y.shape}")
    if y.shape[0] != n_samples:
        raise ValueError(
            f"{where}: {name} has {y.shape[0]} labels but the input has {n_samples} rows"
        )
    if y.size:
        # ufunc reductions: .min()/.max() go through Python wrappers that cost as much
        # as the reduction of a batch's labels.
        low, high = int(np.minimum.reduce(y)), int(np.maximum.reduce(y))
        if low < 0 or high >= n_classes:
            bad = low if low < 0 else high
            raise ValueError(
                f"{where}: {name} label {bad} is out of range; expected class indices "
                f"in [0, {n_classes - 1}] for {n_classes} classes"
            )
    return y.astype(np.int64, copy=False)


def check_probabilities(
    y: Any, where: str, *, shape: tuple[int, ...], dtype: np.dtype, name: str = "target"
) -> np.ndarray:
    """Check that ``y`` is an (N, C) array of class probabilities (one-hot or soft).

    Each row must be non-negative and sum to 1 (within 1e-6 in float64, 1e-4 in float32).
    """
    y = check_float_array(y, where, ndim=2, dtype=None, name=name, allow_empty=True)
    if y.shape != shape:
        raise ValueError(f"{where}: expected {name} of shape {shape}, got {y.shape}")
    if y.dtype != dtype:
        raise TypeError(f"{where}: expected {name} of dtype {dtype} like the input, got {y.dtype}")
    tolerance = 1e-4 if y.dtype == np.float32 else 1e-6
    sums = y.sum(axis=1)
    if y.size and (y.min() < 0 or np.abs(sums - 1).max() > tolerance):
        row = (
            int(np.argmax(np.abs(sums - 1)))
            if np.abs(sums - 1).max() > tolerance
            else int(np.argmin(y.min(axis=1)))
        )
        raise ValueError(
            f"{where}: expected each row of {name} to be a probability vector "
            f"(non-negative, summing to 1), but row {row} sums to {sums[row]:.6g} "
            f"with minimum {y[row].min():.6g}"
        )
    return y


def check_positive_int(value: Any, where: str, name: str) -> int:
    """Return ``value`` as an int if it is a positive integer, else raise."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{where}: expected {name} to be a positive int, got {value!r}")
    if value <= 0:
        raise ValueError(f"{where}: expected {name} to be a positive int, got {value}")
    return int(value)


def check_number(
    value: Any,
    where: str,
    name: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_inclusive: bool = True,
    high_inclusive: bool = True,
) -> float:
    """Return ``value`` as a float if it is a finite number in the given range, else raise."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{where}: expected {name} to be a number, got {value!r}")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{where}: expected {name} to be finite, got {value}")
    too_low = low is not None and (value < low if low_inclusive else value <= low)
    too_high = high is not None and (value > high if high_inclusive else value >= high)
    if too_low or too_high:
        left = "[" if low_inclusive else "("
        right = "]" if high_inclusive else ")"
        lower = "-inf" if low is None else low
        upper = "inf" if high is None else high
        interval = f"{left}{lower}, {upper}{right}"
        raise ValueError(f"{where}: expected {name} in {interval}, got {value}")
    return value


def check_dtype(dtype: Any, where: str) -> np.dtype:
    """Return ``dtype`` as a numpy dtype if it is float32 or float64, else raise ``TypeError``."""
    try:
        resolved = np.dtype(dtype)
    except TypeError:
        resolved = None
    if resolved not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise TypeError(f"{where}: expected dtype float32 or float64, got {dtype!r}")
    return resolved


def check_output_grad(
    grad: Any,
    where: str,
    shape: tuple[int, ...] | None,
    *,
    name: str = "grad_output",
    ndim: int | None = None,
    dtype: np.dtype | None = None,
    allow_empty: bool = True,
    finite: bool | None = None,
) -> np.ndarray:
    """Check the gradient a ``backward`` receives: d(loss)/d(output), of the output's shape.

    ``check_float_array`` with the given options, then ``grad.shape == shape`` (``None``
    accepts any shape). Returns ``grad`` unchanged.
    """
    check_float_array(
        grad, where, ndim=ndim, dtype=dtype, allow_empty=allow_empty, name=name, finite=finite
    )
    if shape is not None and grad.shape != shape:
        raise ValueError(
            f"{where}: expected {name} of shape {shape} (the output's), got {grad.shape}"
        )
    return grad


def require_forward(value: Any, where: str) -> None:
    """Raise ``RuntimeError`` if ``backward`` is called before ``forward`` stored ``value``."""
    if value is None:
        raise RuntimeError(f"{where}: backward() called before forward(); run forward first")


def check_device(device: Any, where: str) -> None:
    """Accept PyTorch's ``device`` argument where it means the CPU (None or 'cpu')."""
    if not (device is None or (isinstance(device, str) and device == "cpu")):
        raise ValueError(
            f"{where}: expected device None or 'cpu' (MyTorch computes with NumPy on the "
            f"CPU), got {device!r}"
        )


def check_rng(rng: Any, where: str) -> np.random.Generator:
    """Return ``rng`` as a ``numpy.random.Generator``, or raise naming ``where``.

    A Generator is used as is (and advanced by the caller); ``None``, a non-negative int
    seed, a ``SeedSequence`` or a ``BitGenerator`` make a new one with
    ``np.random.default_rng``.
    """
    if isinstance(rng, np.random.Generator):
        return rng
    seedable = (int, np.integer, np.random.SeedSequence, np.random.BitGenerator)
    if isinstance(rng, bool) or not (rng is None or isinstance(rng, seedable)):
        raise TypeError(
            f"{where}: expected rng to be a numpy.random.Generator, an int seed or None, "
            f"got {rng!r}"
        )
    if isinstance(rng, (int, np.integer)) and rng < 0:
        raise ValueError(f"{where}: expected rng to be a non-negative int seed, got {rng}")
    return np.random.default_rng(rng)


def check_sequence(value: Any, where: str, name: str) -> list:
    """Return ``value`` as a list if it is a list, tuple, range or 1-D array, else raise."""
    if isinstance(value, np.ndarray) and value.ndim == 1:
        return value.tolist()
    if not isinstance(value, (list, tuple, range)):
        raise TypeError(f"{where}: expected {name} to be a list, got {value!r}")
    return list(value)


def check_weights(weight: Any, where: str, name: str = "weight") -> np.ndarray:
    """Return ``weight`` (array-like) as a float64 array if all its values are finite.

    For loss weights (per class, per element, ``pos_weight``). Any real value is
    accepted, negative ones too, as in PyTorch; NaN or inf would silently turn the loss
    and its gradient into NaN.
    """
    try:
        array = np.asarray(weight, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(
            f"{where}: expected {name} to be an array of numbers, got {weight!r}"
        ) from None
    if array.size and not np.isfinite(array).all():
        raise ValueError(f"{where}: expected {name} to hold finite numbers, got {array.tolist()}")
    return array
