"""What a model, a loss and an optimiser are made of, read once for the compiled step.

:func:`make_plan` walks a model's ``forward_chain()`` (nested ``Sequential`` s flattened)
and names each module's kind through ``mytorch.nn.registry`` (exact classes only: a
subclass such as the course's ``Linear`` has rules of its own and is not compiled). It
reads the loss and the optimiser the same way. What it cannot compile it says in one
line (:class:`Unsupported`), so that the caller can fall back to the reference loop.

The plan also remembers *which* objects it was made from (:meth:`Plan.matches`): a model
edited after compiling (a parameter replaced, a layer added, train/eval switched) no
longer matches, and the step plans again instead of training the old picture.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from operator import is_
from typing import Any

import numpy as np

from mytorch.nn import registry
from mytorch.nn.module import Module

__all__ = [
    "ACTIVATIONS",
    "NotFinite",
    "LOSSES",
    "NOTES_VARIANTS",
    "OPTIMIZERS",
    "Plan",
    "Step",
    "Unsupported",
    "chain_of",
    "make_plan",
]

#: Activations the compiled step runs (every one ``mytorch.nn`` has). Those marked True
#: have a fused kernel (bias add, the function and its derivative in one pass); the
#: others run the module's own ``function`` / ``derivative``.
ACTIVATIONS = {
    "Identity": True,
    "Sigmoid": True,
    "Tanh": True,
    "ReLU": True,
    "Step": False,
    "LeakyReLU": False,
    "ELU": False,
    "GELU": False,
    "Softplus": False,
    "Softmax": False,
    "LogSoftmax": False,
}
#: Losses, with the options the compiled step takes (anything else falls back).
LOSSES = ("CrossEntropyLoss", "MSELoss", "BCEWithLogitsLoss")
#: Optimisers the compiled step updates over one flat array of all parameters.
OPTIMIZERS = ("SGD", "Adam", "AdamW")
#: The lecture notes' variants, left to the reference loop on purpose: they exist to be
#: read against the notes, and their fast PyTorch forms (Dropout, MultiMarginLoss, SGD,
#: Adam, RMSprop) are compiled. The trainer falls back and names the reason.
NOTES_VARIANTS = {
    "NotesDropout": "the notes' dropout, NotesDropout, runs in the reference loop only "
    "(nn.Dropout is compiled)",
    "HingeLoss": "the notes' hinge loss, HingeLoss, runs in the reference loop only",
    "NotesSGD": "the notes' momentum, NotesSGD, runs in the reference loop only (SGD is compiled)",
    "NotesAdam": "the notes' Adam, NotesAdam, runs in the reference loop only (Adam is compiled)",
    "NotesAdadelta": "the notes' adadelta, NotesAdadelta, runs in the reference loop only",
}


class Unsupported(ValueError):  # noqa: N818 - it is a reason, read as "Unsupported: ..."
    """The model, loss or optimiser has something the compiled step does not run."""


class NotFinite(ArithmeticError):  # noqa: N818 - names the state, as StopIteration does
    """The loss or a gradient of a step is NaN or inf; the update was not made.

    Attributes
    ----------
    what : str
        "loss", "gradient", or "output" (the network's output for ``batch``, in a whole
        compiled epoch, which stops before that batch's update).
    loss : float
        The step's loss (the epoch's loss sum so far, for "output").
    batch : numpy.ndarray or None
        The input batch whose output held NaN or inf (for "output").
    step : int
        Which step of the epoch that batch is, counted from 1 (for "output").
    """

    def __init__(
        self, what: str, loss: float, batch: np.ndarray | None = None, step: int = 0
    ) -> None:
        super().__init__(f"the {what} of the step is NaN or inf (loss {loss})")
        self.what, self.loss, self.batch, self.step = what, loss, batch, step


@dataclass
class Step:
    """One module of the forward chain: its kind and the module itself.

    ``kind`` is "linear", "batchnorm", "dropout" or "activation"; ``name`` the registry
    name (``"ReLU"``, ...).
    """

    kind: str
    name: str
    module: Module


@dataclass
class Plan:
    """The chain of steps, the loss's and the optimiser's kinds, and what they were made of."""

    steps: list[Step]
    loss: str
    optimizer: str
    dtype: np.dtype
    in_features: int
    parameters: list[Any]
    _made_of: Any = field(default=None, repr=False)

    def matches(self, model: Module, criterion: Any, optimizer: Any) -> bool:
        """Whether the objects are still what the plan was made of (cheap: identities)."""
        return self._made_of.matches(model, criterion, optimizer)

    def remember(self, model: Module, criterion: Any, optimizer: Any) -> None:
        """Take the objects as they are now as what the plan is made of (after the
        compiled step rebinds the parameters to its flat arrays)."""
        self._made_of = _Picture(model, criterion, optimizer)


class _Picture:
    """What a plan depends on, kept as references so that checking it costs little.

    The containers' children, every module's parameters and mode, the optimiser's groups
    and the loss's reduction: compared by identity (``is``), so a parameter replaced, a
    layer added or train/eval switched anywhere in the tree is seen.
    """

    def __init__(self, model: Module, criterion: Any, optimizer: Any) -> None:
        self.modules = list(model.modules())
        self.children = [tuple(m._modules.values()) for m in self.modules]
        self.parameters = [tuple(m._parameters.values()) for m in self.modules]
        self.data_of = [p for ps in self.parameters for p in ps if p is not None]
        self.data = [p.data for p in self.data_of]
        self.training = [m.training for m in self.modules]
        self.groups = _groups(optimizer)
        self.criterion, self.reduction = criterion, getattr(criterion, "reduction", None)
        self.label_smoothing = getattr(criterion, "label_smoothing", None)

    def matches(self, model: Module, criterion: Any, optimizer: Any) -> bool:
        # Called before every step: comprehensions and tuple comparisons, whose
        # element tests are identity first (modules and parameters define no __eq__).
        modules = self.modules
        if modules[0] is not model or criterion is not self.criterion:
            return False
        return (
            [m.training for m in modules] == self.training
            and [tuple(m._modules.values()) for m in modules] == self.children
            and [tuple(m._parameters.values()) for m in modules] == self.parameters
            and all(map(is_, [p.data for p in self.data_of], self.data))
            and self.groups == _groups(optimizer)
            and getattr(criterion, "reduction", None) == self.reduction
            and getattr(criterion, "label_smoothing", None) == self.label_smoothing
        )


def _groups(optimizer: Any) -> tuple:
    return tuple(
        (id(g["params"]), len(g["params"]), bool(g.get("momentum")), g.get("amsgrad"))
        for g in getattr(optimizer, "param_groups", ())
    )


def _chain(model: Module) -> list[Module]:
    """The modules of the forward chain, nested Sequentials opened."""
    chain = []
    for _, module in model.forward_chain():
        chain.extend([module] if module is model else _chain(module))
    return chain


def chain_of(model: Module) -> list[tuple[str, Module]]:
    """``(registry name, module)`` of each module of the forward chain, in order.

    Raises
    ------
    Unsupported
        If a module is not one of ``mytorch.nn``'s own layers.
    """
    if not isinstance(model, Module):
        raise Unsupported(f"the model is a {type(model).__name__}, not a mytorch Module")
    return [(_kind(module).name, module) for module in _chain(model)]


def _kind(module: Module) -> Step:
    replaced = [name for name in ("forward", "backward") if name in vars(module)]
    if replaced:
        raise Unsupported(
            f"a {type(module).__name__} whose {' and '.join(replaced)} was replaced on the "
            "instance (the compiled step runs the class's formulas)"
        )
    if not registry.is_registered(module):
        raise Unsupported(
            f"{type(module).__name__} is not one of mytorch.nn's own layers (a subclass "
            "such as the course's Linear has rules of its own)"
        )
    name = type(module).__name__
    if name in NOTES_VARIANTS:
        raise Unsupported(NOTES_VARIANTS[name])
    if name == "Linear":
        return Step("linear", name, module)
    if name == "BatchNorm1d":
        return Step("batchnorm", name, module)
    if name == "Dropout":
        return Step("dropout", name, module)
    if name in ACTIVATIONS:
        return Step("activation", name, module)
    raise Unsupported(f"{name} has no compiled form")


def _loss_kind(criterion: Any) -> str:
    name = type(criterion).__name__
    if name in NOTES_VARIANTS:
        raise Unsupported(NOTES_VARIANTS[name])
    # Exact classes of mytorch.nn's losses: the course's SoftmaxCrossEntropy, for one,
    # keeps per-sample losses and is not compiled.
    if name not in LOSSES or not type(criterion).__module__.startswith("mytorch.nn.loss"):
        raise Unsupported(f"the loss {name} has no compiled form (supported: {', '.join(LOSSES)})")
    if criterion.reduction not in ("mean", "sum"):
        raise Unsupported(f"{name}(reduction={criterion.reduction!r}): only 'mean' and 'sum'")
    if getattr(criterion, "weight", None) is not None:
        raise Unsupported(f"{name} with weight has no compiled form")
    if getattr(criterion, "pos_weight", None) is not None:
        raise Unsupported(f"{name} with pos_weight has no compiled form")
    return name


def _optimizer_kind(optimizer: Any, parameters: list[Any]) -> str:
    name = type(optimizer).__name__
    if name in NOTES_VARIANTS:
        raise Unsupported(NOTES_VARIANTS[name])
    if name not in OPTIMIZERS:
        raise Unsupported(
            f"the optimiser {name} has no compiled form (supported: {', '.join(OPTIMIZERS)})"
        )
    groups = optimizer.param_groups
    if len(groups) != 1:
        raise Unsupported(f"{name} with {len(groups)} parameter groups (one is compiled)")
    group = groups[0]
    if {id(p) for p in group["params"]} != {id(p) for p in parameters}:
        raise Unsupported(f"{name} does not update exactly the model's parameters")
    if group.get("maximize"):
        raise Unsupported(f"{name}(maximize=True) has no compiled form")
    if name == "SGD" and group["dampening"] != 0:
        raise Unsupported("SGD with dampening has no compiled form")
    if name in ("Adam", "AdamW") and group["amsgrad"]:
        raise Unsupported(f"{name}(amsgrad=True) has no compiled form")
    return name


def make_plan(model: Module, criterion: Any, optimizer: Any) -> Plan:
    """Read ``model``, ``criterion`` and ``optimizer`` into a :class:`Plan`.

    Raises
    ------
    Unsupported
        Naming the first thing that has no compiled form.
    """
    if not isinstance(model, Module):
        raise Unsupported(f"the model is a {type(model).__name__}, not a mytorch Module")
    steps = [_kind(module) for module in _chain(model)]
    if not steps or steps[0].kind != "linear":
        raise Unsupported("the model does not start with a Linear layer")
    parameters = list(model.parameters())
    dtypes = {p.data.dtype for p in parameters}
    if len(dtypes) != 1:
        raise Unsupported(f"the parameters have several dtypes: {sorted(map(str, dtypes))}")
    return Plan(
        steps=steps,
        loss=_loss_kind(criterion),
        optimizer=_optimizer_kind(optimizer, parameters),
        dtype=dtypes.pop(),
        in_features=steps[0].module.in_features,
        parameters=parameters,
        _made_of=_Picture(model, criterion, optimizer),
    )
