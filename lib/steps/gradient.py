"""Chapter 8, "What batch norm does to the gradient": its exact facts, checked by sympy.

The backward map of one column is :math:`(1/s)P` with
:math:`P = I - \\mathbf 1/N - \\hat x \\hat x^\\top/N` (:func:`p_formula`). Each fact
the chapter displays about P is a step of the book's one shape,
``name_step(formula=name_formula(), *, sizes=SIZES)``: the formula is a general object
(symbolic N, matrix symbols), instantiated on chapter 2's forward pass of one column
(:func:`lib.steps.forward.batch`) with :math:`s = \\sqrt{\\sigma^2+\\epsilon}` a positive
symbol, and compared with the truth computed from the components. With
:math:`\\delta = \\epsilon/(\\sigma^2 + \\epsilon)`.
"""
from __future__ import annotations

import sympy as sp

from lib.steps import SIZES
from lib.steps.columnwise import DJ_DX, G, SIGMA2, X_HAT, latex
from lib.steps import layouts
from lib.steps.forward import batch, column_pass
from lib.steps.matrices import I, N, ONES, ONES_N, S, add, explicit, mul, with_s
from lib.symbolic import EPS, Step, check_sizes, column, step_function, write_root

__all__ = ["DELTA", "GAMMA", "p_formula", "squared_length_formula", "ones_formula",
           "eigen_formula", "trace_formula", "trace_sq_formula", "santurkar_formula",
           "squared_length_step", "ones_step", "symmetry_step", "eigen_step", "trace_step",
           "trace_sq_step", "santurkar_step", "scale_step", "all_steps", "GY", "S",
           "backward_map_formula", "backward_map_step", "sgd_norm_formula", "sgd_norm_step",
           "scale_formula", "delta_formula"]

DELTA = sp.Symbol(r"\delta", positive=True)
"""delta = eps/(sigma^2 + eps), the part of the x_hat direction that P keeps."""
GAMMA = sp.Symbol(r"\gamma", real=True)
P = sp.MatrixSymbol("P", N, N)
A = sp.Symbol("a", positive=True)


def delta_formula():
    """delta = eps/(sigma^2 + eps)."""
    return EPS / (SIGMA2 + EPS)


def p_formula():
    """P = I - 1/N - x_hat x_hat^T / N."""
    return add(I, mul(-1 / N, ONES), mul(-1 / N, X_HAT, X_HAT.T))


def squared_length_formula():
    """||x_hat||^2 = N sigma^2/(sigma^2 + eps) (the squared length, not the length)."""
    return N * SIGMA2 / (SIGMA2 + EPS)


def ones_formula():
    """P 1_N = 0: the gradient of a column sums to zero (P is symmetric)."""
    return sp.ZeroMatrix(N, 1)


def eigen_formula():
    """P x_hat = delta x_hat."""
    return mul(DELTA, X_HAT)


def trace_formula():
    """tr P = N - 2 + delta."""
    return N - 2 + DELTA


def trace_sq_formula():
    """tr(P^T P) = N - 2 + delta^2, so E||P g||^2 = c (N - 2 + delta^2) for E g g^T = c I."""
    return N - 2 + DELTA ** 2


GY = sp.MatrixSymbol("g_y", N, 1)
"""The gradient at the layer's output, dJ/dy; then dJ/dx = (gamma/s) P g_y."""


def santurkar_formula(last=1):
    """||dJ/dx||^2 = (gamma^2/s^2)(g^T g - (1^T g)^2/N - (1 + delta)(g^T x_hat)^2/N).

    With eps = 0 (delta = 0, s = sigma) this is Santurkar et al.'s Theorem 4.1 as an
    equality, with 1/N on both subtracted terms. ``last`` scales the last term's
    coefficient (a test plants N^(1/2): the 1/sqrt(N) that some transcriptions of the
    theorem give; which coefficient the published statement carries was not confirmed).
    """
    sq = lambda a, b: sp.MatPow(mul(a.T, b), 2)  # noqa: E731
    return mul(GAMMA ** 2 / S ** 2, add(mul(GY.T, GY), mul(-1 / N, sq(ONES_N, GY)),
                                          mul(-1, last * (1 + DELTA) / N, sq(GY, X_HAT))))


# --------------------------------------------------------------------------
# the column every check is made on
# --------------------------------------------------------------------------

