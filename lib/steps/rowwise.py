"""Chapter 3, "The row-wise derivation": three paths from x_i (the staged graph is
:mod:`lib.steps.staged`).

One column is enough (chapter 2 checks that columns are independent), so
``x`` is a column of N symbols and ``g_i = dJ/dx_hat_i`` is a column of
arbitrary symbols (the loss enters only through them, by the chain rule).

Two kinds of checks:

* general N, with ``sp.IndexedBase`` and ``sp.Sum`` and the mean ``mu`` and
  variance ``sigma^2`` held as symbols (the partial derivatives of one path);
* explicit N = 2..5, where the assembled formula for dJ/dx_i is compared with
  differentiating the whole forward pass entry by entry.
"""
from __future__ import annotations

import sympy as sp

from lib.steps import SIZES
from lib.steps.forward import batch
from lib.symbolic import (EPS, check_sizes, check_step, column, instantiate, step_function,
                          to_latex)

N = sp.Symbol("N", integer=True, positive=True)
i, j = sp.symbols("i j", integer=True, positive=True)
x = sp.IndexedBase("x")
dxhat = sp.IndexedBase("dxhat")
mu = sp.Symbol("mu", real=True)
var = sp.Symbol("var", nonnegative=True)
s = sp.Symbol("s", positive=True)
dvar = sp.Symbol("dvar", real=True)
dmu = sp.Symbol("dmu", real=True)

J_SYM = sp.Symbol("J")
"""The loss, as the symbol the printed derivatives are taken of."""
XHAT = sp.IndexedBase("xhat")

NAMES = {
    "x": r"x_{@}",
    "xhat": r"\hat{x}_{@}",
    "dxhat": r"\frac{\partial J}{\partial \hat{x}_{@}}",
    "var": r"\sigma^{2}",
    "dvar": r"\frac{\partial J}{\partial \sigma^{2}}",
    "dmu": r"\frac{\partial J}{\partial \mu}",
    "dxhat_dx": r"\frac{\partial \hat{x}_{i}}{\partial x_{i}}",
    "dvar_dx": r"\frac{\partial \sigma^{2}}{\partial x_{i}}",
    "dmu_dx": r"\frac{\partial \mu}{\partial x_{i}}",
}
HALF = sp.Rational(1, 2)


def latex(expr):
    """The page's LaTeX for an expression of this chapter."""
    return to_latex(expr, NAMES)


# --------------------------------------------------------------------------
# the general formulas (right-hand sides), as the page shows them
# --------------------------------------------------------------------------

def dvar_formula(exponent=sp.Rational(-3, 2), base=None):
    """dJ/dsigma^2 = -1/2 (sigma^2+eps)^(-3/2) sum_j dJ/dx_hat_j (x_j - mu).

    ``base`` and ``exponent`` are there so that a test can plant the slip
    of a widely read post, ``sqrt(sigma^2+eps)**(-3/2)``.
    """
    base = var + EPS if base is None else base
    return -HALF * base ** exponent * sp.Sum(dxhat[j] * (x[j] - mu), (j, 1, N))


def dmu_formula():
    """dJ/dmu = -(1/s) sum_j dJ/dx_hat_j + dJ/dsigma^2 (-2/N) sum_j (x_j - mu)."""
    return -sp.Sum(dxhat[j], (j, 1, N)) / s + dvar * (-2 / N) * sp.Sum(x[j] - mu, (j, 1, N))


def dmu_short_formula():
    """dJ/dmu once the second term is gone: -(1/s) sum_j dJ/dx_hat_j."""
    return -sp.Sum(dxhat[j], (j, 1, N)) / s


DXHAT_DX = sp.Symbol("dxhat_dx", real=True)
DVAR_DX = sp.Symbol("dvar_dx", real=True)
DMU_DX = sp.Symbol("dmu_dx", real=True)
"""The three local derivatives of the chain rule, as symbols; :func:`chain_rule_step` puts in
the checked formulas of :func:`direct_path_step`, :func:`var_path_step` and :func:`mean_path_step`."""


def chain_rule_formula():
    """dJ/dx_i = dJ/dx_hat_i dx_hat_i/dx_i + dJ/dsigma^2 dsigma^2/dx_i + dJ/dmu dmu/dx_i."""
    term = lambda a, b: sp.Mul(a, b, evaluate=False)  # noqa: E731
    return sp.Add(term(dxhat[i], DXHAT_DX), term(dvar, DVAR_DX), term(dmu, DMU_DX), evaluate=False)


def dx_formula():
    """dJ/dx_i = dJ/dx_hat_i / s + dJ/dsigma^2 2(x_i - mu)/N + dJ/dmu / N."""
    return dxhat[i] / s + dvar * 2 * (x[i] - mu) / N + dmu / N


