"""Tests for the project's packaging: the licence and ``pip install`` without warnings.

``project.license`` is an SPDX expression with the MIT text in ``LICENSE`` (the TOML
table form made setuptools print a deprecation warning on every install). The metadata
is built here with setuptools, every warning an error, on a copy of the project files.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

from mytorch.config_file import load_toml

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = load_toml(ROOT / "pyproject.toml", "test_packaging")


def test_the_licence_is_an_spdx_expression_with_the_mit_text():
    project = PYPROJECT["project"]
    assert project["license"] == "MIT"
    assert project["license-files"] == ["LICENSE"]
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License\n\nCopyright (c) ")
    assert "Permission is hereby granted, free of charge, to any person obtaining a copy" in text
    assert 'THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND' in text
    # The first setuptools that reads an SPDX string there.
    assert PYPROJECT["build-system"]["requires"] == ["setuptools>=77"]


def test_the_project_metadata_builds_without_a_warning(tmp_path):
    import setuptools

    major = int(setuptools.__version__.split(".")[0])
    assert major >= 77, f"the test extra asks for setuptools>=77, got {setuptools.__version__}"
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, tmp_path / name)
    (tmp_path / "mytorch").mkdir()
    shutil.copy(ROOT / "mytorch" / "version.py", tmp_path / "mytorch" / "version.py")
    (tmp_path / "mytorch" / "__init__.py").write_text("")
    code = textwrap.dedent("""
        import os, sys
        from setuptools import build_meta
        os.mkdir("meta")
        name = build_meta.prepare_metadata_for_build_wheel("meta")
        with open(os.path.join("meta", name, "METADATA")) as file:
            print(file.read())
    """)
    result = subprocess.run(
        [sys.executable, "-W", "error", "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "Warning" not in result.stderr, result.stderr
    assert "License-Expression: MIT" in result.stdout
    assert "License-File: LICENSE" in result.stdout
