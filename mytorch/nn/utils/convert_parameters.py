"""Parameters as one flat vector and back (``torch.nn.utils.parameters_to_vector``)."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from mytorch.nn.parameter import Parameter

__all__ = ["parameters_to_vector", "vector_to_parameters"]


def _parameter_list(parameters: Iterable[Parameter], where: str) -> list[Parameter]:
    if isinstance(parameters, Parameter):
        raise TypeError(f"{where}: expected an iterable of Parameters, got a single Parameter")
    if isinstance(parameters, np.ndarray):
        raise TypeError(f"{where}: expected an iterable of Parameters, got a numpy.ndarray")
    params = list(parameters)
    for index, param in enumerate(params):
        if not isinstance(param, Parameter):
            raise TypeError(
                f"{where}: expected Parameters, got {type(param).__name__} at position {index}"
            )
    return params


def parameters_to_vector(parameters: Iterable[Parameter]) -> np.ndarray:
    """Concatenate the parameters' values into one flat vector, in order.

    Parameters
    ----------
    parameters : iterable of Parameter
        E.g. ``model.parameters()``.

    Returns
    -------
    numpy.ndarray
        Shape (total number of entries,), a new array of the parameters' dtype.

    Raises
    ------
    TypeError
        If an element is not a Parameter, or the dtypes differ (PyTorch refuses a mix
        too).

    Examples
    --------
    >>> from mytorch import nn
    >>> parameters_to_vector(nn.Linear(3, 2, rng=0).parameters()).shape
    (8,)
    """
    params = _parameter_list(parameters, "parameters_to_vector")
    dtypes = {p.data.dtype for p in params}
    if len(dtypes) > 1:
        names = sorted(map(str, dtypes))
        raise TypeError(f"parameters_to_vector: expected parameters of one dtype, got {names}")
    if not params:
        return np.zeros(0)
    return np.concatenate([p.data.reshape(-1) for p in params])


def vector_to_parameters(vec: np.ndarray, parameters: Iterable[Parameter]) -> None:
    """Copy the entries of ``vec`` into the parameters, in order (the inverse of
    :func:`parameters_to_vector`).

    Parameters
    ----------
    vec : numpy.ndarray
        Shape (total number of entries,).
    parameters : iterable of Parameter
        Written in place; each takes the next ``param.size`` entries, cast to its dtype.

    Raises
    ------
    TypeError
        If ``vec`` is not a 1-D numpy array.
    ValueError
        If its length is not the parameters' total size.
    """
    where = "vector_to_parameters"
    if not isinstance(vec, np.ndarray) or vec.ndim != 1:
        got = f"array of shape {vec.shape}" if isinstance(vec, np.ndarray) else type(vec).__name__
        raise TypeError(f"{where}: expected vec to be a 1-D numpy.ndarray, got {got}")
    params = _parameter_list(parameters, where)
    total = sum(p.data.size for p in params)
    if vec.size != total:
        raise ValueError(
            f"{where}: vec has {vec.size} entries but the parameters have {total} in all"
        )
    start = 0
    for param in params:
        stop = start + param.data.size
        param.data[...] = vec[start:stop].reshape(param.data.shape)
        start = stop
