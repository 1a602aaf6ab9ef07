"""The code base stays ruff-clean (lint rules and formatting config in pyproject.toml)."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _ruff() -> list[str]:
    beside_python = Path(sys.executable).parent / "ruff"
    found = str(beside_python) if beside_python.exists() else shutil.which("ruff")
    assert found, "ruff is a test dependency (pip install -e '.[test]')"
    return [found]


PATHS = ["mytorch", "hw1", "tests", "tools", "bench", "examples", "docs/conf.py", "docs/sphinxext"]


def test_ruff_format_leaves_every_file_as_it_is():
    result = subprocess.run(
        [*_ruff(), "format", "--check", *PATHS], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_check_passes_on_package_tests_and_tools():
    result = subprocess.run(
        [*_ruff(), "check", *PATHS],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
