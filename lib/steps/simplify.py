"""Chapter 6, "Simplification": from the column-wise result to one line.

Same scheme as :mod:`lib.steps.columnwise`: each formula is a general sympy
object (symbolic N, matrix symbols), instantiated at explicit N and compared
with the truth from differentiating the forward pass on named components.
Each ``*_rhs`` builder takes the formula as an argument, so a test can pass a
wrong one (a dropped term, a flipped sign, a wrong exponent).
"""
from __future__ import annotations

from functools import lru_cache
from types import SimpleNamespace

import sympy as sp

from lib.symbolic import EPS, Step, check_sizes, check_step, column
from lib.steps import columnwise as cw
from lib.steps.basics import batch
from lib.steps.columnwise import (C, G, I, N, ONES, ONES_N, S, SIGMA2, SIZES, X_HAT, _add,
                                  _centre, _mul, explicit, forward, latex)

__all__ = ["GAMMA", "DY", "DGAMMA", "DBETA", "substituted_formula", "expansion_formula",
           "vanishing_term", "simplified_formula", "dgamma_formula", "dbeta_formula",
           "dx_gamma_formula", "batch_formula", "substituted_step", "expansion_step",
           "vanishing_step", "simplified_step", "gamma_steps", "batch_step",
           "method_gradients", "methods_step", "forward_affine", "D_SIZES"]

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
    return _mul((SIGMA2 + EPS) ** -HALF, sp.Transpose(_centre()),
                _add(I, _mul(-1 / N, X_HAT, X_HAT.T)), G)


def product_formula():
    """(I - 1/N)(I - x_hat x_hat^T / N)."""
    return _mul(_centre(), _add(I, _mul(-1 / N, X_HAT, X_HAT.T)))


def expansion_formula(sign=1):
    """I - 1/N - x_hat x_hat^T/N + (1/N^2) 1 x_hat x_hat^T (``sign`` of the last term)."""
    return _add(I, _mul(-1 / N, ONES), _mul(-1 / N, X_HAT, X_HAT.T),
                _mul(sign / N ** 2, ONES, X_HAT, X_HAT.T))


def vanishing_term():
    """(1/N^2) 1 x_hat x_hat^T, which is zero because 1 x_hat = 0."""
    return _mul(1 / N ** 2, ONES, X_HAT, X_HAT.T)


def simplified_formula(exponent=-HALF):
    """(sigma^2+eps)^(-1/2) [I - 1/N - x_hat x_hat^T / N] dJ/dx_hat."""
    return _mul((SIGMA2 + EPS) ** exponent,
                _add(I, _mul(-1 / N, ONES), _mul(-1 / N, X_HAT, X_HAT.T)), G)


def dgamma_formula():
    """dJ/dgamma = x_hat^T dJ/dy."""
    return _mul(X_HAT.T, DY)


def dbeta_formula():
    """dJ/dbeta = 1_N^T dJ/dy."""
    return _mul(ONES_N.T, DY)


def dx_gamma_formula():
    """dJ/dx = gamma / (N s) [N dJ/dy - 1_N dJ/dbeta - x_hat dJ/dgamma]."""
    return _mul(GAMMA / (N * S), _add(_mul(N, DY), _mul(-DBETA, ONES_N), _mul(-DGAMMA, X_HAT)))


# D columns: every row vector is broadcast over the N rows, so in the general
# object it is an N x D matrix symbol printed as the row vector itself.
D = sp.Symbol("D", integer=True, positive=True)
GAMMA_B = sp.MatrixSymbol(r"\gamma", N, D)
INV_STD_B = sp.MatrixSymbol(r"\left(\sigma^{2} + \epsilon\right)^{-1/2}", N, D)
DY_B = sp.MatrixSymbol(r"\frac{\partial J}{\partial Y}", N, D)
DBETA_B = sp.MatrixSymbol(r"\frac{\partial J}{\partial \beta}", N, D)
DGAMMA_B = sp.MatrixSymbol(r"\frac{\partial J}{\partial \gamma}", N, D)
X_HAT_B = sp.MatrixSymbol(r"\hat{X}", N, D)


