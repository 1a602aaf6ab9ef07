"""The rules MyTorch's API reference is built by.

* **Every public callable has a docstring.** A class, function, method or property
  with no docstring, neither its own nor one inherited from the method it overrides
  (``inspect.getdoc``'s rule, which autodoc follows), is a warning, and the build
  (``-W``) fails. numpydoc's own check (GL08) ignores inherited docstrings, so an
  ``on_epoch_end`` documented once in ``Callback`` would be reported in every callback.
  Data attributes are described in the ``Attributes`` section of their class's
  docstring; one without a docstring of its own is not listed a second time.
* **Only MyTorch's own objects.** A module's imported names (``Callable``, ``Iterator``)
  are not documented as its members.
* **Signatures read as written.** NumPy's type aliases (``npt.ArrayLike``,
  ``npt.DTypeLike``) are shown by name, not as the unions of private types they expand
  to; a dataclass field's default factory is shown as ``...``.
* **No private classes in "Bases".** A private base (``_InputActivation``, or a class
  of a private module) is shown as its own bases.
* **References follow Python's imports.** ``mytorch.compile_step``, ``mytorch.nn.loss.Loss``
  or an old path such as ``mytorch.diagnostics.Diagnostics`` name objects that are
  documented once, under another path; a reference that does not resolve as written is
  looked up by importing it (relative to the module and class it is written in) and
  resolved to where the object is documented. A module that has no page of its own
  resolves to the nearest package above it that has one; a type variable or alias
  (``ArrayOrParameter``, ``WeightInit``) is plain text.
* **Other libraries' roles are plain text.** Docstrings inherited from scikit-learn
  (``score``) refer to labels of scikit-learn's documentation, which is not here.
"""

from __future__ import annotations

import importlib
import inspect
import re
from typing import Any, TypeVar

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.util import logging

logger = logging.getLogger(__name__)
OURS = ("mytorch", "hw1", "mc")
#: Where the types of type aliases come from (typing's and collections.abc's generics).
_ALIAS_MODULES = ("typing", "types", "collections.abc", "_collections_abc")
_FOREIGN_ROLE = re.compile(r":(?:ref|term|doc):`([^`<]*?)\s*(?:<[^>]*>)?`")


def _is_ours(name: str | None) -> bool:
    return bool(name) and name.split(".")[0] in OURS


def _check_docstring(
    app: Sphinx, what: str, name: str, obj: Any, options: Any, lines: list[str]
) -> None:
    if not _is_ours(getattr(obj, "__module__", None) or name):
        lines[:] = [_FOREIGN_ROLE.sub(r"\1", line) for line in lines]
    elif what not in ("attribute", "data") and not any(line.strip() for line in lines):
        _missing(what, name)


def _missing(what: str, name: str) -> None:
    logger.warning(
        "%s %s has no docstring", what, name, type="mytorch", subtype="missing-docstring"
    )


def _skip_member(
    app: Sphinx, what: str, name: str, obj: Any, skip: bool, options: Any
) -> bool | None:
    documentable = inspect.isclass(obj) or inspect.isroutine(obj) or isinstance(obj, property)
    if what == "module" and documentable and not _is_ours(getattr(obj, "__module__", None)):
        return True
    # autodoc skips a member without a docstring (no undoc-members); say so for a
    # public callable of ours.
    if skip and documentable and not name.startswith("_") and not inspect.getdoc(obj):
        owner = getattr(obj, "__module__", None) or getattr(
            getattr(obj, "fget", None), "__module__", None
        )
        if _is_ours(owner):
            _missing(what + " member", name)
    return None


class _Written(str):
    """An annotation as written in the source, shown without quotes."""

    def __repr__(self) -> str:
        return str(self)


#: Pieces of NumPy's type aliases (``npt.ArrayLike``, ``npt.DTypeLike``) once expanded.
_EXPANDED = ("_typing.", "_SupportsArray", "_NestedSequence", "_Buffer")


