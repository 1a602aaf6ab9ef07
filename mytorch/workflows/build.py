"""What a :class:`~mytorch.config.TrainConfig` describes, built: model, optimiser,
schedule, data and the inputs' pre-processing.

``mytorch train`` and ``mytorch toy``, the scikit-learn estimators and
``examples/torch_fashion_mnist.py`` (with ``library=torch.optim``) all build here, so a
setting means the same everywhere.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mytorch import nn, optim, preprocessing
from mytorch.config import ACTIVATIONS, TrainConfig
from mytorch.nn import init, registry
from mytorch.underflow import quiet_underflow

__all__ = [
    "apply_scaling",
    "build_model",
    "build_optimizer",
    "build_scheduler",
    "fit_scaling",
    "load_data",
    "preprocessing_method",
    "scaling_parts",
    "resolve_init",
]

#: Activations whose Kaiming initialisation uses ReLU's gain: the ReLU family.
_RELU_LIKE = ("relu", "leaky_relu", "elu", "gelu")


def resolve_init(config: TrainConfig) -> tuple[str, str]:
    """The initialisation ``config.init`` stands for, and why: ``auto`` chooses by the
    activation.

    * the handout's network, sigmoid hidden layers: the course's N(0, 1) weights, which
      the course's sample MLP is graded with;
    * the ReLU family (ReLU, LeakyReLU, ELU, GELU): Kaiming (He), which keeps the
      variance of a ReLU layer's outputs from shrinking layer by layer;
    * anything else (tanh, softplus, identity, or no hidden layer): Xavier (Glorot).

    On digits, ``--activation relu --optimizer adam --epochs 30`` reaches 78.9% test
    accuracy with the course's N(0, 1) and 95.8% with Kaiming: the course's weights are
    right for its sigmoids only.

    Parameters
    ----------
    config : TrainConfig
        ``init``, ``activation`` and ``hidden`` are used.

    Returns
    -------
    scheme : str
        One of ``config.INITS`` other than ``'auto'``.
    reason : str
        ``''`` for a scheme that was asked for; else why ``auto`` chose it.
    """
    if config.init != "auto":
        return config.init, ""
    if config.hidden and config.activation == "sigmoid":
        return "course", "the handout's sigmoid MLP"
    if config.hidden and config.activation in _RELU_LIKE:
        return "kaiming", f"{config.activation} is of the ReLU family"
    return "xavier", f"{config.activation} hidden layers" if config.hidden else "no hidden layer"


def build_model(config: TrainConfig, n_features: int, n_classes: int) -> nn.Sequential:
    """The MLP of the config: [Linear, (BatchNorm1d), activation, (Dropout)] * n, Linear.

    Every layer is made by :func:`mytorch.nn.registry.build` from its spec, the one way
    model files are rebuilt too. The random numbers are drawn from
    ``numpy.random.default_rng(config.seed)`` in a fixed order, layer after layer: a
    Linear's own initial weights, then the config's initialisation scheme, then a seed
    for the Dropout after it. The same config therefore gives the same network,
    bit for bit.

    Parameters
    ----------
    config : TrainConfig
        ``hidden``, ``activation``, ``batch_norm``, ``dropout``, ``init`` (``auto``:
        see :func:`resolve_init`), ``dtype`` and ``seed`` are used.
    n_features : int
        Inputs of the first Linear.
    n_classes : int
        Outputs of the last Linear (the logits).

    Returns
    -------
    mytorch.nn.Sequential
        Input (N, n_features), output (N, n_classes), in ``config.dtype``.
    """
    dtype = np.dtype(config.dtype)
    rng = np.random.default_rng(config.seed)
    scheme, _ = resolve_init(config)
    activation = ACTIVATIONS[config.activation]
    # In place when it can: the activation follows a Linear or a BatchNorm1d, whose
    # output no one keeps for backward.
    activation_spec: dict[str, Any] = {"type": activation.__name__}
    if activation.supports_inplace:
        activation_spec["inplace"] = True
    sizes = [n_features, *config.hidden, n_classes]
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        linear_spec = {"type": "Linear", "in_features": n_in, "out_features": n_out}
        linear = registry.build(linear_spec, dtype=dtype, rng=rng)
        _initialise(linear, scheme, config.activation, rng)
        layers.append(linear)
        if i < len(config.hidden):
            if config.batch_norm:
                layers.append(
                    registry.build({"type": "BatchNorm1d", "num_features": n_out}, dtype=dtype)
                )
            layers.append(registry.build(activation_spec, dtype=dtype))
            if config.dropout > 0:
                dropout_spec = {"type": "Dropout", "p": config.dropout}
                layers.append(registry.build(dropout_spec, rng=rng.integers(2**63)))
    return nn.Sequential(*layers)


def _initialise(linear: nn.Linear, scheme: str, activation: str, rng: np.random.Generator) -> None:
    """Re-draw ``linear``'s weights by ``scheme`` (one of ``config.INITS``), from ``rng``.

    ``notes`` is the notes' SGD-NEURAL-NET (000, section 7.6, lines 2 and 3): weights
    from Gaussian(0, 1/m) (:func:`~mytorch.nn.init.notes_normal_`), offsets
    W_0 ~ Gaussian(0, 1). Every other scheme but ``default`` zeroes the biases.
    """
    if scheme == "course":
        # The handout's weight_init_fn: np.random.randn(in, out), zero biases.
        init.normal_(linear.weight, mean=0.0, std=1.0, rng=rng)
    elif scheme == "notes":
        init.notes_normal_(linear.weight, rng=rng)
        if linear.bias is not None:
            init.normal_(linear.bias, mean=0.0, std=1.0, rng=rng)
        return
    elif scheme == "xavier":
        init.xavier_uniform_(linear.weight, rng=rng)
    elif scheme == "kaiming":
        nonlinearity = "relu" if activation in _RELU_LIKE else "linear"
        init.kaiming_uniform_(linear.weight, nonlinearity=nonlinearity, rng=rng)
    if scheme != "default" and linear.bias is not None:
        init.zeros_(linear.bias)


def build_optimizer(config: TrainConfig, parameters: list, library: Any = optim) -> Any:
    """The optimiser the config names, with its learning rate, momentum and weight decay.

    Parameters
    ----------
    config : TrainConfig
        ``optimizer``, ``lr``, ``momentum`` (SGD, NotesSGD, RMSprop) and ``weight_decay``
        are used; ``notes-sgd``, ``notes-adam`` and ``notes-adadelta`` are the notes'
        :class:`~mytorch.optim.NotesSGD`, :class:`~mytorch.optim.NotesAdam` and
        :class:`~mytorch.optim.NotesAdadelta` (their own defaults otherwise).
    parameters : list
        The parameters to optimise.
    library : module
        ``mytorch.optim``, or ``torch.optim``, which has the same classes and arguments
        (``examples/torch_fashion_mnist.py`` trains the same config with PyTorch).

    Returns
    -------
    Optimizer
        An optimiser of ``library``.
    """
    kind, lr, decay = config.optimizer, config.lr, config.weight_decay
    if kind.startswith("notes-"):
        # The lecture notes' rules (mytorch.optim only; PyTorch has none of them).
        name = {"notes-sgd": "NotesSGD", "notes-adam": "NotesAdam"}.get(kind, "NotesAdadelta")
        if not hasattr(library, name):
            raise ValueError(
                f"--optimizer {kind} is the lecture notes' {name}, which only mytorch.optim has"
            )
        if kind == "notes-sgd":
            return library.NotesSGD(parameters, lr=lr, momentum=config.momentum, weight_decay=decay)
        return getattr(library, name)(parameters, lr=lr, weight_decay=decay)
    if kind == "sgd":
        return library.SGD(parameters, lr=lr, momentum=config.momentum, weight_decay=decay)
    if kind == "adam":
        return library.Adam(parameters, lr=lr, weight_decay=decay)
    if kind == "adamw":
        return library.AdamW(parameters, lr=lr, weight_decay=decay)
    if kind == "rmsprop":
        return library.RMSprop(parameters, lr=lr, momentum=config.momentum, weight_decay=decay)
    if kind == "adagrad":
        return library.Adagrad(parameters, lr=lr, weight_decay=decay)
    return library.Adadelta(parameters, lr=lr, weight_decay=decay)


def build_scheduler(
    config: TrainConfig, optimizer: Any, library: Any = optim, steps_per_epoch: int = 1
) -> Any:
    """The learning-rate schedule the config names, or None.

    Stepped once per epoch (``schedule_interval='epoch'``), or after every update
    (``'step'``: the notes' eta(t), t counting updates). Per update, a schedule is the
    same curve over the run in finer steps (MyTorch's choice): lengths in epochs become
    ``steps_per_epoch`` times as many updates, and a per-epoch factor f becomes
    f ** (1 / steps_per_epoch), so the rate at the start of each epoch is the per-epoch
    schedule's. ``inverse-time`` per update is eta(t) = eta_0 / (1 + t / steps_per_epoch)
    at update t = 0, 1, 2, ...

    Parameters
    ----------
    config : TrainConfig
        ``schedule``, ``schedule_interval`` and ``epochs`` are used.
    optimizer : Optimizer
        The optimiser to schedule, of ``library``.
    library : module
        As in :func:`build_optimizer`. PyTorch has no ``InverseTimeLR``; the
        ``inverse-time`` schedule there is the same 1 / (1 + decay t) as a ``LambdaLR``.
    steps_per_epoch : int
        Updates per epoch (``ceil(n_train / batch_size)``); used per update only.

    Returns
    -------
    LRScheduler or None
        None for ``schedule='none'``.

    Raises
    ------
    ValueError
        For ``plateau`` per update: it watches the validation loss, known once per epoch.
    """
    schedulers = library.lr_scheduler
    kind = config.schedule
    per_update = getattr(config, "schedule_interval", "epoch") == "step"
    if kind == "plateau" and per_update:
        raise ValueError(
            "--schedule plateau watches the validation loss of each epoch; it cannot be "
            "stepped per update (--schedule-interval step)"
        )
    steps = max(1, int(steps_per_epoch)) if per_update else 1
    if kind == "none":
        return None
    if kind == "step":
        return schedulers.StepLR(optimizer, step_size=max(1, config.epochs // 3) * steps, gamma=0.1)
    if kind == "exponential":
        return schedulers.ExponentialLR(optimizer, gamma=0.95 ** (1.0 / steps))
    if kind == "cosine":
        return schedulers.CosineAnnealingLR(optimizer, T_max=config.epochs * steps)
    if kind == "plateau":
        return schedulers.ReduceLROnPlateau(optimizer, factor=0.5, patience=2)
    if kind == "warmup":
        total = min(5, config.epochs) * steps
        return schedulers.LinearLR(optimizer, start_factor=0.1, total_iters=total)
    decay = 1.0 / steps
    if not hasattr(schedulers, "InverseTimeLR"):
        return schedulers.LambdaLR(optimizer, lambda t: 1.0 / (1.0 + decay * t))
    return schedulers.InverseTimeLR(optimizer, decay=decay)


def load_data(config: TrainConfig) -> tuple[Any, tuple, tuple]:
    """Load the data set, split off validation data and cast to the run's dtype.

    Parameters
    ----------
    config : TrainConfig
        ``dataset``, ``data_dir``, ``download``, ``dtype``, ``val_fraction`` and
        ``seed`` (the split) are used.

    Returns
    -------
    data : mytorch.datasets.Dataset
        The whole data set (its test split, classes and name).
    train : tuple of ndarray
        ``(X_train, y_train)``, shapes (N, D) and (N,).
    val : tuple of ndarray
        ``(X_val, y_val)``, a stratified ``val_fraction`` of the training data.
    """
    from mytorch.data import train_val_split
    from mytorch.datasets import load_dataset

    data = load_dataset(
        config.dataset, root=config.data_dir, download=config.download, dtype=np.dtype(config.dtype)
    )
    X_train, y_train, X_val, y_val = train_val_split(
        data.X_train, data.y_train, val_fraction=config.val_fraction, rng=config.seed, stratify=True
    )
    return data, (X_train, y_train), (X_val, y_val)


def preprocessing_method(config: TrainConfig) -> str:
    """The pre-processing a config asks for: ``preprocess``, or ``standardize`` for the
    older ``--standardize`` switch (a synonym, kept for the config files that use it).

    Raises
    ------
    ValueError
        If ``--standardize`` asks for another method than ``--preprocess``, or
        ``--pca-components`` is given without PCA.
    """
    method = getattr(config, "preprocess", "none")
    if config.standardize:
        if method not in ("none", "standardize"):
            raise ValueError(
                f"--standardize is --preprocess standardize; it cannot go with --preprocess "
                f"{method}"
            )
        method = "standardize"
    if getattr(config, "pca_components", None) is not None and method not in PCA_METHODS:
        raise ValueError(
            "--pca-components keeps principal components: it needs --preprocess pca or "
            f"whiten-pca, got --preprocess {method}"
        )
    return method


#: The pre-processing methods that project onto principal components.
PCA_METHODS = ("pca", "whiten-pca")


def fit_scaling(config: TrainConfig, X_train: np.ndarray) -> dict[str, Any] | None:
    """Fit the config's pre-processing on the training features (only them).

    The statistics come from :mod:`mytorch.preprocessing`; they are kept as plain lists,
    as the model file's metadata (``scaling``) and the checkpoint hold them, in the one
    form :func:`apply_scaling` reads: ``X -> ((X - mean) / std) @ matrix``, each part
    present only when the method has it.

    * ``center``: ``mean`` (the slides' ``X - X.mean(axis=0)``);
    * ``standardize``: ``mean`` and ``std`` (``X / np.std(X, axis=0)``; a constant
      feature gets std 1);
    * ``pca``: ``mean`` and ``matrix`` (D, K), the first K principal axes;
    * ``whiten-pca``: ``matrix`` (D, K) the axes scaled by 1 / sqrt(variance + 1e-5);
    * ``whiten-zca``: ``matrix`` (D, D), that rotated back (``Whitening('zca')``).

    The epsilon 1e-5 is ``Whitening``'s default, MyTorch's choice: it keeps a direction
    of no variance (a pixel that is always 0) from dividing by 0.

    Parameters
    ----------
    config : TrainConfig
        ``preprocess``, ``standardize`` and ``pca_components`` are used.
    X_train : ndarray of shape (N, D)
        The training features.

    Returns
    -------
    dict or None
        ``{"method": ..., "mean": [D floats], "std": [D floats], "matrix": [[K floats]
        * D]}`` (the parts the method has), or None for ``none``.
    """
    method = preprocessing_method(config)
    if method == "none":
        return None
    if method == "center":
        center = preprocessing.ZeroCenter().fit(X_train)
        return {"method": method, "mean": center.mean_.tolist()}
    if method == "standardize":
        scaler = preprocessing.Standardize().fit(X_train)
        return {"method": method, "mean": scaler.mean_.tolist(), "std": scaler.scale_.tolist()}
    if method == "pca":
        pca = preprocessing.PCA(n_components=config.pca_components).fit(X_train)
        matrix = pca.components_.T
    else:
        whitening = preprocessing.Whitening(method.removeprefix("whiten-")).fit(X_train)
        matrix = whitening.whitening_matrix_[:, : config.pca_components]
        pca = whitening
    return {"method": method, "mean": pca.mean_.tolist(), "matrix": matrix.tolist()}


@quiet_underflow.wrap
def apply_scaling(X: np.ndarray, scaling: dict[str, Any] | None) -> np.ndarray:
    """Apply the pre-processing stored in a model's metadata (:func:`fit_scaling`).

    Parameters
    ----------
    X : ndarray of shape (N, D)
        Features.
    scaling : dict or None
        As :func:`fit_scaling` returns it (a model file of an older release holds
        ``mean`` and ``std`` only: standardisation); None leaves ``X`` as it is.

    Returns
    -------
    ndarray of shape (N, K)
        ``((X - mean) / std) @ matrix`` (the parts present) in ``X``'s dtype, or ``X``.

    Raises
    ------
    ValueError
        If ``X`` has another number of features than the pre-processing was fitted on.
    """
    if not scaling:
        return X
    mean = np.asarray(scaling_parts(scaling)["mean"], dtype=X.dtype)
    if X.ndim != 2 or X.shape[1] != mean.shape[0]:
        raise ValueError(
            f"the {scaling.get('method', 'standardize')} pre-processing was fitted on "
            f"{mean.shape[0]} features; got data of shape {X.shape}"
        )
    X = X - mean
    if "std" in scaling:
        X /= np.asarray(scaling["std"], dtype=X.dtype)
    if "matrix" in scaling:
        X = X @ np.asarray(scaling["matrix"], dtype=X.dtype)
    return X


def scaling_parts(scaling: Any) -> dict[str, np.ndarray]:
    """The arrays of a stored pre-processing, checked: ``mean`` (D,), and ``std`` (D,)
    and ``matrix`` (D, K) where present, float64.

    Raises
    ------
    ValueError
        If ``scaling`` is not of the form :func:`fit_scaling` writes (a damaged or
        hand-edited model file).
    """
    where = "the model's pre-processing (metadata 'scaling')"
    if not isinstance(scaling, dict) or "mean" not in scaling:
        raise ValueError(f"{where}: expected a dict with 'mean', got {type(scaling).__name__}")
    parts = {}
    for key in ("mean", "std", "matrix"):
        if key not in scaling:
            continue
        try:
            parts[key] = np.asarray(scaling[key], dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"{where}: '{key}' is not an array of numbers") from None
    size = parts["mean"].shape
    shapes_fit = (
        len(size) == 1
        and size[0] > 0
        and parts.get("std", parts["mean"]).shape == size
        and ("matrix" not in parts or parts["matrix"].ndim == 2 and len(parts["matrix"]) == size[0])
    )
    if not shapes_fit or not all(np.isfinite(part).all() for part in parts.values()):
        raise ValueError(f"{where}: its arrays do not fit together or are not finite")
    return parts
