"""``quiet_underflow``: the library's numerics with floating-point underflow ignored,
whatever ``np.seterr`` the user has set (overflow, invalid and divide stay as set).

Also importable from :mod:`mytorch.validation`, where the other input checks live.
"""

from __future__ import annotations

import contextvars
import functools
from typing import Any

import numpy as np

__all__ = ["quiet_underflow"]

#: Whether the library's own numerics are running (see :class:`quiet_underflow`).
_QUIET_UNDERFLOW: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "mytorch_quiet_underflow", default=False
)

try:
    # NumPy keeps its floating-point error state in this context variable: one object per
    # state, replaced (not changed) by np.seterr / np.errstate. Reading it costs tens of
    # nanoseconds where np.geterr() costs a microsecond or two.
    from numpy._core._ufunc_config import (  # type: ignore[attr-defined]
        _extobj_contextvar as _numpy_errstate,
    )
except ImportError:  # pragma: no cover - a NumPy that keeps it elsewhere
    # No cheap handle on the state: _underflow_ignored asks np.geterr() every time.
    _numpy_errstate = contextvars.ContextVar("mytorch_no_numpy_errstate", default=None)

#: NumPy error-state object -> whether it ignores underflow. The keys are held, so an id
#: is never reused while cached; a user who switches states endlessly only refills it.
_UNDERFLOW_IGNORED: dict[object, bool] = {}


def _underflow_ignored() -> bool:
    """Whether NumPy's current error state already ignores underflow (its default)."""
    state = _numpy_errstate.get()
    if state is None:  # pragma: no cover - see the import above
        return np.geterr()["under"] == "ignore"
    ignored = _UNDERFLOW_IGNORED.get(state)
    if ignored is None:
        if len(_UNDERFLOW_IGNORED) >= 64:
            _UNDERFLOW_IGNORED.clear()
        ignored = _UNDERFLOW_IGNORED[state] = np.geterr()["under"] == "ignore"
    return ignored


class quiet_underflow:  # noqa: N801 - used like a function, as assume_finite
    """Run the library's own numerics with floating-point underflow ignored.

    An ``exp`` of a far-negative number, a product of two small gradients, a matmul of
    tiny activations: results below the smallest normal float round to a subnormal or
    to 0, which is the correctly rounded answer, not a mistake. NumPy calls that an
    "underflow" and, under ``np.seterr(all="raise")`` (or ``under="raise"``), raises
    ``FloatingPointError``. Inside this block underflow is ignored, NumPy's own default;
    overflow, invalid operations and division by zero stay as the caller set them, so
    NaN and inf are still reported as before (by the library's checks and, if asked
    for, by NumPy).

    Every module's ``forward``, ``backward`` and ``derivative``, ``Optimizer.step``,
    ``Trainer.fit``, the compiled step and the course MLP's steps run inside it
    (``Module`` wraps the methods of its subclasses, :meth:`wrap`). Under NumPy's
    default error state, which already ignores underflow, the block costs two lookups
    (well under a microsecond) and changes nothing. Otherwise only the outermost block
    enters ``np.errstate`` (a few microseconds); nested blocks cost one lookup, so
    ``fit`` pays it once, not once per layer.

    Examples
    --------
    >>> import numpy as np
    >>> from mytorch.underflow import quiet_underflow
    >>> with np.errstate(all="raise"), quiet_underflow():
    ...     float(np.exp(-1e4))
    0.0
    """

    __slots__ = ("_errstate", "_token")

    def __init__(self) -> None:
        self._errstate: Any = None
        self._token: contextvars.Token | None = None

    def __enter__(self) -> None:
        if _QUIET_UNDERFLOW.get() or _underflow_ignored():
            return
        self._token = _QUIET_UNDERFLOW.set(True)
        self._errstate = np.errstate(under="ignore")
        self._errstate.__enter__()

    def __exit__(self, *exc_info: object) -> None:
        if self._token is not None:
            self._errstate.__exit__(*exc_info)
            _QUIET_UNDERFLOW.reset(self._token)
            self._token = self._errstate = None

    @staticmethod
    def wrap(method: Any) -> Any:
        """``method`` run inside :class:`quiet_underflow` (a method of the library)."""
        if getattr(method, "_quiet_underflow", False):
            return method

        @functools.wraps(method)
        def quiet(*args: Any, **kwargs: Any) -> Any:
            # _underflow_ignored() inlined: this runs around every forward and backward.
            if _UNDERFLOW_IGNORED.get(_numpy_errstate.get()) or _QUIET_UNDERFLOW.get():
                return method(*args, **kwargs)
            with quiet_underflow():
                return method(*args, **kwargs)

        quiet._quiet_underflow = True  # type: ignore[attr-defined]
        return quiet
