r"""Weight initialisation, as ``torch.nn.init``, seeded by an explicit numpy ``Generator``.

Every ``*_`` function fills an array (or a :class:`~mytorch.parameter.Parameter`'s
``data``) in place and returns what it was given. Random ones take ``rng``: a
``numpy.random.Generator``, an int seed, or ``None`` for fresh OS entropy; there is no
global random state. Values are drawn in float64 and then stored in the array's dtype,
so a float32 and a float64 array filled from the same seed hold the same numbers up to
rounding.

Fans follow PyTorch: for a weight of shape ``(out_features, in_features)`` (how
``Linear.weight`` is stored) ``fan_in = in_features`` and ``fan_out = out_features``;
for more dimensions both are multiplied by the product of the trailing ones (the
receptive field of a convolution kernel).

The course builds its MLP from ``weight_init_fn(in_features, out_features)``, which
returns the course's ``W`` of shape ``(in, out)``; :func:`course_init` turns any of these
functions into one, e.g. ``course_init(xavier_uniform_, rng=0)``.

Examples
--------
>>> import numpy as np
>>> w = np.empty((3, 5))
>>> _ = kaiming_uniform_(w, nonlinearity="relu", rng=0)
>>> bool(np.abs(w).max() <= np.sqrt(6 / 5))
True
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

from mytorch.nn.parameter import Parameter
from mytorch.validation import check_dtype, check_number, check_positive_int

ArrayOrParameter = TypeVar("ArrayOrParameter", np.ndarray, Parameter)
RngLike = np.random.Generator | int | None

_LINEAR_FUNCTIONS = (
    "linear",
    "identity",
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
)


def as_generator(rng: RngLike, where: str = "init") -> np.random.Generator:
    """Return ``rng`` as a ``numpy.random.Generator``.

    Parameters
    ----------
    rng : numpy.random.Generator, int or None
        A generator (returned as is, so successive calls continue its stream), a seed
        (a fresh generator, so the same seed gives the same numbers), or ``None``
        (a fresh generator seeded from the operating system).
    where : str
        Name of the caller, for the error message.

    Raises
    ------
    TypeError
        If ``rng`` is none of these.
    """
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or (isinstance(rng, (int, np.integer)) and not isinstance(rng, bool)):
        return np.random.default_rng(rng)
    raise TypeError(
        f"{where}: expected rng to be a numpy.random.Generator, an int seed or None, "
        f"got {type(rng).__name__}"
    )


def _target(array: Any, where: str) -> np.ndarray:
    """The floating ndarray to fill: ``array`` itself or a Parameter's ``data``."""
    data = array.data if isinstance(array, Parameter) else array
    if not isinstance(data, np.ndarray):
        raise TypeError(
            f"{where}: expected a numpy.ndarray or a Parameter, got {type(array).__name__}"
        )
    if data.dtype.kind != "f":
        raise TypeError(f"{where}: expected a floating-point array, got dtype {data.dtype}")
    return data


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    r"""Return the recommended gain for a nonlinearity, as ``torch.nn.init.calculate_gain``.

    ============================  ==============================================
    nonlinearity                  gain
    ============================  ==============================================
    linear, identity, conv*       :math:`1`
    sigmoid                       :math:`1`
    tanh                          :math:`5/3`
    relu                          :math:`\sqrt{2}`
    leaky_relu                    :math:`\sqrt{2 / (1 + \text{negative\_slope}^2)}`
    selu                          :math:`3/4`
    ============================  ==============================================

    Parameters
    ----------
    nonlinearity : str
        The function's name (lower case, as above).
    param : float, optional
        ``negative_slope`` of leaky_relu (default 0.01).

    Returns
    -------
    float
        The gain.

    Raises
    ------
    ValueError
        For an unknown name or a bad slope.

    Examples
    --------
    >>> calculate_gain("tanh")
    1.6666666666666667
    """
    if nonlinearity in _LINEAR_FUNCTIONS or nonlinearity == "sigmoid":
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else check_number(param, "calculate_gain", "param")
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(
        f"calculate_gain: unsupported nonlinearity {nonlinearity!r}; expected one of "
        f"{', '.join(_LINEAR_FUNCTIONS)}, sigmoid, tanh, relu, leaky_relu, selu"
    )