def batch_formula(sign=-1):
    """dJ/dX = (gamma * (sigma^2+eps)^(-1/2) / N) * [N dJ/dY - dJ/dbeta - X_hat * dJ/dgamma]."""
    had = lambda *a: sp.HadamardProduct(*a, evaluate=False)  # noqa: E731
    return had(_mul(1 / N, had(GAMMA_B, INV_STD_B)),
               _add(_mul(N, DY_B), _mul(-1, DBETA_B), _mul(sign, had(X_HAT_B, DGAMMA_B))))


# --------------------------------------------------------------------------
# explicit instances
# --------------------------------------------------------------------------

def _values(n, f):
    """Values of the general objects at N = n for the forward pass ``f``."""
    values = cw._base_values(n, f.R, cw.grad_c_formula)
    values.update({G: f.g, X_HAT: f.x_hat, S: sp.sqrt(f.var + EPS)})
    return values


def _affine_values(n, f):
    """:func:`_values` for :func:`forward_affine`'s ``f``, with dJ/dy, gamma,
    and dJ/dgamma, dJ/dbeta from their formulas."""
    values = _values(n, f)
    values.update({DY: f.dy, GAMMA: f.gamma})
    values[DGAMMA] = explicit(dgamma_formula(), n, values)[0, 0]
    values[DBETA] = explicit(dbeta_formula(), n, values)[0, 0]
    return values


@lru_cache(maxsize=None)
def forward_affine(n):
    """One column with the affine step: y = gamma x_hat + beta, J = dy^T y (cached, read-only)."""
    f = SimpleNamespace(**vars(forward(n)))
    dy = column("d", n)
    gamma, beta = sp.symbols("gamma beta", real=True)
    y = gamma * f.x_hat + beta * sp.ones(n, 1)
    J = (dy.T * y)[0, 0]
    f.dy, f.gamma, f.beta, f.y, f.J = dy, gamma, beta, y, J
    f.dJ_dx = sp.Matrix([sp.diff(J, xi) for xi in f.x])
    f.dJ_dgamma, f.dJ_dbeta = sp.diff(J, gamma), sp.diff(J, beta)
    return f


def _with_s_columns(M, var):
    """with_s column by column, with its own s_j for each column's variance."""
    cols = []
    for j, v in enumerate(var):
        col = cw.with_s(M[:, j], v)
        cols.append(col.subs(S, sp.Symbol(f"s_{j + 1}", positive=True)))
    return sp.Matrix.hstack(*cols)


# --------------------------------------------------------------------------
# steps
# --------------------------------------------------------------------------

def substituted_step(sizes=SIZES, formula=substituted_formula) -> Step:
    """Chapter 5's result with c and dc/dR put in: a common factor (sigma^2+eps)^(-1/2).

    Pure algebra, true for every vector R: checked with R a column of free
    symbols r_1..r_n, sigma^2 = R^T R / n and x_hat = c R.
    """
    def build(n):
        r = column("r", n)
        values = cw._base_values(n, r, cw.grad_c_formula)
        values.update({G: column("g", n), X_HAT: values[C] * r})
        lhs = explicit(cw.columnwise_formula(), n, values)
        rhs = explicit(formula(), n, values)
        return cw.with_s(lhs, values[SIGMA2]), cw.with_s(rhs, values[SIGMA2])
    shown = latex(cw.columnwise_formula()) + " = " + latex(formula())
    return check_sizes("substitute c and dc/dR", build, sizes, display=shown)


def expansion_step(sizes=SIZES, formula=expansion_formula) -> Step:
    """Multiply out the product; proved for an arbitrary vector in place of x_hat."""
    def build(n):
        values = {I: sp.eye(n), ONES: sp.ones(n, n), X_HAT: column("v", n)}
        return explicit(product_formula(), n, values), explicit(formula(), n, values)
    shown = latex(product_formula()) + " = " + latex(formula())
    return check_sizes("multiply out", build, sizes, display=shown)


