"""The course's multi-layer perceptron (CMU 11-785 HW1P1 ``hw1/hw1.py``).

``MLP`` chains the course layers of ``mytorch/`` (Linear -> BatchNorm if applicable
-> Activation, repeated) and trains them with the handout's momentum rule.
``get_training_stats`` trains it with MyTorch's trainer.

Run from the repository root the way the course autograder does
(``sys.path.append('mytorch'); sys.path.append('hw1'); import hw1``) or with MyTorch
installed; either way the layers are ``mytorch``'s own classes.
"""

from __future__ import annotations

import os
import sys

import numpy as np

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _ROOT not in sys.path:
    # The course runs this file with hw1/ (not the repository root) on sys.path.
    sys.path.insert(0, _ROOT)

from mytorch.activation import Activation  # noqa: E402
from mytorch.batchnorm import BatchNorm  # noqa: E402
from mytorch.linear import Linear  # noqa: E402
from mytorch.loss import Criterion  # noqa: E402
from mytorch.trainer import Trainer  # noqa: E402
from mytorch.underflow import quiet_underflow  # noqa: E402
from mytorch.validation import check_number, check_positive_int, check_sequence  # noqa: E402


class MLP:
    """A multi-layer perceptron with the course's API.

    Parameters
    ----------
    input_size : int
        Size of each input sample (784 for MNIST).
    output_size : int
        Number of outputs (classes).
    hiddens : list of int
        Units of each hidden layer; ``[]`` gives a linear classifier.
    activations : list of Activation
        One per layer (``len(hiddens) + 1``), applied after each Linear (and BatchNorm).
    weight_init_fn : callable (in, out) -> array (in, out)
        Called once per layer, in order, so a seeded ``np.random.randn`` gives the
        handout's weights.
    bias_init_fn : callable (out,) -> array (1, out)
        Called once per layer.
    criterion : Criterion
        E.g. ``SoftmaxCrossEntropy()``.
    lr : float
        Learning rate eta.
    momentum : float
        beta in the handout's update (0 for plain gradient descent).
    num_bn_layers : int
        The first ``num_bn_layers`` Linear layers are followed by a BatchNorm.

    Attributes
    ----------
    linear_layers : list of Linear
    bn_layers : list of BatchNorm or None
    train_mode : bool
        False after ``eval()``: BatchNorm then uses its running statistics.
    output : numpy.ndarray
        The last forward output (logits), shape (batch, output_size).

    Examples
    --------
    >>> from mytorch.activation import Sigmoid, Identity
    >>> from mytorch.loss import SoftmaxCrossEntropy
    >>> np.random.seed(11785)
    >>> mlp = MLP(784, 10, [64, 32], [Sigmoid(), Sigmoid(), Identity()],
    ...           lambda i, o: np.random.randn(i, o), lambda o: np.zeros((1, o)),
    ...           SoftmaxCrossEntropy(), 0.008, momentum=0.9)
    >>> mlp(np.zeros((5, 784))).shape
    (5, 10)
    """

    def __init__(
        self,
        input_size,
        output_size,
        hiddens,
        activations,
        weight_init_fn,
        bias_init_fn,
        criterion,
        lr,
        momentum=0.0,
        num_bn_layers=0,
    ):
        self.train_mode = True
        self.input_size = check_positive_int(input_size, "MLP", "input_size")
        self.output_size = check_positive_int(output_size, "MLP", "output_size")
        hiddens = [
            check_positive_int(h, "MLP", "each hidden size")
            for h in check_sequence(hiddens, "MLP", "hiddens")
        ]
        self.nlayers = len(hiddens) + 1
        activations = check_sequence(activations, "MLP", "activations")
        if len(activations) != self.nlayers:
            raise ValueError(
                f"MLP: expected {self.nlayers} activations (one per layer for hiddens "
                f"{hiddens}), got {len(activations)}"
            )
        for activation in activations:
            if not isinstance(activation, Activation):
                raise TypeError(f"MLP: expected Activation objects, got {activation!r}")
        if not isinstance(criterion, Criterion):
            raise TypeError(f"MLP: expected a Criterion, got {criterion!r}")
        if isinstance(num_bn_layers, bool) or not isinstance(num_bn_layers, (int, np.integer)):
            raise TypeError(
                f"MLP: expected num_bn_layers to be a non-negative int, got {num_bn_layers!r}"
            )
        self.num_bn_layers = int(num_bn_layers)
        if not 0 <= self.num_bn_layers <= len(hiddens):
            raise ValueError(
                f"MLP: expected num_bn_layers in [0, {len(hiddens)}] (one per hidden layer "
                f"at most), got {num_bn_layers}"
            )
        self.bn = self.num_bn_layers > 0
        self.activations = activations
        self.criterion = criterion
        self.lr = check_number(lr, "MLP", "lr", low=0)
        self.momentum = check_number(momentum, "MLP", "momentum", low=0, high=1)
        sizes = [self.input_size, *hiddens, self.output_size]
        # One layer at a time, in order: the order of the random draws is the handout's.
        self.linear_layers = [
            Linear(n_in, n_out, weight_init_fn, bias_init_fn)
            for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True)
        ]
        self.bn_layers = [BatchNorm(sizes[i + 1]) for i in range(self.num_bn_layers)] or None
        self.output = None

    @quiet_underflow.wrap
    def forward(self, x):
        """Return the network's output (batch, output_size) for input x (batch, input_size)."""
        for i, layer in enumerate(self.linear_layers):
            x = layer.forward(x)
            if i < self.num_bn_layers:
                x = self.bn_layers[i].forward(x, eval=not self.train_mode)
            x = self.activations[i](x)
        self.output = x
        return x

    @quiet_underflow.wrap
    def backward(self, labels):
        """Back-propagate the criterion's loss for one-hot ``labels`` (batch, output_size).

        Leaves dW, db in each Linear (batch means) and dgamma, dbeta in each BatchNorm.
        """
        if self.output is None:
            raise RuntimeError("MLP.backward: backward() called before forward()")
        self.loss = self.criterion(self.output, labels)
        delta = self.criterion.derivative()
        for i in reversed(range(self.nlayers)):
            delta = delta * self.activations[i].derivative()
            if i < self.num_bn_layers:
                delta = self.bn_layers[i].backward(delta)
            delta = self.linear_layers[i].backward(delta)
        return delta

    def zero_grads(self):
        """Set every gradient (dW, db, dgamma, dbeta) to zero."""
        for layer in self.linear_layers + (self.bn_layers or []):
            layer.zero_grad(set_to_none=False)

    @quiet_underflow.wrap
    def step(self):
        """Apply one update: the handout's momentum for Linear layers, plain SGD for BatchNorm.

        momentum_W = beta momentum_W - eta dW;  W = W + momentum_W  (and the same for b);
        gamma = gamma - eta dgamma;  beta = beta - eta dbeta.
        """
        for layer in self.linear_layers:
            layer.momentum_W *= self.momentum
            layer.momentum_W -= self.lr * layer.dW
            layer.momentum_b *= self.momentum
            layer.momentum_b -= self.lr * layer.db
            layer.W += layer.momentum_W
            layer.b += layer.momentum_b
        for bn in self.bn_layers or []:
            bn.gamma -= self.lr * bn.dgamma
            bn.beta -= self.lr * bn.dbeta

    def error(self, labels):
        """Number of samples whose arg-max output is not the one-hot label's class."""
        return int((np.argmax(self.output, axis=1) != np.argmax(labels, axis=1)).sum())

    def total_loss(self, labels):
        """Sum of the per-sample losses of the last output against ``labels``."""
        return self.criterion(self.output, labels).sum()

    def __call__(self, x):
        return self.forward(x)

    def to_sequential(self):
        """Return an equivalent ``mytorch.nn.Sequential`` holding a copy of the weights.

        Its ``state_dict()`` has the keys, shapes and layout of the same
        ``torch.nn.Sequential`` (Linear, BatchNorm1d, activation, ...), so
        ``torch_model.load_state_dict(...)`` takes it in one line.
        """
        from mytorch.nn import Sequential, registry

        def rebuild(layer):
            # The same layer as PyTorch's nn class (its spec), holding a copy of the weights.
            spec = {"type": registry.core_type_name(layer), **layer.get_config()}
            module = registry.build(spec, dtype=getattr(layer, "dtype", np.float64))
            module.load_state_dict(layer.state_dict())
            return module

        modules = []
        for i, layer in enumerate(self.linear_layers):
            modules.append(rebuild(layer))
            if i < self.num_bn_layers:
                modules.append(rebuild(self.bn_layers[i]))
            modules.append(rebuild(self.activations[i]))
        return Sequential(*modules).train(self.train_mode)

    def state_dict(self):
        """The weights under ``torch.nn.Sequential``'s keys (see ``to_sequential``)."""
        return self.to_sequential().state_dict()

    def train(self):
        """Training mode: BatchNorm normalises with batch statistics."""
        self.train_mode = True

    def eval(self):
        """Evaluation mode: BatchNorm normalises with its running statistics."""
        self.train_mode = False


