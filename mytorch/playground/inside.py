"""Inside one step: back-propagation of one training point, every gradient checked.

:func:`inspect_point` runs :func:`mytorch.tools.explain.backprop` on a copy of the
session's model (in evaluation mode: dropout off, batch norm's running statistics) for
the point the learner picked: each module's forward value, the blame d(loss)/d(output)
it receives and passes back, its parameter gradients, and each gradient's relative
error against central finite differences.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from mytorch.tools.explain import backprop
from mytorch.workflows.targets import two_class_loss

__all__ = ["inspect_point"]


def _rounded(value: Any) -> Any:
    if value is None:
        return None
    array = np.asarray(value, dtype=np.float64)
    return np.round(np.nan_to_num(array, nan=0.0, posinf=1e300, neginf=-1e300), 6).tolist()


def inspect_point(session: Any, index: int) -> dict[str, Any]:
    """Forward values, backward blame and checked gradients of training point ``index``.

    Returns
    -------
    dict
        ``type: "inside"``, the point (``x``, its features ``inputs``, ``label``,
        ``target``), the ``loss``, ``passed`` / ``worst_error`` / ``tolerance`` /
        ``note`` of the check, and ``steps``: per module (then the loss) its ``name``,
        ``module``, ``output``, ``grad_output`` (the blame received), ``grad_input``
        (passed back), ``param_grads`` and ``check`` (relative error per gradient).
    """
    with session.lock:
        model = copy.deepcopy(session.trainer.model)
        inputs = session.inputs[index : index + 1]
        target = session.targets[index : index + 1]
        point, label = session.points[index], int(session.labels[index])
        loss_name = session.config.loss
    model.eval()
    try:
        with np.errstate(all="ignore"):
            record = backprop(model, inputs, target, two_class_loss(loss_name).criterion)
    except ValueError as error:  # NaN in a diverged network: say so instead
        return {"type": "inside", "index": index, "error": f"cannot look inside: {error}"}
    steps = []
    for step in record.steps:
        steps.append(
            {
                "name": step.name,
                "module": step.module,
                "is_loss": step.is_loss,
                "output": _rounded(step.output),
                "grad_output": _rounded(step.grad_output),
                "grad_input": _rounded(step.grad_input),
                "param_grads": {k: _rounded(v) for k, v in step.param_grads.items()},
                "check": {k: float(v) for k, v in step.check.items()},
            }
        )
    return {
        "type": "inside",
        "index": index,
        "x": _rounded(point),
        "inputs": _rounded(inputs[0]),
        "label": label,
        "target": _rounded(target[0]),
        "loss": float(record.loss),
        "passed": record.passed,
        "worst_error": float(record.worst_error),
        "tolerance": record.tolerance,
        "note": record.check_note,
        "steps": steps,
    }