def vanishing_step(sizes=SIZES, x_hat=None) -> Step:
    """(1/N^2) 1 x_hat x_hat^T = 0, because 1 x_hat = 0 (the column of x_hat sums to 0).

    ``x_hat(f)`` may supply a different vector (a test passes an uncentred one).
    """
    def build(n):
        f = forward(n)
        xh = f.x_hat if x_hat is None else x_hat(f)
        values = {ONES: sp.ones(n, n), X_HAT: xh}
        check_step("1 x_hat = 0", explicit(_mul(ONES, X_HAT), n, values), sp.zeros(n, 1),
                   sizes=f"N = {n}")
        return explicit(vanishing_term(), n, values), sp.zeros(n, n)
    shown = latex(_mul(ONES, X_HAT)) + r" = 0 \quad\Longrightarrow\quad " \
        + latex(vanishing_term()) + " = 0"
    return check_sizes("the vanishing term", build, sizes, display=shown)


def simplified_step(sizes=SIZES, formula=simplified_formula) -> Step:
    """dJ/dx = (sigma^2+eps)^(-1/2) [I - 1/N - x_hat x_hat^T/N] dJ/dx_hat, against the truth."""
    def build(n):
        f = forward(n)
        rhs = explicit(formula(), n, _values(n, f))
        return cw.with_s(f.dJ_dx, f.var), cw.with_s(rhs, f.var)
    return check_sizes("the simplified gradient", build, sizes,
                       display=latex(DJ_DX) + " = " + latex(formula()))


def gamma_steps(sizes=SIZES, dx_formula=dx_gamma_formula, dgamma=dgamma_formula,
                dbeta=dbeta_formula) -> list[Step]:
    """dJ/dgamma, dJ/dbeta and dJ/dx in terms of dJ/dy, against J = dy^T (gamma x_hat + beta)."""
    def build_dgamma(n):
        f = forward_affine(n)
        return f.dJ_dgamma, explicit(dgamma(), n, _affine_values(n, f))[0, 0]

    def build_dbeta(n):
        f = forward_affine(n)
        return f.dJ_dbeta, explicit(dbeta(), n, _affine_values(n, f))[0, 0]

    def build_dx(n):
        f = forward_affine(n)
        rhs = explicit(dx_formula(), n, _affine_values(n, f))
        return cw.with_s(f.dJ_dx, f.var), cw.with_s(rhs, f.var)

    sym = lambda name: sp.Symbol(rf"\frac{{\partial J}}{{\partial {name}}}")  # noqa: E731
    return [check_sizes("dJ/dgamma", build_dgamma, sizes,
                        display=latex(sym(r"\gamma")) + " = " + latex(dgamma())),
            check_sizes("dJ/dbeta", build_dbeta, sizes,
                        display=latex(sym(r"\beta")) + " = " + latex(dbeta())),
            check_sizes("dJ/dx with gamma", build_dx, sizes,
                        display=latex(DJ_DX) + " = " + latex(dx_formula()))]


def batch_step(sizes=D_SIZES, d=2, formula=batch_formula) -> Step:
    """dJ/dX for D columns at once, every row vector broadcast over the rows."""
    def build(n):
        b = batch(n, d)                       # chapter 2's forward pass of D columns
        var = [radicand - EPS for radicand in b.radicand]
        truth = sp.Matrix(n, d, lambda i, j: sp.diff(b.J, b.X[i, j]))
        ones = sp.ones(n, 1)
        inv_std = sp.Matrix(1, d, lambda i, j: b.radicand[j] ** -HALF)
        dgamma = sp.Matrix(1, d, lambda i, j: sum(b.G[k, j] * b.X_hat[k, j] for k in range(n)))
        dbeta = sp.Matrix(1, d, lambda i, j: sum(b.G[:, j]))
        values = {GAMMA_B: ones * sp.Matrix([b.gamma]), INV_STD_B: ones * inv_std, DY_B: b.G,
                  DBETA_B: ones * dbeta, DGAMMA_B: ones * dgamma, X_HAT_B: b.X_hat}
        table = {sp.MatrixSymbol(k.name, n, d): v for k, v in values.items()}
        rhs = formula().xreplace({N: sp.Integer(n), D: sp.Integer(d)}).xreplace(table)
        rhs = sp.Matrix(rhs.doit())
        return _with_s_columns(truth, var), _with_s_columns(rhs, var)
    return check_sizes(f"dJ/dX, D = {d}", build, sizes, extra=f", D = {d}",
                       display=latex(sp.MatrixSymbol(r"\frac{\partial J}{\partial X}", N, D))
                       + " = " + latex(formula()))