class _CourseTrainer(Trainer):
    """MyTorch's training loop driving the course MLP through its own API."""

    def training_step(self, x, y, weight=None):
        # get_training_stats weighs every sample the same: ``weight`` is always None.
        mlp = self.model
        mlp.zero_grads()
        output = mlp.forward(x)
        mlp.backward(y)
        mlp.step()
        return output, float(np.sum(mlp.loss))

    def evaluation_step(self, x, y, weight=None):
        output = self.model.forward(x)
        return output, float(np.sum(self.model.criterion(output, y)))

    def current_lr(self):
        return self.model.lr


def get_training_stats(mlp, dset, nepochs, batch_size):
    """Train ``mlp`` and return its per-epoch statistics (handout section 3.6).

    Parameters
    ----------
    mlp : MLP
        The network to train (in place).
    dset : tuple
        ``(train, val, test)``, each ``(X, Y)`` with X (N, input_size) and one-hot
        Y (N, output_size). The test set is not used.
    nepochs : int
        Number of epochs.
    batch_size : int
        Mini-batch size.

    Returns
    -------
    training_losses, training_errors, validation_losses, validation_errors : numpy.ndarray
        Each of shape (nepochs,): mean loss and error rate over each epoch's training
        batches (measured while training), then on the validation set after the epoch.

    Notes
    -----
    The training set is reshuffled every epoch with NumPy's global generator
    (``np.random``), as the handout asks, by gathering a permuted index list;
    validation runs in eval mode (BatchNorm's running statistics).
    """
    train, val, _ = dset
    trainer = _CourseTrainer(mlp, mlp.criterion)
    history = trainer.fit(
        train[0],
        train[1],
        epochs=nepochs,
        batch_size=batch_size,
        val_data=(val[0], val[1]),
        shuffle_rng=np.random,
    )
    return (
        np.array(history.train_loss),
        np.array(history.train_error),
        np.array(history.val_loss),
        np.array(history.val_error),
    )
