"""The course's activations (CMU 11-785 HW1P1 ``mytorch/activation.py``).

An adapter with nothing to add: the core activations of :mod:`mytorch.nn.activation`
already keep the course's ``state`` (the last output) and give ``derivative()`` (f'(z)
for the last input), so the course's ``Activation``, ``Identity``, ``Sigmoid``,
``Tanh`` and ``ReLU`` are those classes. ``act(z)`` stores f(z) in ``act.state``;
``act.derivative()`` returns f'(z), shape of z.
"""

from __future__ import annotations

if not __package__:  # pragma: no cover - exercised by the course-autograder test in a subprocess
    # The course autograder puts mytorch/ on sys.path and runs `import activation`.
    # Hand it the package's module instead, so there is one copy of every class.
    from _course_import import import_from_package

    import_from_package(__name__)

from mytorch.nn.activation import (
    ELU,
    GELU,
    Activation,
    Identity,
    LeakyReLU,
    LogSoftmax,
    ReLU,
    Sigmoid,
    Softmax,
    Softplus,
    Step,
    Tanh,
)

__all__ = [
    "Activation",
    "Identity",
    "Sigmoid",
    "Tanh",
    "ReLU",
    "Step",
    "LeakyReLU",
    "ELU",
    "GELU",
    "Softplus",
    "Softmax",
    "LogSoftmax",
]
