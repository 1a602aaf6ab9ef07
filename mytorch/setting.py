"""``Setting``: one setting of ``mytorch train`` (or ``mytorch toy``), as the table in
:mod:`mytorch.config` declares it: its name, default, constraint, help text and group.

The command line's flags, the estimators' parameter checks and the sweeps' keys are all
made from these declarations.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mytorch.constraints import Constraint

__all__ = ["Setting"]


@dataclass(frozen=True)
class Setting:
    """One setting of ``mytorch train``.

    Attributes
    ----------
    name : str
        The :class:`~mytorch.config.TrainConfig` field and TOML key (``batch_size``); the
        flag is the same with dashes (``--batch-size``).
    default : Any
        The value when neither a config file nor a flag gives one (a tuple stands for
        a list: the table is shared and must not change).
    constraint : mytorch.constraints.Constraint
        What values the setting accepts.
    help : str
        The flag's help text; ``{default}`` in it is replaced by the default.
    group : str
        The group of ``mytorch train --help`` it is listed in.
    metavar : str or None
        The flag's placeholder in the help, where the name would not read well.
    commands : tuple of str
        The commands that take it: ``"train"`` (and sweeps and estimators), ``"toy"``.
    """

    name: str
    default: Any
    constraint: Constraint
    help: str
    group: str
    metavar: str | None = None
    commands: tuple[str, ...] = ("train",)

    @property
    def flag(self) -> str:
        """The command-line flag: ``'--batch-size'``."""
        return "--" + self.name.replace("_", "-")

    def error(self, value: Any) -> ValueError:
        """The command line's error for a refused ``value`` (not raised here).

        ``mytorch train: --lr expected a positive number, got -1``.
        """
        command = self.commands[0]
        return ValueError(
            f"mytorch {command}: {self.flag} expected {self.constraint.describe()}, got {value!r}"
        )
