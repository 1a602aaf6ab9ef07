"""Sphinx configuration of MyTorch's documentation (``python3 tools/run.py docs``).

Sphinx reads the numpydoc docstrings (numpydoc), runs the lessons of ``examples/`` into
a gallery (sphinx-gallery, ``sphinxext/lesson_gallery.py``) and renders the maths with a
copy of MathJax shipped in a Python package (sphinx-mathjax-offline): the build and the
pages fetch nothing from the internet. Without intersphinx inventories, names of other
libraries (NumPy, the standard library, ...) are shown as plain text; every reference to
MyTorch must resolve (``nitpicky``, and the build runs with warnings as errors).
"""

from __future__ import annotations

import os
import re
import sys
import warnings
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(DOCS / "sphinxext"))
sys.path.insert(0, str(ROOT))
# The course's hw1/hw1.py and hw1/mc.py are imported as the autograder does: by name.
sys.path.insert(1, str(ROOT / "hw1"))
os.environ.setdefault("MPLBACKEND", "Agg")

from mytorch.version import __version__  # noqa: E402

project = "MyTorch"
author = "The MyTorch developers"
copyright = "MyTorch developers, MIT licence"
version = release = __version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "myst_parser",
    "sphinx-mathjax-offline",
    "api_rules",
    "command_help",
]

# "--fast" stays two hyphens (docutils would make an en dash of them).
smartquotes = False
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "auto_examples/*.ipynb", "auto_examples/*.py", "sphinxext"]
templates_path = ["_templates"]

# -- API reference -----------------------------------------------------------------------
# Each automodule says :members: itself: Sphinx 9.0 lets a default "members" override
# a directive's own list of members.
autodoc_default_options = {
    "show-inheritance": True,
    "member-order": "bysource",
}
autodoc_typehints = "signature"
autodoc_preserve_defaults = False
autodoc_mock_imports: list[str] = []
autosummary_generate = False
# numpydoc drops a section it does not know ("Shape") with only a Python warning: make
# it an error, so that no docstring loses text on its page.
warnings.filterwarnings("error", message="Unknown section", category=UserWarning)
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
# What is documented, and how references resolve: sphinxext/api_rules.py.

# -- Cross-references --------------------------------------------------------------------
# Every Python reference must resolve, except those to other libraries, which have no
# inventory offline: they stay plain text.
nitpicky = True
_EXTERNAL = (
    r"(numpy|np|npt|typing|typing_extensions|collections|pathlib|os|io|re|json|enum|"
    r"argparse|contextlib|dataclasses|threading|concurrent|types|abc|torch|sklearn|dask|"
    r"distributed|onnx|onnxruntime|starlette|uvicorn|matplotlib|tensorboardX|numba|"
    r"builtins|functools|datetime|tomllib|tomli)(\..*)?"
)
_BUILTINS = (
    r"(None|int|float|complex|str|bytes|bool|object|list|dict|tuple|set|frozenset|type|"
    r"callable|Callable|Any|Iterable|Iterator|Sequence|Mapping|Generator|Path|ndarray|"
    r"NDArray|ArrayLike|DTypeLike|Self|Literal|Optional|Union|ClassVar|TypeVar|Exception|"
    r"ValueError|TypeError|KeyError|RuntimeError|OSError|ImportError|FileNotFoundError|"
    r"ArithmeticError|array-like|array_like|optional|default|PathLike|os.PathLike)"
)
nitpick_ignore_regex = [
    (r"py:.*", _EXTERNAL),
    (r"py:.*", _BUILTINS),
]

# -- Maths, pages, theme -------------------------------------------------------------------
myst_enable_extensions = ["dollarmath"]
myst_heading_anchors = 3
html_theme = "pydata_sphinx_theme"
html_title = f"MyTorch {release}"
html_static_path: list[str] = []
html_show_sourcelink = False
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "header_links_before_dropdown": 5,
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
html_context = {"default_mode": "light"}

# -- The lesson gallery --------------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": [str(ROOT / "examples")],
    "gallery_dirs": ["auto_examples"],
    # Every script of examples/ is a lesson, run at build time in its --fast mode;
    # torch_fashion_mnist.py is the PyTorch side of the README's results (torch, data);
    # fashion_mnist_best.py trains for an hour to make those results (data).
    "filename_pattern": re.escape(os.sep) + r"[a-z].*\.py$",
    "ignore_pattern": r"torch_fashion_mnist\.py$|fashion_mnist_best\.py$|__init__\.py$",
    "reset_argv": "lesson_gallery.reset_argv",
    "within_subsection_order": "lesson_gallery.LessonOrder",
    "image_scrapers": ("matplotlib", "lesson_gallery.scrape_saved_pictures"),
    "download_all_examples": False,
    "plot_gallery": "True",
    "abort_on_example_error": True,
    "only_warn_on_example_error": False,
    "remove_config_comments": True,
    "show_memory": False,
    "min_reported_time": 1e9,
    "capture_repr": (),
    "write_computation_times": False,
}
