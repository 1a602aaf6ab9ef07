"""Export a MyTorch model to ONNX, to run it with onnxruntime or any other ONNX runtime.

``export(model, path, input_shape)`` turns the model's *evaluation-mode* computation
into an ONNX graph built with ``onnx.helper``: ``Linear`` -> ``Gemm`` (``MatMul`` and
``Add`` for input of more than 2 axes, ``(N, *, in)``), ``BatchNorm1d`` ->
``BatchNormalization`` with the running statistics ((N, C) or (N, C, L)), ``Dropout`` ->
``Identity``, ``NotesDropout`` -> ``Mul`` by its keep probability, and each activation
into the ONNX operators that compute exactly what MyTorch computes (GELU and Softplus
are spelled out with ``Erf``/``Tanh`` and ``Exp``/``Log`` so that every setting of
theirs is kept), after the pre-processing of the inputs the model was trained with, if
given (``preprocessing=metadata["scaling"]``, ``mytorch train --preprocess``). The batch
dimension is dynamic; ``onnx.checker`` checks the graph; the file is written atomically.

Needs the ``onnx`` package (``pip install mytorch[onnx]``; onnxruntime to run the
file). ``import mytorch`` does not import this module.

Examples
--------
>>> import numpy as np, tempfile, os
>>> from mytorch import nn
>>> from mytorch.integrations.onnx import export
>>> model = nn.Sequential(nn.Linear(4, 8, rng=0), nn.GELU(), nn.Linear(8, 3, rng=1))
>>> path = os.path.join(tempfile.mkdtemp(), "model.onnx")
>>> proto = export(model, path, input_shape=(None, 4))
>>> [i.name for i in proto.graph.input], [o.name for o in proto.graph.output]
(['input'], ['output'])
>>> import onnxruntime as ort  # doctest: +SKIP
>>> ort.InferenceSession(path).run(None, {"input": np.ones((2, 4), np.float32)})  # doctest: +SKIP
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from mytorch.nn import activation as act
from mytorch.nn import registry
from mytorch.nn.batchnorm import BatchNorm1d as BatchNorm
from mytorch.nn.linear import Linear
from mytorch.nn.module import Module
from mytorch.serialization import atomic_write
from mytorch.version import __version__
from mytorch.workflows.build import scaling_parts

__all__ = ["export", "DEFAULT_OPSET"]

#: The opset written by default: supported by onnxruntime 1.13 and later.
DEFAULT_OPSET = 17
#: Softmax/LogSoftmax normalise along a single axis (PyTorch's meaning) from opset 13.
MIN_OPSET = 13

_ELEMENT_TYPES = {np.dtype(np.float32): TensorProto.FLOAT, np.dtype(np.float64): TensorProto.DOUBLE}


class _Graph:
    """The nodes and initialisers of the graph being built, with unique names."""

    def __init__(self, dtype: np.dtype, opset: int) -> None:
        self.dtype = dtype
        self.element_type = _ELEMENT_TYPES[dtype]
        self.opset = opset
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self._count = 0

    def name(self, hint: str) -> str:
        self._count += 1
        return f"{hint}_{self._count}"

    def constant(self, hint: str, value: Any, dtype: np.dtype | None = None) -> str:
        """Add ``value`` as an initialiser (in the graph's dtype unless given); return its name."""
        name = self.name(hint)
        array = np.asarray(value, dtype=self.dtype if dtype is None else dtype)
        self.initializers.append(numpy_helper.from_array(array, name))
        return name

    def op(self, op_type: str, inputs: list[str], hint: str, **attributes: Any) -> str:
        """Add one node with a single output; return the output's name."""
        output = self.name(hint)
        self.nodes.append(helper.make_node(op_type, inputs, [output], name=output, **attributes))
        return output

    def reduce_mean(self, x: str, axes: list[int], hint: str) -> str:
        """Mean over ``axes``, keeping them (ReduceMean's axes became an input in 18)."""
        if self.opset >= 18:
            axes_name = self.constant(f"{hint}_axes", axes, dtype=np.int64)
            return self.op("ReduceMean", [x, axes_name], hint, keepdims=1)
        return self.op("ReduceMean", [x], hint, axes=axes, keepdims=1)


# ---------------------------------------------------------------------- one module each
def _linear(graph: _Graph, module: Linear, x: str, shape: list[Any], prefix: str) -> str:
    _expect_features(module, shape, module.in_features, len(shape) - 1, prefix)
    rows = len(shape) == 2
    shape[-1] = module.out_features
    if not rows:
        # (N, *, in): MatMul broadcasts over the leading axes; x @ weight^T + bias.
        weight_t = graph.constant(f"{prefix}weight_t", module.weight.data.T)
        y = graph.op("MatMul", [x, weight_t], f"{prefix}matmul")
        if module.bias is None:
            return y
        return graph.op(
            "Add", [y, graph.constant(f"{prefix}bias", module.bias.data)], f"{prefix}add"
        )
    weight = graph.constant(f"{prefix}weight", module.weight.data)
    inputs = [x, weight]
    if module.bias is not None:
        inputs.append(graph.constant(f"{prefix}bias", module.bias.data))
    # Gemm: x (N, in) @ weight^T (in, out) + bias, PyTorch's layout as it is stored.
    return graph.op("Gemm", inputs, f"{prefix}gemm", transB=1)


def _batchnorm(graph: _Graph, module: BatchNorm, x: str, shape: list[Any], prefix: str) -> str:
    _expect_features(module, shape, module.num_features, 1, prefix)
    features = module.num_features
    gamma = module.weight.data if module.weight is not None else np.ones(features)
    beta = module.bias.data if module.bias is not None else np.zeros(features)
    if module.track_running_stats:
        inputs = [
            x,
            graph.constant(f"{prefix}weight", gamma),
            graph.constant(f"{prefix}bias", beta),
            graph.constant(f"{prefix}running_mean", module._buffers["running_mean"]),
            graph.constant(f"{prefix}running_var", module._buffers["running_var"]),
        ]
        return graph.op(
            "BatchNormalization", inputs, f"{prefix}batchnorm", epsilon=float(module.eps)
        )
    # Without running statistics, MyTorch (like PyTorch) normalises with the batch's own
    # mean and biased variance even in evaluation mode: over N (and L, for (N, C, L)).
    axes = [0] if len(shape) == 2 else [0, 2]
    if len(shape) == 3:  # gamma and beta broadcast as (C, 1) against (N, C, L)
        gamma, beta = gamma.reshape(-1, 1), beta.reshape(-1, 1)
    mean = graph.reduce_mean(x, axes, f"{prefix}mean")
    centered = graph.op("Sub", [x, mean], f"{prefix}centered")
    squared = graph.op("Mul", [centered, centered], f"{prefix}squared")
    var = graph.reduce_mean(squared, axes, f"{prefix}var")
    std = graph.op(
        "Sqrt",
        [graph.op("Add", [var, graph.constant(f"{prefix}eps", module.eps)], f"{prefix}var_eps")],
        f"{prefix}std",
    )
    norm = graph.op("Div", [centered, std], f"{prefix}norm")
    scaled = graph.op("Mul", [norm, graph.constant(f"{prefix}weight", gamma)], f"{prefix}scaled")
    return graph.op("Add", [scaled, graph.constant(f"{prefix}bias", beta)], f"{prefix}out")


def _gelu(graph: _Graph, module: act.GELU, x: str, prefix: str) -> str:
    if module.approximate == "tanh":
        # 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
        cube = graph.op("Mul", [graph.op("Mul", [x, x], f"{prefix}sq"), x], f"{prefix}cube")
        inner = graph.op(
            "Add",
            [x, graph.op("Mul", [cube, graph.constant(f"{prefix}c", 0.044715)], f"{prefix}c_cube")],
            f"{prefix}inner",
        )
        scaled = graph.op(
            "Mul", [inner, graph.constant(f"{prefix}k", math.sqrt(2 / math.pi))], f"{prefix}scaled"
        )
        shape_fn = graph.op("Tanh", [scaled], f"{prefix}tanh")
    else:
        # 0.5 x (1 + erf(x / sqrt(2)))
        scaled = graph.op(
            "Div", [x, graph.constant(f"{prefix}sqrt2", math.sqrt(2.0))], f"{prefix}scaled"
        )
        if graph.dtype == np.float32:
            shape_fn = graph.op("Erf", [scaled], f"{prefix}erf")
        else:
            # onnxruntime has no float64 Erf kernel: erf runs in float32 (error ~1e-7).
            erf = graph.op(
                "Erf",
                [graph.op("Cast", [scaled], f"{prefix}to_float32", to=TensorProto.FLOAT)],
                f"{prefix}erf",
            )
            shape_fn = graph.op("Cast", [erf], f"{prefix}erf_float64", to=graph.element_type)
    one_plus = graph.op("Add", [shape_fn, graph.constant(f"{prefix}one", 1.0)], f"{prefix}one_plus")
    half_x = graph.op("Mul", [x, graph.constant(f"{prefix}half", 0.5)], f"{prefix}half_x")
    return graph.op("Mul", [half_x, one_plus], f"{prefix}gelu")


def _softplus(graph: _Graph, module: act.Softplus, x: str, prefix: str) -> str:
    # As MyTorch: (max(bz, 0) + log(1 + exp(-|bz|))) / beta, and x itself where
    # bz > threshold; exp only ever sees -|bz| <= 0, so it never overflows.
    bz = graph.op("Mul", [x, graph.constant(f"{prefix}beta", module.beta)], f"{prefix}bz")
    positive = graph.op("Relu", [bz], f"{prefix}relu")
    decay = graph.op(
        "Exp",
        [graph.op("Neg", [graph.op("Abs", [bz], f"{prefix}abs")], f"{prefix}neg")],
        f"{prefix}exp",
    )
    log_term = graph.op(
        "Log",
        [graph.op("Add", [decay, graph.constant(f"{prefix}one", 1.0)], f"{prefix}one_plus")],
        f"{prefix}log",
    )
    smooth = graph.op(
        "Div",
        [
            graph.op("Add", [positive, log_term], f"{prefix}sum"),
            graph.constant(f"{prefix}beta_div", module.beta),
        ],
        f"{prefix}smooth",
    )
    linear = graph.op(
        "Greater", [bz, graph.constant(f"{prefix}threshold", module.threshold)], f"{prefix}linear"
    )
    return graph.op("Where", [linear, x, smooth], f"{prefix}softplus")


def _positive(graph: _Graph, x: str, prefix: str) -> str:
    """The boolean tensor x > 0."""
    return graph.op("Greater", [x, graph.constant(f"{prefix}zero", 0.0)], f"{prefix}positive")


def _softmax_axis(module: act.Activation, shape: list[Any]) -> int:
    return act._softmax_dim(len(shape), module.dim, f"export: {type(module).__name__}")


def _simple(op_type: str) -> Callable[..., str]:
    """An exporter for an activation that is one ONNX operator without attributes."""

    def export(graph: _Graph, module: Module, x: str, shape: list[Any], prefix: str) -> str:
        return graph.op(op_type, [x], f"{prefix}{op_type.lower()}")

    return export


def _step(graph: _Graph, module: act.Step, x: str, shape: list[Any], prefix: str) -> str:
    # The notes' step: 1 where z >= 0 (1 at 0 too).
    at_least_zero = graph.op(
        "GreaterOrEqual", [x, graph.constant(f"{prefix}zero", 0.0)], f"{prefix}non_negative"
    )
    return graph.op("Cast", [at_least_zero], f"{prefix}step", to=graph.element_type)


def _leaky_relu(graph: _Graph, module: act.LeakyReLU, x: str, shape: list[Any], prefix: str) -> str:
    if graph.dtype == np.float32:
        return graph.op("LeakyRelu", [x], f"{prefix}leaky_relu", alpha=float(module.negative_slope))
    # LeakyRelu's alpha is a float32 attribute: spell it out to keep a float64 slope.
    negative = graph.op(
        "Mul", [x, graph.constant(f"{prefix}slope", module.negative_slope)], f"{prefix}negative"
    )
    return graph.op("Where", [_positive(graph, x, prefix), x, negative], f"{prefix}leaky_relu")


def _elu(graph: _Graph, module: act.ELU, x: str, shape: list[Any], prefix: str) -> str:
    if graph.dtype == np.float32:
        return graph.op("Elu", [x], f"{prefix}elu", alpha=float(module.alpha))
    # onnxruntime has no float64 Elu kernel (and alpha is a float32 attribute).
    zero = graph.constant(f"{prefix}zero", 0.0)
    exp = graph.op("Exp", [graph.op("Min", [x, zero], f"{prefix}min")], f"{prefix}exp")
    expm1 = graph.op("Sub", [exp, graph.constant(f"{prefix}one", 1.0)], f"{prefix}expm1")
    negative = graph.op(
        "Mul", [expm1, graph.constant(f"{prefix}alpha", module.alpha)], f"{prefix}negative"
    )
    return graph.op("Where", [_positive(graph, x, prefix), x, negative], f"{prefix}elu")


def _softmax(graph: _Graph, module: act.Softmax, x: str, shape: list[Any], prefix: str) -> str:
    return graph.op("Softmax", [x], f"{prefix}softmax", axis=_softmax_axis(module, shape))


def _log_softmax(
    graph: _Graph, module: act.LogSoftmax, x: str, shape: list[Any], prefix: str
) -> str:
    return graph.op("LogSoftmax", [x], f"{prefix}log_softmax", axis=_softmax_axis(module, shape))


def _dropout(graph: _Graph, module: Module, x: str, shape: list[Any], prefix: str) -> str:
    return graph.op("Identity", [x], f"{prefix}dropout")  # identity in eval mode


def _notes_dropout(graph: _Graph, module: Module, x: str, shape: list[Any], prefix: str) -> str:
    # Evaluation mode: every activation times the keep probability (the notes' dropout).
    keep = graph.constant(f"{prefix}keep_prob", module.keep_prob)
    return graph.op("Mul", [x, keep], f"{prefix}notes_dropout")


def _sequential(graph: _Graph, module: Module, x: str, shape: list[Any], prefix: str) -> str:
    for index, (_, child) in enumerate(module.forward_chain()):
        x = _module(graph, child, x, shape, f"{prefix}{index}.")
    return x


#: How each module type of ``mytorch.nn.registry`` becomes ONNX operators (evaluation
#: mode): ``exporter(graph, module, x, shape, prefix) -> name of the output``. The
#: course's layers export as the core class they extend.
_EXPORTERS: dict[str, Callable[..., str]] = {
    "Sequential": _sequential,
    "Linear": _linear,
    "BatchNorm1d": _batchnorm,
    "Dropout": _dropout,
    "NotesDropout": _notes_dropout,
    "Identity": _simple("Identity"),
    "Sigmoid": _simple("Sigmoid"),
    "Tanh": _simple("Tanh"),
    "ReLU": _simple("Relu"),
    "Step": _step,
    "LeakyReLU": _leaky_relu,
    "ELU": _elu,
    "GELU": lambda graph, module, x, shape, prefix: _gelu(graph, module, x, prefix),
    "Softplus": lambda graph, module, x, shape, prefix: _softplus(graph, module, x, prefix),
    "Softmax": _softmax,
    "LogSoftmax": _log_softmax,
}


def _module(graph: _Graph, module: Module, x: str, shape: list[Any], prefix: str) -> str:
    """Add ``module``'s evaluation-mode computation on ``x``; return the output's name."""
    try:
        exporter = _EXPORTERS[registry.core_type_name(module)]
    except (TypeError, KeyError):
        raise TypeError(
            f"export: cannot export a {type(module).__name__}; expected Sequential, Linear, "
            "BatchNorm1d, Dropout, NotesDropout or an activation of mytorch.activation"
        ) from None
    return exporter(graph, module, x, shape, prefix)


def _expect_features(
    module: Module, shape: list[Any], features: int, axis: int, prefix: str
) -> None:
    """Raise unless the module takes inputs of ``len(shape)`` axes (it declares the ranks
    it takes as ``input_ndim``: None for any) with ``features`` on ``axis``."""
    ranks = module.input_ndim
    ranks = (ranks,) if isinstance(ranks, int) else ranks
    if (ranks is None or len(shape) in ranks) and shape[axis] == features:
        return
    if len(shape) == 2 or ranks == (2,):
        expected = f"(N, {features})"
    elif axis == 1:  # BatchNorm1d
        expected = f"(N, {features}) or (N, {features}, L)"
    else:
        expected = f"(N, ..., {features})"
    raise ValueError(
        f"export: layer '{prefix.rstrip('.') or type(module).__name__}' "
        f"({type(module).__name__}) expects input of shape {expected}, "
        f"got (N, {', '.join(str(s) for s in shape[1:])})"
    )


def _check_input_shape(input_shape: Any) -> list[Any]:
    """(N, features, ...) with N anything (it becomes the dynamic 'batch' dimension)."""
    if isinstance(input_shape, (int, np.integer)) and not isinstance(input_shape, bool):
        input_shape = (None, int(input_shape))
    try:
        shape = list(input_shape)
    except TypeError:
        shape = None
    if (
        not shape
        or len(shape) < 2
        or not all(
            isinstance(s, (int, np.integer)) and not isinstance(s, bool) and s > 0
            for s in shape[1:]
        )
    ):
        raise ValueError(
            f"export: expected input_shape (batch, n_features, ...) with "
            f"positive sizes after the batch, or an int n_features, "
            f"got {input_shape!r}"
        )
    return ["batch", *(int(s) for s in shape[1:])]


def _preprocessing(graph: _Graph, scaling: Any, x: str, shape: list[Any]) -> str:
    """The stored pre-processing as the graph's first nodes: Sub (mean), Div (std),
    MatMul (PCA or whitening matrix), the parts it has."""
    try:
        parts = scaling_parts(scaling)
    except ValueError as error:
        raise ValueError(f"export: cannot export the pre-processing: {error}") from None
    features = parts["mean"].shape[0]
    if len(shape) != 2 or shape[1] != features:
        raise ValueError(
            f"export: the pre-processing takes inputs of shape (N, {features}), got "
            f"input_shape (N, {', '.join(str(s) for s in shape[1:])})"
        )
    x = graph.op("Sub", [x, graph.constant("preprocess_mean", parts["mean"])], "preprocess_sub")
    if "std" in parts:
        x = graph.op("Div", [x, graph.constant("preprocess_std", parts["std"])], "preprocess_div")
    if "matrix" in parts:
        matrix = graph.constant("preprocess_matrix", parts["matrix"])
        x = graph.op("MatMul", [x, matrix], "preprocess_matmul")
        shape[1] = parts["matrix"].shape[1]
    return x


def export(
    model: Module,
    path: str | os.PathLike,
    input_shape: Any,
    *,
    dtype: Any = np.float32,
    opset: int = DEFAULT_OPSET,
    preprocessing: dict | None = None,
) -> onnx.ModelProto:
    """Write ``model``'s evaluation-mode computation to ``path`` as an ONNX model.

    Parameters
    ----------
    model : Module
        An ``nn.Sequential`` (nested ones too) or single layer of ``Linear`` (either
        API), ``BatchNorm1d`` / the course's ``BatchNorm``, ``Dropout`` and the
        activations of :mod:`mytorch.activation`. Exported as in ``model.eval()``
        (running statistics, no dropout), whatever its current mode.
    path : str or path-like
        The ``.onnx`` file to write (atomically; missing directories are created).
    input_shape : tuple or int
        Shape of one input batch, ``(N, n_features)``, or the more axes that the first
        layer takes (``(N, ..., in_features)`` for ``nn.Linear``, ``(N, C, L)`` for
        ``nn.BatchNorm1d``); ``N`` (any value, e.g. None) becomes the dynamic dimension
        ``'batch'``. An int means ``(None, n_features)``.
    dtype : numpy dtype
        Element type of the graph: float32 (the default, what runtimes expect) or
        float64; the weights are cast to it.
    opset : int
        ONNX opset to target, >= 13 (default 17).
    preprocessing : dict or None
        The pre-processing ``mytorch train --preprocess`` (or ``--standardize``) fitted
        and stored in the model file's metadata, ``header["metadata"]["scaling"]``:
        put in front of the model as ``Sub`` (mean), ``Div`` (std) and ``MatMul`` (PCA or
        whitening matrix), so the ONNX model takes the raw features; ``input_shape``
        is then (N, raw features).

    Returns
    -------
    onnx.ModelProto
        The model that was written, already checked by ``onnx.checker``.

    Raises
    ------
    TypeError
        If a layer has no ONNX form or ``dtype`` is not float32/float64.
    ValueError
        If ``input_shape`` does not fit the first layer (or the pre-processing), the
        pre-processing is malformed, or ``opset`` is out of range.

    Notes
    -----
    Graph input ``'input'`` has shape (batch, n_features, ...) and output ``'output'``
    the model's output shape. The ONNX file holds only operators of the default
    domain and the weights; nothing from MyTorch is needed to run it. In a float64
    graph, LeakyReLU and ELU are spelled out (their ONNX ``alpha`` is a float32
    attribute, and onnxruntime has no float64 ``Elu``), and the exact GELU computes
    ``erf`` in float32 (onnxruntime has no float64 ``Erf``; error about 1e-7).
    """
    if not isinstance(model, Module):
        raise TypeError(f"export: expected a mytorch Module, got {type(model).__name__}")
    try:
        resolved = np.dtype(dtype)
    except TypeError:
        resolved = None
    if resolved not in _ELEMENT_TYPES:
        raise TypeError(f"export: expected dtype float32 or float64, got {dtype!r}")
    newest = onnx.defs.onnx_opset_version()
    if (
        isinstance(opset, bool)
        or not isinstance(opset, (int, np.integer))
        or not MIN_OPSET <= opset <= newest
    ):
        raise ValueError(f"export: expected opset in [{MIN_OPSET}, {newest}], got {opset!r}")
    shape = _check_input_shape(input_shape)
    graph = _Graph(resolved, int(opset))
    input_info = helper.make_tensor_value_info("input", graph.element_type, list(shape))
    x = "input" if preprocessing is None else _preprocessing(graph, preprocessing, "input", shape)
    output = _module(graph, model, x, shape, "")
    # Name the last node's output 'output' (an Identity when the model is empty).
    if graph.nodes and graph.nodes[-1].output[0] == output:
        graph.nodes[-1].output[0] = "output"
    else:
        graph.nodes.append(helper.make_node("Identity", [output], ["output"], name="output"))
    output_info = helper.make_tensor_value_info("output", graph.element_type, list(shape))
    onnx_graph = helper.make_graph(
        graph.nodes,
        "mytorch_model",
        [input_info],
        [output_info],
        initializer=graph.initializers,
        doc_string=repr(model),
    )
    opset_ids = [helper.make_opsetid("", int(opset))]
    proto = helper.make_model(
        onnx_graph,
        opset_imports=opset_ids,
        producer_name="mytorch",
        producer_version=__version__,
        ir_version=helper.find_min_ir_version_for(opset_ids),
    )
    onnx.checker.check_model(proto, full_check=True)
    data = proto.SerializeToString()
    atomic_write(path, lambda file: file.write(data))
    return proto
