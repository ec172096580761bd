"""Chapter 2, "Backprop basics": the easy gradients, and why dJ/dX is not easy.

The forward pass is built from explicit components
(:func:`lib.steps.forward.batch`); the
"truth" of every step is obtained by differentiating it entry by entry. The
formulas the page shows are general (indexed) sympy objects, instantiated at
each size with :func:`lib.symbolic.instantiate` and compared with the truth.

The loss is taken as ``J = sum_ij g_ij y_ij`` with symbols ``g_ij``. This is
no loss of generality: by the chain rule every gradient depends on the loss
only through ``dJ/dY`` at the point, and here ``dJ/dy_ij = g_ij`` is an
arbitrary symbol.
"""
from __future__ import annotations

import time

import sympy as sp

from lib.steps import SIZES
from lib.steps.forward import batch
from lib.symbolic import (Step, StepError, check_sizes, check_step, instantiate, is_zero,
                          sizes_text, step_function, to_latex)

N = sp.Symbol("N", integer=True, positive=True)
i, j, k = sp.symbols("i j k", integer=True, positive=True)
x = sp.IndexedBase("x")
x_hat = sp.IndexedBase("xhat")
dy = sp.IndexedBase("dy")
gamma = sp.IndexedBase("gamma")
s_sym = sp.Symbol("s", positive=True)
"""``s = sqrt(sigma^2 + eps)`` as a symbol, for general formulas."""

J_SYM = sp.Symbol("J")
"""The loss, as the symbol the printed derivatives are taken of."""

NAMES = {
    "xhat": r"\hat{x}_{@}",
    "beta": r"\beta_{@}",
    "x": r"x_{@}",
    "dy": r"\frac{\partial J}{\partial y_{@}}",
    "gamma": r"\gamma_{@}",
    "dbeta": r"\frac{\partial J}{\partial \beta_{@}}",
    "dgamma": r"\frac{\partial J}{\partial \gamma_{@}}",
    "dxhat": r"\frac{\partial J}{\partial \hat{x}_{@}}",
    "jac": r"\frac{\partial \hat{x}_{@}}{\partial x}",
}
"""How the page spells the indexed objects (see :func:`lib.symbolic.to_latex`)."""

D_COLUMNS = 2


# --------------------------------------------------------------------------
# the general formulas the page shows (right-hand sides)
# --------------------------------------------------------------------------

def dbeta_formula():
    """dJ/dbeta_j = sum_i dJ/dy_ij."""
    return sp.Sum(dy[i, j], (i, 1, N))


def dgamma_formula():
    """dJ/dgamma_j = sum_i dJ/dy_ij * x_hat_ij."""
    return sp.Sum(dy[i, j] * x_hat[i, j], (i, 1, N))


def dxhat_formula():
    """dJ/dx_hat_ij = gamma_j * dJ/dy_ij."""
    return gamma[j] * dy[i, j]


def jacobian_formula():
    """d x_hat_i / d x_k for one column: (1/s) (delta_ik - 1/N - x_hat_i x_hat_k / N)."""
    return (sp.KroneckerDelta(i, k) - 1 / N - x_hat[i] * x_hat[k] / N) / s_sym


def _display(variable, formula):
    """``dJ/d(variable) = formula``: the left side printed from the variable the check
    differentiates by."""
    return f"{to_latex(sp.Derivative(J_SYM, variable), NAMES)} = {to_latex(formula, NAMES)}"


# --------------------------------------------------------------------------
# the checked steps
# --------------------------------------------------------------------------

beta_ix = sp.IndexedBase("beta")


def J_general():
    """Column j's share of the loss for a symbolic N, x_hat held as symbols.

    ``J_j = sum_i dJ/dy_ij (gamma_j x_hat_ij + beta_j)``: the loss is the sum
    of these over the columns, and only column j's share contains
    ``gamma_j``, ``beta_j`` and ``x_hat_ij``.
    """
    return sp.Sum(dy[i, j] * (gamma[j] * x_hat[i, j] + beta_ix[j]), (i, 1, N))


