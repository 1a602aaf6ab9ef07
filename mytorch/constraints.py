"""Constraints on settings: small objects that check a value and say what they accept.

:mod:`mytorch.config` declares every setting of ``mytorch train`` with one of these, in
the manner of scikit-learn's ``_parameter_constraints``; the command line's checks and
argument types, and the scikit-learn estimators' parameter checks, all come from them.

A constraint speaks in the two voices MyTorch reports a bad value in:

* :meth:`Constraint.describe` is a noun phrase for the command line, as in
  ``mytorch train: --lr expected a positive number, got -1``;
* :meth:`Constraint.message` is the library's sentence, as in
  ``MLPClassifier: expected learning_rate_init in (0.0, inf], got -1.0``.

Values must be plain Python objects (``int``, ``float``, ``bool``, ``str``, lists):
a configuration is written to JSON and TOML, where a NumPy scalar does not go. A caller
that accepts NumPy scalars (the scikit-learn estimators) converts them first.

Examples
--------
>>> from mytorch.constraints import Interval
>>> positive = Interval(float, 0, None, closed="neither")
>>> positive.is_satisfied_by(0.5), positive.is_satisfied_by(0)
(True, False)
>>> positive.describe()
'a positive number'
>>> positive.message(-1, "f", "lr")
'f: expected lr in (0.0, inf], got -1.0'
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from mytorch.validation import check_number

__all__ = [
    "Boolean",
    "Constraint",
    "Interval",
    "NoneOr",
    "OptionList",
    "Options",
    "PositiveInts",
    "SwitchOrText",
    "Text",
]

#: Which ends of an :class:`Interval` belong to it.
_CLOSED = ("left", "right", "both", "neither")


def _is_int(value: Any) -> bool:
    # bool is an int subclass, but True is not a number of epochs.
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class Constraint:
    """What a setting accepts. Subclasses define the three methods below."""

    def is_satisfied_by(self, value: Any) -> bool:
        """Whether ``value`` (a plain Python object) is accepted."""
        raise NotImplementedError

    def describe(self) -> str:
        """A noun phrase for the command line: ``'a positive integer'``."""
        raise NotImplementedError

    def requirement(self, name: str) -> str:
        """What follows "expected" in the library's message: ``'epochs to be an int >= 1'``."""
        raise NotImplementedError

    def message(self, value: Any, where: str, name: str, *, shown: Any = None) -> str:
        """The library's error message for a refused ``value``.

        Parameters
        ----------
        value : Any
            The refused value (as checked).
        where : str
            The function or class that was called (the message starts with it).
        name : str
            The parameter's name.
        shown : Any, optional
            What to print after "got", where it differs from ``value`` (the caller's
            own object before a conversion); default ``value``.

        Returns
        -------
        str
            ``'{where}: expected {requirement}, got {shown!r}'``.
        """
        got = value if shown is None else shown
        return f"{where}: expected {self.requirement(name)}, got {got!r}"

    def __str__(self) -> str:
        return self.describe()


class Interval(Constraint):
    """An int or a finite real number between two ends, each open or closed.

    Parameters
    ----------
    kind : {int, float}
        ``int`` accepts ints; ``float`` accepts ints and floats (finite ones).
    low, high : int or float or None
        The ends; ``None`` is unbounded.
    closed : {'left', 'right', 'both', 'neither'}
        Which ends belong to the interval.
    noun : str, optional
        What a value is called on the command line ("probability", "patience");
        default "integer" or "number".
    """

    def __init__(
        self,
        kind: type,
        low: float | None,
        high: float | None,
        *,
        closed: str = "left",
        noun: str | None = None,
    ) -> None:
        if kind not in (int, float):
            raise TypeError(f"Interval: expected kind int or float, got {kind!r}")
        if closed not in _CLOSED:
            raise ValueError(f"Interval: expected closed to be one of {_CLOSED}, got {closed!r}")
        self.kind, self.low, self.high, self.closed = kind, low, high, closed
        self.noun = noun or ("integer" if kind is int else "number")

    @property
    def _low_closed(self) -> bool:
        return self.closed in ("left", "both")

    @property
    def _high_closed(self) -> bool:
        return self.closed in ("right", "both")

    def is_satisfied_by(self, value: Any) -> bool:
        if not (_is_int(value) if self.kind is int else _is_number(value)):
            return False
        if isinstance(value, float) and not math.isfinite(value):
            return False
        if self.low is not None and (value < self.low if self._low_closed else value <= self.low):
            return False
        return self.high is None or (value <= self.high if self._high_closed else value < self.high)

    def describe(self) -> str:
        if self.high is None and self.low == 0:
            sign = "non-negative" if self._low_closed else "positive"
            return f"a {sign} {self.noun}"
        if self.high is None and self.kind is int and self.low == 1 and self._low_closed:
            return f"a positive {self.noun}"
        return f"{_article(self.noun)} {self.noun} in {self._interval(self.low, self.high)}"

    def requirement(self, name: str) -> str:
        if self.kind is float:
            return f"{name} in {self._interval(_float(self.low), _float(self.high))}"
        if self.high is None and self._low_closed:
            return f"{name} to be an int >= {self.low}"
        return f"{name} to be an int in {self._interval(self.low, self.high)}"

    def message(self, value: Any, where: str, name: str, *, shown: Any = None) -> str:
        if self.kind is int:
            return super().message(value, where, name, shown=shown)
        if not _is_number(value):
            got = value if shown is None else shown
            return f"{where}: expected {name} to be a real number, got {got!r}"
        # check_number's wording, as every other range check of the library.
        try:
            check_number(
                value,
                where,
                name,
                low=_float(self.low),
                high=_float(self.high),
                low_inclusive=self._low_closed,
                high_inclusive=self._high_closed or self.high is None,
            )
        except ValueError as error:
            return str(error)
        return super().message(value, where, name, shown=shown)  # pragma: no cover

    def _interval(self, low: Any, high: Any) -> str:
        left = "[" if self._low_closed else "("
        # An unbounded end reads "inf]", as check_number writes it.
        right = "]" if self._high_closed or high is None else ")"
        lower = "-inf" if low is None else low
        upper = "inf" if high is None else high
        return f"{left}{lower}, {upper}{right}"

    def __repr__(self) -> str:
        return (
            f"Interval({self.kind.__name__}, {self.low!r}, {self.high!r}, closed={self.closed!r})"
        )


