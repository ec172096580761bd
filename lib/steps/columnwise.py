"""Chapter 5, "The column-wise derivation": one column, written with matrices.

Every formula of the chapter is written once as a general sympy object with
a symbolic batch size :data:`N` (matrix symbols such as :data:`x`, :data:`R`,
:data:`I` and the all-ones matrix :data:`ONES`). A step instantiates that
object at an explicit N (:func:`lib.steps.matrices.explicit`: every matrix
symbol becomes a matrix of named components, every scalar symbol its
definition) and compares it with the *truth*, obtained independently by
running the forward pass on the components and differentiating them
(:func:`lib.steps.forward.column_pass`). The page shows :func:`latex` of the
general object, so what is shown is what was checked.

Every step has the same shape, ``name_step(formula=name_formula(), *,
sizes=SIZES)``: a test hands it a deliberately wrong formula.
"""
from __future__ import annotations

import sympy as sp

from lib.steps import SIZES
from lib.steps.forward import column_pass
from lib.steps.matrices import I, N, ONES, ONES_N, S, add, centre, explicit, mul, with_s
from lib.symbolic import EPS, Step, check_sizes, check_step, column, step_function, to_latex

__all__ = ["N", "x", "R", "I", "ONES", "ONES_N", "MU", "SIGMA2", "C", "GRAD_C", "G",
           "DJ_DR", "DJ_DX", "X_HAT", "latex", "base_values",
           "centring_formula", "variance_formula", "normalise_formula", "c_formula",
           "grad_c_formula", "lemma_formula", "columnwise_formula",
           "centring_step", "variance_step", "normalise_step",
           "grad_c_step", "lemma_step", "columnwise_step",
           "general_centring_step", "general_grad_c_step", "all_steps", "SIZES", "S"]

# --------------------------------------------------------------------------
# the general objects (symbolic N); their LaTeX is what the page shows
# --------------------------------------------------------------------------

x = sp.MatrixSymbol("x", N, 1)
R = sp.MatrixSymbol("R", N, 1)
X_HAT = sp.MatrixSymbol(r"\hat{x}", N, 1)
G = sp.MatrixSymbol(r"\frac{\partial J}{\partial \hat{x}}", N, 1)
DJ_DR = sp.MatrixSymbol(r"\frac{\partial J}{\partial R}", N, 1)
DJ_DX = sp.MatrixSymbol(r"\frac{\partial J}{\partial x}", N, 1)
GRAD_C = sp.MatrixSymbol(r"\frac{\partial c}{\partial R}", N, 1)
MU = sp.Symbol(r"\mu", real=True)
SIGMA2 = sp.Symbol(r"\sigma^{2}", nonnegative=True)
C = sp.Symbol("c", positive=True)                    # c(R), a scalar


def centring_formula():
    """R = (I - 1/N) x."""
    return mul(centre(), x)


def variance_formula():
    """sigma^2 = R^T R / N (a 1 x 1 matrix expression)."""
    return mul(1 / N, R.T, R)


def normalise_formula():
    """x_hat = c(R) R."""
    return mul(C, R)


def c_formula():
    """c(R) = (sigma^2 + eps)^(-1/2), with sigma^2 = R^T R / N."""
    return (SIGMA2 + EPS) ** sp.Rational(-1, 2)


def grad_c_formula():
    """dc/dR = -(1/N) (sigma^2 + eps)^(-3/2) R."""
    return mul(-1 / N, (SIGMA2 + EPS) ** sp.Rational(-3, 2), R)


def lemma_formula():
    """dJ/dR = (dc/dR R^T + c I) dJ/dx_hat  (the lemma of chapter 4)."""
    return mul(add(mul(GRAD_C, R.T), mul(C, I)), G)


def columnwise_formula():
    """dJ/dx = (I - 1/N)^T (dc/dR R^T + c I) dJ/dx_hat."""
    return mul(sp.Transpose(centre()), *lemma_formula().args)


# --------------------------------------------------------------------------
# printing
# --------------------------------------------------------------------------

def latex(expr) -> str:
    """LaTeX of a general object, as the pages show it: matrix sums in the
    order they were built, (sigma^2 + eps)^(-3/2) written as a power."""
    return to_latex(expr, as_built=True)


# --------------------------------------------------------------------------
# explicit instances
# --------------------------------------------------------------------------

def _free_R(n):
    """R as a free variable r_1..r_n, and c(r), for the steps that differentiate in R."""
    r = column("r", n)
    c = ((r.T * r)[0, 0] / n + EPS) ** sp.Rational(-1, 2)
    return r, c


def base_values(n, Rv):
    """Explicit values of the general objects for N = n at a given R: I, the ones, R,
    and sigma^2, c and dc/dR from their formulas (:func:`variance_formula`,
    :func:`c_formula`, :func:`grad_c_formula`), so that each symbol means what the
    page says it is."""
    values = {I: sp.eye(n), ONES: sp.ones(n, n), ONES_N: sp.ones(n, 1), R: Rv}
    values[SIGMA2] = explicit(variance_formula(), n, values)[0, 0]
    values[C] = c_formula().xreplace({SIGMA2: values[SIGMA2]})
    values[GRAD_C] = explicit(grad_c_formula(), n, values)
    return values


# --------------------------------------------------------------------------
# the steps
# --------------------------------------------------------------------------

def _display(lhs, formula, middle=None):
    parts = [lhs if isinstance(lhs, str) else latex(lhs)]
    if middle is not None:
        parts.append(latex(middle))
    parts.append(latex(formula))
    return " = ".join(parts)


