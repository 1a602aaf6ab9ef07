"""Loss functions with PyTorch's names: ``MSELoss``, ``BCEWithLogitsLoss``, ``CrossEntropyLoss``...

A loss is called as ``loss = criterion(output, target)``; ``criterion.backward()``
(the course calls it ``derivative()``) then returns d(loss)/d(output), the gradient
that starts back-propagation. With ``reduction='none'`` the loss is one value per
sample (or element); ``backward()`` returns the gradient of their *sum* and
``backward(grad_output)`` that of sum(grad_output * loss), as PyTorch's
``loss.backward(grad_output)``.

One file per kind of loss: ``base`` (``Loss``, the reductions and ``backward``),
``regression`` (``MSELoss``), ``binary`` (``BCEWithLogitsLoss``), ``classes`` (the
layouts of class scores and targets), ``cross_entropy`` (``CrossEntropyLoss``,
``NLLLoss``), ``margin`` (``MultiMarginLoss``) and ``hinge`` (``HingeLoss``, the notes'
binary hinge loss on one score per sample).
"""

from mytorch.nn.loss.base import Loss
from mytorch.nn.loss.binary import BCEWithLogitsLoss
from mytorch.nn.loss.cross_entropy import CrossEntropyLoss, NLLLoss
from mytorch.nn.loss.hinge import HingeLoss
from mytorch.nn.loss.margin import MultiMarginLoss
from mytorch.nn.loss.regression import MSELoss

__all__ = [
    "Loss",
    "MSELoss",
    "BCEWithLogitsLoss",
    "CrossEntropyLoss",
    "NLLLoss",
    "MultiMarginLoss",
    "HingeLoss",
]
