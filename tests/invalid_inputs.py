"""The invalid-input tables' shared machinery: every public entry point rejects every
kind of invalid input with a clear error.

Each entry point's cases sit with that entry point's tests, in a table at the end of
the test module (tests mirror the package)::

    INVALID_INPUTS = CaseTable()
    case = INVALID_INPUTS.case

    # entry point, class of bad input, call, expected exception, regex for the message
    case("nn.Linear", "rank 1", lambda: nn.Linear(3, 2)(np.ones(3)), ValueError, r"^Linear: ")

    @pytest.mark.parametrize("item", INVALID_INPUTS, ids=[c.id for c in INVALID_INPUTS])
    def test_invalid_input_raises_a_clear_error(item: Case):
        assert_raises_a_clear_error(item)

The messages must name the layer or function and say what was expected and what came
(the regexes check both). Test ids read ``entry|bad``, e.g.
``test_invalid_input_raises_a_clear_error[nn.Linear|rank 1]``, and are unique over all
tables. The command line has tables of its own in test_cli.py (``CLI_CASES``,
``TOML_CASES``, ``PREDICT_INPUTS``): ``mytorch.cli.main`` must return 2 and explain the
problem on stderr.

``test_case_count`` in test_validation.py imports the modules in ``TABLE_MODULES`` and
``CLI_MODULE``, prints how many cases run and fails if they shrink below 150: 692 at the
time of writing, 646 library cases over 44 entry points and 46 command-line cases. It
also fails when a module defines a table without being listed in ``TABLE_MODULES``.

Where the cases live: test_linear.py (``nn.Linear``, the course ``Linear``),
test_batchnorm.py (``nn.BatchNorm1d``, the course ``BatchNorm``), test_dropout.py
(``nn.Dropout``), test_sequential.py (``nn.Sequential``), test_activation.py (every
activation), test_loss.py (every loss and the course ``SoftmaxCrossEntropy``),
test_optimizer.py (every optimiser), test_lr_scheduler.py (every scheduler),
test_data.py (``DataLoader``, ``train_val_split``), test_trainer.py (``Trainer``,
``Trainer.fit``, ``Trainer.evaluate``), test_course_api.py (``hw1.MLP``) and test_cli.py
(the command line).

Classes of bad input: wrong rank, wrong feature count, object / string / complex /
integer / bool dtypes, float32 into a float64 layer, NaN and inf, labels that are not
integers or out of range, one-hot rows that do not sum to 1, X and y of different
lengths, empty data, batch sizes of 0 (or too large with ``drop_last``), negative / NaN /
infinite / mistyped hyper-parameters, backward before forward, and gradients of the
wrong shape. Shared here: the bad arrays for a layer taking (N, 3) float64 input
(``BAD_MATRICES``, ``ANY_SHAPE_BAD``, built from ``good()`` and ``with_value()``), the
cases every such layer gets (``add_matrix_layer_cases``) and the data several modules
use (``LOGITS``, ``LABELS``, ``ONE_HOT``, ``X10``, ``Y10``, ``params()``, ``sgd()``).

This module is not named ``test_*.py``, so pytest does not collect it. The test modules
import it as ``invalid_inputs``, as they import ``conftest``: tests/ has no
``__init__.py``, so pytest puts it on ``sys.path`` (with ``pytest`` from the repository
root and with ``python3 tools/run.py test tests/test_linear.py`` alike).
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from mytorch import nn, optim
from mytorch.nn.parameter import Parameter

TESTS = Path(__file__).resolve().parent
NAN, INF = float("nan"), float("inf")


@dataclass(frozen=True)
class Case:
    entry: str
    bad: str
    call: Callable[[], object]
    error: type[Exception]
    match: str

    @property
    def id(self) -> str:
        return f"{self.entry}|{self.bad}"


class CaseTable(list[Case]):
    """One test module's cases; ``case(entry, bad, call, error, match)`` adds one."""

    def case(
        self, entry: str, bad: str, call: Callable[[], object], error: type[Exception], match: str
    ) -> None:
        self.append(Case(entry, bad, call, error, match))


