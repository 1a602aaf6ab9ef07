"""Tests for mytorch/preprocessing.py: ZeroCenter, Standardize, PCA, Whitening."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.decomposition import PCA as SKLEARN_PCA
from sklearn.preprocessing import StandardScaler

from mytorch.preprocessing import PCA, Standardize, Whitening, ZeroCenter


def _correlated(n_samples: int = 300, n_features: int = 6, seed: int = 0) -> np.ndarray:
    """Full-rank data with correlated features, non-zero mean and unequal scales."""
    rng = np.random.default_rng(seed)
    mixing = rng.normal(size=(n_features, n_features)) * np.linspace(0.5, 3.0, n_features)
    return rng.normal(size=(n_samples, n_features)) @ mixing + rng.normal(size=n_features) * 5


def _align_signs(ours: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Flip our columns so each has the sign of the reference's (components are +/-)."""
    signs = np.sign(np.sum(ours * reference, axis=0))
    return ours * signs


ALL_TRANSFORMERS = [
    ZeroCenter,
    Standardize,
    lambda: PCA(n_components=3),
    lambda: PCA(whiten=True),
    lambda: Whitening("pca"),
    lambda: Whitening("zca"),
]


# --- ZeroCenter and Standardize ---------------------------------------------------------


def test_zero_center_removes_the_training_mean():
    X = _correlated()
    centred = ZeroCenter().fit_transform(X)
    np.testing.assert_allclose(centred.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(centred, X - X.mean(axis=0), rtol=0, atol=1e-12)


def test_standardize_matches_the_notes_and_sklearn_standard_scaler():
    X = _correlated()
    ours = Standardize().fit_transform(X)
    np.testing.assert_allclose(ours, (X - X.mean(axis=0)) / np.std(X, axis=0), atol=1e-12)
    np.testing.assert_allclose(ours, StandardScaler().fit_transform(X), atol=1e-12)
    np.testing.assert_allclose(ours.std(axis=0), 1, atol=1e-12)


def test_standardize_leaves_constant_columns_centred_not_divided_by_zero():
    X = _correlated(n_features=3)
    X[:, 1] = 4.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = Standardize().fit_transform(X)
    assert np.all(np.isfinite(out))
    np.testing.assert_array_equal(out[:, 1], 0.0)
    assert Standardize().fit(X).scale_[1] == 1.0


@settings(max_examples=40, deadline=None)
@given(
    n_samples=st.integers(1, 20),
    n_features=st.integers(1, 6),
    seed=st.integers(0, 1000),
    cls=st.sampled_from([ZeroCenter, Standardize]),
)
def test_centring_and_scaling_round_trip_for_any_batch_shape(n_samples, n_features, seed, cls):
    X = np.random.default_rng(seed).normal(size=(n_samples, n_features)) * 3 + 1
    transformer = cls().fit(X)
    out = transformer.transform(X)
    assert out.shape == X.shape
    np.testing.assert_allclose(transformer.inverse_transform(out), X, atol=1e-10)


# --- PCA --------------------------------------------------------------------------------


@pytest.mark.parametrize("whiten", [False, True])
@pytest.mark.parametrize("n_components", [None, 1, 3, 0.8, 0.95])
def test_pca_matches_sklearn_up_to_the_sign_of_components(n_components, whiten):
    X = _correlated()
    X_test = _correlated(seed=1) * 1.5
    ours = PCA(n_components=n_components, whiten=whiten).fit(X)
    theirs = SKLEARN_PCA(n_components=n_components, whiten=whiten, svd_solver="full").fit(X)
    assert ours.n_components_ == theirs.n_components_
    np.testing.assert_allclose(ours.explained_variance_, theirs.explained_variance_, rtol=1e-10)
    np.testing.assert_allclose(
        ours.explained_variance_ratio_, theirs.explained_variance_ratio_, rtol=1e-10
    )
    np.testing.assert_allclose(ours.mean_, theirs.mean_, rtol=1e-12)
    np.testing.assert_allclose(
        np.abs(np.sum(ours.components_ * theirs.components_, axis=1)), 1, rtol=1e-10
    )
    for data in (X, X_test):
        expected = theirs.transform(data)
        np.testing.assert_allclose(
            _align_signs(ours.transform(data), expected), expected, rtol=1e-8, atol=1e-9
        )


def test_pca_whitened_training_output_has_identity_covariance():
    Z = PCA(whiten=True).fit_transform(_correlated())
    np.testing.assert_allclose(np.cov(Z, rowvar=False), np.eye(6), atol=1e-8)


def test_pca_components_are_orthonormal_and_variances_decrease():
    pca = PCA().fit(_correlated())
    np.testing.assert_allclose(pca.components_ @ pca.components_.T, np.eye(6), atol=1e-12)
    assert np.all(np.diff(pca.explained_variance_) <= 0)
    np.testing.assert_allclose(pca.explained_variance_ratio_.sum(), 1.0)


@pytest.mark.parametrize("whiten", [False, True])
def test_pca_inverse_transform_is_exact_with_all_components(whiten):
    X = _correlated()
    pca = PCA(whiten=whiten).fit(X)
    np.testing.assert_allclose(pca.inverse_transform(pca.transform(X)), X, atol=1e-9)


def test_pca_inverse_of_truncated_projection_matches_sklearn():
    X = _correlated()
    ours, theirs = PCA(2).fit(X), SKLEARN_PCA(2, svd_solver="full").fit(X)
    np.testing.assert_allclose(
        ours.inverse_transform(ours.transform(X)),
        theirs.inverse_transform(theirs.transform(X)),
        atol=1e-9,
    )


def test_pca_fraction_keeps_fewest_components_reaching_the_variance():
    X = _correlated()
    pca = PCA(0.9).fit(X)
    cumulative = np.cumsum(PCA().fit(X).explained_variance_ratio_)
    assert cumulative[pca.n_components_ - 1] > 0.9
    assert pca.n_components_ == 1 or cumulative[pca.n_components_ - 2] <= 0.9


def test_pca_whiten_of_a_zero_variance_component_raises_with_advice():
    X = _correlated(n_features=4)
    X[:, 3] = X[:, 0] + X[:, 1]  # rank 3
    with pytest.raises(ValueError, match=r"PCA.fit: cannot whiten component 3 .*Whitening"):
        PCA(whiten=True).fit(X)
    assert PCA(n_components=3, whiten=True).fit(X).n_components_ == 3
    assert PCA().fit(X).n_components_ == 4


@pytest.mark.parametrize(
    ("n_components", "error", "message"),
    [
        (7, ValueError, "n_components=7 is more than min"),
        (0, ValueError, "expected n_components to be a positive int"),
        (1.5, ValueError, r"expected n_components \(a fraction"),
        ("all", TypeError, "expected n_components to be a positive int"),
    ],
)
def test_pca_bad_n_components_raise(n_components, error, message):
    with pytest.raises(error, match=message):
        PCA(n_components=n_components).fit(_correlated())


def test_pca_needs_two_samples():
    with pytest.raises(ValueError, match="PCA.fit: needs at least 2 samples"):
        PCA().fit(np.ones((1, 3)))


# --- Whitening --------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["zca", "pca"])
def test_whitening_output_has_identity_covariance_within_1e_6(method):
    Z = Whitening(method, eps=0.0).fit_transform(_correlated())
    np.testing.assert_allclose(np.cov(Z, rowvar=False), np.eye(6), rtol=0, atol=1e-6)


def test_zca_matrix_is_symmetric_and_equals_rotated_pca_whitening():
    X = _correlated()
    zca = Whitening("zca", eps=1e-5).fit(X)
    pca = Whitening("pca", eps=1e-5).fit(X)
    np.testing.assert_allclose(zca.whitening_matrix_, zca.whitening_matrix_.T, atol=1e-12)
    np.testing.assert_allclose(zca.transform(X), pca.transform(X) @ pca.components_, atol=1e-10)


def test_pca_whitening_matches_sklearn_whitened_pca_when_eps_is_zero():
    X = _correlated()
    expected = SKLEARN_PCA(whiten=True, svd_solver="full").fit_transform(X)
    ours = Whitening("pca", eps=0.0).fit_transform(X)
    np.testing.assert_allclose(_align_signs(ours, expected), expected, atol=1e-9)


def test_whitening_eps_shrinks_each_direction_to_lambda_over_lambda_plus_eps():
    X = _correlated()
    eps = 0.5
    white = Whitening("zca", eps=eps).fit(X)
    Z = white.transform(X)
    in_eigenbasis = white.components_ @ np.cov(Z, rowvar=False) @ white.components_.T
    lam = white.explained_variance_
    np.testing.assert_allclose(in_eigenbasis, np.diag(lam / (lam + eps)), atol=1e-10)


def test_whitening_regularises_a_singular_covariance_with_eps():
    X = _correlated(n_features=4)
    X[:, 3] = X[:, 0] - X[:, 2]
    with pytest.raises(ValueError, match="Whitening.fit: the covariance is singular"):
        Whitening("zca", eps=0.0).fit(X)
    Z = Whitening("zca", eps=1e-5).fit_transform(X)
    assert np.all(np.isfinite(Z))


@pytest.mark.parametrize("method", ["zca", "pca"])
def test_whitening_inverse_transform_round_trips(method):
    X = _correlated()
    white = Whitening(method).fit(X)
    np.testing.assert_allclose(white.inverse_transform(white.transform(X)), X, atol=1e-9)


def test_whitening_unknown_method_raises():
    with pytest.raises(ValueError, match="Whitening.fit: expected method 'pca' or 'zca', got 'x'"):
        Whitening("x").fit(_correlated())


# --- Conventions shared by all transformers ---------------------------------------------


@pytest.mark.parametrize("make", ALL_TRANSFORMERS)
def test_transform_uses_training_statistics_only(make):
    X_train, X_test = _correlated(seed=0), _correlated(seed=1) * 2 + 3
    fitted = make().fit(X_train)
    out_before = fitted.transform(X_train)
    out_test = fitted.transform(X_test)
    # Transforming other data changes nothing learned, and a refit on the test set differs.
    np.testing.assert_array_equal(fitted.transform(X_train), out_before)
    refit = make().fit(X_test).transform(X_test)
    assert not np.allclose(out_test, refit)
    # The learned mean is the training mean, not a blend with the test data.
    np.testing.assert_allclose(fitted.mean_, X_train.mean(axis=0))


@pytest.mark.parametrize("make", ALL_TRANSFORMERS)
def test_float32_in_gives_float32_out(make):
    X = _correlated().astype(np.float32)
    transformer = make()
    out = transformer.fit_transform(X)
    assert out.dtype == np.float32
    assert transformer.inverse_transform(out).dtype == np.float32
    reference = make().fit(X.astype(np.float64)).transform(X.astype(np.float64))
    np.testing.assert_allclose(out, reference, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("make", ALL_TRANSFORMERS)
def test_fit_returns_self_and_fit_transform_equals_fit_then_transform(make):
    X = _correlated()
    transformer = make()
    assert transformer.fit(X) is transformer
    np.testing.assert_allclose(make().fit_transform(X), transformer.transform(X), atol=1e-12)


@pytest.mark.parametrize("make", ALL_TRANSFORMERS)
def test_transform_before_fit_raises_runtime_error(make):
    transformer = make()
    with pytest.raises(RuntimeError, match=r"\.transform: called before fit\(\)"):
        transformer.transform(_correlated())


@pytest.mark.parametrize("make", ALL_TRANSFORMERS)
def test_wrong_feature_count_dtype_or_rank_raises(make):
    transformer = make().fit(_correlated())
    name = type(transformer).__name__
    with pytest.raises(ValueError, match=rf"{name}.transform: expected X with 6 features"):
        transformer.transform(np.zeros((4, 5)))
    with pytest.raises(TypeError, match=rf"{name}.fit: expected X of a floating dtype"):
        make().fit(np.ones((10, 6), dtype=np.int64))
    with pytest.raises(ValueError, match=rf"{name}.fit: expected X to be 2-D"):
        make().fit(np.ones(6))
    with pytest.raises(ValueError, match="NaN"):
        make().fit(np.full((10, 6), np.nan))
