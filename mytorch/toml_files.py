"""Reading TOML files (``mytorch train --config``, sweep files) with errors that name the
command reading them.

:func:`mytorch.config.read_settings` reads a run's settings with it; ``mytorch.config``
exports it too.
"""

from __future__ import annotations

import os
from typing import Any

__all__ = ["load_toml"]


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
