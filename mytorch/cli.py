"""The ``mytorch`` command line: train, toy, playground, evaluate, predict and sweep.

This module parses arguments and calls the workflows (``mytorch/workflows``) and the
sweeps (``mytorch/integrations/sweep``); it holds no training logic. The options of
``mytorch train`` and ``mytorch toy`` are made from the configuration's table
(:data:`mytorch.config.SETTINGS`): one flag per setting, with its help text, group and
argument type. Settings come from
defaults < a TOML config file (``--config``) < flags.

Exit status: 0 on success, 2 on a bad argument, setting or file (one line on stderr,
no traceback), 3 when training diverges, 4 when the run folder is in use by another
process (``mytorch train``), and for ``mytorch sweep`` 1 when every run failed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from mytorch.config import (
    Setting,
    TrainConfig,
    settings_for,
)
from mytorch.config_file import read_settings
from mytorch.constraints import (
    Boolean,
    Interval,
    NoneOr,
    OptionList,
    Options,
    PositiveInts,
    SwitchOrText,
)
from mytorch.integrations.sweep import run_sweep
from mytorch.run_lock import RunFolderBusyError
from mytorch.serialization import ModelFileError
from mytorch.toy_config import ToyConfig, toy_settings
from mytorch.trainer import TrainingDivergedError
from mytorch.version import __version__
from mytorch.workflows.evaluate import evaluate, predict
from mytorch.workflows.report import write_json
from mytorch.workflows.toy import toy
from mytorch.workflows.train import train

__all__ = ["main"]

#: Options of ``mytorch train`` that are not settings of the run, listed in the help
#: after the setting named here.
_RUN_OPTIONS: dict[str, list[tuple[str, dict[str, Any]]]] = {
    "out": [
        (
            "--resume",
            {"action": "store_true", "help": "continue the run in --out from its checkpoint"},
        ),
        ("--no-progress", {"action": "store_true", "help": "no progress bar"}),
    ],
}


def _argument_type(setting: Setting) -> dict[str, Any]:
    """The argparse options that read a value ``setting.constraint`` can accept."""
    constraint = setting.constraint
    if isinstance(constraint, NoneOr):  # None is the flag not given
        constraint = constraint.inner
    options: dict[str, Any] = {"metavar": setting.metavar} if setting.metavar else {}
    if isinstance(constraint, Boolean):
        return {"action": "store_true"}
    if isinstance(constraint, SwitchOrText):  # the flag alone: on, in the default place
        return {**options, "nargs": "?", "const": True}
    if isinstance(constraint, Options):
        return {**options, "choices": constraint.choices}
    if isinstance(constraint, PositiveInts):
        return {**options, "type": int, "nargs": "*"}
    if isinstance(constraint, OptionList):
        return {**options, "choices": constraint.choices, "nargs": "+"}
    if isinstance(constraint, Interval):
        return {**options, "type": constraint.kind}
    return options  # text


def _help(setting: Setting) -> str:
    default = setting.default
    shown = " ".join(map(str, default)) if isinstance(default, tuple) else default
    return setting.help.format(default=shown)


def _add_settings(parser: Any, settings: dict[str, Setting], run_options: dict) -> None:
    """One flag per setting, in its group, with ``run_options`` after the settings named."""
    groups: dict[str, Any] = {}
    for setting in settings.values():
        if setting.group not in groups:
            groups[setting.group] = parser.add_argument_group(setting.group)
        group = groups[setting.group]
        # default None: "not given", so that a config file's value is not overridden.
        group.add_argument(
            setting.flag, default=None, help=_help(setting), **_argument_type(setting)
        )
        for flag, options in run_options.get(setting.name, []):
            group.add_argument(flag, **options)


def _add_train_parser(commands: Any) -> None:
    train_parser = commands.add_parser(
        "train",
        help="train an MLP and save model, metrics and pictures",
        description="Train an MLP. Defaults: the course's sample MLP (hidden 64 64 32, "
        "sigmoid, SGD lr 0.008 momentum 0.9, batch 100) on scikit-learn's 8x8 "
        "digits. Settings: defaults < --config FILE < flags.",
    )
    train_parser.add_argument(
        "--config", metavar="FILE", help="TOML file with settings ([train] table or top level)"
    )
    _add_settings(train_parser, settings_for("train"), _RUN_OPTIONS)


#: Options of ``mytorch toy`` that are not settings of the run.
_TOY_OPTIONS: dict[str, list[tuple[str, dict[str, Any]]]] = {
    "out": [
        (
            "--frames",
            {"type": int, "default": 10, "help": "number of pictures, epoch 0 to the last [10]"},
        ),
        ("--gif", {"action": "store_true", "help": "also join the frames into boundary.gif"}),
    ],
}


def _add_toy_parser(commands: Any) -> None:
    toy_parser = commands.add_parser(
        "toy",
        help="train on a 2-D toy data set and save its decision boundary over epochs",
        description="Train an MLP on a 2-D data set (blobs, xor, moons, circles, spirals) "
        "and save pictures of its decision boundary from epoch 0 to the last: "
        "boundary_000.png, boundary_001.png, ... (and boundary.gif with --gif), and the "
        "model (model.npz). --hidden with no sizes trains a network without a hidden "
        "layer. The playground's 'command' button writes this command for its run.",
    )
    _add_settings(toy_parser, toy_settings(), _TOY_OPTIONS)


def _add_playground_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "playground",
        help="train a network in a local web page and watch every layer",
        description="Start the playground: a local web page where MyTorch trains a small "
        "network on 2-D data while you watch its decision boundary, every hidden unit, "
        "the weights, the losses and back-propagation inside one step. Needs the "
        "playground extra (pip install 'mytorch[playground]').",
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on [127.0.0.1: this machine only]"
    )
    parser.add_argument("--port", type=int, default=8765, help="port (0: any free one) [8765]")
    parser.add_argument(
        "--no-browser", action="store_true", help="print the address instead of opening it"
    )


def _add_sweep_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "sweep",
        help="run a grid or random search of train runs on Dask",
        description="Run every run of a sweep file as a Dask task (needs dask[distributed]).",
    )
    parser.add_argument("config", help="sweep TOML file ([train], [grid] or [random], [sweep])")
    parser.add_argument(
        "--scheduler",
        default=None,
        metavar="tcp://HOST:PORT",
        help="run on an existing Dask cluster [a new LocalCluster]",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        metavar="N",
        help="worker processes of the LocalCluster [2]",
    )
    parser.add_argument(
        "--out", default=None, metavar="DIR", help="sweep directory [sweeps/<config name>]"
    )
    parser.add_argument(
        "--no-resume", action="store_true", help="run every run again, even those already finished"
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mytorch",
        description="Train, evaluate and use feed-forward networks written in NumPy.",
        epilog="Run 'mytorch COMMAND --help' for the options of a command.",
    )
    parser.add_argument("--version", action="version", version=f"mytorch {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _add_train_parser(commands)
    _add_toy_parser(commands)
    _add_playground_parser(commands)

    evaluate_parser = commands.add_parser(
        "evaluate",
        help="accuracy, loss, per-class scores and confusion matrix of a model",
        description="Evaluate a saved model on the test split of a data set.",
    )
    evaluate_parser.add_argument("model", help="model.npz or a run directory")
    evaluate_parser.add_argument(
        "--dataset", default=None, help="data set (default: the one it was trained on)"
    )
    evaluate_parser.add_argument("--data-dir", default=None)
    evaluate_parser.add_argument("--json", metavar="FILE", help="also write the report as JSON")

    predict_parser = commands.add_parser(
        "predict",
        help="write predicted labels and probabilities to CSV",
        description="Predict with a saved model. Input: a CSV of feature rows (optional "
        "header) or an .npz with an array 'X'.",
    )
    predict_parser.add_argument("model", help="model.npz or a run directory")
    predict_parser.add_argument("--input", required=True, help="CSV or .npz of features")
    predict_parser.add_argument("--output", required=True, help="CSV to write")

    _add_sweep_parser(commands)
    return parser


def _train_config(args: argparse.Namespace) -> TrainConfig:
    """The run's settings: defaults < the ``--config`` file < the flags given."""
    settings: dict[str, Any] = {}
    if args.config:
        settings.update(read_settings(args.config))
    for name in settings_for("train"):
        value = getattr(args, name, None)
        if value is not None:
            settings[name] = value
    if getattr(args, "resume", False) and "epochs" not in settings:
        # Resuming without --epochs: train() continues to the checkpoint's planned epochs
        # and validates the checkpoint's settings.
        return TrainConfig(**{**settings, "epochs": 0})
    return TrainConfig(**settings).validate()


