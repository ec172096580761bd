"""Chapter 6, "Simplification": from the column-wise result to one line.

Same scheme as :mod:`lib.steps.columnwise`: each formula is a general sympy
object (symbolic N, matrix symbols), instantiated at explicit N and compared
with the truth from differentiating the forward pass on named components
(:mod:`lib.steps.forward`). Every step has the same shape,
``name_step(formula=name_formula(), *, sizes=SIZES)``, so a test can pass a
wrong formula (a dropped term, a flipped sign, a wrong exponent).
"""
from __future__ import annotations

from functools import lru_cache
from types import MappingProxyType

import sympy as sp

from lib.steps import SIZES
from lib.steps import columnwise as cw
from lib.steps import rowwise, staged
from lib.steps.columnwise import C, G, SIGMA2, X_HAT, base_values, latex
from lib.steps.forward import affine_pass, batch, column_pass
from lib.steps.matrices import (I, N, ONES, ONES_N, S, add, centre, explicit, mul, with_s,
                                with_s_columns)
from lib.symbolic import EPS, Step, check_sizes, check_step, column, step_function

__all__ = ["GAMMA", "DY", "DGAMMA", "DBETA", "substituted_formula", "expansion_formula",
           "vanishing_term", "simplified_formula", "dgamma_formula", "dbeta_formula",
           "dx_gamma_formula", "batch_formula", "substituted_step", "expansion_step",
           "vanishing_step", "simplified_step", "dgamma_step", "dbeta_step", "dx_gamma_step",
           "batch_step", "method_gradients", "methods_step", "all_steps", "D_SIZES"]

D_SIZES = range(2, 5)
"""Batch sizes N for the D = 2 check of the batch formula."""

GAMMA = sp.Symbol(r"\gamma", real=True)
DY = sp.MatrixSymbol(r"\frac{\partial J}{\partial y}", N, 1)
DGAMMA = sp.Symbol(r"\frac{\partial J}{\partial \gamma}", real=True)
DBETA = sp.Symbol(r"\frac{\partial J}{\partial \beta}", real=True)
DJ_DX = cw.DJ_DX
HALF = sp.Rational(1, 2)

# --------------------------------------------------------------------------
# general formulas
# --------------------------------------------------------------------------


def substituted_formula():
    """(sigma^2+eps)^(-1/2) (I - 1/N)^T (I - x_hat x_hat^T / N) dJ/dx_hat."""
    return mul((SIGMA2 + EPS) ** -HALF, sp.Transpose(centre()),
                add(I, mul(-1 / N, X_HAT, X_HAT.T)), G)


def product_formula():
    """(I - 1/N)(I - x_hat x_hat^T / N)."""
    return mul(centre(), add(I, mul(-1 / N, X_HAT, X_HAT.T)))


def expansion_formula(sign=1):
    """I - 1/N - x_hat x_hat^T/N + (1/N^2) 1 x_hat x_hat^T (``sign`` of the last term)."""
    return add(I, mul(-1 / N, ONES), mul(-1 / N, X_HAT, X_HAT.T),
                mul(sign / N ** 2, ONES, X_HAT, X_HAT.T))


def vanishing_term():
    """(1/N^2) 1 x_hat x_hat^T, which is zero because 1 x_hat = 0."""
    return mul(1 / N ** 2, ONES, X_HAT, X_HAT.T)


def simplified_formula(exponent=-HALF):
    """(sigma^2+eps)^(-1/2) [I - 1/N - x_hat x_hat^T / N] dJ/dx_hat."""
    return mul((SIGMA2 + EPS) ** exponent,
                add(I, mul(-1 / N, ONES), mul(-1 / N, X_HAT, X_HAT.T)), G)


def dgamma_formula():
    """dJ/dgamma = x_hat^T dJ/dy."""
    return mul(X_HAT.T, DY)


def dbeta_formula():
    """dJ/dbeta = 1_N^T dJ/dy."""
    return mul(ONES_N.T, DY)


def dx_gamma_formula():
    """dJ/dx = gamma / (N s) [N dJ/dy - 1_N dJ/dbeta - x_hat dJ/dgamma]."""
    return mul(GAMMA / (N * S), add(mul(N, DY), mul(-DBETA, ONES_N), mul(-DGAMMA, X_HAT)))


