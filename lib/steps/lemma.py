"""Chapter 4, "The lemma": the vector product rule, proved for n = 1..5.

Statement: let f be a real function of u in R^n with gradient df/du. If
u = c(v) v, with c(v) a real function of v in R^n, then

    df/dv = (dc/dv v^T + c(v) I) df/du.

Both f and c are *arbitrary* sympy Functions of the components
(``f(u_1, ..., u_n)`` and ``c(v_1, ..., v_n)``), so nothing about them is
assumed beyond differentiability: a check at size n is a proof at size n.
"""
from __future__ import annotations

import sympy as sp

from lib.steps import SIZES
from lib.steps.matrices import explicit
from lib.symbolic import check_sizes, check_step, column, instantiate, step_function, to_latex

i, k = sp.symbols("i k", integer=True, positive=True)
n_sym = sp.Symbol("n", integer=True, positive=True)
v_ix = sp.IndexedBase("v")
dc_ix = sp.IndexedBase("dc")
df_ix = sp.IndexedBase("df")
c_sym = sp.Symbol("c", real=True)

NAMES = {
    "dc": r"\frac{\partial c}{\partial v_{@}}",
    "df": r"\frac{\partial f}{\partial u_{@}}",
    "c": r"c(v)",
    "dcdv": r"\frac{\partial c}{\partial v}",
    "dfdu": r"\frac{\partial f}{\partial u}",
}


def latex(expr):
    """The page's LaTeX for an expression of this chapter."""
    return to_latex(expr, NAMES)


class Setting:
    """v, c(v), u = c(v) v and f(u) at one size n, all arbitrary functions."""

    def __init__(self, n):
        self.n = n
        self.v = column("v", n)
        self.c = sp.Function("c")(*self.v)
        self.u = self.c * self.v
        self.u_free = sp.Matrix(sp.symbols(f"u_1:{n + 1}", real=True))
        self.f_of_u = sp.Function("f")(*self.u_free)
        at_u = dict(zip(self.u_free, self.u))
        self.f = self.f_of_u.subs(at_u)                       # f(c(v) v)
        self.grad_c = sp.Matrix([self.c.diff(vi) for vi in self.v])
        # df/du, evaluated at u = c(v) v
        self.df_du = sp.Matrix([self.f_of_u.diff(ui) for ui in self.u_free]).subs(at_u)

    def df_dv(self):
        """The truth: differentiate f(c(v) v) by each v_i."""
        return sp.Matrix([self.f.diff(vi) for vi in self.v])


# --------------------------------------------------------------------------
# general formulas
# --------------------------------------------------------------------------

def component_formula():
    """du_k/dv_i = (dc/dv_i) v_k + [i = k] c(v)."""
    return dc_ix[i] * v_ix[k] + sp.KroneckerDelta(i, k) * c_sym


def chain_formula(component=None):
    """df/dv_i = sum_k df/du_k du_k/dv_i, with du_k/dv_i from the component step."""
    component = component_formula() if component is None else component
    return sp.Sum(df_ix[k] * component, (k, 1, n_sym))


V = sp.MatrixSymbol("v", n_sym, 1)
DC = sp.MatrixSymbol("dcdv", n_sym, 1)
DF = sp.MatrixSymbol("dfdu", n_sym, 1)


def lemma_formula(c_term=True, transpose=False):
    """(dc/dv v^T + c I) df/du as a matrix expression of symbolic size n.

    ``c_term`` and ``transpose`` build the wrong versions a test plants.
    """
    outer = V * DC.T if transpose else DC * V.T
    matrix = outer + c_sym * sp.Identity(n_sym) if c_term else outer
    return sp.MatMul(matrix, DF)


def product_rule_formula():
    """n = 1: (c(v) v)' = c'(v) v + c(v)."""
    S = Setting(1)
    return S.c.diff(S.v[0]) * S.v[0] + S.c


def scalar_lemma_formula():
    """n = 1: df/dv = (c'(v) v + c(v)) f'(u)."""
    S = Setting(1)
    return (S.grad_c[0] * S.v[0] + S.c) * S.df_du[0]


# --------------------------------------------------------------------------
# checked steps
# --------------------------------------------------------------------------

@step_function
def component_step(formula=component_formula(), *, sizes=SIZES):
    """The Jacobian of u = c(v) v, entry (k, i), for n = 2..5.

    Shown in chapter 4, equation {eq}`eq-lemma-components`.
    """

    def build(n):
        S = Setting(n)
        truth = S.u.jacobian(S.v)                 # entry (k, i) = du_k / dv_i
        arrays = {v_ix: S.v, dc_ix: S.grad_c}
        cand = sp.Matrix(n, n, lambda a, b: instantiate(
            formula.subs({k: a + 1, i: b + 1}), values={c_sym: S.c}, arrays=arrays))
        return truth, cand
    return check_sizes("components of du/dv", build, sizes, symbol="n",
                       display=rf"\frac{{\partial u_{{k}}}}{{\partial v_{{i}}}} = {latex(formula)}")


@step_function
def chain_step(formula=chain_formula(), *, sizes=SIZES):
    """The chain rule summed over k: df/dv_i, for n = 2..5.

    Shown in chapter 4, equation {eq}`eq-lemma-chain`.
    """

    def build(n):
        S = Setting(n)
        arrays = {v_ix: S.v, dc_ix: S.grad_c, df_ix: S.df_du}
        cand = instantiate(formula, values={c_sym: S.c}, arrays=arrays, size=(n_sym, n),
                           index=i, rows=n)
        return S.df_dv(), cand
    return check_sizes("chain rule over the components", build, sizes, symbol="n",
                       display=rf"\frac{{\partial f}}{{\partial v_{{i}}}} = {latex(formula)}")


@step_function
def lemma_step(formula=lemma_formula(), *, sizes=SIZES):
    """The lemma in matrix form, for n = 2..5.

    Shown in chapter 4, equation {eq}`eq-lemma-lemma`.
    """
    def build(n):
        S = Setting(n)
        values = {V: S.v, DC: S.grad_c, DF: S.df_du, c_sym: S.c}
        return S.df_dv(), explicit(formula, n, values, size=n_sym)
    return check_sizes("the vector product rule", build, sizes, symbol="n",
                       display=rf"\frac{{\partial f}}{{\partial v}} = {latex(formula)}")


@step_function
def product_rule_step(formula=product_rule_formula()):
    """n = 1: the ordinary product rule (c(v) v)' = c'(v) v + c(v).

    Shown in chapter 4, equation {eq}`eq-lemma-product`.
    """
    S = Setting(1)
    return check_step("the product rule (n = 1)", (S.c * S.v[0]).diff(S.v[0]), formula,
                      sizes="n = 1",
                      display=rf"\frac{{d}}{{dv}}\big(c(v)\,v\big) = {sp.latex(formula)}")


@step_function
def scalar_lemma_step(formula=scalar_lemma_formula()):
    """n = 1: the lemma is the product rule times f'(u).

    Shown in chapter 4, equation {eq}`eq-lemma-scalar`.
    """
    return check_step("the lemma at n = 1", Setting(1).df_dv()[0], formula, sizes="n = 1",
                      display=rf"\frac{{d f}}{{d v}} = {sp.latex(formula)}")


def all_steps():
    """Every checked step of chapter 4, in page order."""
    return [component_step(), chain_step(), lemma_step(), product_rule_step(),
            scalar_lemma_step()]
