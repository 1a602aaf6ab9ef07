"""``command-help``: the ``--help`` text of a ``mytorch`` command, as the parser prints it.

The command-line guide shows each command's options from the parser itself
(``mytorch/cli.py``, built from ``mytorch.config.SETTINGS``), so the page cannot fall
behind a new flag::

    .. command-help:: train
"""

from __future__ import annotations

import contextlib
import io
import os
from typing import Any

from docutils import nodes
from docutils.parsers.rst import Directive
from sphinx.application import Sphinx

#: Columns argparse wraps the help text to.
WIDTH = "88"


def command_help(command: str) -> str:
    """The text ``mytorch COMMAND --help`` prints (``mytorch --help`` for an empty one)."""
    from mytorch import cli

    argv = [command, "--help"] if command else ["--help"]
    out = io.StringIO()
    columns = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = WIDTH
    try:
        with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
            cli.main(argv)
    finally:
        if columns is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = columns
    return out.getvalue().rstrip()


class CommandHelp(Directive):
    """The directive: one optional argument, the command's name."""

    optional_arguments = 1

    def run(self) -> list[nodes.Node]:
        """A literal block of the help text."""
        text = command_help(self.arguments[0] if self.arguments else "")
        block = nodes.literal_block(text, text)
        block["language"] = "text"
        return [block]


def setup(app: Sphinx) -> dict[str, Any]:
    """Register the directive."""
    app.add_directive("command-help", CommandHelp)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
