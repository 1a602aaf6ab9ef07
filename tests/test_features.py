"""Input features of 2-D points: each column its formula, bad names and shapes refused."""

import numpy as np
import pytest

from mytorch.datasets.features import FEATURES, check_features, feature_map


def test_each_feature_is_its_formula_of_x1_and_x2():
    X = np.array([[2.0, -1.0], [0.5, 3.0]])
    x1, x2 = X[:, 0], X[:, 1]
    expected = {
        "x1": x1,
        "x2": x2,
        "x1_sq": x1**2,
        "x2_sq": x2**2,
        "x1_x2": x1 * x2,
        "sin_x1": np.sin(x1),
        "sin_x2": np.sin(x2),
    }
    assert set(expected) == set(FEATURES)
    out = feature_map(X, list(expected))
    np.testing.assert_array_equal(out, np.column_stack(list(expected.values())))
    assert out.dtype == np.float64 and out.flags.c_contiguous


def test_the_map_keeps_float32_and_the_order_of_the_names():
    X = np.array([[1.0, 2.0]], dtype=np.float32)
    out = feature_map(X, ["x2", "x1"])
    assert out.dtype == np.float32 and out.tolist() == [[2.0, 1.0]]


@pytest.mark.parametrize(
    "names, message",
    [
        (["x3"], "unknown features ['x3']"),
        ([], "at least one feature"),
        (["x1", "x1"], "each once"),
        ("x1", "a list of feature names"),
    ],
)
def test_bad_feature_names_are_refused_with_the_reason(names, message):
    with pytest.raises(ValueError, match="feature_map") as error:
        feature_map(np.zeros((2, 2)), names)
    assert message in str(error.value)
    with pytest.raises(ValueError, match=r"^here: "):
        check_features(names, "here")


def test_points_must_have_two_columns():
    with pytest.raises(ValueError, match=r"feature_map: expected points of shape \(N, 2\)"):
        feature_map(np.zeros((3, 3)), ["x1"])
