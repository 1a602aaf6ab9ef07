"""The training configuration: every setting of ``mytorch train``, declared once.

:data:`SETTINGS` is the table: each setting's name, default, constraint (what values
it accepts, :mod:`mytorch.constraints`), help text and group. Everything else is made
from it:

* :class:`TrainConfig`, the dataclass a run is described by, takes its defaults from
  the table and :meth:`TrainConfig.validate` checks every field with its constraint;
* the command line (``mytorch/cli.py``) makes one flag per setting, with the help text,
  the group and the argument type the constraint implies;
* the scikit-learn estimators check their parameters with the constraints of the
  settings they set (``learning_rate_init`` with ``lr``'s, ``solver`` with
  ``optimizer``'s, ...);
* a sweep (``mytorch/integrations/sweep``) accepts exactly these names.

Also here, from :mod:`mytorch.choices` and :mod:`mytorch.setting`: the names the
settings choose from (:data:`ACTIVATIONS`, :data:`OPTIMIZERS`, :data:`SCHEDULES`,
:data:`INITS`, :data:`DTYPES`) and :class:`Setting`. The settings files are read by
:mod:`mytorch.config_file`.

This module imports NumPy and MyTorch's core only: the command line, the estimators and
the sweeps all build on it, and it on none of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeVar

from mytorch import choices
from mytorch.choices import ACTIVATIONS, DTYPES, INITS, LOSSES, OPTIMIZERS, SCHEDULES
from mytorch.constraints import (
    Boolean,
    Interval,
    NoneOr,
    OptionList,
    Options,
    PositiveInts,
    SwitchOrText,
    Text,
)
from mytorch.datasets.features import FEATURES, RAW_FEATURES
from mytorch.setting import Setting

__all__ = [
    "ACTIVATIONS",
    "DTYPES",
    "INITS",
    "OPTIMIZERS",
    "SCHEDULES",
    "LOSSES",
    "SETTINGS",
    "Setting",
    "TrainConfig",
    "settings_for",
]


def _settings(*settings: Setting) -> dict[str, Setting]:
    return {setting.name: setting for setting in settings}


#: A subclass of TrainConfig (``validate`` returns the same type).
_Config = TypeVar("_Config", bound="TrainConfig")
_POSITIVE_INT = Interval(int, 1, None)
_POSITIVE_NUMBER = Interval(float, 0, None, closed="neither")
_NON_NEGATIVE_NUMBER = Interval(float, 0, None, closed="left")
_PROBABILITY = Interval(float, 0, 1, closed="both", noun="probability")
_TOY = ("toy",)

#: Every setting of ``mytorch train``, in the order ``mytorch train --help`` lists them.
SETTINGS: dict[str, Setting] = _settings(
    # ---------------------------------------------------------------- data
    Setting(
        "dataset",
        "digits",
        Text(),
        help="digits, mnist, fashion-mnist, or a .csv/.npz path [{default}]",
        group="data",
    ),
    Setting("data_dir", None, NoneOr(Text()), help="directory with the IDX files", group="data"),
    Setting(
        "download",
        False,
        Boolean(),
        help="download MNIST/Fashion-MNIST if missing (needs pooch)",
        group="data",
    ),
    Setting(
        "val_fraction",
        0.1,
        Interval(float, 0, 1, closed="neither", noun="fraction"),
        help="share of training data held out [{default}]",
        group="data",
    ),
    Setting(
        "standardize",
        False,
        Boolean(),
        help="standardise features with training statistics (--preprocess standardize)",
        group="data",
    ),
    Setting(
        "preprocess",
        "none",
        Options(choices.PREPROCESSING),
        help="the inputs' pre-processing, fitted on the training split [{default}]",
        group="data",
    ),
    Setting(
        "pca_components",
        None,
        NoneOr(_POSITIVE_INT),
        help="principal components kept by --preprocess pca / whiten-pca [all]",
        group="data",
    ),
    Setting(
        "n_samples",
        400,
        Interval(int, 2, None),
        help="training points [{default}]",
        group="data",
        commands=_TOY,
    ),
    Setting(
        "test_samples",
        None,
        NoneOr(Interval(int, 1, None)),
        help="fresh test points [as many as --n-samples]",
        group="data",
        commands=_TOY,
    ),
    Setting(
        "noise",
        0.1,
        _NON_NEGATIVE_NUMBER,
        help="std of Gaussian noise on each coordinate [{default}]",
        group="data",
        commands=_TOY,
    ),
    Setting(
        "features",
        RAW_FEATURES,
        OptionList(tuple(FEATURES)),
        help="the network's inputs, made from each point (x1, x2) [{default}]",
        group="model",
        metavar="FEATURE",
        commands=_TOY,
    ),
    Setting(
        "loss",
        "cross_entropy",
        Options(tuple(LOSSES)),
        help="[{default}]",
        group="training",
        commands=_TOY,
    ),
    # ---------------------------------------------------------------- model
    Setting(
        "hidden",
        (64, 64, 32),
        PositiveInts(),
        help="hidden layer sizes [{default}]",
        group="model",
        metavar="UNITS",
    ),
    Setting(
        "activation",
        "sigmoid",
        Options(sorted(ACTIVATIONS)),
        help="[{default}]",
        group="model",
    ),
    Setting(
        "batch_norm",
        False,
        Boolean(),
        help="BatchNorm1d after every hidden Linear",
        group="model",
    ),
    Setting(
        "dropout",
        0.0,
        Interval(float, 0, 1, closed="left", noun="probability"),
        help="dropout probability [0]",
        group="model",
    ),
    Setting(
        "init",
        "auto",
        Options(INITS),
        help="weight init: auto (the course's N(0, 1) for the handout's sigmoid MLP, "
        "Kaiming for the ReLU family, Xavier otherwise), PyTorch's default, the course's "
        "N(0, 1), the notes' Gaussian(0, 1/m) and N(0, 1) offsets, Xavier or Kaiming [{default}]",
        group="model",
    ),
    Setting("dtype", "float64", Options(DTYPES), help="[{default}]", group="model"),
    # ---------------------------------------------------------------- training
    Setting(
        "optimizer",
        "sgd",
        Options(OPTIMIZERS),
        help="[{default}]",
        group="training",
    ),
    Setting(
        "lr",
        0.008,
        _POSITIVE_NUMBER,
        help="learning rate [{default}]",
        group="training",
    ),
    Setting(
        "momentum",
        0.9,
        _NON_NEGATIVE_NUMBER,
        help="momentum of sgd, notes-sgd and rmsprop [{default}]",
        group="training",
    ),
    Setting(
        "weight_decay",
        0.0,
        _NON_NEGATIVE_NUMBER,
        help="L2 penalty [0]",
        group="training",
    ),
    Setting(
        "schedule",
        "none",
        Options(SCHEDULES),
        help="learning-rate schedule, over the epochs [{default}]",
        group="training",
    ),
    Setting(
        "schedule_interval",
        "epoch",
        Options(choices.SCHEDULE_INTERVALS),
        help="step the schedule after every epoch, or after every update (the notes' "
        "eta(t)), the same curve in finer steps [{default}]",
        group="training",
    ),
    Setting("epochs", 100, _POSITIVE_INT, help="[{default}]", group="training"),
    Setting("batch_size", 100, _POSITIVE_INT, help="[{default}]", group="training"),
    Setting(
        "early_stopping",
        None,
        NoneOr(Interval(int, 1, None, noun="patience")),
        help="stop after PATIENCE epochs without a better val loss and restore the best weights",
        group="training",
        metavar="PATIENCE",
    ),
    Setting(
        "input_noise",
        0.0,
        _NON_NEGATIVE_NUMBER,
        help="Gaussian noise added to training inputs [0]",
        group="training",
        metavar="SIGMA",
    ),
    # Augmentation of the training batches (mytorch.augmentation), each off at 0.
    Setting(
        "augment_shift",
        0,
        Interval(int, 0, None, noun="number of pixels"),
        help="shift training images by up to K pixels each way [0]",
        group="augmentation",
        metavar="K",
    ),
    Setting(
        "augment_flip",
        0.0,
        _PROBABILITY,
        help="mirror training images left to right with probability P [0]",
        group="augmentation",
        metavar="P",
    ),
    Setting(
        "augment_erase",
        0.0,
        _PROBABILITY,
        help="erase a random rectangle (0.02-0.33 of the area) of training images with "
        "probability P [0]",
        group="augmentation",
        metavar="P",
    ),
    Setting(
        "image_shape",
        None,
        NoneOr(PositiveInts()),
        help="height and width of the images in the rows [a square: 28 28 for 784]",
        group="augmentation",
        metavar="H W",
    ),
    Setting(
        "label_smoothing",
        0.0,
        Interval(float, 0, 1, closed="both", noun="fraction"),
        help="cross-entropy with targets (1 - E) one-hot + E / classes [0]",
        group="training",
        metavar="E",
    ),
    # Weight averaging (mytorch.weight_averaging): validation, the test report and
    # model.npz use the averaged weights.
    Setting(
        "ema",
        None,
        NoneOr(Interval(float, 0, 1, closed="left", noun="decay")),
        help="average the weights after every step: avg = DECAY avg + (1 - DECAY) w",
        group="training",
        metavar="DECAY",
    ),
    Setting(
        "swa_start",
        None,
        NoneOr(Interval(int, 1, None, noun="epoch")),
        help="stochastic weight averaging: the mean of the weights after each epoch from EPOCH",
        group="training",
        metavar="EPOCH",
    ),
    Setting(
        "max_grad_norm",
        None,
        NoneOr(_POSITIVE_NUMBER),
        help="clip the global gradient norm",
        group="training",
    ),
    Setting(
        "class_weight",
        None,
        NoneOr(Options(("balanced",))),
        help="weigh each training sample's loss by its class: 'balanced' gives each class "
        "the same total weight, n_samples / (n_classes * count), as scikit-learn's "
        "class_weight='balanced' (the validation loss and error are weighted alike)",
        group="training",
    ),
    Setting("seed", 0, Interval(int, 0, None), help="[{default}]", group="training"),
    Setting(
        "reference_loop",
        False,
        Boolean(),
        help="train with the reference loop of module calls instead of the compiled step "
        "(mytorch.compile_step), which a run uses when it qualifies",
        group="training",
    ),
    # ---------------------------------------------------------------- output
    Setting(
        "out",
        "runs/latest",
        Text(),
        help="run directory [{default}]",
        group="output",
    ),
    Setting(
        "diagnostics",
        False,
        Boolean(),
        help="record per-layer weight/gradient norms, update ratios, saturated and dead "
        "units; print advice, save diagnostics.json and diagnostics.png",
        group="output",
    ),
    Setting(
        "tensorboard",
        False,
        SwitchOrText(),
        help="write TensorBoard event files to DIR [OUT/tensorboard]: per-epoch losses, "
        "accuracies, learning rate and epoch time; with --diagnostics also per-layer "
        "histograms of weights, gradients and activations (needs tensorboardX)",
        group="output",
        metavar="DIR",
    ),
)


def settings_for(command: str) -> dict[str, Setting]:
    """The settings of :data:`SETTINGS` that ``command`` (``"train"``, ``"toy"``) takes.

    ``mytorch toy`` starts some of them elsewhere (``mytorch.toy_config.toy_settings``).
    """
    return {name: s for name, s in SETTINGS.items() if command in s.commands}


def _default(name: str) -> Any:
    return SETTINGS[name].default


@dataclass
class TrainConfig:
    """Every setting of ``mytorch train`` (the defaults are the handout's sample MLP).

    The fields are the settings of :data:`SETTINGS` (their meaning is its help text), in
    the order ``config.json`` writes them. Build one from keywords, from
    :func:`~mytorch.config_file.read_settings`, or from a saved ``config.json``; call
    :meth:`validate` before use.
    """

    dataset: str = _default("dataset")
    data_dir: str | None = _default("data_dir")
    download: bool = _default("download")
    hidden: list[int] = field(default_factory=lambda: list(_default("hidden")))
    activation: str = _default("activation")
    batch_norm: bool = _default("batch_norm")
    dropout: float = _default("dropout")
    init: str = _default("init")
    optimizer: str = _default("optimizer")
    lr: float = _default("lr")
    momentum: float = _default("momentum")
    weight_decay: float = _default("weight_decay")
    schedule: str = _default("schedule")
    schedule_interval: str = _default("schedule_interval")
    epochs: int = _default("epochs")
    batch_size: int = _default("batch_size")
    val_fraction: float = _default("val_fraction")
    standardize: bool = _default("standardize")
    preprocess: str = _default("preprocess")
    pca_components: int | None = _default("pca_components")
    input_noise: float = _default("input_noise")
    augment_shift: int = _default("augment_shift")
    augment_flip: float = _default("augment_flip")
    augment_erase: float = _default("augment_erase")
    image_shape: list[int] | None = _default("image_shape")
    label_smoothing: float = _default("label_smoothing")
    ema: float | None = _default("ema")
    swa_start: int | None = _default("swa_start")
    max_grad_norm: float | None = _default("max_grad_norm")
    early_stopping: int | None = _default("early_stopping")
    class_weight: str | None = _default("class_weight")
    diagnostics: bool = _default("diagnostics")
    tensorboard: bool | str = _default("tensorboard")
    seed: int = _default("seed")
    reference_loop: bool = _default("reference_loop")
    dtype: str = _default("dtype")
    out: str = _default("out")

    @classmethod
    def settings(cls) -> dict[str, Setting]:
        """The settings the fields are: those of ``mytorch train``."""
        return settings_for("train")

    def validate(self: _Config) -> _Config:
        """Check every setting with its constraint; return ``self``.

        Returns
        -------
        TrainConfig
            ``self``, so that ``TrainConfig(**settings).validate()`` reads as one step.

        Raises
        ------
        ValueError
            Naming the first bad setting (in the table's order) by its flag, what it
            expected and what came: ``mytorch train: --lr expected a positive number,
            got -1``.
        """
        for setting in self.settings().values():
            value = getattr(self, setting.name)
            if not setting.constraint.is_satisfied_by(value):
                raise setting.error(value)
        self._check_combinations()
        return self

    def _check_combinations(self) -> None:
        if self.image_shape is not None and len(self.image_shape) != 2:
            raise ValueError(
                "mytorch train: --image-shape expected two numbers (height width), "
                f"got {list(self.image_shape)}"
            )
        if self.ema is not None and self.swa_start is not None:
            raise ValueError("mytorch train: --ema and --swa-start: choose one way to average")
        if self.early_stopping and (self.ema is not None or self.swa_start is not None):
            raise ValueError(  # it would keep the training weights of the best average's epoch
                "mytorch train: --early-stopping with --ema or --swa-start: choose one"
            )
