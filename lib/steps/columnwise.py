"""Chapter 5, "The column-wise derivation": one column, written with matrices.

Every formula of the chapter is written once as a general sympy object with
a symbolic batch size :data:`N` (matrix symbols such as :data:`x`, :data:`R`,
:data:`I` and the all-ones matrix :data:`ONES`). A step instantiates that
object at an explicit N (:func:`explicit`: every matrix symbol becomes a
matrix of named components, every scalar symbol its definition) and compares
it with the *truth*, obtained independently by running the forward pass on
the components and differentiating them (:func:`forward`). The page shows
:func:`latex` of the general object, so what is shown is what was checked.

Each ``*_rhs`` function builds the candidate right-hand side of one step for
one N; the matching step function takes an optional ``rhs`` argument so that
a test can hand it a deliberately wrong candidate.
"""
from __future__ import annotations

from functools import lru_cache
from types import SimpleNamespace

import sympy as sp

from lib.steps import SIZES
from lib.symbolic import EPS, Step, check_sizes, check_step, column, to_latex, write_root

__all__ = ["N", "x", "R", "I", "ONES", "ONES_N", "MU", "SIGMA2", "C", "GRAD_C", "G",
           "DJ_DR", "DJ_DX", "X_HAT", "latex", "explicit", "forward",
           "centring_formula", "variance_formula", "normalise_formula", "grad_c_formula",
           "lemma_formula", "columnwise_formula",
           "centring_rhs", "variance_rhs", "normalise_rhs", "grad_c_rhs", "lemma_rhs",
           "columnwise_rhs", "centring_step", "variance_step", "normalise_step",
           "grad_c_step", "lemma_step", "columnwise_step",
           "general_centring_step", "general_grad_c_step", "SIZES", "S", "with_s"]

# --------------------------------------------------------------------------
# the general objects (symbolic N); their LaTeX is what the page shows
# --------------------------------------------------------------------------

N = sp.Symbol("N", integer=True, positive=True)
x = sp.MatrixSymbol("x", N, 1)
R = sp.MatrixSymbol("R", N, 1)
I = sp.MatrixSymbol("I", N, N)
ONES = sp.MatrixSymbol(r"\mathbf{1}", N, N)          # the N x N all-ones matrix
ONES_N = sp.MatrixSymbol(r"\mathbf{1}_N", N, 1)      # the ones column
X_HAT = sp.MatrixSymbol(r"\hat{x}", N, 1)
G = sp.MatrixSymbol(r"\frac{\partial J}{\partial \hat{x}}", N, 1)
DJ_DR = sp.MatrixSymbol(r"\frac{\partial J}{\partial R}", N, 1)
DJ_DX = sp.MatrixSymbol(r"\frac{\partial J}{\partial x}", N, 1)
GRAD_C = sp.MatrixSymbol(r"\frac{\partial c}{\partial R}", N, 1)
MU = sp.Symbol(r"\mu", real=True)
SIGMA2 = sp.Symbol(r"\sigma^{2}", nonnegative=True)
C = sp.Symbol("c", positive=True)                    # c(R), a scalar


def _mul(*args):
    return sp.MatMul(*args, evaluate=False)


def _add(*args):
    return sp.MatAdd(*args, evaluate=False)


def _centre():
    """I - 1/N, in that order."""
    return _add(I, _mul(-1 / N, ONES))


def centring_formula():
    """R = (I - 1/N) x."""
    return _mul(_centre(), x)


def variance_formula():
    """sigma^2 = R^T R / N (a 1 x 1 matrix expression)."""
    return _mul(1 / N, R.T, R)


def normalise_formula():
    """x_hat = c(R) R."""
    return _mul(C, R)


def c_formula():
    """c(R) = (sigma^2 + eps)^(-1/2), with sigma^2 = R^T R / N."""
    return (SIGMA2 + EPS) ** sp.Rational(-1, 2)


def grad_c_formula():
    """dc/dR = -(1/N) (sigma^2 + eps)^(-3/2) R."""
    return _mul(-1 / N, (SIGMA2 + EPS) ** sp.Rational(-3, 2), R)


def lemma_formula():
    """dJ/dR = (dc/dR R^T + c I) dJ/dx_hat  (the lemma of chapter 4)."""
    return _mul(_add(_mul(GRAD_C, R.T), _mul(C, I)), G)


def columnwise_formula():
    """dJ/dx = (I - 1/N)^T (dc/dR R^T + c I) dJ/dx_hat."""
    return _mul(sp.Transpose(_centre()), *lemma_formula().args)


# --------------------------------------------------------------------------
# printing
# --------------------------------------------------------------------------

