"""Data augmentation for images stored as rows: random shifts, flips, erasing and noise.

A network that sees each training image a little moved, mirrored or partly hidden learns
what does not depend on those changes: the usual regulariser for images, and, with the
notes' input noise, the way an MLP gets past its training set on Fashion-MNIST. Each
transform takes a batch of flattened images (N, H * W) and a random generator and
returns a new batch; every random choice is drawn for the whole batch at once (no loop
over samples). ``Compose`` chains them, as torchvision's ``transforms.Compose`` does.

Augmentation is for training batches only: the ``Trainer`` applies its ``augment`` to
the batches it trains on, never to validation or test data.

Examples
--------
>>> import numpy as np
>>> from mytorch.augmentation import Compose, RandomHorizontalFlip, RandomTranslate
>>> augment = Compose([RandomTranslate(2), RandomHorizontalFlip()])
>>> batch = np.zeros((4, 784), np.float32)
>>> augment(batch, np.random.default_rng(0)).shape
(4, 784)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from mytorch.validation import check_float_array, check_number, check_positive_int

__all__ = [
    "Compose",
    "GaussianNoise",
    "RandomErasing",
    "RandomHorizontalFlip",
    "RandomTranslate",
    "Transform",
    "image_shape",
]


def image_shape(n_features: int, shape: tuple[int, int] | None = None) -> tuple[int, int]:
    """(H, W) of images stored as rows of ``n_features`` values.

    ``shape`` if given (it must multiply to ``n_features``), else the square
    side x side (28 x 28 for MNIST-like rows of 784).

    Raises
    ------
    ValueError
        If no such shape exists.
    """
    if shape is not None:
        height, width = (int(s) for s in shape)
        if height * width != n_features:
            raise ValueError(
                f"augmentation: image_shape {shape} holds {height * width} pixels, but the "
                f"rows have {n_features} features"
            )
        return height, width
    side = math.isqrt(n_features)
    if side * side != n_features:
        raise ValueError(
            f"augmentation: rows of {n_features} features are not square images; give "
            "image_shape=(height, width)"
        )
    return side, side


class Transform:
    """Base class: ``transform(batch, rng)`` returns a new, changed batch.

    Parameters
    ----------
    image_shape : (int, int) or None
        (H, W) of each image; None infers a square from the row length.
    """

    def __init__(self, image_shape: tuple[int, int] | None = None) -> None:
        self.image_shape = image_shape

    def __call__(self, batch: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        where = type(self).__name__
        check_float_array(batch, where, ndim=2, allow_empty=True)
        if not isinstance(rng, np.random.Generator):
            raise TypeError(f"{where}: expected rng to be a numpy.random.Generator, got {rng!r}")
        height, width = image_shape(batch.shape[1], self.image_shape)
        images = batch.reshape(len(batch), height, width)
        return self.apply(images, rng).reshape(batch.shape)

    def apply(self, images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """The change on images (N, H, W); a new array. Subclasses implement it."""
        raise NotImplementedError(f"{type(self).__name__} does not implement apply()")

    def get_config(self) -> dict[str, Any]:
        """The constructor settings (for the run's config and model files)."""
        return {}

    def __repr__(self) -> str:
        settings = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({settings})"


class RandomTranslate(Transform):
    """Shift each image by up to ``max_shift`` pixels in each direction, filling with ``fill``.

    Each image draws its own shift (dy, dx), each uniform over the integers
    [-max_shift, max_shift]; pixels moved in from outside the image take ``fill``.

    Parameters
    ----------
    max_shift : int
        The largest shift, in pixels (>= 1).
    fill : float
        The value of pixels shifted in (0: black background).
    image_shape : (int, int) or None
        As for :class:`Transform`.
    """

    def __init__(
        self, max_shift: int, fill: float = 0.0, image_shape: tuple[int, int] | None = None
    ) -> None:
        super().__init__(image_shape)
        self.max_shift = check_positive_int(max_shift, "RandomTranslate", "max_shift")
        self.fill = check_number(fill, "RandomTranslate", "fill")

    def apply(self, images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        n, height, width = images.shape
        k = self.max_shift
        shifts = rng.integers(-k, k + 1, size=(n, 2))
        padded = np.full((n, height + 2 * k, width + 2 * k), self.fill, images.dtype)
        padded[:, k : k + height, k : k + width] = images
        # The window of each image starts at (k - dy, k - dx) in its padded copy.
        rows = (np.arange(height) + k)[None, :] - shifts[:, :1]  # (N, H)
        cols = (np.arange(width) + k)[None, :] - shifts[:, 1:]  # (N, W)
        return padded[np.arange(n)[:, None, None], rows[:, :, None], cols[:, None, :]]

    def get_config(self) -> dict[str, Any]:
        return {"max_shift": self.max_shift, "fill": self.fill}


class RandomHorizontalFlip(Transform):
    """Mirror each image left to right with probability ``p``.

    Parameters
    ----------
    p : float
        The probability of a flip, in [0, 1].
    image_shape : (int, int) or None
        As for :class:`Transform`.
    """

    def __init__(self, p: float = 0.5, image_shape: tuple[int, int] | None = None) -> None:
        super().__init__(image_shape)
        self.p = check_number(p, "RandomHorizontalFlip", "p", low=0.0, high=1.0)

    def apply(self, images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        flip = rng.random(len(images)) < self.p
        return np.where(flip[:, None, None], images[:, :, ::-1], images)

    def get_config(self) -> dict[str, Any]:
        return {"p": self.p}


class RandomErasing(Transform):
    """Hide a random rectangle of each image with probability ``p`` (cutout).

    As torchvision's ``RandomErasing``: the rectangle's area is a fraction of the image
    drawn uniformly from ``scale``, its aspect ratio h / w log-uniformly from ``ratio``;
    its position is uniform among those where it fits; it is filled with ``value``. A
    draw whose rectangle would not fit is clipped to the image.

    Parameters
    ----------
    p : float
        Probability that an image gets a rectangle, in [0, 1].
    scale : (float, float)
        Range of the erased fraction of the area, in (0, 1].
    ratio : (float, float)
        Range of the aspect ratio, > 0.
    value : float
        The fill.
    image_shape : (int, int) or None
        As for :class:`Transform`.
    """

    def __init__(
        self,
        p: float = 0.5,
        scale: Sequence[float] = (0.02, 0.33),
        ratio: Sequence[float] = (0.3, 3.3),
        value: float = 0.0,
        image_shape: tuple[int, int] | None = None,
    ) -> None:
        super().__init__(image_shape)
        where = "RandomErasing"
        self.p = check_number(p, where, "p", low=0.0, high=1.0)
        if len(scale) != 2 or len(ratio) != 2:
            raise ValueError(f"{where}: expected scale and ratio to be pairs (low, high)")
        low, high = (check_number(s, where, "scale", low=0.0, high=1.0) for s in scale)
        if not 0 < low <= high:
            raise ValueError(f"{where}: expected 0 < scale[0] <= scale[1], got {tuple(scale)}")
        self.scale = (low, high)
        low, high = (check_number(r, where, "ratio", low=0.0, low_inclusive=False) for r in ratio)
        if low > high:
            raise ValueError(f"{where}: expected ratio[0] <= ratio[1], got {tuple(ratio)}")
        self.ratio = (low, high)
        self.value = check_number(value, where, "value")

    def apply(self, images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        n, height, width = images.shape
        erase = rng.random(n) < self.p
        area = rng.uniform(*self.scale, size=n) * height * width
        aspect = np.exp(rng.uniform(np.log(self.ratio[0]), np.log(self.ratio[1]), size=n))
        h = np.clip(np.rint(np.sqrt(area * aspect)), 1, height).astype(np.int64)
        w = np.clip(np.rint(np.sqrt(area / aspect)), 1, width).astype(np.int64)
        top = np.floor(rng.random(n) * (height - h + 1)).astype(np.int64)
        left = np.floor(rng.random(n) * (width - w + 1)).astype(np.int64)
        r = np.arange(height)[None, :, None]
        c = np.arange(width)[None, None, :]
        inside = (
            (r >= top[:, None, None])
            & (r < (top + h)[:, None, None])
            & (c >= left[:, None, None])
            & (c < (left + w)[:, None, None])
            & erase[:, None, None]  # type: ignore[index]  # stubs: random(n) as a float
        )
        return np.where(inside, images.dtype.type(self.value), images)

    def get_config(self) -> dict[str, Any]:
        return {
            "p": self.p,
            "scale": list(self.scale),
            "ratio": list(self.ratio),
            "value": self.value,
        }


class GaussianNoise(Transform):
    """Add N(0, std^2) noise to every pixel (the notes' "adding noise" regulariser).

    Parameters
    ----------
    std : float
        The noise's standard deviation (>= 0).
    """

    def __init__(self, std: float) -> None:
        super().__init__(None)
        self.std = check_number(std, "GaussianNoise", "std", low=0.0)

    def __call__(self, batch: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        check_float_array(batch, "GaussianNoise", ndim=None, allow_empty=True)
        return batch + rng.normal(0.0, self.std, batch.shape).astype(batch.dtype)

    def get_config(self) -> dict[str, Any]:
        return {"std": self.std}


class Compose(Transform):
    """Apply ``transforms`` one after another, as torchvision's ``Compose``.

    Parameters
    ----------
    transforms : sequence of Transform
    """

    def __init__(self, transforms: Sequence[Transform]) -> None:
        super().__init__(None)
        transforms = list(transforms)
        for index, transform in enumerate(transforms):
            if not callable(transform):
                raise TypeError(
                    f"Compose: expected transforms, got {type(transform).__name__} at {index}"
                )
        self.transforms = transforms

    def __call__(self, batch: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        for transform in self.transforms:
            batch = transform(batch, rng)
        return batch

    def __repr__(self) -> str:
        return f"Compose({self.transforms!r})"