def _centred(formula, n):
    """R at N = n from ``formula``, the centring map applied to the components."""
    return explicit(formula, n, {x: column_pass(n).x, I: sp.eye(n), ONES: sp.ones(n, n)})


@step_function
def centring_step(formula=centring_formula(), *, sizes=SIZES) -> Step:
    """R = x - mu 1_N = (I - 1/N) x.

    Shown in chapter 5, equation {eq}`eq-columnwise-centring`.
    """
    shown = add(x, mul(-MU, ONES_N))
    return check_sizes("centring is a linear map",
                       lambda n: (column_pass(n).R, _centred(formula, n)), sizes,
                       display=_display("R", formula, middle=shown))


@step_function
def variance_step(formula=variance_formula(), *, sizes=SIZES) -> Step:
    """sigma^2 = R^T R / N.

    Shown in chapter 5, equation {eq}`eq-columnwise-variance`.
    """
    def build(n):
        f = column_pass(n)
        return f.var, explicit(formula, n, {R: f.R})[0, 0]
    return check_sizes("variance as an inner product", build, sizes,
                       display=_display(SIGMA2, formula))


@step_function
def normalise_step(formula=normalise_formula(), *, sizes=SIZES) -> Step:
    """x_hat = c(R) R with c(R) = (sigma^2 + eps)^(-1/2).

    Shown in chapter 5, equation {eq}`eq-columnwise-normalise`.
    """
    def build(n):
        f = column_pass(n)
        return f.x_hat, explicit(formula, n, base_values(n, f.R))
    shown = _display(X_HAT, formula) + r", \qquad " + _display(C, c_formula())
    return check_sizes("x_hat = c(R) R", build, sizes, display=shown)


@step_function
def grad_c_step(formula=grad_c_formula(), *, sizes=SIZES) -> Step:
    """dc/dR = -(1/N) (sigma^2 + eps)^(-3/2) R, differentiating c in free R.

    Shown in chapter 5, equation {eq}`eq-columnwise-grad-c`.
    """
    def build(n):
        r, c = _free_R(n)
        return sp.Matrix([sp.diff(c, ri) for ri in r]), explicit(formula, n, base_values(n, r))
    return check_sizes("gradient of c", build, sizes, display=_display(GRAD_C, formula))


@step_function
def lemma_step(formula=lemma_formula(), *, sizes=SIZES) -> Step:
    """dJ/dR = (dc/dR R^T + c I) dJ/dx_hat, against d(g^T c(R) R)/dR.

    Shown in chapter 5, equation {eq}`eq-columnwise-lemma`.
    """
    def build(n):
        r, c = _free_R(n)
        g = column("g", n)
        J = (g.T * (c * r))[0, 0]
        return sp.Matrix([sp.diff(J, ri) for ri in r]), explicit(formula, n, {**base_values(n, r), G: g})
    return check_sizes("the lemma in R", build, sizes, display=_display(DJ_DR, formula))


@step_function
def columnwise_step(formula=columnwise_formula(), *, sizes=SIZES) -> Step:
    """dJ/dx = (I - 1/N)^T (dc/dR R^T + c I) dJ/dx_hat, against the forward pass.

    A wrong dc/dR is planted by substituting it for :data:`GRAD_C` in ``formula``.

    Shown in chapter 5, equation {eq}`eq-columnwise-columnwise`; chapter 6, equation {eq}`eq-simplify-recap`.
    """
    def build(n):
        f = column_pass(n)
        values = {**base_values(n, _centred(centring_formula(), n)), G: f.g}
        return with_s(f.dJ_dx, f.var), with_s(explicit(formula, n, values), f.var)
    shown = mul(sp.Transpose(centre()), DJ_DR)
    return check_sizes("the column-wise gradient", build, sizes,
                       display=_display(DJ_DX, formula, middle=shown))


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


@step_function
def general_centring_step(
        formula=sp.Sum((sp.KroneckerDelta(_i, _j) - 1 / N) * _xi[_j], (_j, 1, N))) -> Step:
    """(I - 1/N) x, entry i, is x_i - mu for every N: sum_j ([i=j] - 1/N) x_j.

    Shown in chapter 5, equation {eq}`eq-columnwise-centring-any-N`.
    """
    truth = _xi[_i] - sp.Sum(_xi[_j], (_j, 1, N)) / N
    return check_step("centring, entry i, any N", _general(truth), _general(formula),
                      sizes="every N (indexed sums)",
                      display=r"\big((I - \tfrac{1}{N}\mathbf{1})\,x\big)_i = "
                              + sp.latex(formula) + " = " + sp.latex(truth))


_SIGMA2_SUM = sp.Sum(_Ri[_j] ** 2, (_j, 1, N)) / N


@step_function
def general_grad_c_step(
        formula=-(1 / N) * (_SIGMA2_SUM + EPS) ** sp.Rational(-3, 2) * _Ri[_i]) -> Step:
    """dc/dR_i = -(1/N)(sigma^2 + eps)^(-3/2) R_i for every N.

    Shown in chapter 5, equation {eq}`eq-columnwise-grad-c-any-N`.
    """
    c = (_SIGMA2_SUM + EPS) ** sp.Rational(-1, 2)
    return check_step("gradient of c, entry i, any N", _general(sp.diff(c, _Ri[_i])),
                      _general(formula), sizes="every N (indexed sums)",
                      display=r"\frac{\partial}{\partial R_i}" + sp.latex(c) + " = "
                              + sp.latex(formula))


def all_steps():
    """Every checked step of chapter 5, in page order."""
    return [centring_step(), general_centring_step(), variance_step(), normalise_step(),
            grad_c_step(), general_grad_c_step(), lemma_step(), columnwise_step()]
