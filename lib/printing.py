"""How the book prints a formula: LaTeX from the very object that was checked.

:func:`to_latex` is ``sp.latex`` with two additions: chosen symbols and
indexed bases spelled by templates (``dy[i]`` as dJ/dy_i), and, for the
matrix formulas of chapters 5 and 6, sums printed in the order they were
built and negative fractional powers written as powers; the identity as I and the
transpose as v^⊤, as the notation page writes them. Nothing here decides
what is true; it only decides how a checked object looks.
"""
from __future__ import annotations

import sympy as sp
from sympy.printing.latex import LatexPrinter

__all__ = ["to_latex"]


class _BookPrinter(LatexPrinter):
    """LaTeX printer that spells chosen symbols and indexed bases by templates."""

    def __init__(self, names, **settings):
        super().__init__(settings)
        self._names = names

    def _as_ordered_terms(self, expr, order=None):
        # positive terms first, so that x_i - mu is not printed as -mu + x_i
        terms = super()._as_ordered_terms(expr, order)
        return sorted(terms, key=lambda term: term.could_extract_minus_sign())

    def _print_Indexed(self, expr):
        template = self._names.get(str(expr.base.label))
        if template is None:
            return super()._print_Indexed(expr)
        return template.replace("@", "".join(self._print(k) for k in expr.indices))

    def _print_Derivative(self, expr):
        # d(quantity)/d(variable), printed from the very objects the check differentiates
        if len(expr.variable_count) == 1 and expr.variable_count[0][1] == 1:
            var = expr.variable_count[0][0]
            return rf"\frac{{\partial {self._print(expr.expr)}}}{{\partial {self._print(var)}}}"
        return super()._print_Derivative(expr)

    def _print_Symbol(self, expr, style="plain"):
        template = self._names.get(expr.name)
        return template if template is not None else super()._print_Symbol(expr, style)

    def _print_Identity(self, expr):
        # the identity as the book writes it, I (sympy's default is a blackboard-bold I)
        return "I"

    def _print_Transpose(self, expr):
        # the transpose as the book writes it, v^\top (sympy's default is v^T)
        text = super()._print_Transpose(expr)
        if not text.endswith("^{T}"):
            raise ValueError(f"sympy printed a transpose as {text!r}, not ending in ^{{T}}")
        return text.removesuffix("^{T}") + r"^{\top}"


class _AsBuiltPrinter(_BookPrinter):
    """Prints a formula the way it was written: sums of matrices in the order
    they were built (``I - 1/N 1``, not sympy's sorted ``-1/N 1 + I``),
    parentheses around sums inside a Hadamard product, and negative
    fractional powers as powers, ``(sigma^2 + eps)^{-3/2}``."""

    def _print_MatAdd(self, expr):
        out = ""
        for term in expr.args:
            text = self._print(term)
            if text.startswith("-"):
                out += " - " + text[1:].lstrip()
            else:
                out += (" + " if out else "") + text
        return out.lstrip(" +")

    def _print_HadamardProduct(self, expr):
        parts = []
        for a in expr.args:
            text = self._print(a)
            if isinstance(a, sp.MatAdd) or (isinstance(a, sp.MatMul)
                                            and isinstance(a.args[0], sp.MatrixExpr)):
                text = rf"\left({text}\right)"
            parts.append(text)
        return r" \odot ".join(parts)

    def _print_Pow(self, expr):
        b, e = expr.args
        if e.is_Rational and e.is_negative and not e.is_Integer:
            return rf"\left({self._print(b)}\right)^{{{e.p}/{e.q}}}"
        return super()._print_Pow(expr)

    def _print_MatMul(self, expr):
        # v^T v is printed as the squared norm it is
        scalars = [a for a in expr.args if not isinstance(a, sp.MatrixExpr)]
        mats = [a for a in expr.args if isinstance(a, sp.MatrixExpr)]
        if (len(mats) == 2 and isinstance(mats[0], sp.Transpose) and mats[0].arg == mats[1]
                and mats[1].shape[1] == 1):          # a column: v^T v
            norm = rf"\left\|{self._print(mats[1])}\right\|^{{2}}"
            coeff = sp.Mul(*scalars)
            return norm if coeff == 1 else f"{self._print(coeff)} {norm}"
        return super()._print_MatMul(expr)

    def _print_HadamardPower(self, expr):
        # an element-wise power, written as the book's broadcasting convention writes it
        e = expr.exp
        exp = f"{e.p}/{e.q}" if e.is_Rational and not e.is_Integer else self._print(e)
        return rf"\left({self._print(expr.base)}\right)^{{{exp}}}"


def to_latex(expr, names=None, *, as_built=False, **settings) -> str:
    """``sp.latex`` with some symbols spelled out.

    ``names`` maps a symbol's or an IndexedBase's name to LaTeX; ``@`` in the
    LaTeX of an IndexedBase stands for its indices, e.g.
    ``{"gy": r"\\frac{\\partial J}{\\partial y_{@}}"}`` prints ``gy[i]`` as
    dJ/dy_i. ``as_built=True`` keeps matrix sums in the order they were
    built and writes ``(sigma^2 + eps)^{-1/2}`` as a power (chapters 5 and 6).
    """
    printer = _AsBuiltPrinter if as_built else _BookPrinter
    return printer(names or {}, **settings).doprint(expr)