def calculate_fan_in_and_fan_out(array: np.ndarray | Parameter) -> tuple[int, int]:
    """Return ``(fan_in, fan_out)`` of a weight, with PyTorch's convention.

    Parameters
    ----------
    array : numpy.ndarray or Parameter
        A weight of shape ``(out_features, in_features, *kernel)``, at least 2-D.

    Returns
    -------
    tuple of int
        ``(in_features * prod(kernel), out_features * prod(kernel))``.

    Raises
    ------
    ValueError
        If the array has fewer than 2 dimensions (a bias has no fan).

    Examples
    --------
    >>> calculate_fan_in_and_fan_out(np.empty((10, 784)))
    (784, 10)
    """
    where = "calculate_fan_in_and_fan_out"
    return _fans(_target(array, where), where)


def _fans(data: np.ndarray, where: str) -> tuple[int, int]:
    if data.ndim < 2:
        raise ValueError(
            f"{where}: expected a weight with at least 2 dimensions "
            f"(out_features, in_features, ...), got shape {data.shape}; a bias has no fan"
        )
    receptive_field = math.prod(data.shape[2:])
    return data.shape[1] * receptive_field, data.shape[0] * receptive_field


def _fan(data: np.ndarray, mode: str, where: str) -> int:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"{where}: expected mode 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = _fans(data, where)
    return fan_in if mode == "fan_in" else fan_out


def _fill_normal(data: np.ndarray, mean: float, std: float, rng: RngLike, where: str) -> None:
    generator = as_generator(rng, where)
    data[...] = generator.normal(mean, std, size=data.shape)


def _fill_uniform(data: np.ndarray, low: float, high: float, rng: RngLike, where: str) -> None:
    generator = as_generator(rng, where)
    data[...] = generator.uniform(low, high, size=data.shape)


def uniform_(
    array: ArrayOrParameter, a: float = 0.0, b: float = 1.0, rng: RngLike = None
) -> ArrayOrParameter:
    r"""Fill ``array`` with draws from :math:`\mathcal{U}(a, b)`.

    Parameters
    ----------
    array : numpy.ndarray or Parameter
        Any shape, floating dtype; filled in place.
    a, b : float
        Bounds, ``a <= b``.
    rng : numpy.random.Generator, int or None
        Source of randomness (see :func:`as_generator`).

    Returns
    -------
    numpy.ndarray or Parameter
        ``array``.
    """
    where = "uniform_"
    data = _target(array, where)
    a = check_number(a, where, "a")
    b = check_number(b, where, "b", low=a)
    _fill_uniform(data, a, b, rng, where)
    return array


def normal_(
    array: ArrayOrParameter, mean: float = 0.0, std: float = 1.0, rng: RngLike = None
) -> ArrayOrParameter:
    r"""Fill ``array`` with draws from :math:`\mathcal{N}(\text{mean}, \text{std}^2)`.

    Parameters
    ----------
    array : numpy.ndarray or Parameter
        Any shape, floating dtype; filled in place.
    mean : float
        Mean.
    std : float
        Standard deviation, >= 0.
    rng : numpy.random.Generator, int or None
        Source of randomness (see :func:`as_generator`).

    Returns
    -------
    numpy.ndarray or Parameter
        ``array``.
    """
    where = "normal_"
    data = _target(array, where)
    mean = check_number(mean, where, "mean")
    std = check_number(std, where, "std", low=0.0)
    _fill_normal(data, mean, std, rng, where)
    return array


def constant_(array: ArrayOrParameter, val: float) -> ArrayOrParameter:
    """Fill ``array`` with ``val``, in place, and return it."""
    data = _target(array, "constant_")
    data.fill(check_number(val, "constant_", "val"))
    return array


def zeros_(array: ArrayOrParameter) -> ArrayOrParameter:
    """Fill ``array`` with zeros, in place, and return it."""
    _target(array, "zeros_").fill(0)
    return array


def ones_(array: ArrayOrParameter) -> ArrayOrParameter:
    """Fill ``array`` with ones, in place, and return it."""
    _target(array, "ones_").fill(1)
    return array


def xavier_uniform_(
    array: ArrayOrParameter, gain: float = 1.0, rng: RngLike = None
) -> ArrayOrParameter:
    r"""Glorot & Bengio (2010) uniform initialisation.

    Draws from :math:`\mathcal{U}(-a, a)` with
    :math:`a = \text{gain} \sqrt{6 / (\text{fan\_in} + \text{fan\_out})}`, so the
    variance is :math:`\text{gain}^2 \cdot 2 / (\text{fan\_in} + \text{fan\_out})`.

    Parameters
    ----------
    array : numpy.ndarray or Parameter
        A weight of shape ``(out_features, in_features, ...)``; filled in place.
    gain : float
        Scale factor (see :func:`calculate_gain`), >= 0. Default 1.
    rng : numpy.random.Generator, int or None
        Source of randomness (see :func:`as_generator`).

    Returns
    -------
    numpy.ndarray or Parameter
        ``array``.
    """
    where = "xavier_uniform_"
    data = _target(array, where)
    gain = check_number(gain, where, "gain", low=0.0)
    if data.size == 0:
        return array  # nothing to fill (and no fan to divide by)
    fan_in, fan_out = _fans(data, where)
    bound = math.sqrt(3.0) * gain * math.sqrt(2.0 / float(fan_in + fan_out))
    _fill_uniform(data, -bound, bound, rng, where)
    return array


