"""``mytorch/augmentation.py``: each transform does what it says, for every image of a
batch, reproducibly from a seed, with the statistics its parameters promise."""

from __future__ import annotations

import numpy as np
import pytest

from mytorch.augmentation import (
    Compose,
    GaussianNoise,
    RandomErasing,
    RandomHorizontalFlip,
    RandomTranslate,
    image_shape,
)


def _images(n=64, height=6, width=5, dtype=np.float32, seed=0):
    return np.random.default_rng(seed).random((n, height * width)).astype(dtype)


def _shift_one(image, dy, dx, fill=0.0):
    """A plain loop: out[r, c] = image[r - dy, c - dx] where that exists."""
    out = np.full_like(image, fill)
    height, width = image.shape
    for r in range(height):
        for c in range(width):
            if 0 <= r - dy < height and 0 <= c - dx < width:
                out[r, c] = image[r - dy, c - dx]
    return out


def test_translate_shifts_each_image_by_its_own_offset_within_the_limit():
    batch = _images()
    out = RandomTranslate(2, image_shape=(6, 5))(batch, np.random.default_rng(1))
    shifts = np.random.default_rng(1).integers(-2, 3, size=(len(batch), 2))
    assert out.shape == batch.shape and out.dtype == batch.dtype
    pairs = zip(batch.reshape(-1, 6, 5), out.reshape(-1, 6, 5), shifts, strict=True)
    for image, moved, (dy, dx) in pairs:
        np.testing.assert_array_equal(moved, _shift_one(image, dy, dx))
    assert len({tuple(s) for s in shifts}) > 10  # the offsets vary from image to image


def test_flip_mirrors_about_p_of_the_images_and_leaves_the_rest():
    batch = _images(n=2000, dtype=np.float64)
    out = RandomHorizontalFlip(p=0.3, image_shape=(6, 5))(batch, np.random.default_rng(2))
    images, moved = batch.reshape(-1, 6, 5), out.reshape(-1, 6, 5)
    flipped = np.all(moved == images[:, :, ::-1], axis=(1, 2))
    kept = np.all(moved == images, axis=(1, 2))
    assert np.all(flipped | kept)
    assert abs(flipped.mean() - 0.3) < 0.04
    never = RandomHorizontalFlip(p=0.0, image_shape=(6, 5))(batch, np.random.default_rng(0))
    np.testing.assert_array_equal(never, batch)


def test_erasing_hides_one_rectangle_of_the_promised_size_in_about_p_of_the_images():
    batch = _images(n=3000, height=20, width=20, dtype=np.float64) + 1.0  # no pixel is 0
    out = RandomErasing(p=0.5, scale=(0.05, 0.2), value=0.0)(batch, np.random.default_rng(3))
    erased = (out == 0).reshape(-1, 20, 20)
    touched = erased.any(axis=(1, 2))
    assert abs(touched.mean() - 0.5) < 0.04
    for mask in erased[touched][:200]:
        rows, cols = np.nonzero(mask.any(axis=1))[0], np.nonzero(mask.any(axis=0))[0]
        # one solid rectangle: its bounding box is all erased
        assert mask[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1].all()
        area = mask.sum() / 400
        assert 0.02 <= area <= 0.3  # scale 0.05-0.2, up to rounding of sides
    np.testing.assert_array_equal(out[~touched], batch[~touched])


def test_noise_has_the_asked_standard_deviation_and_no_bias():
    batch = np.zeros((400, 100))
    out = GaussianNoise(0.3)(batch, np.random.default_rng(4))
    assert abs(out.mean()) < 0.01 and abs(out.std() - 0.3) < 0.01


@pytest.mark.parametrize(
    "transform",
    [
        RandomTranslate(3),
        RandomHorizontalFlip(),
        RandomErasing(),
        GaussianNoise(0.1),
        Compose([RandomTranslate(1), RandomHorizontalFlip(), RandomErasing(p=1.0)]),
    ],
    ids=lambda t: type(t).__name__,
)
def test_a_seed_gives_the_same_batch_and_the_input_is_left_alone(transform):
    batch = _images(n=16, height=28, width=28)
    before = batch.copy()
    first = transform(batch, np.random.default_rng(5))
    again = transform(batch, np.random.default_rng(5))
    np.testing.assert_array_equal(first, again)
    np.testing.assert_array_equal(batch, before)
    assert first.shape == batch.shape and first.dtype == batch.dtype
    assert not np.array_equal(first, transform(batch, np.random.default_rng(6)))


def test_image_shape_is_inferred_for_square_rows_and_checked_when_given():
    assert image_shape(784) == (28, 28)
    assert image_shape(30, (6, 5)) == (6, 5)
    with pytest.raises(ValueError, match="not square images"):
        image_shape(30)
    with pytest.raises(ValueError, match=r"image_shape \(5, 5\) holds 25 pixels"):
        image_shape(30, (5, 5))


def test_bad_settings_and_inputs_get_clear_errors():
    with pytest.raises(ValueError, match=r"^RandomTranslate: expected max_shift"):
        RandomTranslate(0)
    with pytest.raises(ValueError, match=r"^RandomHorizontalFlip: expected p in \[0.0, 1.0\]"):
        RandomHorizontalFlip(1.5)
    with pytest.raises(ValueError, match=r"^RandomErasing: expected 0 < scale\[0\] <= scale\[1\]"):
        RandomErasing(scale=(0.5, 0.1))
    with pytest.raises(TypeError, match=r"^RandomTranslate: expected rng to be a numpy"):
        RandomTranslate(1)(_images(n=2, height=4, width=4), 0)
    with pytest.raises(TypeError, match=r"^RandomHorizontalFlip: expected input of a floating"):
        RandomHorizontalFlip()(np.zeros((2, 4), np.int64), np.random.default_rng(0))