def assert_raises_a_clear_error(item: Case) -> None:
    """``item.call()`` raises ``item.error`` with a message matching ``item.match``."""
    with pytest.raises(item.error) as info:
        item.call()
    message = str(info.value)
    assert re.search(item.match, message), f"message {message!r} does not match {item.match!r}"


#: The test modules holding an ``INVALID_INPUTS`` table, and the one whose
#: ``CLI_CASE_COUNT`` counts the command-line cases.
TABLE_MODULES = (
    "test_linear",
    "test_batchnorm",
    "test_sequential",
    "test_dropout",
    "test_activation",
    "test_loss",
    "test_optimizer",
    "test_lr_scheduler",
    "test_data",
    "test_trainer",
    "test_course_api",
)
CLI_MODULE = "test_cli"


def all_tables() -> dict[str, CaseTable]:
    """Every module's table by module name (importing those not imported yet)."""
    return {name: importlib.import_module(name).INVALID_INPUTS for name in TABLE_MODULES}


def cli_case_count() -> int:
    return importlib.import_module(CLI_MODULE).CLI_CASE_COUNT


def modules_defining_a_table() -> set[str]:
    """The test modules whose source defines ``INVALID_INPUTS = CaseTable()``."""
    pattern = re.compile(r"^INVALID_INPUTS = CaseTable\(\)", re.MULTILINE)
    return {p.stem for p in TESTS.glob("test_*.py") if pattern.search(p.read_text())}


# ----------------------------------------------------------------------- bad arrays
def good(n: int = 4, features: int = 3, dtype=np.float64) -> np.ndarray:
    return np.linspace(-1.0, 1.0, n * features).reshape(n, features).astype(dtype)


def with_value(value: float) -> np.ndarray:
    x = good()
    x[1, 2] = value
    return x


#: name -> (array, exception, message pattern after the layer's name), for a layer that
#: takes (N, 3) float64 input.
BAD_MATRICES: dict[str, tuple[object, type[Exception], str]] = {
    "rank 1": (np.ones(3), ValueError, r"expected input to be 2-D, got a 1-D array"),
    "rank 3": (np.ones((4, 3, 1)), ValueError, r"expected input to be 2-D, got a 3-D array"),
    "rank 0": (np.array(1.0), ValueError, r"expected input to be 2-D, got a 0-D array"),
    "feature count": (good(4, 5), ValueError, r"expected input with 3 features.*5 features"),
    "object dtype": (
        good().astype(object),
        TypeError,
        r"expected input of a floating dtype.*got dtype object",
    ),
    "string dtype": (
        good().astype(str),
        TypeError,
        r"expected input of a floating dtype.*got dtype <U",
    ),
    "complex dtype": (
        good().astype(complex),
        TypeError,
        r"expected input of a floating dtype.*complex128",
    ),
    "integer dtype": (
        good().astype(np.int64),
        TypeError,
        r"expected input of a floating dtype.*got dtype int64",
    ),
    "bool dtype": (good() > 0, TypeError, r"expected input of a floating dtype.*got dtype bool"),
    "float32 into float64": (
        good(dtype=np.float32),
        TypeError,
        r"expected input of dtype float64.*got float32",
    ),
    "NaN": (with_value(NAN), ValueError, r"input contains 1 NaN and 0 inf"),
    "inf": (with_value(-INF), ValueError, r"input contains 0 NaN and 1 inf"),
    "empty batch": (np.ones((0, 3)), ValueError, r"expected a non-empty batch.*\(0, 3\)"),
    "list": (good().tolist(), TypeError, r"expected input to be a numpy.ndarray, got list"),
    "None": (None, TypeError, r"expected input to be a numpy.ndarray, got NoneType"),
}