def _toy_config(args: argparse.Namespace) -> ToyConfig:
    """The toy run's settings: its defaults < the flags given."""
    given = {name: getattr(args, name) for name in toy_settings()}
    return ToyConfig(**{k: v for k, v in given.items() if v is not None}).validate()


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``mytorch`` console script.

    Parameters
    ----------
    argv : list of str, optional
        The arguments (default ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit status (see the module docstring). argparse's own errors and
        ``--help`` exit through ``SystemExit`` (status 2 and 0).
    """
    args = _parser().parse_args(argv)
    try:
        if args.command == "train":
            train(_train_config(args), resume=args.resume, progress=not args.no_progress)
        elif args.command == "toy":
            toy(_toy_config(args), frames=args.frames, gif=args.gif)
        elif args.command == "playground":
            from mytorch.playground import serve

            serve(host=args.host, port=args.port, open_browser=not args.no_browser)
        elif args.command == "evaluate":
            report = evaluate(args.model, args.dataset, args.data_dir)
            if args.json:
                write_json(Path(args.json), report)
        elif args.command == "sweep":
            result = run_sweep(
                args.config,
                args.out,
                scheduler=args.scheduler,
                n_workers=args.workers,
                resume=not args.no_resume,
            )
            return 0 if result.best is not None else 1
        else:
            predict(args.model, args.input, args.output)
    except TrainingDivergedError as error:
        print(f"mytorch: training stopped: {error}", file=sys.stderr)
        return 3
    except RunFolderBusyError as error:
        print(f"mytorch {args.command}: error: {error}", file=sys.stderr)
        return 4
    except (ValueError, TypeError, FileNotFoundError, ModelFileError, ImportError) as error:
        print(f"mytorch {args.command}: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
