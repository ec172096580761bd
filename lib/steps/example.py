"""Chapter 6's worked example: the compact formula on three numbers, every quantity exact.

The example is small enough to follow by hand (N = 3, eps = 0, integers whose mean,
variance and x_hat are exact), and it is checked like every step of the book: the formula
:func:`~lib.steps.simplify.dx_gamma_formula`, evaluated from its parts at the numbers, must
equal the derivative of J = dy^T (gamma x_hat + beta) taken symbolically and then evaluated.
"""
from __future__ import annotations

import sympy as sp

from lib.steps.columnwise import X_HAT, base_values, latex
from lib.steps.forward import affine_pass
from lib.steps.matrices import S, explicit
from lib.steps.simplify import (DBETA, DGAMMA, DJ_DX, DY, GAMMA, dbeta_formula, dgamma_formula,
                                dx_gamma_formula)
from lib.symbolic import EPS, Step, check_step, step_function

__all__ = ["EXAMPLE", "example_values", "example_step", "all_steps"]

EXAMPLE = {"x": (1, 1, 4), "dy": (3, 0, 0), "gamma": 1}
"""Chapter 6's worked example: N = 3 small integers whose mean, variance and x_hat are exact."""


def example_values(x=EXAMPLE["x"], dy=EXAMPLE["dy"], gamma=EXAMPLE["gamma"]):
    """Every object of :func:`dx_gamma_formula` at these numbers, with eps = 0, exactly.

    x_hat, sigma^2 and s come from the forward pass (:func:`~lib.steps.forward.affine_pass`)
    at the numbers; dJ/dgamma and dJ/dbeta from their own formulas. Returns ``(f, point,
    values)``: the symbolic pass, the substitution that puts the numbers in, and the values.
    """
    n = len(x)
    if n < 2 or len(dy) != n:
        raise ValueError(f"the example needs N >= 2 entries in x and as many in dy; got {len(x)} and {len(dy)}")
    f = affine_pass(n)
    point = {**dict(zip(f.x, map(sp.nsimplify, x))), **dict(zip(f.dy, map(sp.nsimplify, dy))),
             f.gamma: sp.nsimplify(gamma), EPS: sp.Integer(0)}
    x_hat = sp.Matrix(f.x_hat.xreplace(point)).applyfunc(sp.radsimp)
    values = {**base_values(n, sp.Matrix(f.R.xreplace(point))), X_HAT: x_hat,
              S: sp.sqrt(f.var.xreplace(point)), DY: sp.Matrix(f.dy.xreplace(point)),
              GAMMA: point[f.gamma]}
    values[DGAMMA] = sp.radsimp(explicit(dgamma_formula(), n, values)[0, 0])
    values[DBETA] = explicit(dbeta_formula(), n, values)[0, 0]
    return f, point, values


@step_function
def example_step(formula=dx_gamma_formula(), *, x=EXAMPLE["x"], dy=EXAMPLE["dy"], gamma=EXAMPLE["gamma"]) -> Step:
    """The compact formula on numbers (N = 3, eps = 0): every intermediate and the result.

    The truth is the derivative of J = dy^T (gamma x_hat + beta) taken symbolically and then
    evaluated at the numbers; the formula is evaluated from its parts at the same numbers.
    Shown in chapter 6, equation {eq}`eq-simplify-example`.
    """
    f, point, values = example_values(x, dy, gamma)
    truth = sp.Matrix(f.dJ_dx.xreplace(point)).applyfunc(sp.radsimp)
    result = explicit(formula, len(x), values).applyfunc(sp.radsimp)
    mu, var = f.mu.xreplace(point), f.var.xreplace(point)
    row = lambda m: sp.latex(sp.Matrix(m).T) + "^T"  # noqa: E731  (columns printed as rows)
    shown = (r"\begin{aligned}"
             rf"&x = {row(sp.Matrix(f.x.xreplace(point)))}, \quad {latex(DY)} = {row(values[DY])}\\"
             rf"&\gamma = {sp.latex(values[GAMMA])}, \quad \epsilon = 0, \quad \mu = {sp.latex(mu)}, \quad "
             rf"\sigma^2 = {sp.latex(var)}, \quad s = {sp.latex(values[S])}\\"
             rf"&\hat x = {row(values[X_HAT])}\\"
             rf"&{latex(DBETA)} = {sp.latex(values[DBETA])}, \quad {latex(DGAMMA)} = {sp.latex(values[DGAMMA])}\\"
             rf"&{latex(DJ_DX)} = {latex(formula)}\\"
             rf"&\phantom{{{latex(DJ_DX)}}} = {row(result)}"
             r"\end{aligned}")
    return check_step("the N = 3 example", truth, result, sizes=f"N = {len(x)}, ε = 0", display=shown)


def all_steps():
    """The checked step of chapter 6's worked example."""
    return [example_step()]
