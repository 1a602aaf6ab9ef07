"""Tests for mytorch/sklearn.py: MLPClassifier and MLPRegressor as scikit-learn estimators."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import sklearn  # noqa: E402, F401
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.exceptions import NotFittedError  # noqa: E402
from sklearn.model_selection import GridSearchCV, train_test_split  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

import mytorch  # noqa: E402
from mytorch import nn  # noqa: E402
from mytorch.integrations.sklearn import MLPClassifier, MLPRegressor  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent

# Small networks and few epochs keep the ~55 checks per estimator to a few seconds; the
# larger learning rate still reaches the accuracy/R^2 the checks ask for.
SMALL = {"hidden_layer_sizes": (16,), "max_iter": 30, "learning_rate_init": 0.01}


def _expected_failed_checks(estimator) -> dict[str, str]:
    """Checks that fail by design, with the reason (scikit-learn 1.6+'s mechanism).

    ``check_sample_weight_equivalence_on_dense_data`` (a weight of 0 or k is the sample
    left out or repeated k times) holds for the float64 instances, which train on the
    check's 15 samples in one full batch; scikit-learn's own MLPs pass it only in such
    settings too (lbfgs, or sgd on one full batch). ``test_sample_weight.py`` holds the
    equivalence to 1e-12 itself.
    """
    failures = {}
    if estimator.early_stopping:
        failures["check_sample_weight_equivalence_on_dense_data"] = (
            "early_stopping holds out a share of the samples, and the held-out share "
            "of 15 weighted samples is not that of their repetitions"
        )
        failures["check_classifiers_one_label_sample_weights"] = (
            "early_stopping holds out one sample, here of weight 0: fit refuses a "
            "validation split whose weights are all 0 (no validation loss to watch), as "
            "scikit-learn's SGDClassifier does, with a message that names the weights"
        )
    if estimator.dtype == "float32":
        failures.setdefault(
            "check_sample_weight_equivalence_on_dense_data",
            "float32: the weighted fit and the fit on repeated samples agree to float32 "
            "rounding (1 ulp), and the check's rtol=1e-7 is below float32's epsilon",
        )
    if isinstance(estimator, MLPRegressor) and estimator.dtype == "float32":
        failures["check_regressor_multioutput"] = (
            "dtype='float32' predicts in float32 on purpose; the check wants float64 "
            "predictions for multi-output regression"
        )
    return failures


@parametrize_with_checks(
    [
        MLPClassifier(**SMALL),
        MLPRegressor(**SMALL),
        MLPClassifier(
            **SMALL,
            dtype="float32",
            batch_norm=True,
            dropout=0.1,
            early_stopping=True,
            label_smoothing=0.1,
        ),
        MLPRegressor(**SMALL, dtype="float32", activation="tanh", schedule="cosine"),
        MLPClassifier(**SMALL, loss="hinge"),
    ],
    expected_failed_checks=_expected_failed_checks,
)
def test_estimator_passes_sklearn_check_estimator(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        check(estimator)


# --------------------------------------------------------------------- the digits
@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)


def test_grid_search_over_scaler_pipeline_finds_a_good_digits_model(digits):
    X_train, X_test, y_train, y_test = digits
    pipeline = Pipeline(
        [("scale", StandardScaler()), ("mlp", MLPClassifier(max_iter=20, random_state=0))]
    )
    search = GridSearchCV(
        pipeline,
        {"mlp__hidden_layer_sizes": [(16,), (32,)], "mlp__learning_rate_init": [0.003, 0.01]},
        cv=3,
    )
    search.fit(X_train, y_train)
    assert set(search.best_params_) == {"mlp__hidden_layer_sizes", "mlp__learning_rate_init"}
    assert search.best_score_ > 0.9
    assert search.score(X_test, y_test) > 0.9
    assert search.best_estimator_["mlp"].n_features_in_ == 64


def test_classifier_maps_string_labels_through_classes_(digits):
    X_train, X_test, y_train, y_test = digits
    names = np.array(
        ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"],
        dtype=object,
    )
    clf = MLPClassifier((32,), max_iter=15, learning_rate_init=0.01, random_state=0)
    clf.fit(X_train / 16, names[y_train])
    assert clf.classes_.tolist() == sorted(names.tolist())
    predicted = clf.predict(X_test / 16)
    assert set(predicted) <= set(names)
    assert np.mean(predicted == names[y_test]) > 0.9
    proba = clf.predict_proba(X_test / 16)
    assert proba.shape == (len(X_test), 10)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_array_equal(clf.classes_[proba.argmax(axis=1)], predicted)
    np.testing.assert_allclose(np.exp(clf.predict_log_proba(X_test / 16)), proba, rtol=1e-10)


def test_partial_fit_continues_training_one_epoch_per_call(digits):
    X_train, _, y_train, _ = digits
    clf = MLPClassifier((32,), learning_rate_init=0.01, random_state=0)
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        clf.partial_fit(X_train / 16, y_train)
    for _ in range(5):
        clf.partial_fit(X_train / 16, y_train, classes=np.arange(10))
    assert clf.n_iter_ == 5 == len(clf.loss_curve_)
    assert clf.loss_curve_[-1] < clf.loss_curve_[0]
    with pytest.raises(ValueError, match="expected labels in classes_"):
        clf.partial_fit(X_train[:5] / 16, np.full(5, 11))


def test_partial_fit_equals_fit_with_one_epoch():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(60, 3)), rng.integers(0, 3, 60)
    fitted = MLPClassifier((8,), max_iter=1, random_state=3).fit(X, y)
    partial = MLPClassifier((8,), random_state=3).partial_fit(X, y, classes=[0, 1, 2])
    np.testing.assert_array_equal(fitted.predict_proba(X), partial.predict_proba(X))


def test_feature_count_mismatch_gives_sklearn_message():
    X, y = np.random.default_rng(0).normal(size=(20, 4)), np.arange(20) % 2
    clf = MLPClassifier((4,), max_iter=2).fit(X, y)
    with pytest.raises(ValueError, match="X has 3 features, but MLPClassifier is expecting 4"):
        clf.predict(X[:, :3])


def test_single_class_is_always_predicted():
    X = np.random.default_rng(0).normal(size=(10, 3))
    clf = MLPClassifier((4,), max_iter=3).fit(X, np.array(["only"] * 10))
    assert clf.predict(X).tolist() == ["only"] * 10
    np.testing.assert_array_equal(clf.predict_proba(X), np.ones((10, 1)))


def test_float32_estimators_compute_in_float32(digits):
    X_train, X_test, y_train, _ = digits
    clf = MLPClassifier((16,), max_iter=3, dtype="float32", random_state=0)
    clf.fit(X_train / 16, y_train)
    assert clf.model_[0].weight.dtype == np.float32
    assert clf.predict_proba(X_test / 16).dtype == np.float32
    reg = MLPRegressor((8,), max_iter=3, dtype=np.float32, random_state=0)
    assert reg.fit(X_train / 16, y_train.astype(float)).predict(X_test).dtype == np.float32


def test_same_random_state_gives_the_same_model():
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(50, 3)), rng.integers(0, 2, 50)
    a = MLPClassifier((8,), dropout=0.2, max_iter=5, random_state=7).fit(X, y)
    b = MLPClassifier((8,), dropout=0.2, max_iter=5, random_state=7).fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))


def test_early_stopping_keeps_validation_curve_and_stops(digits):
    X_train, _, y_train, _ = digits
    clf = MLPClassifier(
        (32,),
        learning_rate_init=0.05,
        max_iter=200,
        early_stopping=True,
        n_iter_no_change=3,
        random_state=0,
    ).fit(X_train / 16, y_train)
    assert clf.n_iter_ < 200
    assert len(clf.validation_loss_curve_) == clf.n_iter_
    assert clf.best_validation_loss_ == min(clf.validation_loss_curve_)


def test_training_loss_plateau_stops_fit_without_early_stopping():
    X = np.random.default_rng(0).normal(size=(40, 2))
    clf = MLPClassifier((4,), max_iter=500, tol=10.0, n_iter_no_change=2).fit(X, X[:, 0] > 0)
    assert clf.n_iter_ == 3  # the first epoch improves on inf, then two without


def test_regressor_fits_single_and_multiple_outputs():
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(200, 2))
    Y = np.stack([X[:, 0] + X[:, 1], X[:, 0] - X[:, 1]], axis=1)
    reg = MLPRegressor((16,), learning_rate_init=0.02, max_iter=100, random_state=0)
    assert reg.fit(X, Y).predict(X).shape == (200, 2) and reg.n_outputs_ == 2
    assert reg.score(X, Y) > 0.95
    assert reg.fit(X, Y[:, 0]).predict(X).shape == (200,)


def test_invalid_parameters_are_reported_by_fit_not_init():
    X, y = np.zeros((4, 2)), np.array([0, 1, 0, 1])
    for params, name in [
        ({"hidden_layer_sizes": (0,)}, "hidden_layer_sizes"),
        ({"activation": "swish"}, "activation"),
        ({"solver": "lbfgs"}, "solver"),
        ({"dropout": 1.0}, "dropout"),
        ({"batch_size": 0}, "batch_size"),
        ({"dtype": "int32"}, "dtype"),
        ({"label_smoothing": 1.5}, "label_smoothing"),
    ]:
        clf = MLPClassifier(**params)  # no error here: sklearn validates in fit
        with pytest.raises(ValueError, match=rf"MLPClassifier: expected {name}"):
            clf.fit(X, y)


def test_label_smoothing_with_the_hinge_loss_is_refused():
    X, y = np.zeros((4, 2)), np.array([0, 1, 0, 1])
    clf = MLPClassifier(loss="hinge", label_smoothing=0.1)
    with pytest.raises(ValueError, match=r"label_smoothing=0.1 needs loss='log_loss'"):
        clf.fit(X, y)


def test_label_smoothing_trains_the_classifier_on_torchs_smoothed_cross_entropy(digits, close):
    import torch

    X_train, _, y_train, _ = digits
    options = {"hidden_layer_sizes": (16,), "batch_size": len(X_train), "random_state": 0}
    clf = MLPClassifier(**options, label_smoothing=0.2, max_iter=1, shuffle=False)
    clf.fit(X_train, y_train)
    # The first epoch is one full batch: its loss is the initial network's.
    start = MLPClassifier(**options)
    start._start(X_train.shape[1], 10)
    logits = torch.from_numpy(start.model_(X_train))
    expected = torch.nn.functional.cross_entropy(
        logits, torch.from_numpy(y_train), label_smoothing=0.2
    )
    close(clf.loss_curve_[0], expected, "smoothed loss", tol=1e-12)
    assert "label_smoothing" not in MLPRegressor().get_params()


def test_batch_norm_never_trains_on_a_last_batch_of_one_sample():
    X = np.random.default_rng(0).normal(size=(21, 3))
    clf = MLPClassifier((4,), batch_norm=True, batch_size=10, max_iter=2).fit(X, X[:, 0] > 0)
    assert clf.n_iter_ == 2


def test_early_stopping_on_too_few_samples_names_the_estimator():
    with pytest.raises(ValueError, match="MLPRegressor: early_stopping cannot hold out"):
        MLPRegressor(early_stopping=True).fit(np.zeros((1, 2)), np.zeros(1))


def test_unfitted_estimator_raises_not_fitted_error():
    with pytest.raises(NotFittedError):
        MLPRegressor().predict(np.zeros((2, 2)))


def test_fitted_model_is_a_mytorch_module_that_saves_and_pickles(tmp_path):
    X, y = np.random.default_rng(0).normal(size=(30, 3)), np.arange(30) % 3
    clf = MLPClassifier((8,), batch_norm=True, max_iter=3, random_state=0).fit(X, y)
    assert isinstance(clf.model_, nn.Sequential)
    mytorch.save(clf.model_, tmp_path / "model.npz")
    loaded = mytorch.load(tmp_path / "model.npz")
    np.testing.assert_allclose(loaded(X), clf.model_(X))
    clone = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(clone.predict_proba(X), clf.predict_proba(X))


def test_optional_extras_are_not_imported_by_import_mytorch():
    code = (
        "import sys, mytorch, mytorch.nn, mytorch.cli; "
        "print(sorted(m for m in ('sklearn', 'onnx', 'onnxruntime', 'dask', 'distributed')"
        " if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert result.stdout.strip() == "[]"


def test_course_layout_import_sklearn_still_gets_scikit_learn():
    # The course autograder puts mytorch/ itself on sys.path, where mytorch/sklearn.py
    # would shadow scikit-learn.
    code = "import sklearn, sklearn.base; print(sklearn.base.__file__)"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "mytorch")}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT / "mytorch", env=env
    )
    assert result.returncode == 0, result.stderr
    assert "site-packages" in result.stdout


# --------------------------------------------------------------------- class and sample weights
def _weighted_problem(n=60, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0.8)
    weight = rng.uniform(0.5, 2.0, n)
    weight[::4] = 0.0
    return X, y, weight


FULL_BATCH = {"hidden_layer_sizes": (8,), "max_iter": 20, "learning_rate_init": 0.01}


@pytest.mark.parametrize("estimator", [MLPClassifier, MLPRegressor])
def test_a_zero_sample_weight_is_the_sample_left_out(estimator):
    X, y, weight = _weighted_problem()
    keep = weight > 0
    # n <= 200: batch_size='auto' is one full batch, where the equivalence is exact.
    weighted = estimator(**FULL_BATCH, random_state=0).fit(X, y, sample_weight=weight)
    dropped = estimator(**FULL_BATCH, random_state=0).fit(
        X[keep], y[keep], sample_weight=weight[keep]
    )
    method = "predict_proba" if estimator is MLPClassifier else "predict"
    np.testing.assert_allclose(
        getattr(weighted, method)(X), getattr(dropped, method)(X), rtol=1e-10
    )
    np.testing.assert_allclose(weighted.loss_curve_, dropped.loss_curve_, rtol=1e-10)
    assert weighted._trainer.compiled_status.startswith("reference loop: sample weights")


def test_class_weights_fold_into_the_sample_weights():
    from sklearn.utils.class_weight import compute_sample_weight

    X, y, weight = _weighted_problem()
    per_class = {0: 2.0, 1: 0.5, 2: 3.0}
    by_class = MLPClassifier(**FULL_BATCH, class_weight=per_class, random_state=0)
    by_sample = MLPClassifier(**FULL_BATCH, random_state=0)
    folded = weight * np.array([per_class[label] for label in y])
    np.testing.assert_array_equal(
        by_class.fit(X, y, sample_weight=weight).predict_proba(X),
        by_sample.fit(X, y, sample_weight=folded).predict_proba(X),
    )
    balanced = MLPClassifier(**FULL_BATCH, class_weight="balanced", random_state=0).fit(X, y)
    np.testing.assert_array_equal(
        balanced.predict_proba(X),
        by_sample.fit(X, y, sample_weight=compute_sample_weight("balanced", y)).predict_proba(X),
    )


def test_balanced_class_weights_count_the_classes_by_weight():
    # As scikit-learn's LogisticRegression: a sample of weight 0 does not count, so
    # 'balanced' with it equals 'balanced' without it.
    X, y, weight = _weighted_problem()
    keep = weight > 0
    weighted = MLPClassifier(**FULL_BATCH, class_weight="balanced", random_state=0)
    dropped = MLPClassifier(**FULL_BATCH, class_weight="balanced", random_state=0)
    np.testing.assert_allclose(
        weighted.fit(X, y, sample_weight=weight).predict_proba(X),
        dropped.fit(X[keep], y[keep], sample_weight=weight[keep]).predict_proba(X),
        rtol=1e-10,
    )


def test_balanced_class_weights_raise_the_recall_of_a_rare_class():
    from sklearn.datasets import make_classification
    from sklearn.metrics import balanced_accuracy_score, recall_score

    X, y = make_classification(
        600,
        n_features=8,
        n_informative=4,
        weights=[0.9, 0.1],
        flip_y=0.05,
        class_sep=0.6,
        random_state=0,
    )
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.5, stratify=y, random_state=0
    )
    options = {"hidden_layer_sizes": (16,), "learning_rate_init": 0.01, "max_iter": 40}
    plain = MLPClassifier(**options, random_state=0).fit(X_train, y_train)
    balanced = MLPClassifier(**options, class_weight="balanced", random_state=0)
    balanced.fit(X_train, y_train)
    recall_plain = recall_score(y_test, plain.predict(X_test))
    recall_balanced = recall_score(y_test, balanced.predict(X_test))
    assert recall_balanced > recall_plain + 0.2, (recall_plain, recall_balanced)
    assert balanced_accuracy_score(y_test, balanced.predict(X_test)) > balanced_accuracy_score(
        y_test, plain.predict(X_test)
    )


def test_partial_fit_refuses_balanced_and_takes_a_dict():
    X, y, weight = _weighted_problem()
    with pytest.raises(ValueError, match=r"^MLPClassifier.partial_fit: class_weight='balanced'"):
        MLPClassifier(class_weight="balanced").partial_fit(X, y, classes=[0, 1, 2])
    per_class = {0: 1.0, 1: 4.0, 2: 0.5}
    by_class = MLPClassifier((8,), class_weight=per_class, random_state=0)
    by_sample = MLPClassifier((8,), random_state=0)
    folded = weight * np.array([per_class[label] for label in y])
    for _ in range(2):
        by_class.partial_fit(X, y, classes=[0, 1, 2], sample_weight=weight)
        by_sample.partial_fit(X, y, classes=[0, 1, 2], sample_weight=folded)
    np.testing.assert_array_equal(by_class.predict_proba(X), by_sample.predict_proba(X))
    assert by_class.n_iter_ == 2


def test_partial_fit_sample_weights_equal_fit_with_them():
    X, y, weight = _weighted_problem()
    reg_fit = MLPRegressor((8,), max_iter=1, random_state=3).fit(X, y, sample_weight=weight)
    reg_partial = MLPRegressor((8,), random_state=3).partial_fit(X, y, sample_weight=weight)
    np.testing.assert_array_equal(reg_fit.predict(X), reg_partial.predict(X))


def test_score_weighs_the_samples_as_scikit_learns_metrics():
    X, y, _ = _weighted_problem()
    counts = np.random.default_rng(1).integers(0, 4, len(X))
    clf = MLPClassifier(**FULL_BATCH, random_state=0).fit(X, y)
    assert clf.score(X, y, sample_weight=counts) == pytest.approx(
        clf.score(X.repeat(counts, axis=0), y.repeat(counts)), rel=1e-12
    )
    reg = MLPRegressor(**FULL_BATCH, random_state=0).fit(X, X[:, 0])
    assert reg.score(X, X[:, 0], sample_weight=counts) == pytest.approx(
        reg.score(X.repeat(counts, axis=0), X[:, 0].repeat(counts)), rel=1e-12
    )


def test_early_stopping_weighs_the_held_out_samples(monkeypatch, close):
    from mytorch.integrations.sklearn import _base

    splits = []

    def recording_split(*args, **kwargs):
        splits.append(_base_split(*args, **kwargs))
        return splits[-1]

    _base_split = _base.train_val_split
    monkeypatch.setattr(_base, "train_val_split", recording_split)
    X, y, weight = _weighted_problem(120)
    weight = np.where(y == 0, 5.0, 0.2)  # the validation loss is mostly class 0's
    clf = MLPClassifier(
        (8,),
        learning_rate_init=0.01,
        max_iter=15,
        early_stopping=True,
        validation_fraction=0.3,
        random_state=0,
    ).fit(X, y, sample_weight=weight)
    val = splits[0][2]
    log_proba = clf.predict_log_proba(X[val])[np.arange(len(val)), y[val]]
    weighted = -np.sum(weight[val] * log_proba) / weight[val].sum()
    close(clf.best_validation_loss_, weighted, "best validation loss (the restored weights)")
    assert abs(weighted + np.mean(log_proba)) > 1e-3  # the unweighted loss is another number
    # The split depends on random_state and y only: the same samples are held out again.
    weight[val] = 0.0
    with pytest.raises(
        ValueError, match=r"every sample early_stopping held out \(36 of 120\) has sample_weight 0"
    ):
        clf.fit(X, y, sample_weight=weight)


@pytest.mark.parametrize(
    "class_weight", ["auto", {0: -1.0}, {0: float("nan")}, [1.0, 2.0], {0: "2"}]
)
def test_bad_class_weights_are_refused_by_fit(class_weight):
    X, y, _ = _weighted_problem()
    with pytest.raises(
        ValueError, match=r"^MLPClassifier: expected class_weight to be None, 'balanced' or a dict"
    ):
        MLPClassifier(class_weight=class_weight).fit(X, y)


def test_class_weights_of_unknown_labels_and_bad_sample_weights_are_refused():
    X, y, _ = _weighted_problem()
    with pytest.raises(ValueError, match=r"class_weight names labels that are not classes.*\[7\]"):
        MLPClassifier(class_weight={0: 1.0, 7: 2.0}).fit(X, y)
    with pytest.raises(ValueError, match="Negative values in data passed to `sample_weight`"):
        MLPRegressor().fit(X, y, sample_weight=np.r_[-1.0, np.ones(len(X) - 1)])
    with pytest.raises(ValueError, match=r"sample_weight.shape == \(3,\), expected \(60,\)"):
        MLPClassifier().fit(X, y, sample_weight=np.ones(3))