# D columns: every row vector is broadcast over the N rows, so in the general
# object it is an N x D matrix symbol printed as the row vector itself.
D = sp.Symbol("D", integer=True, positive=True)
GAMMA_B = sp.MatrixSymbol(r"\gamma", N, D)
SIGMA2_B = sp.MatrixSymbol(r"\sigma^{2}", N, D)     # each column's variance, on every row
EPS_B = sp.MatrixSymbol(r"\epsilon", N, D)          # eps in every entry
DY_B = sp.MatrixSymbol(r"\frac{\partial J}{\partial Y}", N, D)
DBETA_B = sp.MatrixSymbol(r"\frac{\partial J}{\partial \beta}", N, D)
DGAMMA_B = sp.MatrixSymbol(r"\frac{\partial J}{\partial \gamma}", N, D)
X_HAT_B = sp.MatrixSymbol(r"\hat{X}", N, D)


def inv_std_formula(exponent=-HALF):
    """(sigma^2 + eps)^(-1/2), element-wise: the factor is built, not named, so that the
    exponent the page prints is the exponent the check uses."""
    return sp.HadamardPower(add(SIGMA2_B, EPS_B), exponent)


def batch_formula(sign=-1, factor=None):
    """dJ/dX = (gamma * (sigma^2+eps)^(-1/2) / N) * [N dJ/dY - dJ/dbeta - X_hat * dJ/dgamma]."""
    had = lambda *a: sp.HadamardProduct(*a, evaluate=False)  # noqa: E731
    factor = inv_std_formula() if factor is None else factor
    return had(mul(1 / N, had(GAMMA_B, factor)),
               add(mul(N, DY_B), mul(-1, DBETA_B), mul(sign, had(X_HAT_B, DGAMMA_B))))


# --------------------------------------------------------------------------
# explicit instances
# --------------------------------------------------------------------------

def _values(n, f):
    """Values of the general objects at N = n for the forward pass ``f``."""
    return {**base_values(n, f.R), G: f.g, X_HAT: f.x_hat, S: sp.sqrt(f.var + EPS)}


def _affine_values(n, f):
    """:func:`_values` for :func:`~lib.steps.forward.affine_pass`'s ``f``, with
    dJ/dy, gamma, and dJ/dgamma, dJ/dbeta from their formulas."""
    values = {**_values(n, f), DY: f.dy, GAMMA: f.gamma}
    values[DGAMMA] = explicit(dgamma_formula(), n, values)[0, 0]
    values[DBETA] = explicit(dbeta_formula(), n, values)[0, 0]
    return values


# --------------------------------------------------------------------------
# steps
# --------------------------------------------------------------------------

@step_function
def substituted_step(formula=substituted_formula(), *, sizes=SIZES) -> Step:
    """Chapter 5's result with c and dc/dR put in: a common factor (sigma^2+eps)^(-1/2).

    Pure algebra, true for every vector R: checked with R a column of free
    symbols r_1..r_n, sigma^2 = R^T R / n and x_hat = c R.

    Shown in chapter 6, equation {eq}`eq-simplify-substituted`.
    """
    def build(n):
        r = column("r", n)
        values = base_values(n, r)
        values.update({G: column("g", n), X_HAT: values[C] * r})
        lhs = explicit(cw.columnwise_formula(), n, values)
        rhs = explicit(formula, n, values)
        return with_s(lhs, values[SIGMA2]), with_s(rhs, values[SIGMA2])
    shown = latex(cw.columnwise_formula()) + " = " + latex(formula)
    return check_sizes("substitute c and dc/dR", build, sizes, display=shown)


@step_function
def expansion_step(formula=expansion_formula(), *, sizes=SIZES) -> Step:
    """Multiply out the product; proved for an arbitrary vector in place of x_hat.

    Shown in chapter 6, equation {eq}`eq-simplify-expansion`.
    """
    def build(n):
        values = {I: sp.eye(n), ONES: sp.ones(n, n), X_HAT: column("v", n)}
        return explicit(product_formula(), n, values), explicit(formula, n, values)
    shown = latex(product_formula()) + " = " + latex(formula)
    return check_sizes("multiply out", build, sizes, display=shown)


@step_function
def vanishing_step(formula=vanishing_term(), *, sizes=SIZES) -> Step:
    """(1/N^2) 1 x_hat x_hat^T = 0, because 1 x_hat = 0 (the column of x_hat sums to 0).

    A test plants an uncentred vector, e.g. ``c x`` in place of ``x_hat``.

    Shown in chapter 6, equation {eq}`eq-simplify-vanishing`.
    """
    def build(n):
        f = column_pass(n)
        values = {**base_values(n, f.R), X_HAT: f.x_hat, cw.x: f.x}
        check_step("1 x_hat = 0", explicit(mul(ONES, X_HAT), n, values), sp.zeros(n, 1),
                   sizes=f"N = {n}")
        return explicit(formula, n, values), sp.zeros(n, n)
    shown = latex(mul(ONES, X_HAT)) + r" = 0 \quad\Longrightarrow\quad " \
        + latex(formula) + " = 0"
    return check_sizes("the vanishing term", build, sizes, display=shown)