#: How the rank cases of ``BAD_MATRICES`` change for a layer taking (*, 3) input, as
#: PyTorch's Linear does (None: the input is valid there): only a 0-d input lacks the
#: feature axis, and a (4, 3, 1) array has 1 feature.
ANY_LEADING_AXES = {
    "rank 1": None,
    "rank 3": (
        np.ones((4, 3, 1)),
        ValueError,
        r"expected input with 3 features \(shape \(\*, 3\)\), got shape \(4, 3, 1\) "
        r"\(1 features\)",
    ),
    "rank 0": (
        np.array(1.0),
        ValueError,
        r"expected input with 3 features on its last axis.*got a 0-D array",
    ),
}

#: The same for a layer taking (N, 3) or (N, 3, L) input, as PyTorch's BatchNorm1d.
CHANNELS_FIRST = {
    "rank 1": (np.ones(3), ValueError, r"expected input to be 2-D or 3-D, got a 1-D array"),
    "rank 3": None,
    "rank 0": (np.array(1.0), ValueError, r"expected input to be 2-D or 3-D, got a 0-D array"),
    "rank 4": (
        np.ones((4, 3, 2, 2)),
        ValueError,
        r"expected input to be 2-D or 3-D, got a 4-D array",
    ),
    "3-D, feature count": (
        np.ones((4, 5, 2)),
        ValueError,
        r"expected input with 3 features \(shape \(N, 3\) or \(N, 3, L\)\).*5 features",
    ),
}

#: The subset that applies to layers taking any shape (activations, dropout).
ANY_SHAPE_BAD = (
    "object dtype",
    "string dtype",
    "complex dtype",
    "integer dtype",
    "bool dtype",
    "NaN",
    "inf",
    "list",
)


def add_matrix_layer_cases(
    table: CaseTable,
    entry: str,
    make: Callable[[], nn.Module],
    layer_name: str,
    *,
    backward: bool = True,
    ranks: dict[str, tuple[object, type[Exception], str] | None] | None = None,
) -> None:
    """Every ``BAD_MATRICES`` input into ``make()``, a layer taking (N, 3) float64 input
    whose messages start with ``layer_name``; with ``backward``, also backward before
    forward and a delta of the wrong shape or holding NaN. ``ranks`` replaces or adds
    cases for a layer taking other ranks too (``ANY_LEADING_AXES``, ``CHANNELS_FIRST``;
    None drops a case whose input is valid there)."""
    cases = {**BAD_MATRICES, **(ranks or {})}
    for bad, bad_case in cases.items():
        if bad_case is None:
            continue
        x, error, pattern = bad_case
        table.case(
            entry, bad, lambda make=make, x=x: make()(x), error, rf"^{layer_name}: {pattern}"
        )
    if not backward:
        return
    table.case(
        entry,
        "backward before forward",
        lambda make=make: make().backward(np.ones((4, 2))),
        RuntimeError,
        r"\.backward: backward\(\) called before forward\(\)",
    )

    def wrong_delta(make=make, shape=(5, 2)):
        layer = make()
        layer.forward(good())
        return layer.backward(np.ones(shape))

    table.case(
        entry,
        "delta of the wrong shape",
        wrong_delta,
        ValueError,
        rf"^{layer_name}\.backward: expected delta of shape \(4, \d\).*got \(5, 2\)",
    )

    def nan_delta(make=make):
        layer = make()
        out = layer.forward(good())
        return layer.backward(np.full(out.shape, NAN))

    table.case(
        entry,
        "NaN delta",
        nan_delta,
        ValueError,
        rf"^{layer_name}\.backward: delta contains \d+ NaN",
    )


# ----------------------------------------------------------------------- shared data
#: Logits of 4 samples and 3 classes with their labels (losses, hw1.MLP).
LOGITS = good(4, 3)
LABELS = np.array([0, 2, 1, 2])
ONE_HOT = np.eye(3)[LABELS]

#: 10 samples of 3 features with two classes (DataLoader, train_val_split, Trainer).
X10 = good(10, 3)
Y10 = np.arange(10) % 2


def params() -> list[Parameter]:
    """Fresh parameters of a small Linear layer, for an optimiser."""
    return list(nn.Linear(3, 2, rng=0).parameters())


def sgd() -> optim.SGD:
    return optim.SGD(params(), lr=0.1)
