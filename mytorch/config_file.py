"""Settings files: the one TOML reader (:func:`load_toml`) and the settings of a
``mytorch train --config`` file (:func:`read_settings`), checked against the table of
:mod:`mytorch.config`."""

from __future__ import annotations

import os
from typing import Any

from mytorch.config import SETTINGS

__all__ = ["load_toml", "read_settings"]


def load_toml(path: str | os.PathLike, where: str) -> dict[str, Any]:
    """Read a TOML file into a dict.

    Parameters
    ----------
    path : str or path-like
        The file.
    where : str
        Who reads it, to start the error messages (``'mytorch train --config'``).

    Returns
    -------
    dict
        The file's tables and keys.

    Raises
    ------
    FileNotFoundError
        ``'{where}: no such file: {path}'``.
    ValueError
        ``'{where}: {path} is not valid TOML: ...'``.
    """
    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib
    try:
        with open(path, "rb") as file:
            return tomllib.load(file)
    except FileNotFoundError:
        raise FileNotFoundError(f"{where}: no such file: {os.fspath(path)}") from None
    except tomllib.TOMLDecodeError as error:
        raise ValueError(f"{where}: {os.fspath(path)} is not valid TOML: {error}") from None


def read_settings(path: str | os.PathLike) -> dict[str, Any]:
    """Read the settings of a ``mytorch train --config`` file.

    The settings are the ``[train]`` table, or the file's top level when it has none;
    keys may be written with dashes (``batch-size``) or underscores. The values are not
    checked here: :meth:`~mytorch.config.TrainConfig.validate` does, after the flags are applied.

    Parameters
    ----------
    path : str or path-like
        The TOML file.

    Returns
    -------
    dict
        ``{setting name: value}``.

    Raises
    ------
    FileNotFoundError
        If there is no such file.
    ValueError
        If it is not valid TOML or names a setting that does not exist.
    """
    data = load_toml(path, "mytorch train --config")
    section = data.get("train", data)
    settings = {key.replace("-", "_"): value for key, value in section.items()}
    unknown = set(settings) - set(SETTINGS)
    if unknown:
        raise ValueError(
            f"mytorch train: unknown settings {sorted(unknown)} in {os.fspath(path)}; "
            f"known: {sorted(SETTINGS)}"
        )
    return settings