@step_function
def _dx_step(name, forward_pass, values, formula, sizes):
    """dJ/dx of ``forward_pass(n)`` (the truth) against ``formula`` at ``values(n, f)``."""
    def build(n):
        f = forward_pass(n)
        return with_s(f.dJ_dx, f.var), with_s(explicit(formula, n, values(n, f)), f.var)
    return check_sizes(name, build, sizes, display=latex(DJ_DX) + " = " + latex(formula))


@step_function
def simplified_step(formula=simplified_formula(), *, sizes=SIZES) -> Step:
    """dJ/dx = (sigma^2+eps)^(-1/2) [I - 1/N - x_hat x_hat^T/N] dJ/dx_hat, against the truth.

    Shown in chapter 6, equation {eq}`eq-simplify-simplified`.
    """
    return _dx_step("the simplified gradient", column_pass, _values, formula, sizes)


def _partial(name):
    return sp.Symbol(rf"\frac{{\partial J}}{{\partial {name}}}")


@step_function
def _parameter_step(name, truth, symbol, formula, sizes):
    """A parameter gradient (``truth`` names the field of the affine pass) against ``formula``."""
    def build(n):
        f = affine_pass(n)
        return getattr(f, truth), explicit(formula, n, _affine_values(n, f))[0, 0]
    return check_sizes(name, build, sizes, display=latex(_partial(symbol)) + " = " + latex(formula))


@step_function
def dgamma_step(formula=dgamma_formula(), *, sizes=SIZES) -> Step:
    """dJ/dgamma = x_hat^T dJ/dy, against J = dy^T (gamma x_hat + beta).

    Shown in chapter 6, equation {eq}`eq-simplify-dgamma`.
    """
    return _parameter_step("dJ/dgamma", "dJ_dgamma", r"\gamma", formula, sizes)


@step_function
def dbeta_step(formula=dbeta_formula(), *, sizes=SIZES) -> Step:
    """dJ/dbeta = 1_N^T dJ/dy, against J = dy^T (gamma x_hat + beta).

    Shown in chapter 6, equation {eq}`eq-simplify-dbeta`.
    """
    return _parameter_step("dJ/dbeta", "dJ_dbeta", r"\beta", formula, sizes)


@step_function
def dx_gamma_step(formula=dx_gamma_formula(), *, sizes=SIZES) -> Step:
    """dJ/dx in terms of dJ/dy, dJ/dbeta and dJ/dgamma, against the forward pass.

    Shown in chapter 6, equation {eq}`eq-simplify-dx-gamma`.
    """
    return _dx_step("dJ/dx with gamma", affine_pass, _affine_values, formula, sizes)


def _column_values(n, b, j):
    """Chapter 6's one-column objects for column j of the batch ``b``."""
    x_hat = b.X_hat[:, j]
    return {DY: b.G[:, j], X_HAT: x_hat, ONES_N: sp.ones(n, 1)}


def _batch_values(n, d, b):
    """Values of the D-column objects for the batch ``b``: each row vector broadcast over
    the n rows. dJ/dbeta and dJ/dgamma come from their checked formulas
    (:func:`dbeta_formula`, :func:`dgamma_formula`) column by column, sigma^2 from
    chapter 5's :func:`lib.steps.columnwise.variance_formula`."""
    ones = sp.ones(n, 1)
    cols = [_column_values(n, b, j) for j in range(d)]
    row = lambda formula: sp.Matrix(1, d, lambda _, j: explicit(formula, n, cols[j])[0, 0])  # noqa: E731
    var = sp.Matrix(1, d, lambda _, j: explicit(cw.variance_formula(), n,
                                                 {cw.R: b.X[:, j] - b.mu[j] * ones})[0, 0])
    values = {GAMMA_B: ones * sp.Matrix([b.gamma]), SIGMA2_B: ones * var,
              EPS_B: EPS * sp.ones(n, d), DY_B: b.G, DBETA_B: ones * row(dbeta_formula()),
              DGAMMA_B: ones * row(dgamma_formula()), X_HAT_B: b.X_hat}
    return {sp.MatrixSymbol(k.name, n, d): v for k, v in values.items()}