def _values(n):
    """Values of the general objects at N = n on chapter 2's column, and the substitution
    that closes the comparison: s is a positive symbol for sqrt(sigma^2 + eps), and eps is
    written as s^2 - sigma^2 on both sides, so that sympy compares rational functions."""
    B = batch(n)
    var, s = B.radicand[0] - EPS, B.roots[0]
    values = {I: sp.eye(n), ONES: sp.ones(n, n), ONES_N: sp.ones(n, 1),
              X_HAT: B.x_hat_of_s()[:, 0], SIGMA2: var, G: column("g", n), GY: column("g", n),
              S: s, GAMMA: sp.Symbol("gamma", real=True)}
    values[DELTA] = delta_formula().xreplace({SIGMA2: var})
    values[P] = explicit(p_formula(), n, values)
    values[DJ_DX] = explicit(mul(GAMMA / S, P, GY), n, values)   # dJ/dx = (gamma/s) P g_y
    return values, {EPS: s ** 2 - var}


def _at(expr, n, values):
    """``explicit``, with a 1 x 1 result as a scalar (an inner product is a number)."""
    out = sp.sympify(explicit(expr, n, values))
    return out[0, 0] if isinstance(out, sp.MatrixBase) and out.shape == (1, 1) else out


@step_function
def _fact_step(name, lhs, formula, sizes):
    """The general object ``lhs`` against ``formula``, both evaluated on the components at
    each N: the left side the page prints is the one that is computed."""
    def build(n):
        values, close = _values(n)
        left, right = (_at(e, n, values) for e in (lhs, formula))
        return left.xreplace(close), right.xreplace(close)
    return check_sizes(name, build, sizes, display=f"{latex(lhs)} = {latex(formula)}")


@step_function
def squared_length_step(formula=squared_length_formula(), *, sizes=SIZES) -> Step:
    """||x_hat||^2 against N sigma^2/(sigma^2 + eps).

    Shown in chapter 8, equation {eq}`eq-grad-length`.
    """
    return _fact_step("the squared length of x_hat", mul(X_HAT.T, X_HAT), formula, sizes)


@step_function
def ones_step(formula=ones_formula(), *, sizes=SIZES) -> Step:
    """P 1_N = 0, for any eps.

    Shown in chapter 8, equation {eq}`eq-grad-ones`.
    """
    return _fact_step("P removes the mean", mul(P, ONES_N), formula, sizes)


@step_function
def symmetry_step(formula=p_formula(), *, sizes=SIZES) -> Step:
    """P^T = P (so 1_N^T P = (P 1_N)^T = 0: every column of the gradient sums to zero).

    Shown in chapter 8, equation {eq}`eq-grad-symmetric`.
    """
    return _fact_step("P is symmetric", P.T, formula, sizes)


@step_function
def eigen_step(formula=eigen_formula(), *, sizes=SIZES) -> Step:
    """P x_hat = delta x_hat, delta = eps/(sigma^2 + eps).

    Shown in chapter 8, equation {eq}`eq-grad-eigen`.
    """
    return _fact_step("P keeps delta of the x_hat direction", mul(P, X_HAT), formula, sizes)


@step_function
def trace_step(formula=trace_formula(), *, sizes=SIZES) -> Step:
    """tr P = N - 2 + delta.

    Shown in chapter 8, equation {eq}`eq-grad-trace`.
    """
    return _fact_step("the trace of P", sp.Trace(P), formula, sizes)


@step_function
def trace_sq_step(formula=trace_sq_formula(), *, sizes=SIZES) -> Step:
    """tr(P^T P) = N - 2 + delta^2.

    Shown in chapter 8, equation {eq}`eq-grad-trace-sq`.
    """
    return _fact_step("the trace of P^T P", sp.Trace(mul(P.T, P)), formula, sizes)


@step_function
def santurkar_step(formula=santurkar_formula(), *, sizes=SIZES) -> Step:
    """(dJ/dx)^T dJ/dx for dJ/dx = (gamma/s) P g_y (the backward map of
    :func:`backward_map_step` with g = gamma g_y), any eps; eps = 0 gives Santurkar et al.'s
    Theorem 4.1 as an equality with 1/N on both terms.

    Shown in chapter 8, equation {eq}`eq-grad-santurkar`.
    """
    return _fact_step("the squared norm of the input gradient", mul(DJ_DX.T, DJ_DX), formula, sizes)


def _input_grad_eps0(col, g, root):
    """d(g^T x_hat)/d col with eps = 0, sqrt(sigma^2) written as the symbol ``root``."""
    n = len(col)
    mu = sum(col) / n
    var = sum((c - mu) ** 2 for c in col) / n
    J = (g.T * (col - mu * sp.ones(n, 1)))[0, 0] / sp.sqrt(var)
    grad = sp.Matrix([sp.diff(J, c) for c in col])
    return write_root(grad, var, root), var


def scale_formula():
    """The factor between the input gradients at a x and at x: 1/a."""
    return 1 / A