class Options(Constraint):
    """One of a few strings.

    Parameters
    ----------
    choices : sequence of str
        The accepted values, in the order the command line lists them.
    """

    def __init__(self, choices: Sequence[str]) -> None:
        self.choices = choices

    def is_satisfied_by(self, value: Any) -> bool:
        return isinstance(value, str) and value in self.choices

    def describe(self) -> str:
        if len(self.choices) == 2:
            return " or ".join(self.choices)
        return f"one of {self.choices!r}"

    def requirement(self, name: str) -> str:
        if len(self.choices) == 2:
            first, second = self.choices
            return f"{name} {first!r} or {second!r}"
        return f"{name} to be one of {sorted(self.choices)}"

    def __repr__(self) -> str:
        return f"Options({self.choices!r})"


class Boolean(Constraint):
    """``True`` or ``False`` (not 0, 1 or a string)."""

    def is_satisfied_by(self, value: Any) -> bool:
        return isinstance(value, bool)

    def describe(self) -> str:
        return "true or false"

    def requirement(self, name: str) -> str:
        return f"{name} to be True or False"

    def __repr__(self) -> str:
        return "Boolean()"


class PositiveInts(Constraint):
    """A list (or tuple) of positive ints, maybe empty: the sizes of hidden layers."""

    def is_satisfied_by(self, value: Any) -> bool:
        return isinstance(value, (list, tuple)) and all(_is_int(v) and v > 0 for v in value)

    def describe(self) -> str:
        return "a list of positive integers"

    def requirement(self, name: str) -> str:
        return f"{name} to be positive ints"

    def __repr__(self) -> str:
        return "PositiveInts()"


class OptionList(Constraint):
    """A non-empty list (or tuple) of some of a few strings, none twice: input features.

    Parameters
    ----------
    choices : sequence of str
        The accepted values, in the order the command line lists them.
    """

    def __init__(self, choices: Sequence[str]) -> None:
        self.choices = choices

    def is_satisfied_by(self, value: Any) -> bool:
        return (
            isinstance(value, (list, tuple))
            and len(value) > 0
            and len(set(value)) == len(value)
            and all(isinstance(v, str) and v in self.choices for v in value)
        )

    def describe(self) -> str:
        return f"some of {list(self.choices)!r}, each once"

    def requirement(self, name: str) -> str:
        return f"{name} to be a non-empty list of some of {list(self.choices)}, each once"

    def __repr__(self) -> str:
        return f"OptionList({self.choices!r})"


class Text(Constraint):
    """A string (a name or a path)."""

    def is_satisfied_by(self, value: Any) -> bool:
        return isinstance(value, str)

    def describe(self) -> str:
        return "a string"

    def requirement(self, name: str) -> str:
        return f"{name} to be a str"

    def __repr__(self) -> str:
        return "Text()"


class SwitchOrText(Constraint):
    """``False`` (off), ``True`` (on, in the default place) or a non-empty string (a path).

    A flag that may take a value: ``--tensorboard`` alone is True, ``--tensorboard DIR``
    is ``'DIR'``; a TOML file writes ``tensorboard = true`` or ``tensorboard = "DIR"``.
    """

    def is_satisfied_by(self, value: Any) -> bool:
        return isinstance(value, bool) or (isinstance(value, str) and value != "")

    def describe(self) -> str:
        return "true, false or a path"

    def requirement(self, name: str) -> str:
        return f"{name} to be True, False or a path"

    def __repr__(self) -> str:
        return "SwitchOrText()"


class NoneOr(Constraint):
    """``None`` (the setting is off) or what ``inner`` accepts.

    The words are the inner constraint's: on the command line None is a flag not given,
    so "--max-grad-norm expected a positive number" says all a user can do.
    """

    def __init__(self, inner: Constraint) -> None:
        self.inner = inner

    def is_satisfied_by(self, value: Any) -> bool:
        return value is None or self.inner.is_satisfied_by(value)

    def describe(self) -> str:
        return self.inner.describe()

    def requirement(self, name: str) -> str:
        return f"{self.inner.requirement(name)} or None"

    def __repr__(self) -> str:
        return f"NoneOr({self.inner!r})"


def _article(noun: str) -> str:
    return "an" if noun[:1] in "aeiou" else "a"


def _float(end: float | None) -> float | None:
    return None if end is None else float(end)
