"""The chapter on residual networks and the norms of transformers: its exact facts, checked.

* RMS norm (Zhang and Sennrich 2019), per example over d features: with
  :math:`r = \\sqrt{\\operatorname{mean}(x^2) + \\epsilon}`, :math:`\\hat x = x/r` and
  :math:`g = \\gamma \\odot \\partial J/\\partial y`, the input gradient is
  :math:`(1/r)(I - \\hat x \\hat x^\\top/d)\\, g` (:func:`rms_backward_step`); its map
  :math:`P = I - \\hat x\\hat x^\\top/d` has trace :math:`d - 1 + \\delta` and
  :math:`P\\hat x = \\delta \\hat x` with :math:`\\delta = \\epsilon/(\\operatorname{mean}(x^2)
  + \\epsilon)`: with :math:`\\epsilon = 0` a projection of rank d - 1 (layer norm's has rank
  d - 2).
* One residual block with batch norm last in its branch, for one feature over a batch:
  :math:`\\operatorname{Var}(x + b) = \\operatorname{Var}(x) + 1 - \\delta +
  2\\operatorname{Cov}(x, b)` for :math:`b = \\mathrm{BN}(z)` (:func:`block_variance_step`),
  and the closed forms of the variance recursions it leads to (:func:`recursion_step`).

Each is checked from explicit components at small sizes (d or N = 2..5), or for a symbolic
depth l, in the book's one shape ``name_step(formula=name_formula(), *, ...)``.
"""
from __future__ import annotations

import sympy as sp

from lib.steps import SIZES
from lib.steps.forward import moments
from lib.symbolic import (EPS, check_sizes, check_step, instantiate, step_function, to_latex,
                          write_root)

__all__ = ["d", "k", "j", "r", "l", "g", "x_hat", "DELTA", "V", "C", "V0", "ALPHA",
           "rms_formula", "rms_trace_formula", "rms_eigen_formula", "block_variance_formula",
           "RECURSIONS", "rms_backward_step", "rms_trace_step", "rms_eigen_step",
           "block_variance_step", "recursion_step", "relu_gain_formula", "relu_gain_step",
           "product_formula", "product_step", "CB", "all_steps"]

d = sp.Symbol("d", integer=True, positive=True)
k, j = sp.symbols("k j", integer=True, positive=True)
r = sp.Symbol("r", positive=True)                       # the root mean square
l = sp.Symbol("l", integer=True, nonnegative=True)      # the depth of a block
g = sp.IndexedBase("g")                                 # g = gamma * dJ/dy = dJ/dx_hat
x_hat = sp.IndexedBase(r"\hat{x}")
DELTA = sp.Symbol(r"\delta", positive=True)
V = sp.Symbol(r"\operatorname{Var}(x)", positive=True)
C = sp.Symbol(r"\operatorname{Cov}(x, b)", real=True)
V0 = sp.Symbol("v_0", positive=True)
ALPHA = sp.Symbol(r"\alpha", real=True)


# --------------------------------------------------------------------------
# RMS norm
# --------------------------------------------------------------------------

def rms_formula():
    """dJ/dx_k = (g_k - x_hat_k sum_j g_j x_hat_j / d) / r."""
    return (g[k] - x_hat[k] * sp.Sum(g[j] * x_hat[j], (j, 1, d)) / d) / r


def rms_trace_formula():
    """tr(I - x_hat x_hat^T / d) = d - 1 + delta."""
    return d - 1 + DELTA


def rms_eigen_formula():
    """(I - x_hat x_hat^T / d) x_hat = delta x_hat, entry k."""
    return DELTA * x_hat[k]


def _rms_pass(n):
    """Symbols x, gamma, dy of one example with n features; its mean square and x_hat."""
    x = sp.Matrix(sp.symbols(f"x_1:{n + 1}", real=True))
    gam = sp.Matrix(sp.symbols(f"gamma_1:{n + 1}", real=True))
    dy = sp.Matrix(sp.symbols(f"dy_1:{n + 1}", real=True))
    ms = sum(xi ** 2 for xi in x) / n
    return x, gam, dy, ms, x / sp.sqrt(ms + EPS)


def _delta(ms):
    return EPS / (ms + EPS)