@step_function
def scale_step(formula=scale_formula(), *, sizes=SIZES) -> Step:
    """With eps = 0, the input gradient at a x is 1/a times the one at x (a > 0).

    The gradient is taken at a free point y, then evaluated at y = a x, where
    sqrt(var(a x)) = a sqrt(var(x)) (checked too, as the last entry).

    Shown in chapter 8, equation {eq}`eq-grad-scale`.
    """
    def build(n):
        B = batch(n)
        x, g = B.X[:, 0], B.G[:, 0]
        y, r, s = column("y", n), sp.Symbol("r", positive=True), sp.Symbol("s", positive=True)
        grad_y, var_y = _input_grad_eps0(y, g, r)
        grad_x, var_x = _input_grad_eps0(x, g, s)
        at_ax = grad_y.xreplace(dict(zip(y, A * x))).xreplace({r: A * s})
        scaling = var_y.xreplace(dict(zip(y, A * x))) - A ** 2 * var_x
        return at_ax.col_join(sp.Matrix([scaling])), (formula * grad_x).col_join(sp.Matrix([0]))
    grad = r"\left.\frac{\partial J}{\partial x}\right|_{%s}"
    return check_sizes("the 1/a law (eps = 0)", build, sizes,
                       display=f"{grad % 'a x'} = {latex(formula)}\\,{grad % 'x'}")


def backward_map_formula():
    """dJ/dx = (1/s) P dJ/dx_hat."""
    return mul(1 / S, p_formula(), G)


@step_function
def backward_map_step(formula=backward_map_formula(), *, sizes=SIZES) -> Step:
    """dJ/dx = (1/s) P g against differentiating g^T x_hat (chapter 6's result, read as P).

    Shown in chapter 8, equation {eq}`eq-grad-P`.
    """
    def build(n):
        f = column_pass(n)
        values, _ = _values(n)
        values.update({G: f.g, X_HAT: f.x_hat, S: sp.sqrt(f.var + EPS)})
        return with_s(f.dJ_dx, f.var), with_s(explicit(formula, n, values), f.var)
    return check_sizes("the backward map is (1/s) P", build, sizes,
                       display=latex(DJ_DX) + " = " + latex(formula))


W = sp.MatrixSymbol("w", N, 1)
NABLA = sp.MatrixSymbol(r"\nabla", N, 1)
ETA = sp.Symbol(r"\eta", positive=True)


def sgd_norm_formula():
    """||w - eta nabla||^2 = ||w||^2 + eta^2 ||nabla||^2 when nabla is orthogonal to w."""
    return add(mul(W.T, W), mul(ETA ** 2, NABLA.T, NABLA))


@step_function
def sgd_norm_step(formula=sgd_norm_formula(), *, sizes=SIZES) -> Step:
    """An SGD step on a scale-invariant weight cannot shrink it: for any v, nabla = the part
    of v orthogonal to w, and ||w - eta nabla||^2 is compared with ``formula``.

    Shown in chapter 8, equation {eq}`eq-grad-sgd`.
    """
    step = add(W, mul(-ETA, NABLA))
    lhs = mul(sp.Transpose(step), step)

    def build(n):
        w, v = column("w", n), column("v", n)
        values = {W: w, NABLA: v - w * (w.T * v)[0, 0] / (w.T * w)[0, 0]}
        return explicit(lhs, n, values), explicit(formula, n, values)
    return check_sizes("an SGD step on a scale-invariant weight", build, sizes,
                       display=f"{latex(lhs)} = {latex(formula)}")


EXAMPLE_SHAPES = ((2, 1), (3, 1), (4, 1), (5, 1), (3, 2))
"""The sizes (N, D) at which :func:`example_step` checks one example's gradient."""


@step_function
def example_step(formula=layouts.general_formula(), *, shapes=EXAMPLE_SHAPES):
    """One example's gradient in batch norm, chapter 7's form with M = N, for each (N, D) in ``shapes``.

    Each shape is checked by :func:`lib.steps.layouts.layout_step` (the truth from the
    forward pass, the formula on every entry); a failure at any shape raises.

    Shown in chapter 8, equation {eq}`eq-grad-example`.
    """
    steps = [layouts.layout_step(formula, layout="batch norm", shape=tuple(shape)) for shape in shapes]
    sizes = "(N, D) = " + ", ".join(str(tuple(shape)) for shape in shapes) + "; M = N"
    return Step("one example's gradient, batch norm", steps[-1].lhs, steps[-1].rhs, sizes=sizes,
                seconds=sum(step.seconds for step in steps), display=steps[-1].display)


def all_steps():
    """Every exact fact chapter 8 displays, checked."""
    return [backward_map_step(), squared_length_step(), ones_step(), symmetry_step(),
            eigen_step(), trace_step(), trace_sq_step(), santurkar_step(), scale_step(),
            sgd_norm_step(), example_step()]
