"""The training batches' augmentation a run's settings ask for (``--augment-*``).

Built from :mod:`mytorch.augmentation`'s transforms, and run in pixel values when the
run pre-processes its inputs (the shifted-in and erased pixels are the black background).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mytorch.augmentation import (
    Compose,
    RandomErasing,
    RandomHorizontalFlip,
    RandomTranslate,
    Transform,
    image_shape,
)
from mytorch.config import TrainConfig
from mytorch.workflows.build import scaling_parts

__all__ = ["build_augmentation"]


def build_augmentation(config: TrainConfig, n_features: int, scaling: dict | None = None) -> Any:
    """The augmentation of the training batches the config asks for, or None.

    In the order torchvision's usual pipeline has them: a random shift
    (``augment_shift``), a horizontal flip (``augment_flip``), random erasing
    (``augment_erase``), each on images of ``image_shape`` (a square if not given).
    The shifted-in pixels and the erased rectangles are 0, the black background of
    MNIST-like images: with ``scaling`` (``--preprocess center`` or ``standardize``) the
    batch is taken back to pixel values for the augmentation and scaled again after it;
    a whitened batch has no pixels to move (``whiten-pca``/``whiten-zca`` are refused).

    Parameters
    ----------
    config : TrainConfig
        ``augment_shift``, ``augment_flip``, ``augment_erase`` and ``image_shape``.
    n_features : int
        The length of each row (checked against the image shape here, before training).
    scaling : dict or None
        As :func:`~mytorch.workflows.build.fit_scaling` returns it.

    Returns
    -------
    callable or None
        ``augment(batch, rng)`` for :class:`mytorch.trainer.Trainer`'s ``augment``; None
        when no augmentation is asked for.

    Raises
    ------
    ValueError
        If the rows are not images of the given (or a square) shape, or ``scaling``
        whitens them.
    """
    shape = None if config.image_shape is None else tuple(config.image_shape)
    transforms: list[Transform] = []
    if config.augment_shift:
        transforms.append(RandomTranslate(config.augment_shift, image_shape=shape))
    if config.augment_flip:
        transforms.append(RandomHorizontalFlip(config.augment_flip, image_shape=shape))
    if config.augment_erase:
        transforms.append(RandomErasing(config.augment_erase, image_shape=shape))
    if not transforms:
        return None
    try:
        image_shape(n_features, shape)
    except ValueError as error:
        raise ValueError(
            f"mytorch train: --augment-shift/--augment-flip/--augment-erase need image rows: "
            f"{error} (--image-shape H W)"
        ) from None
    if scaling and "matrix" in scaling:
        raise ValueError(
            f"mytorch train: --augment-shift/--augment-flip/--augment-erase move pixels, and "
            f"--preprocess {scaling.get('method')} leaves none (the rows are rotated); "
            "use --preprocess center or standardize with augmentation"
        )
    augment = Compose(transforms)
    return augment if not scaling else _InPixelValues(augment, scaling)


class _InPixelValues:
    """Augment standardised rows in pixel values: unscale, augment, standardise again."""

    def __init__(self, augment: Any, scaling: dict[str, Any]) -> None:
        self.augment = augment
        parts = scaling_parts(scaling)
        self.mean = parts["mean"]
        self.std = parts.get("std", np.ones_like(self.mean))

    def __call__(self, batch: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        mean, std = self.mean.astype(batch.dtype), self.std.astype(batch.dtype)
        return (self.augment(batch * std + mean, rng) - mean) / std

    def __repr__(self) -> str:
        return f"{self.augment!r} in pixel values (before the pre-processing)"