def _elementwise_powers(expr):
    """Evaluate the HadamardPower of an explicit matrix, which ``doit`` leaves alone."""
    return expr.replace(lambda e: isinstance(e, sp.HadamardPower),
                        lambda e: sp.Matrix(e.base.doit()).applyfunc(lambda t: t ** e.exp))


@step_function
def batch_step(formula=batch_formula(), *, sizes=D_SIZES) -> Step:
    """dJ/dX for D = 2 columns at once, every row vector broadcast over the rows.

    Shown in chapter 6, equation {eq}`eq-simplify-batch`.
    """
    d = 2

    def build(n):
        b = batch(n, d)                       # the one symbolic forward pass
        var = [radicand - EPS for radicand in b.radicand]
        truth = sp.Matrix(n, d, lambda i, j: sp.diff(b.J, b.X[i, j]))
        rhs = formula.xreplace({N: sp.Integer(n), D: sp.Integer(d)}).xreplace(_batch_values(n, d, b))
        rhs = sp.Matrix(_elementwise_powers(rhs).doit())
        return with_s_columns(truth, var), with_s_columns(rhs, var)
    return check_sizes(f"dJ/dX, D = {d}", build, sizes, extra=f", D = {d}",
                       display=latex(sp.MatrixSymbol(r"\frac{\partial J}{\partial X}", N, D))
                       + " = " + latex(formula))


# --------------------------------------------------------------------------
# the four methods as formulas, for one column
# --------------------------------------------------------------------------

@lru_cache(maxsize=None)
def method_gradients(n):
    """dJ/dx of one column by the four methods of the book, as sympy columns.

    Each is built from its chapter's checked objects: ``staged`` from the
    table of local derivatives (:func:`lib.steps.staged.staged_backward`),
    ``rowwise`` from the three-path formula (:func:`lib.steps.rowwise.dx_candidate`),
    ``columnwise`` from the lemma and the linear map (chapter 5),
    ``simplified`` from the one-liner (this chapter). All are written in
    sqrt(sigma^2 + eps). Returns (the affine forward pass, dict); cached per
    n, the matrices immutable.
    """
    f = affine_pass(n)
    radicand, root = batch(n).radicand[0], batch(n).roots[0]
    in_sqrt = lambda m: sp.ImmutableMatrix(m.subs(root, sp.sqrt(radicand)))  # noqa: E731
    staged_dx = staged.staged_backward(n)[2][0]
    rows = rowwise.dx_candidate(rowwise.dx_formula(), n, f.g)
    columnwise = explicit(cw.columnwise_formula(), n, _values(n, f))
    simplified = explicit(dx_gamma_formula(), n, _affine_values(n, f))
    return f, MappingProxyType({"staged": in_sqrt(staged_dx), "rowwise": in_sqrt(rows),
                                "columnwise": sp.ImmutableMatrix(columnwise),
                                "simplified": sp.ImmutableMatrix(simplified)})


def _method_display(name, other=r"\text{simplified}"):
    return (rf"\left.\frac{{\partial J}}{{\partial x}}\right|_{{\text{{{name}}}}} = "
            rf"\left.\frac{{\partial J}}{{\partial x}}\right|_{{{other}}}")


@step_function
def methods_step(sizes=range(2, 5)) -> list[Step]:
    """Each of staged, row-wise and column-wise equals the simplified formula, and the truth.

    Shown in chapter 6, equation {eq}`eq-simplify-method-staged`; chapter 6, equation {eq}`eq-simplify-method-rowwise`; chapter 6, equation {eq}`eq-simplify-method-columnwise`; chapter 6, equation {eq}`eq-simplify-method-simplified`.
    """
    steps = []
    for name in ("staged", "rowwise", "columnwise"):
        def build(n, name=name):
            f, grads = method_gradients(n)
            return with_s(grads[name], f.var), with_s(grads["simplified"], f.var)
        steps.append(check_sizes(f"{name} = simplified", build, sizes,
                                 display=_method_display(name)))

    def truth(n):
        f, grads = method_gradients(n)
        return with_s(f.dJ_dx, f.var), with_s(grads["simplified"], f.var)
    steps.append(check_sizes("simplified = truth", truth, sizes,
                             display=_method_display("simplified",
                                                     r"\text{forward pass, differentiated}")))
    return steps


def all_steps():
    """Every checked step of chapter 6, in page order."""
    return [substituted_step(), expansion_step(), vanishing_step(), simplified_step(),
            dgamma_step(), dbeta_step(), dx_gamma_step(), batch_step(), *methods_step()]