def xavier_normal_(
    array: ArrayOrParameter, gain: float = 1.0, rng: RngLike = None
) -> ArrayOrParameter:
    r"""Glorot & Bengio (2010) normal initialisation.

    Draws from :math:`\mathcal{N}(0, \sigma^2)` with
    :math:`\sigma = \text{gain} \sqrt{2 / (\text{fan\_in} + \text{fan\_out})}`.

    Parameters
    ----------
    array : numpy.ndarray or Parameter
        A weight of shape ``(out_features, in_features, ...)``; filled in place.
    gain : float
        Scale factor (see :func:`calculate_gain`), >= 0. Default 1.
    rng : numpy.random.Generator, int or None
        Source of randomness (see :func:`as_generator`).

    Returns
    -------
    numpy.ndarray or Parameter
        ``array``.
    """
    where = "xavier_normal_"
    data = _target(array, where)
    gain = check_number(gain, where, "gain", low=0.0)
    if data.size == 0:
        return array
    fan_in, fan_out = _fans(data, where)
    _fill_normal(data, 0.0, gain * math.sqrt(2.0 / float(fan_in + fan_out)), rng, where)
    return array


def kaiming_uniform_(
    array: ArrayOrParameter,
    a: float = 0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    rng: RngLike = None,
) -> ArrayOrParameter:
    r"""He et al. (2015) uniform initialisation.

    Draws from :math:`\mathcal{U}(-b, b)` with :math:`b = \text{gain} \sqrt{3 / \text{fan}}`,
    so the standard deviation is :math:`\text{gain} / \sqrt{\text{fan}}`.

    Parameters
    ----------
    array : numpy.ndarray or Parameter
        A weight of shape ``(out_features, in_features, ...)``; filled in place.
    a : float
        Negative slope of the leaky ReLU after this layer (used with ``"leaky_relu"``).
    mode : {"fan_in", "fan_out"}
        ``"fan_in"`` keeps the variance of the activations in the forward pass,
        ``"fan_out"`` that of the gradients in the backward pass.
    nonlinearity : str
        Name for :func:`calculate_gain`; PyTorch's default ``"leaky_relu"`` with ``a=0``
        gives the ReLU gain :math:`\sqrt 2`.
    rng : numpy.random.Generator, int or None
        Source of randomness (see :func:`as_generator`).

    Returns
    -------
    numpy.ndarray or Parameter
        ``array``.
    """
    where = "kaiming_uniform_"
    data = _target(array, where)
    if data.size == 0:
        return array
    fan = _fan(data, mode, where)
    bound = math.sqrt(3.0) * calculate_gain(nonlinearity, a) / math.sqrt(fan)
    _fill_uniform(data, -bound, bound, rng, where)
    return array


def kaiming_normal_(
    array: ArrayOrParameter,
    a: float = 0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    rng: RngLike = None,
) -> ArrayOrParameter:
    r"""He et al. (2015) normal initialisation.

    Draws from :math:`\mathcal{N}(0, \sigma^2)` with
    :math:`\sigma = \text{gain} / \sqrt{\text{fan}}`. With ``nonlinearity="linear"`` and
    ``mode="fan_in"`` this is LeCun's rule, variance :math:`1/m` for :math:`m` inputs.

    Parameters
    ----------
    array : numpy.ndarray or Parameter
        A weight of shape ``(out_features, in_features, ...)``; filled in place.
    a : float
        Negative slope of the leaky ReLU after this layer (used with ``"leaky_relu"``).
    mode : {"fan_in", "fan_out"}
        Which fan divides the variance (see :func:`kaiming_uniform_`).
    nonlinearity : str
        Name for :func:`calculate_gain`.
    rng : numpy.random.Generator, int or None
        Source of randomness (see :func:`as_generator`).

    Returns
    -------
    numpy.ndarray or Parameter
        ``array``.
    """
    where = "kaiming_normal_"
    data = _target(array, where)
    if data.size == 0:
        return array
    fan = _fan(data, mode, where)
    _fill_normal(data, 0.0, calculate_gain(nonlinearity, a) / math.sqrt(fan), rng, where)
    return array