@step_function
def rms_backward_step(formula=rms_formula(), *, sizes=SIZES):
    """The input gradient of RMS norm, from the forward pass y = gamma x / r, for d in ``sizes``.

    The truth differentiates :math:`J = \\sum_k (\\partial J/\\partial y_k) \\gamma_k x_k / r`
    by each x_k, with r a positive symbol for :math:`\\sqrt{\\operatorname{mean}(x^2)+\\epsilon}`
    after differentiating.

    Shown in chapter 9, equation {eq}`eq-res-rms`.
    """
    def build(n):
        x, gam, dy, ms, _ = _rms_pass(n)
        J = sum(dy[i] * gam[i] * x[i] / sp.sqrt(ms + EPS) for i in range(n))
        truth = write_root(sp.Matrix([sp.diff(J, xi) for xi in x]), ms + EPS, r)
        arrays = {g: sp.Matrix([gam[i] * dy[i] for i in range(n)]), x_hat: x / r}
        return truth, instantiate(formula, arrays=arrays, size=(d, n), index=k, rows=n)
    lhs = sp.Derivative(sp.Symbol("J"), sp.IndexedBase("x")[k])
    return check_sizes("RMS norm backward", build, sizes, symbol="d",
                       display=to_latex(lhs, {"x": "x_{@}"}) + " = " + sp.latex(formula))


@step_function
def rms_trace_step(formula=rms_trace_formula(), *, sizes=SIZES):
    """tr P = d - 1 + delta for RMS norm's map P = I - x_hat x_hat^T / d, d in ``sizes``.

    Shown in chapter 9, equation {eq}`eq-res-rms-trace`.
    """
    def build(n):
        *_, ms, xh = _rms_pass(n)
        P = sp.eye(n) - xh * xh.T / n
        return P.trace(), formula.subs({d: n, DELTA: _delta(ms)})
    return check_sizes("the trace of RMS norm's map", build, sizes, symbol="d",
                       display=r"\operatorname{tr}\left(I - \frac{\hat x \hat x^\top}{d}\right) = "
                       + sp.latex(formula))


@step_function
def rms_eigen_step(formula=rms_eigen_formula(), *, sizes=SIZES):
    """P x_hat = delta x_hat: RMS norm's map keeps a fraction delta of the x_hat direction.

    Shown in chapter 9, equation {eq}`eq-res-rms-eigen`.
    """
    def build(n):
        *_, ms, xh = _rms_pass(n)
        P = sp.eye(n) - xh * xh.T / n
        return P * xh, instantiate(formula.subs(DELTA, _delta(ms)), arrays={x_hat: xh},
                                   size=(d, n), index=k, rows=n)
    return check_sizes("x_hat is an eigenvector of RMS norm's map", build, sizes, symbol="d",
                       display=r"\left(I - \frac{\hat x \hat x^\top}{d}\right)\hat x_k = "
                       + sp.latex(formula))


# --------------------------------------------------------------------------
# the variance of one residual block
# --------------------------------------------------------------------------

def block_variance_formula():
    """Var(x + b) = Var(x) + 1 - delta + 2 Cov(x, b) for b = BN(z), delta = eps/(Var z + eps)."""
    return V + 1 - DELTA + 2 * C


def _batch_stats(a, b):
    """Biased covariance of two columns (lists)."""
    ma, mb = sum(a) / len(a), sum(b) / len(b)
    return sum((ai - ma) * (bi - mb) for ai, bi in zip(a, b)) / len(a)


@step_function
def block_variance_step(formula=block_variance_formula(), *, sizes=SIZES):
    """The batch variance of one feature after a block x + BN(z), for N in ``sizes``.

    x and z are N free symbols each (the skip path, and the branch before its batch norm);
    b = (z - mean z)/sqrt(Var z + eps). Variances and covariances are the biased ones of
    the batch.

    Shown in chapter 9, equation {eq}`eq-res-block`.
    """
    def build(n):
        x = list(sp.symbols(f"x_1:{n + 1}", real=True))
        z = list(sp.symbols(f"z_1:{n + 1}", real=True))
        mu_z, var_z = moments(z)
        b = [(zi - mu_z) / sp.sqrt(var_z + EPS) for zi in z]
        out = [xi + bi for xi, bi in zip(x, b)]
        truth = _batch_stats(out, out)
        values = {V: _batch_stats(x, x), C: _batch_stats(x, b), DELTA: EPS / (var_z + EPS)}
        return truth, formula.subs(values)
    lhs = sp.Symbol(r"\operatorname{Var}(x + b)")
    return check_sizes("the variance after one block", build, sizes,
                       display=sp.latex(lhs) + " = " + sp.latex(formula))


