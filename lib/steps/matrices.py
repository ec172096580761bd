"""Matrix helpers shared by the steps of chapters 5 and 6.

The general objects have a symbolic batch size :data:`N`: matrix symbols
such as :data:`I` and the all-ones :data:`ONES`, products and sums built
unevaluated (:func:`mul`, :func:`add`) so that they print in the order the
page writes them. :func:`explicit` instantiates such an object at an
explicit N; :func:`with_s` rewrites both sides of a step so that sympy
decides equality on rational functions.
"""
from __future__ import annotations

import sympy as sp

from lib.symbolic import EPS, write_root

__all__ = ["N", "I", "ONES", "ONES_N", "S", "mul", "add", "centre", "explicit",
           "with_s", "with_s_columns"]

N = sp.Symbol("N", integer=True, positive=True)
I = sp.MatrixSymbol("I", N, N)
ONES = sp.MatrixSymbol(r"\mathbf{1}", N, N)          # the N x N all-ones matrix
ONES_N = sp.MatrixSymbol(r"\mathbf{1}_N", N, 1)      # the ones column
S = sp.Symbol("s", positive=True)
"""Stands for sqrt(sigma^2 + eps) inside the checks of the larger steps."""


def mul(*args):
    """An unevaluated matrix product (printed in the order given)."""
    return sp.MatMul(*args, evaluate=False)


def add(*args):
    """An unevaluated matrix sum (printed in the order given)."""
    return sp.MatAdd(*args, evaluate=False)


def centre():
    """The centring matrix I - 1/N, in that order."""
    return add(I, mul(-1 / N, ONES))


def explicit(expr, n, values, size=N):
    """``expr`` at ``size`` = n: matrix symbols -> matrices, scalar symbols -> values.

    ``values`` maps general objects (built with the symbolic size, :data:`N`
    unless ``size`` names another) to explicit sympy objects for this n.
    Returns a Matrix (a 1 x 1 result stays a Matrix).
    """
    table = {}
    for key, value in values.items():
        if isinstance(key, sp.MatrixSymbol):
            key = sp.MatrixSymbol(key.name, *(d.subs(size, n) for d in key.shape))
        table[key] = value
    out = _evaluate(expr.xreplace({size: sp.Integer(n)}).xreplace(table))
    return sp.Matrix(out) if isinstance(out, (sp.MatrixBase, sp.MatrixExpr)) else out


def _evaluate(e):
    """Products, sums and transposes of explicit matrices by plain Matrix arithmetic.

    ``MatMul.doit`` on explicit matrices also walks every entry, which costs seconds for
    the 5 x 5 matrices of the larger checks; the arithmetic is the same. Anything else
    (a trace, a Hadamard product) is evaluated by ``doit`` once its arguments are.
    """
    if isinstance(e, (sp.MatMul, sp.MatAdd, sp.Transpose)):
        args = [_evaluate(a) for a in e.args]
        if isinstance(e, sp.Transpose):
            return args[0].T if isinstance(args[0], sp.MatrixBase) else e.func(*args).doit()
        if all(isinstance(a, sp.MatrixBase) or not isinstance(a, sp.MatrixExpr) for a in args):
            out = args[0]
            for a in args[1:]:
                out = out * a if isinstance(e, sp.MatMul) else out + a
            return out
        return e.func(*args).doit()
    if isinstance(e, sp.Trace):
        arg = _evaluate(e.arg)
        return arg.trace() if isinstance(arg, sp.MatrixBase) else sp.Trace(arg).doit()
    if isinstance(e, sp.MatrixExpr) and e.args:
        return e.func(*[_evaluate(a) for a in e.args]).doit()
    return e.doit() if hasattr(e, "doit") else e


def with_s(expr, var):
    """Write every power of var + eps as a power of :data:`S`, then eps as s^2 - var.

    Both sides of a step are rewritten the same way before the check, which
    turns them into rational functions of the components and s: ``expand``
    and ``cancel`` then decide equality in a fraction of the time. Only
    powers whose base *is* var + eps are replaced (see
    :func:`lib.symbolic.write_root`), so a wrong exponent or a wrong base
    survives and the check fails.
    """
    return write_root(expr, var + EPS, S).xreplace({EPS: S ** 2 - var})


def with_s_columns(M, var):
    """:func:`with_s` column by column, with its own s_j for each column's variance."""
    cols = []
    for j, v in enumerate(var):
        col = with_s(M[:, j], v)
        cols.append(col.subs(S, sp.Symbol(f"s_{j + 1}", positive=True)))
    return sp.Matrix.hstack(*cols)
