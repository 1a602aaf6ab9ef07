"""The estimators' parameters, checked by the constraints of ``mytorch train``'s settings.

A parameter that sets a setting of ``mytorch train`` (``learning_rate_init`` sets
``lr``, ``solver`` sets ``optimizer``, ...) is checked by that setting's constraint in
:data:`mytorch.config.SETTINGS`, so the estimators and the command line refuse the same
values. The estimators' own parameters (``tol``, ``shuffle``, ...) have constraints of
the same kinds here. A refused value is a ``ValueError``, scikit-learn's convention,
whose message comes from the constraint: ``MLPClassifier: expected learning_rate_init
in (0.0, inf], got -1.0``.

As scikit-learn does, the estimators take NumPy scalars (``np.float32(0.1)``,
``np.int64(3)``) where a number goes; they are checked as the Python numbers they hold.
"""

from __future__ import annotations

import math
from numbers import Integral, Real
from typing import Any

import numpy as np

from mytorch.config import SETTINGS
from mytorch.constraints import Boolean, Constraint, Interval, Options

__all__ = [
    "ACTIVATION_ALIASES",
    "CLASSIFIER_CONSTRAINTS",
    "PARAMETER_CONSTRAINTS",
    "SETTING_OF",
    "check_param",
]

#: scikit-learn's name for the sigmoid, accepted as an alias.
ACTIVATION_ALIASES = {"logistic": "sigmoid"}

#: Each parameter that sets a ``mytorch train`` setting, and that setting's name.
SETTING_OF = {
    "hidden_layer_sizes": "hidden",
    "activation": "activation",
    "batch_norm": "batch_norm",
    "dropout": "dropout",
    "init": "init",
    "solver": "optimizer",
    "learning_rate_init": "lr",
    "momentum": "momentum",
    "alpha": "weight_decay",
    "schedule": "schedule",
    "max_iter": "epochs",
    "batch_size": "batch_size",
    "validation_fraction": "val_fraction",
    "dtype": "dtype",
    "label_smoothing": "label_smoothing",
}


def _of(parameter: str) -> Constraint:
    return SETTINGS[SETTING_OF[parameter]].constraint


#: What every checked parameter accepts, in the order of ``__init__`` (scikit-learn's
#: ``_parameter_constraints``; ``random_state`` is scikit-learn's to check).
PARAMETER_CONSTRAINTS: dict[str, Constraint] = {
    "hidden_layer_sizes": _of("hidden_layer_sizes"),
    # The setting's names and scikit-learn's alias.
    "activation": Options(sorted([*_of("activation").choices, *ACTIVATION_ALIASES])),
    "batch_norm": _of("batch_norm"),
    "dropout": _of("dropout"),
    "init": _of("init"),
    "solver": _of("solver"),
    "learning_rate_init": _of("learning_rate_init"),
    "momentum": _of("momentum"),
    "alpha": _of("alpha"),
    "schedule": _of("schedule"),
    "max_iter": _of("max_iter"),
    "batch_size": _of("batch_size"),  # or "auto"
    "shuffle": Boolean(),
    "tol": Interval(float, 0, None, closed="left"),
    "early_stopping": Boolean(),
    "validation_fraction": _of("validation_fraction"),
    "n_iter_no_change": Interval(int, 1, None),
    "dtype": _of("dtype"),
    "compiled": Boolean(),
}


class ClassWeights(Constraint):
    """``class_weight``: what ``mytorch train --class-weight`` takes (None, 'balanced'),
    or a dict ``{class label: weight}`` of finite weights >= 0, as scikit-learn's."""

    def __init__(self, setting: Constraint) -> None:
        self.setting = setting

    def is_satisfied_by(self, value: Any) -> bool:
        if isinstance(value, dict):
            return all(
                isinstance(weight, Real)
                and not isinstance(weight, bool)
                and math.isfinite(weight)
                and float(weight) >= 0
                for weight in value.values()
            )
        return self.setting.is_satisfied_by(value)

    def describe(self) -> str:
        return "None, 'balanced' or a dict {label: weight >= 0}"

    def requirement(self, name: str) -> str:
        return f"{name} to be None, 'balanced' or a dict {{label: finite weight >= 0}}"

    def __repr__(self) -> str:
        return f"ClassWeights({self.setting!r})"


#: The classifier's own parameters (the regressor has none of them).
CLASSIFIER_CONSTRAINTS: dict[str, Constraint] = {
    "class_weight": ClassWeights(SETTINGS["class_weight"].constraint),
    "label_smoothing": _of("label_smoothing"),
}


def _plain(value: Any) -> Any:
    """A NumPy scalar as the Python object it holds; anything else as it is."""
    return value.item() if isinstance(value, np.generic) else value


def _as_setting(name: str, value: Any) -> Any:
    """The parameter's value in the form its constraint checks."""
    if name == "hidden_layer_sizes":
        sizes = [value] if isinstance(value, Integral) else value
        try:
            return [_plain(size) for size in sizes]
        except TypeError:  # not a sequence: refused as it is
            return value
    if name == "dtype":
        try:
            return np.dtype(value).name
        except TypeError:
            return value
    return _plain(value)


def check_param(estimator: Any, name: str) -> Any:
    """Check one parameter of ``estimator``; return it as the setting it sets.

    Parameters
    ----------
    estimator : MLPClassifier or MLPRegressor
        The estimator, named in the message.
    name : str
        A parameter of :data:`PARAMETER_CONSTRAINTS` or :data:`CLASSIFIER_CONSTRAINTS`.

    Returns
    -------
    Any
        The value as a plain Python object: a list of ints for ``hidden_layer_sizes``,
        a dtype's name for ``dtype``, a Python number for a NumPy scalar; ``'auto'``
        for that ``batch_size``.

    Raises
    ------
    ValueError
        If the constraint refuses the value.
    """
    raw = getattr(estimator, name)
    if name == "batch_size" and isinstance(raw, str) and raw == "auto":
        return raw
    value = _as_setting(name, raw)
    constraint = {**PARAMETER_CONSTRAINTS, **CLASSIFIER_CONSTRAINTS}[name]
    if not constraint.is_satisfied_by(value):
        raise ValueError(constraint.message(value, type(estimator).__name__, name, shown=raw))
    return value