# --------------------------------------------------------------------------
# the four methods as formulas, for one column
# --------------------------------------------------------------------------

@lru_cache(maxsize=None)
def method_gradients(n):
    """dJ/dx of one column by the four methods of the book, as sympy columns.

    Each follows its chapter: ``staged`` the nine nodes of the graph in
    reverse (chapter 3), ``rowwise`` the three paths per example (chapter 3),
    ``columnwise`` the lemma and the linear map (chapter 5), ``simplified``
    the one-liner (this chapter). Returns (forward namespace, dict); cached
    per n, so treat both as read-only.
    """
    f = forward_affine(n)
    x, dy, gamma = f.x, f.dy, f.gamma
    # staged: mean, centre, square, variance, sqrt(var + eps), invert, scale, gamma, beta
    mu = sum(x) / n
    xc = x - mu * sp.ones(n, 1)
    var = sum(v ** 2 for v in xc) / n
    std = sp.sqrt(var + EPS)
    inv = 1 / std
    x_hat = xc * inv
    dx_hat = gamma * dy
    dinv = sum(dx_hat[k] * xc[k] for k in range(n))
    dxc = dx_hat * inv
    dstd = -dinv / std ** 2
    dvar = dstd / (2 * std)
    dxc = dxc + sp.Matrix([2 * xc[k] * dvar / n for k in range(n)])
    dmu = -sum(dxc)
    staged = dxc + dmu / n * sp.ones(n, 1)
    # row-wise: dJ/dx_i = dJ/dx_hat_i / s + dJ/dsigma^2 2(x_i - mu)/N + dJ/dmu / N
    s = sp.sqrt(var + EPS)
    dsigma2 = -HALF * (var + EPS) ** sp.Rational(-3, 2) * sum(dx_hat[k] * xc[k] for k in range(n))
    dmu_r = -sum(dx_hat) / s + dsigma2 * (-sp.Rational(2, n)) * sum(xc)
    rowwise = sp.Matrix([dx_hat[i] / s + dsigma2 * 2 * xc[i] / n + dmu_r / n for i in range(n)])
    # column-wise and simplified: the formulas of chapters 5 and 6
    values = _values(n, f)
    values[G] = dx_hat
    columnwise = explicit(cw.columnwise_formula(), n, values)
    simplified = explicit(dx_gamma_formula(), n, _affine_values(n, f))
    return f, {"staged": staged, "rowwise": rowwise, "columnwise": columnwise,
               "simplified": simplified}


def _method_display(name, other=r"\text{simplified}"):
    return (rf"\left.\frac{{\partial J}}{{\partial x}}\right|_{{\text{{{name}}}}} = "
            rf"\left.\frac{{\partial J}}{{\partial x}}\right|_{{{other}}}")


def methods_step(sizes=range(2, 5)) -> list[Step]:
    """Each of staged, row-wise and column-wise equals the simplified formula, and the truth."""
    steps = []
    for name in ("staged", "rowwise", "columnwise"):
        def build(n, name=name):
            f, grads = method_gradients(n)
            return cw.with_s(grads[name], f.var), cw.with_s(grads["simplified"], f.var)
        steps.append(check_sizes(f"{name} = simplified", build, sizes,
                                 display=_method_display(name)))

    def truth(n):
        f, grads = method_gradients(n)
        return cw.with_s(f.dJ_dx, f.var), cw.with_s(grads["simplified"], f.var)
    steps.append(check_sizes("simplified = truth", truth, sizes,
                             display=_method_display("simplified",
                                                     r"\text{forward pass, differentiated}")))
    return steps