def latex(expr) -> str:
    """LaTeX of a general object, as the pages show it: matrix sums in the
    order they were built, (sigma^2 + eps)^(-3/2) written as a power."""
    return to_latex(expr, as_built=True)


# --------------------------------------------------------------------------
# explicit instances and the truth
# --------------------------------------------------------------------------

def explicit(expr, n, values):
    """``expr`` at N = n: matrix symbols -> matrices, scalar symbols -> values.

    ``values`` maps general objects (built with the symbolic N) to explicit
    sympy objects for this n. Returns a Matrix (a 1 x 1 result stays a Matrix).
    """
    table = {}
    for key, value in values.items():
        if isinstance(key, sp.MatrixSymbol):
            key = sp.MatrixSymbol(key.name, *(d.subs(N, n) for d in key.shape))
        table[key] = value
    out = expr.xreplace({N: sp.Integer(n)}).xreplace(table)
    out = out.doit() if hasattr(out, "doit") else out
    return sp.Matrix(out) if isinstance(out, (sp.MatrixBase, sp.MatrixExpr)) else out


@lru_cache(maxsize=None)
def forward(n):
    """The forward pass of one column on named components, and its gradient.

    Returns a namespace with ``x`` (components x_1..x_n), ``g`` (the upstream
    gradient dJ/dx_hat, components g_1..g_n), ``mu``, ``R`` (= x - mu),
    ``var``, ``x_hat`` and the truth ``dJ_dx`` = d(g^T x_hat)/dx taken
    component by component (a linear J in x_hat with arbitrary coefficients g
    is as general as any J: only dJ/dx_hat enters the chain rule).
    Cached per n: treat the result as read-only.
    """
    xs, g = column("x", n), column("g", n)
    mu = sum(xs) / n
    Rc = xs - mu * sp.ones(n, 1)
    var = sum(r ** 2 for r in Rc) / n
    x_hat = Rc / sp.sqrt(var + EPS)
    J = (g.T * x_hat)[0, 0]
    dJ_dx = sp.Matrix([sp.diff(J, xi) for xi in xs])
    return SimpleNamespace(n=n, x=xs, g=g, mu=mu, R=Rc, var=var, x_hat=x_hat, J=J, dJ_dx=dJ_dx)


S = sp.Symbol("s", positive=True)
"""Stands for sqrt(sigma^2 + eps) inside the checks of the larger steps."""


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


def _free_R(n):
    """R as a free variable r_1..r_n, and c(r), for the steps that differentiate in R."""
    r = column("r", n)
    c = ((r.T * r)[0, 0] / n + EPS) ** sp.Rational(-1, 2)
    return r, c


def _base_values(n, Rv, grad_c=None):
    """Explicit values of the general objects for N = n at a given R; with
    ``grad_c`` (a formula builder, e.g. :func:`grad_c_formula`) also dc/dR."""
    var = (Rv.T * Rv)[0, 0] / n
    values = {I: sp.eye(n), ONES: sp.ones(n, n), ONES_N: sp.ones(n, 1), R: Rv,
              SIGMA2: var, C: (var + EPS) ** sp.Rational(-1, 2)}
    if grad_c is not None:
        values[GRAD_C] = explicit(grad_c(), n, values)
    return values


# --------------------------------------------------------------------------
# right-hand sides (one per step; tests replace them with wrong ones)
# --------------------------------------------------------------------------

def centring_rhs(n):
    f = forward(n)
    return explicit(centring_formula(), n, {x: f.x, I: sp.eye(n), ONES: sp.ones(n, n)})


def variance_rhs(n):
    f = forward(n)
    return explicit(variance_formula(), n, {R: f.R})[0, 0]


def normalise_rhs(n):
    f = forward(n)
    return explicit(normalise_formula(), n, _base_values(n, f.R))


def grad_c_rhs(n):
    r, _ = _free_R(n)
    return explicit(grad_c_formula(), n, _base_values(n, r))


def lemma_rhs(n, grad_c=grad_c_formula):
    r, _ = _free_R(n)
    values = _base_values(n, r, grad_c)
    values[G] = column("g", n)
    return explicit(lemma_formula(), n, values)


def columnwise_rhs(n, grad_c=grad_c_formula, formula=columnwise_formula):
    values = _base_values(n, centring_rhs(n), grad_c)
    values[G] = forward(n).g
    return explicit(formula(), n, values)


# --------------------------------------------------------------------------
# the steps
# --------------------------------------------------------------------------

def _display(lhs, formula, middle=None):
    parts = [lhs if isinstance(lhs, str) else latex(lhs)]
    if middle is not None:
        parts.append(latex(middle))
    parts.append(latex(formula))
    return " = ".join(parts)


