"""``nn.HingeLoss``: the notes' binary hinge loss (002, section 6 "Loss functions and
activation functions", the row "hinge / linear", and section 6.1), and where it is used:
the trainer's error count, ``mytorch toy --loss hinge``, the playground's two logits and
the scikit-learn classifier's ``loss='hinge'``.

The notes: L_h(guess, actual) = max(1 - guess * actual, 0), actual in {+1, -1}.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mytorch import cli, gradcheck, nn, optim
from mytorch.compiled.plan import NOTES_VARIANTS
from mytorch.toy_config import ToyConfig
from mytorch.trainer import Trainer
from mytorch.workflows.targets import two_class_loss
from mytorch.workflows.toy import toy_data, toy_trainer

T = torch.from_numpy


def _notes_hinge(guess: np.ndarray, actual: np.ndarray) -> np.ndarray:
    """002 section 6.1, one sample at a time: max(1 - guess * actual, 0)."""
    pairs = zip(guess.ravel(), actual.ravel(), strict=True)
    return np.array([max(1.0 - g * a, 0.0) for g, a in pairs])


# ------------------------------------------------------------------ the formula
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_hinge_loss_is_the_notes_formula_002_section_6_1(reduction):
    guess = np.array([2.0, 1.0, 0.5, 0.0, -0.5, -3.0, 3.0])
    actual = np.array([1, 1, 1, -1, -1, 1, -1])
    expected = _notes_hinge(guess, actual)
    # The notes' property: the same sign and a magnitude of at least 1 cost nothing.
    assert expected[0] == expected[1] == 0.0 and expected[5] == 4.0 and expected[6] == 4.0
    loss = nn.HingeLoss(reduction=reduction)(guess, actual)
    reduced = {"mean": expected.mean(), "sum": expected.sum(), "none": expected}[reduction]
    np.testing.assert_allclose(loss, reduced, rtol=1e-15)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("shapes", [((7,), (7,)), ((7, 1), (7, 1)), ((7, 1), (7,))])
def test_hinge_loss_and_its_gradient_match_torch_autograd(shapes, reduction, rng, close):
    output_shape, target_shape = shapes
    output = rng.normal(scale=2.0, size=output_shape)
    target = rng.choice([-1.0, 1.0], size=target_shape)
    twin = torch.tensor(output, requires_grad=True)
    per = torch.relu(1 - twin * T(target).reshape(output_shape))  # the notes' max(., 0)
    reduced = {"mean": per.mean(), "sum": per.sum(), "none": per}[reduction]
    (reduced.sum() if reduction == "none" else reduced).backward()

    criterion = nn.HingeLoss(reduction=reduction)
    loss = criterion(output, target)
    close(loss, reduced, "loss")
    assert np.shape(loss) == (output_shape if reduction == "none" else ())
    close(criterion.backward(), twin.grad, "grad")
    if reduction == "none":
        weights = rng.uniform(0.5, 2.0, size=output_shape)
        twin.grad = None
        (torch.relu(1 - twin * T(target).reshape(output_shape)) * T(weights)).sum().backward()
        close(criterion.backward(weights), twin.grad, "backward(grad_output)")


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_hinge_loss_gradient_passes_finite_differences(reduction, rng):
    output = rng.normal(scale=2.0, size=(6, 1))
    output[np.abs(np.abs(output) - 1.0) < 0.05] += 0.2  # keep away from the kink g a = 1
    target = rng.choice([-1, 1], size=(6, 1))
    report = gradcheck(nn.HingeLoss(reduction=reduction), output, target)
    assert report.passed, str(report)


def test_hinge_loss_gradient_is_minus_the_label_inside_the_margin_and_zero_outside():
    criterion = nn.HingeLoss(reduction="sum")
    criterion(np.array([0.3, 1.5, -0.2, -4.0, 1.0]), np.array([1, 1, -1, -1, 1]))
    # 1 - g a: 0.7 (inside), -0.5, 0.8 (inside), -3, 0 (the kink: 0, MyTorch's choice)
    np.testing.assert_array_equal(criterion.backward(), [-1.0, 0.0, 1.0, 0.0, 0.0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_hinge_loss_keeps_the_dtype_and_takes_integer_or_float_labels(dtype):
    output = np.array([0.5, -2.0], dtype=dtype)
    for target in (np.array([1, -1]), np.array([1.0, -1.0], dtype=dtype)):
        criterion = nn.HingeLoss()
        assert np.asarray(criterion(output, target)).dtype == dtype
        assert criterion.backward().dtype == dtype


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize(
    "output, target, error, message",
    [
        (np.zeros(3), np.array([0, 1, 1]), ValueError, r"labels 0/1 must be mapped to -1/\+1"),
        (np.zeros(3), np.array([0.0, 1.0, 0.0]), ValueError, "y = 2 \\* y - 1"),
        (np.zeros(3), np.array([2, 1, -1]), ValueError, r"expected labels -1 and \+1"),
        (np.zeros(3), np.array([True, False, True]), TypeError, "labels -1 and \\+1"),
        (np.zeros(3), [1, -1, 1], TypeError, "numpy array of labels"),
        (np.zeros(3), np.array([1.0, np.nan, 1.0]), ValueError, "NaN"),
        (np.zeros((3, 2)), np.ones(3), ValueError, "use MultiMarginLoss"),
        (np.zeros(3), np.ones(4), ValueError, r"expected target of shape \(3,\) or \(3, 1\)"),
        (np.zeros(3, dtype=int), np.ones(3), TypeError, "floating dtype"),
    ],
)
def test_hinge_loss_refuses_bad_labels_and_shapes_with_a_clear_error(
    output, target, error, message
):
    with pytest.raises(error, match=f"^HingeLoss: .*{message}"):
        nn.HingeLoss()(output, target)


# ------------------------------------------------------------------ the trainer
def _separable(rng, n=64):
    X = rng.normal(size=(n, 2))
    return X, np.where(X[:, 0] - X[:, 1] > 0, 1, -1)


def test_the_trainer_counts_hinge_errors_by_the_sign_of_the_score(rng):
    criterion = nn.HingeLoss()
    output = np.array([[0.5], [-0.2], [0.0], [3.0]])
    assert criterion.counts_errors(np.ones((4, 1)))
    # score 0 predicts -1 (as scikit-learn's linear classifiers: class 1 only for s > 0)
    assert criterion.count_errors(output, np.array([1, 1, -1, -1])) == 2
    X, y = _separable(rng)
    model = nn.Sequential(nn.Linear(2, 1, rng=0))
    trainer = Trainer(model, criterion, optim.SGD(model.parameters(), lr=0.3), rng=0)
    history = trainer.fit(X, y.astype(np.float64), epochs=8, batch_size=16, val_data=(X, y))
    sign_errors = np.mean(np.where(model(X)[:, 0] > 0, 1, -1) != y)
    assert history.val_error[-1] == sign_errors < 0.05
    assert not np.isnan(history.train_error[-1])


def test_the_compiled_step_refuses_the_hinge_loss_and_the_trainer_names_it(rng):
    X, y = _separable(rng)
    model = nn.Sequential(nn.Linear(2, 1, rng=0))
    trainer = Trainer(model, nn.HingeLoss(), optim.SGD(model.parameters(), lr=0.1))
    trainer.fit(X, y, epochs=1)
    assert trainer.compiled_status == f"reference loop: {NOTES_VARIANTS['HingeLoss']}"


# ------------------------------------------------------------------ two logits, toy, playground
def test_two_logits_train_the_hinge_on_logit_1_minus_logit_0(close):
    loss = two_class_loss("hinge")
    assert loss.kind == "score" and isinstance(loss.criterion.inner, nn.HingeLoss)
    y = np.array([0, 1, 1])
    logits = np.array([[0.2, -0.1], [0.3, 0.9], [-1.0, 0.5]])
    targets = loss.targets(y)
    value = loss.criterion(logits, targets)
    score = logits[:, 1] - logits[:, 0]
    close(value, _notes_hinge(score, 2 * y - 1).mean(), "hinge of the score")
    # the sign of the score is the arg-max of the two logits
    assert loss.criterion.count_errors(logits, targets) == np.count_nonzero(
        logits.argmax(axis=1) != y
    )


def test_a_toy_run_trains_with_the_hinge_loss_and_counts_its_errors():
    config = ToyConfig(dataset="blobs", loss="hinge", epochs=15, hidden=[], n_samples=100)
    trainer, loss = toy_trainer(config.validate())
    (X, y), _ = toy_data(config)
    history = trainer.fit(X, loss.targets(y), epochs=config.epochs, batch_size=16)
    assert history.train_error[-1] < 0.1
    assert np.mean(trainer.model(X).argmax(axis=1) == y) > 0.9


@pytest.mark.slow  # draws a frame
def test_mytorch_toy_takes_loss_hinge(tmp_path, capsys):
    flags = ["--dataset", "blobs", "--loss", "hinge", "--epochs", "10", "--frames", "1"]
    assert cli.main(["toy", *flags, "--out", str(tmp_path)]) == 0
    assert "training accuracy" in capsys.readouterr().out
    assert (tmp_path / "model.npz").exists()


def test_the_playground_trains_and_looks_inside_with_the_hinge_loss():
    pytest.importorskip("starlette")
    from mytorch.playground.checks import parse_setup
    from mytorch.playground.inside import inspect_point
    from mytorch.playground.session import Session

    setup = parse_setup({"points": 60, "hidden": [3], "epochs": 2, "loss": "hinge"})
    session = Session(setup, "s")
    session.advance(5)
    inside = inspect_point(session, 0)
    assert "error" not in inside and inside["passed"], inside
    assert inside["target"] in ([-1.0], [1.0])


# ------------------------------------------------------------------ scikit-learn
sklearn = pytest.importorskip("sklearn")


def test_the_sklearn_classifier_trains_the_hinge_on_one_linear_output(rng):
    from mytorch.integrations.sklearn import MLPClassifier

    X, signs = _separable(rng, 200)
    y = np.where(signs > 0, "right", "left")
    clf = MLPClassifier((), loss="hinge", learning_rate_init=0.05, max_iter=40, random_state=0)
    clf.fit(X, y)
    assert clf.model_[-1].out_features == 1 and isinstance(clf._trainer.criterion, nn.HingeLoss)
    scores = clf.decision_function(X)
    assert scores.shape == (200,)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[(scores > 0).astype(int)])
    assert clf.score(X, y) > 0.95


def test_the_hinge_classifier_has_no_probabilities_and_refuses_three_classes(rng):
    from mytorch.integrations.sklearn import MLPClassifier

    X, signs = _separable(rng)
    clf = MLPClassifier((4,), loss="hinge", max_iter=2).fit(X, signs)
    assert not hasattr(clf, "predict_proba") and not hasattr(clf, "predict_log_proba")
    with pytest.raises(AttributeError) as error:
        clf.predict_proba(X)
    assert "not available with loss='hinge'" in str(error.value.__cause__)
    assert not hasattr(MLPClassifier(), "decision_function")
    with pytest.raises(ValueError, match="Only binary classification .*got 3 classes"):
        MLPClassifier(loss="hinge").fit(X, np.arange(len(X)) % 3)
    with pytest.raises(ValueError, match="MLPClassifier: expected loss 'log_loss' or 'hinge'"):
        MLPClassifier(loss="squared_hinge").fit(X, signs)


def test_the_hinge_classifier_weighs_its_classes_as_the_same_sample_weights(rng):
    # The hinge trains on labels -1 / +1: class_weight must still weigh classes_[0] and
    # classes_[1], i.e. equal the per-sample weights sklearn computes for the labels.
    from sklearn.utils.class_weight import compute_class_weight

    from mytorch.integrations.sklearn import MLPClassifier

    X, signs = _separable(rng, 120)
    y = np.where(signs > 0, "b", "a")
    y[:30] = "a"  # imbalanced
    per_class = compute_class_weight("balanced", classes=np.array(["a", "b"]), y=y)
    weight = per_class[(y == "b").astype(int)]
    assert per_class[0] != per_class[1]
    settings = dict(loss="hinge", learning_rate_init=0.05, max_iter=5, random_state=0)
    balanced = MLPClassifier((4,), class_weight="balanced", **settings).fit(X, y)
    by_hand = MLPClassifier((4,), **settings).fit(X, y, sample_weight=weight)
    unweighted = MLPClassifier((4,), **settings).fit(X, y)
    np.testing.assert_array_equal(balanced.decision_function(X), by_hand.decision_function(X))
    assert not np.array_equal(balanced.decision_function(X), unweighted.decision_function(X))