def branch_in_batch(expr, index):
    """sympy answers d/dx_hat[k, j] of a sum over i = 1..N with a Piecewise
    (the value if 1 <= k <= N, else 0); keep the branch for k inside the batch."""
    if isinstance(expr, sp.Piecewise):
        (value, condition), _ = expr.args
        if condition != (N >= index):
            raise ValueError(f"unexpected condition {condition}")
        return value
    return expr


def general_check(name, truth, formula, step):
    """Also prove ``truth == formula`` for a symbolic N; extend the step's sizes."""
    general = check_step(f"{name} (every N)", truth, formula, sizes="every N")
    step.sizes += ", and every N"
    step.seconds += general.seconds
    return step


def _arrays(B):
    return {dy: B.G, x_hat: B.x_hat_of_s(), gamma: sp.Matrix([B.gamma])}


@step_function
def _parameter_step(name, params, variable, formula, sizes):
    """A parameter gradient (``params(B)`` the D symbols) against ``formula``: at N = 2..5
    by differentiating J, and for every N (:func:`general_check`) in ``variable``."""
    def build(n):
        B = batch(n, D_COLUMNS)
        truth = B.plain(sp.Matrix([B.J.diff(p) for p in params(B)]))
        cand = instantiate(formula, arrays=_arrays(B), size=(N, n), index=j, rows=D_COLUMNS)
        return truth, cand
    step = check_sizes(name, build, sizes, extra=f", D = {D_COLUMNS}",
                       display=_display(variable, formula))
    return general_check(name, J_general().diff(variable), formula, step)


@step_function
def dbeta_step(formula=dbeta_formula(), *, sizes=SIZES):
    """Check dJ/dbeta against differentiating J by each beta_j.

    Shown in chapter 2, equation {eq}`eq-basics-dbeta`.
    """
    return _parameter_step("dJ/dbeta", lambda B: B.beta, beta_ix[j], formula, sizes)


@step_function
def dgamma_step(formula=dgamma_formula(), *, sizes=SIZES):
    """Check dJ/dgamma against differentiating J by each gamma_j.

    Shown in chapter 2, equation {eq}`eq-basics-dgamma`.
    """
    return _parameter_step("dJ/dgamma", lambda B: B.gamma, gamma[j], formula, sizes)


@step_function
def dxhat_step(formula=dxhat_formula(), *, sizes=SIZES):
    """Check dJ/dx_hat: J as a function of independent x_hat symbols h_ij.

    Shown in chapter 2, equation {eq}`eq-basics-dxhat`.
    """
    def build(n):
        B = batch(n, D_COLUMNS)
        H = sp.Matrix(n, D_COLUMNS, lambda a, b: sp.Symbol(f"h_{a + 1}{b + 1}", real=True))
        J_of_h = sum(B.G[a, b] * (B.gamma[b] * H[a, b] + B.beta[b])
                     for a in range(n) for b in range(D_COLUMNS))
        truth = sp.Matrix(n, D_COLUMNS, lambda a, b: J_of_h.diff(H[a, b]))
        arrays = _arrays(B)
        cand = sp.Matrix(n, D_COLUMNS, lambda a, b: instantiate(
            formula.subs({i: a + 1, j: b + 1}), arrays=arrays, size=(N, n)))
        return truth, cand
    step = check_sizes("dJ/dx_hat", build, sizes, extra=f", D = {D_COLUMNS}",
                       display=_display(x_hat[i, j], formula))
    truth = branch_in_batch(J_general().diff(x_hat[k, j]).doit(), k)
    return general_check("dJ/dx_hat", truth, formula.subs(i, k), step)


def jacobian_truth(n):
    """The N x N Jacobian d x_hat / d x of one column, entry (i, k), with s a symbol."""
    B = batch(n, 1)
    col = B.X[:, 0]
    return B, B.plain(B.X_hat[:, 0].jacobian(col))


@step_function
def jacobian_step(formula=jacobian_formula(), *, sizes=SIZES):
    """Check the Jacobian of one column against componentwise differentiation.

    Shown in chapter 2, equation {eq}`eq-basics-jacobian`.
    """
    def build(n):
        B, truth = jacobian_truth(n)
        return truth, _jacobian_at(formula, n, B.x_hat_of_s(), B.roots[0])
    return check_sizes("Jacobian of one column", build, sizes,
                       display=to_latex(sp.Derivative(x_hat[i], x[k]), NAMES) + " = "
                               f"{to_latex(formula, NAMES)}")


