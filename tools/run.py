#!/usr/bin/env python3
"""Set up a virtual environment and run MyTorch's main job or its test suite.

    python3 tools/run.py train [mytorch train flags...]   # the main job
    python3 tools/run.py test  [pytest flags...]          # the whole test suite
    python3 tools/run.py playground [--port N ...]        # the learner's web page
    python3 tools/run.py bench [--quick ...]              # speed against PyTorch & co.
    python3 tools/run.py docs  [sphinx-build flags...]    # the site, in docs/_build/html
    python3 tools/run.py typecheck [mypy flags...]        # mypy over mytorch/ and hw1/

``test`` without a test path runs the whole suite and measures line and branch
coverage of ``mytorch/`` and ``hw1/`` (``[tool.coverage]`` in ``pyproject.toml``); with
one (``test tests/test_linear.py``) it runs those tests alone, unmeasured.

Needs only ``python3`` (with its standard ``venv`` module). The environment lives in
``.venv/`` at the repository root and is (re)installed from ``pyproject.toml`` when
that file changes; later runs start at once.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
EXTRAS = {
    "train": "cli",
    "test": "test,cli",
    "bench": "bench,cli",
    "playground": "playground,cli",
    "docs": "docs,cli",
    "typecheck": "test,cli",
}


def _python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def ensure_environment(extras: str) -> Path:
    """Create ``.venv`` and install ``mytorch[extras]`` (editable) unless already done."""
    python = _python()
    if not python.exists():
        print(f"[setup] creating virtual environment in {VENV}", flush=True)
        try:
            venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
        except Exception as error:  # ensurepip missing on some Linux distributions
            sys.exit(
                f"[setup] could not create a virtual environment ({error}); on Debian or "
                "Ubuntu install it with: apt-get install python3-venv"
            )
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + extras.encode()).hexdigest()
    stamp = VENV / f".installed-{extras.replace(',', '-')}"
    if not stamp.exists() or stamp.read_text() != digest:
        print(f"[setup] installing mytorch[{extras}] into {VENV} (first run only)", flush=True)
        subprocess.run([python, "-m", "pip", "install", "--quiet", "--upgrade", "pip"], check=True)
        subprocess.run(
            [python, "-m", "pip", "install", "--quiet", "-e", f".[{extras}]"], check=True, cwd=ROOT
        )
        stamp.write_text(digest)
    return python


def _names_tests(args: list[str]) -> bool:
    """Whether pytest's arguments name a test file, folder or test (``path::name``)."""
    return any(not arg.startswith("-") and (ROOT / arg.split("::")[0]).exists() for arg in args)


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in EXTRAS:
        print(__doc__)
        return 2
    command, rest = argv[0], argv[1:]
    if command == "docs" and sys.version_info < (3, 11):
        sys.exit("[docs] building the documentation needs Python 3.11 or newer (Sphinx 9)")
    python = ensure_environment(EXTRAS[command])
    if command == "train":
        args = [python, "-m", "mytorch", "train", *rest]
    elif command == "test":
        coverage = [] if _names_tests(rest) else ["--cov", "--cov-report=term"]
        args = [python, "-m", "pytest", *coverage, *rest]
    elif command == "docs":
        # -W: a warning (a broken reference, a public object without a docstring, a
        # lesson that fails) fails the build; --keep-going reports all of them first.
        html = ROOT / "docs" / "_build" / "html"
        args = [python, "-m", "sphinx", "-b", "html", "-W", "--keep-going", *rest]
        args += [str(ROOT / "docs"), str(html)]
    elif command == "typecheck":
        args = [python, "-m", "mypy", *rest]
    elif command == "playground":
        args = [python, "-m", "mytorch", "playground", *rest]
    else:
        args = [python, str(ROOT / "bench" / "bench.py"), *rest]
    return subprocess.run(args, cwd=ROOT).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
