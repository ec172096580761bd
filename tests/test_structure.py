"""The library stays readable one concern at a time (issue: "One numeric core").

Measured on lib's source with the standard library's ast, as a reader would
count: file lengths, function lengths (docstrings aside), imports of another
module's private names, and the direction of imports between the layers
book -> widgets -> plots -> experiments / steps -> core.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

LIB = Path(__file__).resolve().parent.parent / "lib"
FILES = sorted(LIB.rglob("*.py"))

# layer of each top-level part of lib: a module may import only from a strictly
# lower layer, or from its own part (so experiments and steps never import each other)
LAYERS = {"checks": 0, "printing": 0, "gradcheck": 0, "timeouts": 0, "claims": 0, "store": 0,             # the core ...
          "batchnorm": 1, "norms": 1, "symbolic": 1, "exercises": 2, "layers": 2, "training": 3,
          "experiments": 4, "steps": 4, "assignment_checks": 4, "plots": 5, "quizzes": 5, "widgets": 6}   # ... and what builds on it


def _part(module: str) -> str:
    """``lib.experiments.noise`` -> ``experiments``."""
    return module.split(".")[1]


def _module_of(path: Path) -> str:
    rel = path.relative_to(LIB.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _lib_imports(tree):
    """(module imported, names imported or None, line) for every import of lib."""
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("lib"):
            if node.module == "lib":      # from lib import batchnorm, plots
                for a in node.names:
                    yield f"lib.{a.name}", None, node.lineno
            else:
                yield node.module, [a.name for a in node.names], node.lineno
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("lib."):
                    yield a.name, None, node.lineno


def test_the_library_has_the_files_of_its_layout():
    names = {_module_of(p) for p in FILES}
    assert {"lib.norms", "lib.checks", "lib.experiments", "lib.experiments.projection",
            "lib.experiments.scale", "lib.experiments.noise", "lib.experiments.depth",
            "lib.widgets.live", "lib.widgets.printed", "lib.widgets.chapter8",
            "lib.steps.forward", "lib.steps.matrices"} <= names
    assert not (LIB / "experiments.py").exists() and not (LIB / "widgets.py").exists()


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(LIB)))
def test_no_file_is_over_400_lines(path):
    assert len(path.read_text().splitlines()) <= 400


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(LIB)))
def test_no_function_is_over_40_lines_of_code(path):
    long = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                body = body[1:]             # the docstring does not count
            if body:
                lines = body[-1].end_lineno - body[0].lineno + 1
                if lines > 40:
                    long.append(f"{node.name}: {lines} lines")
    assert not long


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(LIB)))
def test_no_module_imports_a_private_name_of_another(path):
    tree = ast.parse(path.read_text())
    private = [f"line {line}: from {mod} import {name}"
               for mod, names, line in _lib_imports(tree) for name in names or []
               if name.startswith("_") and mod != _module_of(path)]
    aliases = {a.asname or a.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
               and node.module in ("lib",) or (isinstance(node, ast.ImportFrom)
                                                 and node.module and node.module.startswith("lib."))
               for a in node.names}
    private += [f"line {n.lineno}: {n.value.id}.{n.attr}" for n in ast.walk(tree)
                if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name)
                and n.value.id in aliases and n.attr.startswith("_") and not n.attr.startswith("__")]
    assert not private


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(LIB)))
def test_imports_run_one_way(path):
    me = _module_of(path)
    if me == "lib":
        return
    mine = _part(me)
    wrong = [f"line {line}: {mod}" for mod, _, line in _lib_imports(ast.parse(path.read_text()))
             if mod != "lib" and _part(mod) != mine and LAYERS[_part(mod)] >= LAYERS[mine]]
    assert not wrong, f"{me} ({mine}, layer {LAYERS[mine]}) imports upwards or sideways"


# What the built site alone needs (the static widgets' HTML and script, their frames' cache,
# the stacked figures' SVG) is written by the book's build, in book/_ext/build_kernel/: lib
# computes and draws, and a reader's kernel shows what lib draws.
BROWSER_PLUMBING = ("<script", "addEventListener", "querySelector", "<input", "<picture", "<svg",
                    "viewBox", "data:image/", "text/html", "BNBOOK_STATIC_WIDGETS", "STATIC_ENV",
                    "BNBOOK_WIDGET_CACHE")


def test_lib_holds_no_browser_plumbing():
    found = [f"{path.relative_to(LIB.parent)}:{n}: {word}" for path in FILES
             for n, line in enumerate(path.read_text().splitlines(), start=1)
             for word in BROWSER_PLUMBING if word in line]
    assert not found, "\n".join(found)
