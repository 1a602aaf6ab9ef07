"""Training diagnostics: the numbers inside a network that tell why it learns or does not.

The lecture notes name the usual ways training goes wrong: sigmoid or tanh units pushed
into their flat tails by large weights (their slope, and so the gradient through them,
is almost zero), a step size that is too small or too large, and gradients that
vanish or explode as they are multiplied back through the layers; MyTorch adds ReLU
units that never fire again. :class:`Diagnostics` is a
:class:`~mytorch.trainer.Callback` that measures each of these per layer and epoch, and
:func:`summarize` turns the numbers into advice.

What is measured
----------------
For every parameter (``0.weight``, ``0.bias``, ...), averaged over the epoch's steps:

* ``norm``: ||W|| (Frobenius) at the end of the epoch;
* ``grad_norm``: ||dL/dW|| of the gradient the optimiser used (after clipping);
* ``update_ratio``: ||W_after - W_before|| / ||W_before|| of one optimiser step, i.e.
  ||lr * update|| / ||W|| whatever the optimiser (momentum, Adam and weight decay
  included). About 1e-3 is the usual healthy value; much below 1e-5 the weights hardly
  move, above 1e-1 each step rewrites them.

For every activation module (Sigmoid, Tanh, ReLU, ...), over every output of the epoch's
training batches (or of a fixed probe batch, see ``probe``):

* ``mean`` and ``std`` of the outputs;
* ``saturated`` (Sigmoid and Tanh): the share of outputs near an asymptote, where the
  slope is under a fifth of its peak: sigmoid output below 0.05 or above 0.95
  (``|z| > 2.94``, slope < 0.048 of at most 0.25), tanh output with ``|y| > 0.95``
  (``|z| > 1.83``, slope < 0.098 of at most 1);
* ``dead`` (ReLU): the share of units whose output was 0 for *every* sample seen, so
  that no gradient reaches their weights and they cannot recover.

Cost: nothing unless the callback is used. When it is, each optimiser step also reads
each activation's saved output (``state``, kept by the module anyway), takes a norm of
each gradient and copies each parameter once: a few passes over arrays the step touches
anyway, negligible for the small models this library is for.
"""

from mytorch.tools.diagnostics.advice import (
    DEAD_WARNING,
    GRADIENT_SPREAD_WARNING,
    SATURATED_WARNING,
    UPDATE_RATIO_RANGE,
    format_table,
    save_report,
    summarize,
)
from mytorch.tools.diagnostics.callback import Diagnostics
from mytorch.tools.diagnostics.plots import plot_diagnostics
from mytorch.tools.diagnostics.statistics import (
    SIGMOID_SATURATION,
    TANH_SATURATION,
    activation_statistics,
)

__all__ = [
    "Diagnostics",
    "activation_statistics",
    "format_table",
    "plot_diagnostics",
    "save_report",
    "summarize",
    "SIGMOID_SATURATION",
    "TANH_SATURATION",
    "DEAD_WARNING",
    "GRADIENT_SPREAD_WARNING",
    "SATURATED_WARNING",
    "UPDATE_RATIO_RANGE",
]