def x_hat_formula(exponent=-HALF, base=None):
    """x_hat_i = (x_i - mu)(sigma^2 + eps)^(-1/2) (``base``/``exponent`` for the slip)."""
    base = var + EPS if base is None else base
    return (x[i] - mu) * base ** exponent


def _display(lhs, rhs):
    return f"{lhs} = {latex(rhs)}"


# --------------------------------------------------------------------------
# general N: one path at a time (mu and sigma^2 held as symbols)
# --------------------------------------------------------------------------

def J_of_paths():
    """J = sum_j dJ/dx_hat_j * x_hat_j with x_hat_j = (x_j - mu)(sigma^2+eps)^(-1/2)."""
    return sp.Sum(dxhat[j] * (x[j] - mu) * (var + EPS) ** -HALF, (j, 1, N))


def var_of_mu():
    """sigma^2 = (1/N) sum_j (x_j - mu)^2, as a function of the x_j and mu."""
    return sp.Sum((x[j] - mu) ** 2, (j, 1, N)) / N


@step_function
def x_hat_step(formula=x_hat_formula(), *, sizes=SIZES):
    """x_hat_i = (x_i - mu)(sigma^2+eps)^(-1/2) is the forward pass's x_hat (N = 2..5).

    Shown in chapter 3, equation {eq}`eq-rowwise-x-hat`.
    """

    def build(n):
        B = batch(n)
        m = B.mu[0]
        values = {var: B.radicand[0] - EPS, mu: m}
        cand = instantiate(formula, values=values, arrays={x: B.X}, size=(N, n), index=i, rows=n)
        return B.plain(B.X_hat[:, 0]), B.plain(cand)
    return check_sizes("x_hat with the exponent -1/2", build, sizes,
                       display=_display(r"\hat{x}_{i}", formula))


@step_function
def dvar_step(formula=dvar_formula()):
    """The path through sigma^2: d/dsigma^2 of J, general N.

    Shown in chapter 3, equation {eq}`eq-rowwise-dvar`.
    """
    truth = J_of_paths().diff(var)
    step = check_step("dJ/dsigma^2 (general N)", truth, formula, sizes="every N",
                      display=_display(latex(sp.Derivative(J_SYM, var)), formula))
    return step


@step_function
def dmu_step(formula=dmu_formula()):
    """The path through mu: directly, and through sigma^2 (general N).

    Shown in chapter 3, equation {eq}`eq-rowwise-dmu`.
    """
    truth = J_of_paths().diff(mu) + dvar * var_of_mu().diff(mu)
    cand = formula.subs(s, sp.sqrt(var + EPS))
    return check_step("dJ/dmu (general N)", truth, cand, sizes="every N",
                      display=_display(latex(sp.Derivative(J_SYM, mu)), formula))


def centred_sum_formula():
    """sum_j (x_j - mu), the factor of the second term of dJ/dmu."""
    return sp.Sum(x[j] - mu, (j, 1, N))


@step_function
def centred_sum_step(formula=centred_sum_formula()):
    """The second term of dJ/dmu vanishes: sum_j (x_j - mu) = 0 (general N).

    Shown in chapter 3, equation {eq}`eq-rowwise-centred`.
    """
    mean = sp.Sum(x[j], (j, 1, N)) / N
    return check_step("the centred column sums to zero (general N)", formula.subs(mu, mean),
                      sp.Integer(0), sizes="every N", display=_display(latex(formula), 0))


@step_function
def dmu_short_step(formula=dmu_short_formula()):
    """So dJ/dmu = -(1/s) sum_j dJ/dx_hat_j (general N).

    Shown in chapter 3, equation {eq}`eq-rowwise-dmu-short`.
    """
    mean = sp.Sum(x[j], (j, 1, N)) / N
    full = dmu_formula().subs(mu, mean)
    return check_step("dJ/dmu without its zero term (general N)", full, formula,
                      sizes="every N", display=_display(latex(sp.Derivative(J_SYM, mu)), formula))


# --------------------------------------------------------------------------
# local derivatives along the three paths (explicit N)
# --------------------------------------------------------------------------

_m, _v = sp.Symbol("m", real=True), sp.Symbol("v", nonnegative=True)   # mu, sigma^2 held


@step_function
def _path_step(name, lhs, forward, formula, sizes):
    """d forward(X)_i / d x_i, with mu and sigma^2 held, against ``formula``, for N in sizes."""
    def build(n):
        X = column("x", n)
        truth = sp.Matrix([forward(X, n)[a].diff(X[a]) for a in range(n)])
        values = {s: sp.sqrt(_v + EPS), mu: _m}
        cand = instantiate(formula, values=values, arrays={x: X}, size=(N, n), index=i, rows=n)
        return truth, cand
    return check_sizes(name, build, sizes, display=_display(lhs, formula))


