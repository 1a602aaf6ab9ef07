"""``quiet_underflow``: the library's numerics with floating-point underflow ignored,
whatever ``np.seterr`` the user has set (overflow, invalid and divide stay as set).

Also importable from :mod:`mytorch.validation`, where the other input checks live.
"""

from __future__ import annotations

import contextvars
import functools
import inspect
import linecache
from collections.abc import Callable
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

#: The NumPy error-state objects seen to ignore underflow (NumPy's default state among
#: them). A set, so that the test around every forward and backward is ``in``, not a
#: method call. The objects are held, so an id is never reused while cached; a user who
#: switches states endlessly only refills it. A state that does not ignore underflow is
#: not cached: it is asked for at the outermost block only, which enters ``np.errstate``
#: (costlier than asking) anyway.
_UNDERFLOW_IGNORED: set[object] = set()


def _underflow_ignored() -> bool:
    """Whether NumPy's current error state already ignores underflow (its default)."""
    state = _numpy_errstate.get()
    if state is None:  # pragma: no cover - see the import above
        return np.geterr()["under"] == "ignore"
    if state in _UNDERFLOW_IGNORED:
        return True
    if np.geterr()["under"] != "ignore":
        return False
    if len(_UNDERFLOW_IGNORED) >= 64:
        _UNDERFLOW_IGNORED.clear()
    _UNDERFLOW_IGNORED.add(state)
    return True


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
        """``method`` run inside :class:`quiet_underflow` (a method of the library).

        The wrapper takes the method's own parameters (same names, same defaults), so a
        call binds its arguments once, as the method alone would (with the same errors
        for a wrong call), and hands them on without packing them into ``*args`` and
        ``**kwargs``: this runs around every forward and backward, and the packing cost
        about as much as the rest of the wrapper. A method with ``*args``, ``**kwargs``
        or keyword-only or positional-only parameters gets the general wrapper.
        """
        if getattr(method, "_quiet_underflow", False):
            return method
        parameters = _plain_parameters(method)
        quiet: Any = functools.wraps(method)(_wrapper_maker(parameters)(method))
        if parameters is not None:
            quiet.__defaults__ = method.__defaults__  # the same objects, bound the same way
        quiet._quiet_underflow = True
        return quiet


#: The names the wrappers' bodies use, which a parameter of the same name would hide.
_WRAPPER_NAMES = frozenset({"method", "quiet_underflow", "_numpy_errstate", "_UNDERFLOW_IGNORED",
                            "_QUIET_UNDERFLOW"})  # fmt: skip


def _plain_parameters(method: Any) -> str | None:
    """``"self, x, need_input_grad"``: ``method``'s parameters, if all are ordinary ones
    (positional or keyword, none hiding a name the wrapper uses); else None."""
    code = getattr(method, "__code__", None)
    unusual = inspect.CO_VARARGS | inspect.CO_VARKEYWORDS
    if code is None or code.co_flags & unusual or code.co_kwonlyargcount or code.co_posonlyargcount:
        return None
    names = code.co_varnames[: code.co_argcount]
    if _WRAPPER_NAMES.intersection(names):
        return None
    return ", ".join(names)


# ``_underflow_ignored()``'s first test inlined: this runs around every forward and backward.
_WRAPPER_SOURCE = """
def make(method):
    def quiet({parameters}):
        if _numpy_errstate.get() in _UNDERFLOW_IGNORED or _QUIET_UNDERFLOW.get():
            return method({parameters})
        with quiet_underflow():
            return method({parameters})
    return quiet
"""


@functools.cache
def _wrapper_maker(parameters: str | None) -> Callable[[Any], Any]:
    """The function that wraps a method with these parameters (one per parameter list:
    a handful in the library). ``None``: any parameters, through ``*args, **kwargs``."""
    # Generated, as dataclasses generates __init__: the parameter list is known only at
    # run time. The source goes into linecache under its own name, so that a traceback
    # through a wrapper shows its lines.
    parameters = parameters or "*args, **kwargs"
    source = _WRAPPER_SOURCE.format(parameters=parameters)
    filename = f"<mytorch.underflow: quiet_underflow.wrap({parameters})>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace: dict[str, Any] = {}
    exec(compile(source, filename, "exec"), globals(), namespace)
    return namespace["make"]