def notes_normal_(array: ArrayOrParameter, rng: RngLike = None) -> ArrayOrParameter:
    r"""The lecture notes' rule: each weight from a Gaussian with mean 0 and std :math:`1/m`.

    The notes (section 7.6, the SGD-NEURAL-NET pseudo-code and the paragraph after it)
    write :math:`W^l_{ij} \sim \text{Gaussian}(0, 1/m^l)` with :math:`m` the number of
    inputs to the unit, and say in words "a Gaussian (normal) distribution with mean 0
    and **standard deviation** (1/m)". This function follows those words:
    :math:`\sigma = 1/m`, variance :math:`1/m^2`, with :math:`m` = ``fan_in``.

    If :math:`1/m` is read as the variance (the usual meaning of the second argument of
    a Gaussian, and LeCun's rule, :math:`\sigma = 1/\sqrt m`), use
    ``kaiming_normal_(array, nonlinearity="linear")`` instead. The notes draw the
    biases :math:`W_0 \sim \text{Gaussian}(0, 1)`: ``normal_(bias, 0.0, 1.0, rng)``.

    Parameters
    ----------
    array : numpy.ndarray or Parameter
        A weight of shape ``(out_features, in_features, ...)``; filled in place.
    rng : numpy.random.Generator, int or None
        Source of randomness (see :func:`as_generator`).

    Returns
    -------
    numpy.ndarray or Parameter
        ``array``.

    Examples
    --------
    >>> w = notes_normal_(np.empty((200, 100)), rng=0)
    >>> round(float(w.std()), 3)   # 1 / fan_in = 1 / 100
    0.01
    """
    where = "notes_normal_"
    data = _target(array, where)
    if data.size == 0:
        return array
    fan_in = _fan(data, "fan_in", where)
    _fill_normal(data, 0.0, 1.0 / fan_in, rng, where)
    return array


def course_init(
    init_fn: Callable[..., Any], rng: RngLike = None, dtype: Any = np.float64, **kwargs: Any
) -> Callable[[int, int], np.ndarray]:
    """Turn an initialiser into the course's ``weight_init_fn(in_features, out_features)``.

    The course's MLP (``hw1``) calls ``weight_init_fn(d0, d1)`` for each layer and uses
    the result as ``W`` of shape ``(d0, d1) = (in, out)``; PyTorch's fans are defined for
    the ``(out, in)`` layout. The returned function fills an ``(out, in)`` array with
    ``init_fn`` (so fan_in and fan_out mean what they mean in PyTorch) and returns its
    transpose: a view of shape ``(in, out)`` whose ``.T`` is the C-ordered PyTorch-layout
    weight.

    Parameters
    ----------
    init_fn : callable
        One of this module's in-place initialisers, e.g. :func:`xavier_uniform_`.
    rng : numpy.random.Generator, int or None
        Made into one generator when ``course_init`` is called and shared by all calls of
        the returned function, so layer after layer gets fresh draws and the whole model
        is reproducible from one seed. Ignored by non-random initialisers.
    dtype : numpy dtype
        float64 (default) or float32.
    **kwargs
        Passed on to ``init_fn`` (e.g. ``nonlinearity="relu"``).

    Returns
    -------
    callable
        ``weight_init_fn(in_features: int, out_features: int) -> numpy.ndarray`` of shape
        ``(in_features, out_features)``.

    Examples
    --------
    >>> weight_init_fn = course_init(kaiming_normal_, rng=0, nonlinearity="relu")
    >>> W = weight_init_fn(784, 64)
    >>> W.shape
    (784, 64)
    """
    if not callable(init_fn):
        raise TypeError(f"course_init: expected init_fn to be callable, got {init_fn!r}")
    dtype = check_dtype(dtype, "course_init")
    generator = as_generator(rng, "course_init")
    takes_rng = init_fn not in (zeros_, ones_, constant_)

    def weight_init_fn(in_features: int, out_features: int) -> np.ndarray:
        d_in = check_positive_int(in_features, "weight_init_fn", "in_features")
        d_out = check_positive_int(out_features, "weight_init_fn", "out_features")
        weight = np.empty((d_out, d_in), dtype=dtype)
        if takes_rng:
            init_fn(weight, rng=generator, **kwargs)
        else:
            init_fn(weight, **kwargs)
        return weight.T

    weight_init_fn.__name__ = f"course_{getattr(init_fn, '__name__', 'init')}"
    weight_init_fn.__doc__ = (
        f"Return an (in_features, out_features) weight initialised by {weight_init_fn.__name__}."
    )
    return weight_init_fn