def jacobian_symbolic(n):
    """The Jacobian at size n, written with x_hat_1..x_hat_n and s (for display).

    Shown as the common factor ``1/(n s)`` times a matrix of polynomials
    (an unevaluated product; ``.doit()`` is the matrix itself): entries that
    are fractions of fractions would be set in a matrix's small text style.
    """
    h = sp.Matrix([sp.Symbol(rf"\hat{{x}}_{{{a}}}", real=True) for a in range(1, n + 1)])
    f = jacobian_formula()
    jac = sp.Matrix(n, n, lambda a, b: instantiate(
        f.subs({i: a + 1, k: b + 1}), arrays={x_hat: h}, size=(N, n)))
    factor = 1 / (n * s_sym)
    return sp.MatMul(factor, sp.ImmutableMatrix(jac.applyfunc(lambda e: sp.expand(e / factor))), evaluate=False)


def _jacobian_at(formula, n, xh, root):
    """``formula`` (entry (i, k) of one column's Jacobian) as an n x n matrix."""
    f = formula.subs(s_sym, root)
    return sp.Matrix(n, n, lambda a, b: instantiate(
        f.subs({i: a + 1, k: b + 1}), arrays={x_hat: xh}, size=(N, n)))


@step_function
def dense_jacobian_step(formula=jacobian_formula(), *, sizes=SIZES) -> Step:
    """Check that no entry of the Jacobian of one column is identically zero.

    ``formula`` is the checked Jacobian of :func:`jacobian_step` (a test
    plants one with a zero entry). Raises StepError naming the first zero
    entry; the returned Step's ``lhs`` is the number of entries checked.
    """
    start, count = time.perf_counter(), 0
    for n in sizes:
        B = batch(n)
        jac = _jacobian_at(formula, n, B.x_hat_of_s(), B.roots[0])
        for a in range(n):
            for b in range(n):
                if is_zero(jac[a, b]):
                    raise StepError(f"step 'the Jacobian is dense' fails at N = {n}: "
                                    f"entry ({a + 1}, {b + 1}) is zero")
                count += 1
    return Step("the Jacobian is dense", count, count, sizes=sizes_text("N", sizes),
                seconds=time.perf_counter() - start,
                display=to_latex(sp.Derivative(x_hat[i], x[k]), NAMES) + r" \neq 0"
                        r" \text{ for every } i, k")


def cross_jacobian(n, a, b):
    """d x_hat of column ``a`` by the inputs of column ``b`` (0-based), with s symbols."""
    B = batch(n, D_COLUMNS)
    return B.plain(B.X_hat[:, a].jacobian(B.X[:, b]))


@step_function
def columns_independent_step(formula=sp.Integer(0), *, sizes=SIZES) -> Step:
    """Check that x_hat of column 1 does not depend on column 2, and back.

    ``formula`` is the claimed d x_hat_i1 / d x_k2 (and d x_hat_i2 / d x_k1),
    in the indexed form of :func:`jacobian_formula`; a test claims a nonzero one.

    Shown in chapter 2, equation {eq}`eq-basics-columns`.
    """
    def build(n):
        B = batch(n, D_COLUMNS)
        xh = B.x_hat_of_s()
        truth = cross_jacobian(n, 0, 1).col_join(cross_jacobian(n, 1, 0))
        claim = _jacobian_at(formula, n, xh[:, 1], B.roots[1]).col_join(
            _jacobian_at(formula, n, xh[:, 0], B.roots[0]))
        return truth, claim
    return check_sizes("columns are independent", build, sizes, extra=f", D = {D_COLUMNS}",
                       display=" = ".join(to_latex(e, NAMES) for e in (
                           sp.Derivative(x_hat[i, 1], x[k, 2]), sp.Derivative(x_hat[i, 2], x[k, 1]),
                           formula)))


def all_steps():
    """Every checked step of chapter 2, in page order."""
    return [dbeta_step(), dgamma_step(), dxhat_step(), jacobian_step(),
            dense_jacobian_step(), columns_independent_step()]
