#!/usr/bin/env python3
"""Set up a virtual environment and run MyTorch's main job or its test suite.

    python3 tools/run.py train [mytorch train flags...]   # the main job
    python3 tools/run.py test  [pytest flags...]          # the whole test suite
    python3 tools/run.py playground [--port N ...]        # the learner's web page

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


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in EXTRAS:
        print(__doc__)
        return 2
    command, rest = argv[0], argv[1:]
    python = ensure_environment(EXTRAS[command])
    if command == "train":
        args = [python, "-m", "mytorch", "train", *rest]
    elif command == "test":
        args = [python, "-m", "pytest", *rest]
    elif command == "playground":
        args = [python, "-m", "mytorch", "playground", *rest]
    else:
        args = [python, str(ROOT / "bench" / "bench.py"), *rest]
    return subprocess.run(args, cwd=ROOT).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
