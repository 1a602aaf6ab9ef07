"""A loss of mytorch.nn on two logits: the targets each kind takes, and the score adapter."""

import numpy as np
import pytest
import torch

from mytorch import config
from mytorch.config import LOSSES
from mytorch.nn.loss import Loss
from mytorch.workflows.targets import OneScoreLoss, two_class_loss


def test_the_losses_table_is_every_loss_class_of_nn_that_takes_logits():
    from mytorch import nn

    exported = {n for n, v in vars(nn).items() if isinstance(v, type) and issubclass(v, Loss)}
    assert {cls.__name__ for cls in LOSSES.values()} == exported - {"Loss", "NLLLoss"}
    assert LOSSES["cross_entropy"] is nn.CrossEntropyLoss
    assert LOSSES["mse"] is nn.MSELoss and LOSSES["bce_with_logits"] is nn.BCEWithLogitsLoss


@pytest.mark.parametrize(
    "name, kind", [("cross_entropy", "classes"), ("multi_margin", "classes"), ("mse", "one-hot")]
)
def test_each_loss_gets_the_targets_it_takes(name, kind):
    loss = two_class_loss(name)
    assert loss.kind == kind
    y = np.array([0, 1, 1])
    targets = loss.targets(y)
    logits = np.array([[0.2, -0.1], [0.3, 0.9], [-1.0, 0.5]])
    assert np.isfinite(loss.criterion(logits, targets))
    assert loss.criterion.backward().shape == logits.shape


class _Hinge(Loss):
    """The notes' hinge max(0, 1 - y s), y = -1 or +1, on scores of the target's shape."""

    classification = True

    def forward(self, output, target):
        if output.shape != target.shape:
            raise ValueError("_Hinge: target shape")
        margin = 1.0 - output * target
        return self._finish(np.maximum(margin, 0.0), np.where(margin > 0, -target, 0.0), 1)


def test_a_loss_of_one_score_gets_logit_1_minus_logit_0_and_signs(monkeypatch, close):
    monkeypatch.setitem(config.LOSSES, "hinge", _Hinge)
    loss = two_class_loss("hinge")
    assert loss.kind == "score" and "OneScoreLoss" in loss.code
    logits = np.array([[0.2, -0.1], [0.3, 0.9], [-1.0, 0.5]])
    targets = loss.targets(np.array([0, 1, 1]))
    assert targets.ravel().tolist() == [-1.0, 1.0, 1.0]
    value = loss.criterion(logits, targets)
    twin = torch.tensor(logits, requires_grad=True)
    score = twin[:, 1:] - twin[:, :1]
    torch.clamp(1 - score * torch.tensor(targets), min=0).sum().backward()
    close(value, float(torch.clamp(1 - score.detach() * torch.tensor(targets), min=0).sum()))
    close(loss.criterion.backward(), twin.grad.numpy(), "OneScoreLoss backward")


def test_one_score_loss_refuses_other_than_two_logits():
    with pytest.raises(ValueError, match=r"OneScoreLoss: expected output of shape \(N, 2\)"):
        OneScoreLoss(_Hinge())(np.zeros((2, 3)), np.zeros((2, 1)))


def test_an_unknown_loss_and_one_that_takes_nothing_are_refused(monkeypatch):
    with pytest.raises(ValueError, match="two_class_loss: expected a loss in"):
        two_class_loss("nope")

    class Picky(Loss):
        def forward(self, output, target):
            raise ValueError("never")

    monkeypatch.setitem(config.LOSSES, "picky", Picky)
    with pytest.raises(ValueError, match="cannot train a two-class network"):
        two_class_loss("picky")