def direct_path_formula():
    """d x_hat_i / d x_i with mu and sigma^2 held: 1/s."""
    return 1 / s


def mean_path_formula():
    """d mu / d x_i: 1/N."""
    return 1 / N


def var_path_formula():
    """d sigma^2 / d x_i with mu held: 2 (x_i - mu)/N."""
    return 2 * (x[i] - mu) / N


@step_function
def direct_path_step(formula=direct_path_formula(), *, sizes=SIZES):
    """d x_hat_i / d x_i with mu and sigma^2 held = 1/s, for every i (N = 2..5).

    Shown in chapter 3, equation {eq}`eq-rowwise-direct`.
    """
    return _path_step("direct path: d x_hat_i / d x_i", latex(sp.Derivative(XHAT[i], x[i])),
                      lambda X, n: [(X[a] - _m) * (_v + EPS) ** -HALF for a in range(n)],
                      formula, sizes)


@step_function
def mean_path_step(formula=mean_path_formula(), *, sizes=SIZES):
    """d mu / d x_i = 1/N, for every i (N = 2..5).

    Shown in chapter 3, equation {eq}`eq-rowwise-via-mu`.
    """
    return _path_step("path through mu: d mu / d x_i", latex(sp.Derivative(mu, x[i])),
                      lambda X, n: [sum(X) / n] * n, formula, sizes)


@step_function
def var_path_step(formula=var_path_formula(), *, sizes=SIZES):
    """d sigma^2 / d x_i with mu held = 2 (x_i - mu)/N, for every i (N = 2..5).

    Shown in chapter 3, equation {eq}`eq-rowwise-via-var`.
    """
    return _path_step("path through sigma^2: d sigma^2 / d x_i",
                      latex(sp.Derivative(var, x[i])),
                      lambda X, n: [sum((xj - _m) ** 2 for xj in X) / n] * n, formula, sizes)


# --------------------------------------------------------------------------
# the assembled formula against the whole forward pass (explicit N)
# --------------------------------------------------------------------------

def dx_truth(n):
    """dJ/dx of J = sum_i g_i x_hat_i, entry by entry, with s a symbol."""
    B = batch(n)
    g = B.G[:, 0]
    J = sum(g[a] * B.X_hat[a, 0] for a in range(n))
    return B, g, B.plain(sp.Matrix([J.diff(xa) for xa in B.X[:, 0]]))


def dx_candidate(formula, n, dxhat_values):
    """``formula`` for dJ/dx_i at N = n, for every i, with dJ/dx_hat = ``dxhat_values``.

    dJ/dmu and dJ/dsigma^2 are replaced by their formulas (:func:`dmu_formula`,
    :func:`dvar_formula`); ``s`` stays the positive symbol of :func:`batch`.
    """
    B = batch(n)
    root = B.roots[0]
    values = {dmu: dmu_formula(), dvar: dvar_formula()}
    values.update({s: root, var: root ** 2 - EPS, mu: B.mu[0]})
    return instantiate(formula, values=values, arrays={x: B.X, dxhat: dxhat_values},
                       size=(N, n), index=i, rows=n)


@step_function
def dx_step(formula=dx_formula(), *, sizes=SIZES):
    """dJ/dx_i from the three paths equals differentiating the forward pass (N = 2..5).

    A wrong dJ/dsigma^2 or dJ/dmu is planted by substituting it into ``formula``
    (e.g. ``dx_formula().subs(dvar, wrong)``).

    Shown in chapter 3, equation {eq}`eq-rowwise-dx`.
    """
    def build(n):
        _, g, truth = dx_truth(n)
        return truth, dx_candidate(formula, n, g)
    return check_sizes("dJ/dx_i from three paths", build, sizes,
                       display=_display(latex(sp.Derivative(J_SYM, x[i])), formula))


@step_function
def chain_rule_step(formula=chain_rule_formula(), *, sizes=SIZES):
    """The chain rule over the three paths, with the checked local derivatives put in,

    Shown in chapter 3, equation {eq}`eq-rowwise-chain`.
    equals differentiating the forward pass (N = 2..5)."""
    local = {DXHAT_DX: direct_path_formula(), DMU_DX: mean_path_formula(),
             DVAR_DX: var_path_formula()}

    def build(n):
        _, g, truth = dx_truth(n)
        return truth, dx_candidate(formula.xreplace(local), n, g)
    return check_sizes("the chain rule over three paths", build, sizes,
                       display=latex(sp.Derivative(J_SYM, x[i])) + " = "
                       + to_latex(formula, NAMES, order="none"))


def all_steps():
    """Every checked step of chapter 3, in page order (a list of Steps)."""
    return [x_hat_step(), chain_rule_step(), direct_path_step(), mean_path_step(),
            var_path_step(), dvar_step(), dmu_step(), centred_sum_step(), dmu_short_step(),
            dx_step()]


