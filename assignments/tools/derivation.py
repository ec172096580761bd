"""Whether a symbolic answer was derived by the student or computed by sympy's differentiation.

The grader reads the notebook's code (outside the sandbox, never running it): it follows the
answer variable's assignments back through every name and function of the notebook they use,
and reports a call of sympy's differentiation (``diff``, ``jacobian``, ``Derivative``, ...)
on that path. A call elsewhere (``check_step(..., sp.diff(...))`` to check an answer) is
fine. Code the grader cannot follow (``eval``, ``exec``, ``getattr``, ``__import__``) on
that path counts as a computed answer too. What it cannot see: a derivative computed in
another program and pasted in as a formula (indistinguishable from a derived one).
"""
from __future__ import annotations

import ast
import json
from pathlib import Path

DIFFERENTIATION = {"diff", "jacobian", "Derivative", "derive_by_array", "gradient", "hessian", "idiff",
                   "fdiff", "differentiate_finite", "wronskian", "doit", "vector_fields"}
OPAQUE = {"eval", "exec", "getattr", "__import__", "import_module", "compile", "globals", "vars", "locals"}


def code_cells(notebook: Path) -> list[str]:
    from runner import notebook_cells          # the runner's reading (nbformat 4 and 3)
    cells = notebook_cells(json.loads(Path(notebook).read_text(encoding="utf-8")))
    sources = []
    for cell in cells if isinstance(cells, list) else []:
        if isinstance(cell, dict) and cell.get("cell_type") == "code":
            source = cell.get("source", "")
            source = "".join(source) if isinstance(source, list) else str(source)
            sources.append("\n".join(line for line in source.splitlines()
                                     if not line.lstrip().startswith(("%", "!"))))
    return sources


def _definitions(trees) -> dict[str, list[ast.AST]]:
    """Every name's defining nodes: the value of an assignment, a function or class body."""
    found: dict[str, list[ast.AST]] = {}
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.NamedExpr)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    for name in ast.walk(target):
                        if isinstance(name, ast.Name) and node.value is not None:
                            found.setdefault(name.id, []).append(node.value)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
                if not isinstance(node, ast.Lambda):
                    found.setdefault(node.name, []).append(node)
            elif isinstance(node, (ast.For, ast.comprehension)):
                for name in ast.walk(node.target):
                    if isinstance(name, ast.Name):
                        found.setdefault(name.id, []).append(node.iter)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                for alias in node.names:
                    if alias.name.split(".")[-1] in DIFFERENTIATION:
                        found.setdefault(alias.asname or alias.name, []).append(
                            ast.Name(id=alias.name.split(".")[-1], ctx=ast.Load()))
    return found


def computed(notebook: Path, variable: str) -> str | None:
    """None, or what on the path to ``variable`` computes it by differentiation."""
    trees = []
    for source in code_cells(notebook):
        try:
            trees.append(ast.parse(source))
        except (SyntaxError, ValueError, RecursionError):
            continue
    definitions = _definitions(trees)
    seen, todo = set(), [variable]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for node in definitions.get(name, []):
            for part in ast.walk(node):
                word = part.attr if isinstance(part, ast.Attribute) else part.id if isinstance(part, ast.Name) else None
                if word in DIFFERENTIATION:
                    return f"sympy's {word}"
                if word in OPAQUE:
                    return f"{word}(...), which the grader cannot follow"
                if isinstance(part, ast.Name):
                    todo.append(part.id)
    return None