RECURSIONS = {
    "batch norm in the branch": (1, 1, V0 + l),
    "no normalization": (2, 0, V0 * 2 ** l),
    "branch scale alpha": (1 + ALPHA ** 2, 0, V0 * (1 + ALPHA ** 2) ** l),
}
"""Each variance recursion v_{l+1} = a v_l + c as (a, c, its closed form v_l)."""


@step_function
def recursion_step(formula=RECURSIONS["batch norm in the branch"][2], *, case="batch norm in the branch"):
    """The closed form of the variance recursion v_{l+1} = a v_l + c, v_0 given, for every l.

    ``case`` names one of :data:`RECURSIONS`. Checked for a symbolic depth l: the formula
    satisfies the recursion, and it starts at v_0.

    Shown in chapter 9, equation {eq}`eq-res-rec-bn`; chapter 9, equation {eq}`eq-res-rec-plain`;
    chapter 9, equation {eq}`eq-res-rec-alpha`.
    """
    if case not in RECURSIONS:
        raise ValueError(f"unknown case {case!r}; choose from {tuple(RECURSIONS)}")
    a, c, _ = RECURSIONS[case]
    lhs = sp.Matrix([formula.subs(l, l + 1), formula.subs(l, 0)])
    rhs = sp.Matrix([a * formula + c, V0])
    step = check_step(f"the variance recursion, {case}", lhs, rhs, sizes="every depth l ≥ 0")
    v = sp.Function("v")
    step.display = (f"v_{{l+1}} = {sp.latex((a * v(l) + c).subs(v(l), sp.Symbol('v_l')))}"
                    rf"\quad\Longrightarrow\quad v_l = {sp.latex(formula)}")
    return step


def all_steps():
    """The checks of the residual chapter, as the page runs them."""
    return ([rms_backward_step(), rms_trace_step(), rms_eigen_step(), block_variance_step()]
            + [recursion_step(f, case=case) for case, (_, _, f) in RECURSIONS.items()]
            + [relu_gain_step(), product_step()])


# --------------------------------------------------------------------------
# the gradient through a block: the ReLU constant and the product over blocks
# --------------------------------------------------------------------------

CB = sp.Symbol("c", positive=True)
M_, L_ = sp.symbols("m L", integer=True, nonnegative=True)


def relu_gain_formula():
    """E[relu(z)^2] / Var(relu(z)) for z ~ N(0, 1): pi/(pi - 1)."""
    return sp.pi / (sp.pi - 1)


@step_function
def relu_gain_step(formula=relu_gain_formula()):
    """The second moment of relu(z) over its variance, z standard normal, by exact integrals.

    Shown in chapter 9, equation {eq}`eq-res-relu`.
    """
    z = sp.Symbol("z", real=True)
    density = sp.exp(-z ** 2 / 2) / sp.sqrt(2 * sp.pi)
    m1, m2 = (sp.integrate(z ** p * density, (z, 0, sp.oo)) for p in (1, 2))
    step = check_step("the ReLU constant", m2 / (m2 - m1 ** 2), formula, sizes="z ~ N(0, 1)")
    step.display = (r"\frac{\mathbb E[\phi(z)^2]}{\operatorname{Var}\phi(z)} = " + sp.latex(formula))
    return step


def product_formula():
    """prod_{m=l}^{L-1} (1 + c/(v_0 + m)) as a ratio of rising factorials."""
    return sp.rf(V0 + l + CB, L_ - l) / sp.rf(V0 + l, L_ - l)


@step_function
def product_step(formula=product_formula(), *, sizes=SIZES):
    """The growth of the squared gradient from block L down to block l, when block m
    multiplies it by 1 + c/(v_0 + m), for L - l in ``sizes`` (l, v_0 and c symbolic).

    Shown in chapter 9, equation {eq}`eq-res-product`.
    """
    def build(n):
        truth = sp.Mul(*[sp.together(1 + CB / (V0 + l + i)) for i in range(n)])
        return truth, sp.expand_func(formula.subs(L_, l + n))
    lhs = sp.Product(1 + CB / (V0 + M_), (M_, l, L_ - 1))
    return check_sizes("the product over blocks", build, sizes, symbol="L - l",
                       display=sp.latex(lhs) + " = " + sp.latex(formula))
