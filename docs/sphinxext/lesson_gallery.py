"""Adapters that let sphinx-gallery run the lessons in ``examples/`` unchanged.

The lessons are plain scripts: ``python examples/X.py [--fast] [--out DIR]`` parses its
flags, reads its own ``__doc__`` (the flags' help) and ``__file__`` (the default output
folder), and saves its pictures as PNG files, closing each figure. sphinx-gallery runs a
script with neither ``__doc__`` nor ``__file__`` and collects the figures still open, so
the documentation build needs two adapters:

* :func:`reset_argv` gives each lesson ``--fast --out output/<lesson>`` (the quick mode
  the tests run; the folder is ``examples/output/``, ignored by git) and the
  ``__doc__`` and ``__file__`` that Python gives a script;
* :func:`scrape_saved_pictures` shows on the page every PNG the lesson saved there.
"""

from __future__ import annotations

import ast
import shutil
from pathlib import Path
from typing import Any

from sphinx_gallery.scrapers import figure_rst

OUTPUT = "output"
_shown: dict[Path, int] = {}


def _output_folder(src_file: str | Path) -> Path:
    src_file = Path(src_file)
    return src_file.parent / OUTPUT / src_file.stem


def reset_argv(gallery_conf: dict[str, Any], script_vars: dict[str, Any]) -> list[str]:
    """The command-line flags of one lesson: the fast mode and its own output folder."""
    src_file = Path(script_vars["src_file"])
    folder = _output_folder(src_file)
    shutil.rmtree(folder, ignore_errors=True)
    # The script reads its docstring and path as `python examples/X.py` gives them.
    docstring = ast.get_docstring(ast.parse(src_file.read_text(encoding="utf-8")), clean=False)
    script_vars["example_globals"].update(__doc__=docstring, __file__=str(src_file))
    # sphinx-gallery runs the script from its folder, so the printed paths read
    # `output/<lesson>/picture.png`, as the reader's own run would.
    return ["--fast", "--out", f"{OUTPUT}/{src_file.stem}"]


def scrape_saved_pictures(
    block: Any, block_vars: dict[str, Any], gallery_conf: dict[str, Any]
) -> str:
    """Copy the PNGs the lesson saved since the last call into the gallery's images."""
    folder = _output_folder(block_vars["src_file"])
    pictures = []
    for picture in sorted(folder.glob("*.png")) if folder.is_dir() else []:
        stamp = picture.stat().st_mtime_ns
        if _shown.get(picture) == stamp:
            continue
        _shown[picture] = stamp
        target = Path(next(block_vars["image_path_iterator"]))
        shutil.copyfile(picture, target)
        pictures.append(target)
    return figure_rst(pictures, gallery_conf["src_dir"]) if pictures else ""


#: The lessons in the order of the lecture notes; a lesson not listed comes after them.
ORDER = (
    "xor_needs_hidden_layer.py",
    "sigmoid_saturation.py",
    "momentum_and_adam.py",
    "dropout_weight_decay.py",
    "batchnorm_deep_sigmoid.py",
    "backprop_step_by_step.py",
)


class LessonOrder:
    """Sort key of the gallery: the notes' order, then any other lesson by name."""

    def __init__(self, src_dir: str) -> None:
        self.src_dir = src_dir

    def __call__(self, filename: str) -> tuple[int, str]:
        name = Path(filename).name
        return (ORDER.index(name) if name in ORDER else len(ORDER), name)