def centring_step(sizes=SIZES, rhs=centring_rhs) -> Step:
    """R = x - mu 1_N = (I - 1/N) x."""
    shown = _add(x, _mul(-MU, ONES_N))
    return check_sizes("centring is a linear map", lambda n: (forward(n).R, rhs(n)), sizes,
                       display=_display("R", centring_formula(), middle=shown))


def variance_step(sizes=SIZES, rhs=variance_rhs) -> Step:
    """sigma^2 = R^T R / N."""
    return check_sizes("variance as an inner product", lambda n: (forward(n).var, rhs(n)), sizes,
                       display=_display(SIGMA2, variance_formula()))


def normalise_step(sizes=SIZES, rhs=normalise_rhs) -> Step:
    """x_hat = c(R) R with c(R) = (sigma^2 + eps)^(-1/2)."""
    shown = _display(X_HAT, normalise_formula()) + r", \qquad " + _display(C, c_formula())
    return check_sizes("x_hat = c(R) R", lambda n: (forward(n).x_hat, rhs(n)), sizes,
                       display=shown)


def grad_c_step(sizes=SIZES, rhs=grad_c_rhs) -> Step:
    """dc/dR = -(1/N) (sigma^2 + eps)^(-3/2) R, differentiating c in free R."""
    def build(n):
        r, c = _free_R(n)
        return sp.Matrix([sp.diff(c, ri) for ri in r]), rhs(n)
    return check_sizes("gradient of c", build, sizes, display=_display(GRAD_C, grad_c_formula()))


def lemma_step(sizes=SIZES, rhs=lemma_rhs) -> Step:
    """dJ/dR = (dc/dR R^T + c I) dJ/dx_hat, against d(g^T c(R) R)/dR."""
    def build(n):
        r, c = _free_R(n)
        J = (column("g", n).T * (c * r))[0, 0]
        return sp.Matrix([sp.diff(J, ri) for ri in r]), rhs(n)
    return check_sizes("the lemma in R", build, sizes, display=_display(DJ_DR, lemma_formula()))


def columnwise_step(sizes=SIZES, rhs=columnwise_rhs) -> Step:
    """dJ/dx = (I - 1/N)^T (dc/dR R^T + c I) dJ/dx_hat, against the forward pass."""
    def build(n):
        f = forward(n)
        return with_s(f.dJ_dx, f.var), with_s(rhs(n), f.var)
    shown = _mul(sp.Transpose(_centre()), DJ_DR)
    return check_sizes("the column-wise gradient", build, sizes,
                       display=_display(DJ_DX, columnwise_formula(), middle=shown))


# --------------------------------------------------------------------------
# general N, with indexed sums
# --------------------------------------------------------------------------

_i, _j = sp.symbols("i j", integer=True, positive=True)
_K = sp.Symbol("K", integer=True, nonnegative=True)   # N = i + K encodes i <= N
_xi = sp.IndexedBase("x", real=True)
_Ri = sp.IndexedBase("R", real=True)


def _general(expr):
    """doit() the sums with N = i + K, so that 'i <= N' is known to sympy."""
    return expr.subs(N, _i + _K).doit()


def general_centring_step(rhs=None) -> Step:
    """(I - 1/N) x, entry i, is x_i - mu for every N: sum_j ([i=j] - 1/N) x_j."""
    j = _j
    formula = sp.Sum((sp.KroneckerDelta(_i, j) - 1 / N) * _xi[j], (j, 1, N))
    truth = _xi[_i] - sp.Sum(_xi[j], (j, 1, N)) / N
    candidate = formula if rhs is None else rhs
    step = check_step("centring, entry i, any N", _general(truth), _general(candidate),
                      sizes="every N (indexed sums)")
    step.display = (r"\big((I - \tfrac{1}{N}\mathbf{1})\,x\big)_i = " + sp.latex(formula)
                    + " = " + sp.latex(truth))
    return step


def general_grad_c_step(rhs=None) -> Step:
    """dc/dR_i = -(1/N)(sigma^2 + eps)^(-3/2) R_i for every N."""
    j = _j
    sigma2 = sp.Sum(_Ri[j] ** 2, (j, 1, N)) / N
    c = (sigma2 + EPS) ** sp.Rational(-1, 2)
    formula = -(1 / N) * (sigma2 + EPS) ** sp.Rational(-3, 2) * _Ri[_i]
    candidate = formula if rhs is None else rhs
    truth = sp.diff(c, _Ri[_i])
    step = check_step("gradient of c, entry i, any N", _general(truth), _general(candidate),
                      sizes="every N (indexed sums)")
    step.display = (r"\frac{\partial}{\partial R_i}" + sp.latex(c) + " = " + sp.latex(formula))
    return step