def _as_written(obj: Any, what: str) -> str | None:
    """The signature with its annotations as the source writes them (``npt.DTypeLike``)."""
    try:
        signature = inspect.signature(obj, eval_str=False)
    except (TypeError, ValueError):
        return None
    parameters = list(signature.parameters.values())
    if what == "method" and parameters and parameters[0].name in ("self", "cls"):
        parameters = parameters[1:]

    def written(annotation: Any) -> Any:
        return _Written(annotation) if isinstance(annotation, str) else annotation

    parameters = [p.replace(annotation=written(p.annotation)) for p in parameters]
    return str(signature.replace(parameters=parameters, return_annotation=inspect.Signature.empty))


def _readable_signature(
    app: Sphinx,
    what: str,
    name: str,
    obj: Any,
    options: Any,
    signature: str | None,
    return_annotation: str | None,
) -> tuple[str | None, str | None] | None:
    if not signature:
        return None
    if any(piece in signature for piece in _EXPANDED):
        # Expanded, npt.DTypeLike is a union of eight private NumPy types.
        written = _as_written(obj, what)
        if written:
            signature = written
    # A dataclass field with a default factory shows "= <factory>", which is not Python:
    # Sphinx then splits the signature at every comma ("dict[str", "Any]").
    return signature.replace("<factory>", "..."), return_annotation


def _public_bases(app: Sphinx, name: str, obj: Any, options: Any, bases: list[type]) -> None:
    def private(cls: type) -> bool:
        return cls.__name__.startswith("_") or any(
            part.startswith("_") for part in cls.__module__.split(".")
        )

    shown: list[type] = []
    pending = list(bases)
    while pending:
        base = pending.pop(0)
        if private(base) and base.__bases__ != (object,):
            pending[:0] = list(base.__bases__)
        elif base not in shown:
            shown.append(base)
    bases[:] = shown


def _import(path: str) -> Any:
    parts = path.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        try:
            for attribute in parts[cut:]:
                obj = getattr(obj, attribute)
        except AttributeError:
            return None
        return obj
    return None


def _resolve_by_import(
    app: Sphinx, env: BuildEnvironment, node: nodes.Element, contnode: nodes.Element
) -> nodes.Element | None:
    if node.get("refdomain") != "py":
        return None
    target = node["reftarget"].lstrip("~.")
    module, cls = node.get("py:module"), node.get("py:class")
    candidates = [target]
    if module and cls:
        candidates.insert(0, f"{module}.{cls}.{target}")
    if module:
        candidates.insert(1 if cls else 0, f"{module}.{target}")
    domain = env.get_domain("py")
    for candidate in candidates:
        if not _is_ours(candidate):
            continue
        obj = _import(candidate)
        if obj is None:
            continue
        if isinstance(obj, TypeVar) or type(obj).__module__ in _ALIAS_MODULES:
            # A type variable or alias of a signature (ArrayOrParameter, WeightInit =
            # Callable[[int, int], ndarray]) has no page of its own: plain text.
            return contnode
        for name in _documented_names(obj, candidate, domain):
            new = node.deepcopy()
            new["reftarget"] = name
            new["reftype"] = "obj" if node["reftype"] != "mod" else "mod"
            found = domain.resolve_xref(
                env, node["refdoc"], app.builder, new["reftype"], name, new, contnode
            )
            if found is not None:
                return found
    return None


def _documented_names(obj: Any, written: str, domain: Any) -> list[str]:
    if inspect.ismodule(obj):
        parts = obj.__name__.split(".")
        return [".".join(parts[:cut]) for cut in range(len(parts), 0, -1)]
    names = []
    module, qualname = getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)
    if module and qualname:
        names.append(f"{module}.{qualname}")
    # The object under a public path that re-exports it (mytorch.nn.Linear, ...).
    leaf = written.rsplit(".", 1)[-1]
    names += [
        name
        for name in domain.objects
        if name.rsplit(".", 1)[-1] == leaf and name not in names and _import(name) is obj
    ]
    return names


def setup(app: Sphinx) -> dict[str, Any]:
    """Register the rules (the docstring check before numpydoc rewrites docstrings)."""
    app.connect("autodoc-process-docstring", _check_docstring, priority=100)
    app.connect("autodoc-skip-member", _skip_member)
    app.connect("autodoc-process-bases", _public_bases)
    app.connect("autodoc-process-signature", _readable_signature)
    app.connect("missing-reference", _resolve_by_import)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
