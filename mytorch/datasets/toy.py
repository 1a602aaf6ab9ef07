"""Small 2-D data sets of the lecture notes' kind, for watching a network learn.

Five two-class problems, each drawn from a seeded generator so a run can be repeated:

``blobs``
    Two round clouds, one per class, on either side of the line x1 + x2 = 0: linearly
    separable, so a single linear layer (no hidden layer) solves it.
``xor``
    Four square patches, one per quadrant; the class is 1 where x1 and x2 have
    different signs. No line separates it: a network needs a hidden layer.
``moons``
    Two interleaving half circles (scikit-learn's ``make_moons``).
``circles``
    A small circle inside a large one (scikit-learn's ``make_circles``, factor 0.5).
``spirals``
    Two spiral arms wound around each other, 1.5 turns each: the hardest of the five.

All of them span roughly [-1.5, 1.5] in both coordinates, so one network size and
learning rate suit all; ``noise`` is the standard deviation of Gaussian noise added to
every coordinate.
"""

from __future__ import annotations

import numpy as np

from mytorch.validation import check_number, check_positive_int

__all__ = ["TOY_DATASETS", "make_toy"]

#: The names :func:`make_toy` knows.
TOY_DATASETS = ("blobs", "xor", "moons", "circles", "spirals")


def _blobs(n: int, label: int, rng: np.random.Generator) -> np.ndarray:
    # Uniform in a disc of radius 0.6 around (-1, -1) or (1, 1): the discs are
    # 1.6 apart, so without noise a margin of 0.8 surrounds the line x1 + x2 = 0.
    centre = np.array([1.0, 1.0]) * (1 if label else -1)
    radius = 0.6 * np.sqrt(rng.uniform(0.0, 1.0, n))
    angle = rng.uniform(0.0, 2 * np.pi, n)
    return centre + np.column_stack([radius * np.cos(angle), radius * np.sin(angle)])


def _xor(n: int, label: int, rng: np.random.Generator) -> np.ndarray:
    # Squares [0.1, 1] x [0.1, 1] in the quadrants of the class: a gap of 0.2 along
    # both axes keeps the classes apart when there is no noise.
    magnitude = rng.uniform(0.1, 1.0, (n, 2))
    first_sign = rng.choice([-1.0, 1.0], n)
    second_sign = first_sign * (-1.0 if label else 1.0)
    return magnitude * np.column_stack([first_sign, second_sign])


def _moons(n: int, label: int, rng: np.random.Generator) -> np.ndarray:
    t = rng.uniform(0.0, np.pi, n)
    if label == 0:
        points = np.column_stack([np.cos(t), np.sin(t)])
    else:
        points = np.column_stack([1.0 - np.cos(t), 0.5 - np.sin(t)])
    return points - np.array([0.5, 0.25])  # centre the pair on the origin


def _circles(n: int, label: int, rng: np.random.Generator) -> np.ndarray:
    t = rng.uniform(0.0, 2 * np.pi, n)
    radius = 0.5 if label else 1.0
    return radius * np.column_stack([np.cos(t), np.sin(t)])


def _spirals(n: int, label: int, rng: np.random.Generator) -> np.ndarray:
    # Radius grows linearly with the angle (an Archimedean spiral); the second arm is
    # the first turned by half a turn. sqrt spreads the points evenly along the arm.
    t = np.sqrt(rng.uniform(0.0, 1.0, n))
    angle = 3 * np.pi * t + (np.pi if label else 0.0)
    radius = 0.2 + 1.2 * t
    return radius[:, None] * np.column_stack([np.cos(angle), np.sin(angle)])


_MAKERS = {"blobs": _blobs, "xor": _xor, "moons": _moons, "circles": _circles, "spirals": _spirals}


def make_toy(
    name: str,
    n_samples: int = 200,
    noise: float = 0.1,
    rng: np.random.Generator | int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Draw one of the 2-D two-class data sets.

    Parameters
    ----------
    name : {'blobs', 'xor', 'moons', 'circles', 'spirals'}
        Which problem (see the module docstring for their shapes).
    n_samples : int
        Number of points, at least 2; the classes get ``n_samples // 2`` and the rest.
    noise : float
        Standard deviation of Gaussian noise added to each coordinate (>= 0). The
        shapes span about [-1.5, 1.5], so 0.1 blurs the edges and 0.3 overlaps them.
    rng : numpy.random.Generator or int or None
        Source of the points: an int or Generator gives the same data every time.

    Returns
    -------
    X : numpy.ndarray
        Points, shape (n_samples, 2), float64, in random order.
    y : numpy.ndarray
        Class of each point, 0 or 1, shape (n_samples,), int64.

    Raises
    ------
    ValueError
        If ``name`` is unknown, ``n_samples`` < 2 or ``noise`` < 0.

    Examples
    --------
    >>> X, y = make_toy("xor", 8, noise=0.0, rng=0)
    >>> X.shape, X.dtype, y.dtype
    ((8, 2), dtype('float64'), dtype('int64'))
    >>> bool(np.all((X[:, 0] * X[:, 1] < 0) == (y == 1)))
    True
    """
    if name not in _MAKERS:
        raise ValueError(f"make_toy: expected name in {TOY_DATASETS}, got {name!r}")
    n_samples = check_positive_int(n_samples, "make_toy", "n_samples")
    if n_samples < 2:
        raise ValueError(
            f"make_toy: expected n_samples >= 2 (one point per class), got {n_samples}"
        )
    noise = check_number(noise, "make_toy", "noise", low=0)
    generator = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    counts = (n_samples // 2, n_samples - n_samples // 2)
    X = np.concatenate(
        [_MAKERS[name](count, label, generator) for label, count in enumerate(counts)]
    )
    y = np.repeat(np.arange(2, dtype=np.int64), counts)
    if noise > 0:
        X = X + generator.normal(0.0, noise, X.shape)
    # Shuffled, so that the first rows (a probe batch, a small training split) hold both
    # classes.
    order = generator.permutation(n_samples)
    return np.ascontiguousarray(X[order], dtype=np.float64), y[order]
