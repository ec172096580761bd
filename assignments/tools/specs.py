"""What each assignment's questions ask, on which inputs, and how an answer is judged.

This is the trusted side of grading: it never runs inside the sandbox. For each question
``cases(rng)`` draws the inputs at grading time and says what the sandbox must hand back
(a call of the student's function, a variable's value, or a sympy answer's value at
points); ``judge(groups)`` compares those numbers with references computed here, from
``lib``, and returns ``None`` or the first mistake found. The student's code never computes
a reference.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Callable

import numpy as np

import sys
from pathlib import Path

from lib import batchnorm
from lib.assignment_checks import check_fractions, check_grad_norm, check_kept, check_ratios
from lib.exercises import diagnose_backward_output, diagnose_dbeta, diagnose_dgamma, diagnose_number, problem

sys.path.insert(0, str(Path(__file__).resolve().parent))
import sreprs  # noqa: E402  (beside this file: a sympy answer read without eval)


@dataclass(frozen=True)
class Question:
    name: str
    points: float
    build: Callable          # rng -> (cases, inputs, judge)
    overtime: str = ""       # what a call that does not finish in time usually means here
    derived: str = ""        # the variable whose value must be derived, not computed by sympy


def _call(name, *args):
    return {"kind": "call", "name": name, "args": list(args)}


def _shapes(rng):
    return [(6, 3), (5, 1), (int(rng.integers(4, 10)), int(rng.integers(2, 6)))]


# ---------------------------------------------------------------- bn_backward

def _params(rng):
    cases, inputs, problems = [], {}, []
    for k, (N, D) in enumerate(_shapes(rng)[::2]):
        x, gamma, _, dy = problem(N, D, seed=int(rng.integers(2 ** 31)))
        inputs[f"dy{k}"], inputs[f"xh{k}"] = dy, batchnorm.forward(x, gamma, np.zeros(D))[1].x_hat
        cases.append(_call("param_grads", f"dy{k}", f"xh{k}"))
        problems.append((x, gamma, dy))

    def judge(groups):
        for (x, gamma, dy), out in zip(problems, groups):
            if len(out) != 2:
                return f"param_grads must return two arrays (dgamma, dbeta), it returned {len(out)}."
            message = diagnose_dbeta(out[1], x, gamma, dy) or diagnose_dgamma(out[0], x, gamma, dy)
            if message:
                return f"for x of shape {x.shape}: {message}"
        return None
    return cases, inputs, judge


BIG = (100_000, 2)
"""A batch on which the analytic O(ND) backward pass takes milliseconds, and any numerical
differentiation of the forward pass (at least N forward passes of O(ND) each) minutes."""

NUMERIC = (f"the grader also checks a batch of {BIG[0]} x {BIG[1]}, where an analytic backward pass "
           f"takes milliseconds; one that differentiates the forward pass numerically, or loops "
           f"over the batch with more than O(ND) work, does not finish")


def _backward(function, epsilons):
    def build(rng):
        cases, inputs, problems = [], {}, []
        for k, ((N, D), eps) in enumerate(zip(_shapes(rng) + [BIG], epsilons + (1e-5,))):
            x, gamma, _, dy = problem(N, D, seed=int(rng.integers(2 ** 31)))
            inputs.update({f"dy{k}": dy, f"x{k}": x, f"g{k}": gamma})
            cases.append(_call(function, f"dy{k}", f"x{k}", f"g{k}", eps))
            problems.append((x, gamma, dy, eps))

        def judge(groups):
            for (x, gamma, dy, eps), out in zip(problems, groups):
                message = diagnose_backward_output(out, x, gamma, dy, eps)
                if message:
                    return f"for x of shape {x.shape}: {message}"
            return None
        return cases, inputs, judge
    return build


BN_BACKWARD = [Question("q1_params", 2, _params),
               Question("q2_staged", 4, _backward("backward_staged", (1e-5, 1e-5, 1e-3)), overtime=NUMERIC),
               Question("q3_simplified", 4, _backward("backward", (1e-5, 1e-5, 1e-3)), overtime=NUMERIC)]


# ---------------------------------------------------------------- bn_gradient_scale

def _notebook_problem():
    """The column the notebook itself defines (x0, dy0 from seed 0)."""
    rng = np.random.default_rng(0)
    return rng.normal(size=(16, 1)), rng.normal(size=(16, 1))


# The judges below call the very functions of lib.assignment_checks that the notebook's public
# checks call: a check passed in the notebook means the question's marks.

def _grad_norm(rng):
    x = rng.normal(size=(int(rng.integers(8, 24)), 1))
    dy = rng.normal(size=x.shape)
    a = float(rng.uniform(2.0, 20.0))
    cases = [_call("grad_norm", "x", "dy", a)]

    def judge(groups):
        return check_grad_norm(_one(groups[0]), x, dy, a)
    return cases, {"x": x, "dy": dy}, judge


def _scale(rng):
    x0, dy0 = _notebook_problem()
    cases = [{"kind": "value", "name": "ratio_big"}, {"kind": "value", "name": "ratio_small"}]

    def judge(groups):
        return check_ratios(_one(groups[0]), _one(groups[1]), x0, dy0)
    return cases, {}, judge


def _one(group):
    return group[0] if len(group) == 1 and np.size(group[0]) == 1 else "not one number"


def simulate_kept(N, trials, seed, order=0):
    """The kept fraction as the question asks it to be simulated: in each trial x, then dy
    (``order=1``: dy, then x), drawn from ``np.random.default_rng(seed)``."""
    rng = np.random.default_rng(seed)
    total, one, zero = 0.0, np.ones(1), np.zeros(1)
    for _ in range(trials):
        a, b = rng.normal(size=(N, 1)), rng.normal(size=(N, 1))
        x, dy = (a, b) if order == 0 else (b, a)
        _, cache = batchnorm.forward(x, one, zero, 1e-12)
        dx = batchnorm.backward(dy, cache)[0]
        total += (np.sum(dx ** 2) / cache.inv_std[0] ** 2) / np.sum(dy ** 2)
    return total / trials


def _kept(rng):
    seed, trials = int(rng.integers(2 ** 31)), 1500
    cases = [_call("kept_fraction", 6, trials, seed), {"kind": "value", "name": "fractions"}]

    def judge(groups):
        values = groups[1][0] if len(groups[1]) == 1 else np.ravel(groups[1])
        simulated = [simulate_kept(6, trials, seed, order) for order in (0, 1)]
        return check_kept(_one(groups[0]), 6, trials, seed, simulated) or check_fractions(values)
    return cases, {}, judge


BN_GRADIENT_SCALE = [Question("q1_grad_norm", 2, _grad_norm), Question("q2_scale", 2, _scale),
                     Question("q3_batch_size", 3, _kept)]


# ---------------------------------------------------------------- bn_symbolic

def _points(rng):
    """Exact random values of every symbol the notebook uses, as "p/q" strings."""
    def r(lo, hi):
        return Fraction(int(rng.integers(lo * 7, hi * 7)), 7)
    values = {f"x_{i}": r(-3, 3) for i in (1, 2, 3)} | {f"g_{i}": r(-3, 3) for i in (1, 2, 3)}
    values |= {"epsilon": r(1, 2) / 10, "v": r(1, 3), "m": r(-1, 1)}
    if len({values[f"x_{i}"] for i in (1, 2, 3)}) < 3:
        values["x_3"] += 1
    return {k: str(v) for k, v in values.items()}


def _symbolic(variable, expected, mistakes):
    def build(rng):
        import sympy as sp
        sets = [_points(rng) for _ in range(2)]
        cases = [{"kind": "expr", "name": variable, "points": p} for p in sets]

        def value(expr, points):
            expr = sp.sympify(expr)
            subs = {s: sp.Rational(points[s.name]) for s in expr.free_symbols}
            out = expr.subs(subs)
            return np.array(out.evalf(30).tolist(), dtype=float) if isinstance(out, sp.MatrixBase) else float(out)

        def judge(groups):
            for points, out in zip(sets, groups):
                if len(out) != 1:
                    return f"{variable} could not be evaluated."
                try:
                    got, floats = sreprs.evaluate(bytes(np.asarray(out[0], dtype=np.uint8)).decode("utf-8"),
                                                  points)
                except (sreprs.NotAnAnswer, UnicodeDecodeError) as exc:
                    return f"{variable}: {exc}"
                right = value(expected(), points)
                if got.shape != np.shape(right):
                    return f"{variable} has shape {got.shape}, it should have shape {np.shape(right)}."
                if np.allclose(got, right, rtol=1e-9, atol=1e-12):
                    if floats:
                        return (f"{variable} contains a float: use exact numbers such as sp.Rational(1, 2) "
                                f"or sp.sqrt(...); floats never cancel.")
                    continue
                for wrong, message in mistakes():
                    if np.allclose(got, value(wrong, points), rtol=1e-9, atol=1e-12):
                        return f"{variable}: {message}"
                return f"{variable} is not equal to the expected expression."
            return None
        return cases, {}, judge
    return build


def _column():
    import sympy as sp

    from lib.symbolic import EPS, column
    N = 3
    x, g = column("x", N), column("g", N)
    mu = sum(x) / N
    R = x - sp.ones(N, 1) * mu
    var = (R.T * R)[0] / N
    s = sp.sqrt(var + EPS)
    v, m = sp.symbols("v m")
    return sp, N, x, g, mu, var, s, R / s, v, m, EPS


def _q_mean():
    sp, N, x, g, mu, *_ = _column()
    return sp.diff(mu, x[0])


def _q_variance():
    sp, N, x, g, mu, var, *_ = _column()
    return sp.diff(var, x[0])


def _q_variance_mistakes():
    sp, N, x, g, mu, *_ = _column()
    return [(2 * (x[0] - mu) / (N - 1), "that is the derivative of the unbiased variance (divided by N - 1); "
                                        "training-mode batch norm divides by N."),
            (2 * (x[0] - mu), "the factor 1/N of the variance is missing."),
            (-2 * (x[0] - mu) / N, "sign error: sigma^2 grows when x_1 moves away from the mean.")]


def _q_exponent():
    sp, N, x, g, mu, var, s, x_hat, v, m, EPS = _column()
    return sp.diff((x[0] - m) / sp.sqrt(v + EPS), v)


def _q_exponent_mistakes():
    sp, N, x, g, mu, var, s, x_hat, v, m, EPS = _column()
    return [(-sp.Rational(1, 2) * (x[0] - m) * sp.sqrt(v + EPS) ** sp.Rational(-3, 2),
             "the exponent -3/2 applies to (sigma^2 + eps), not to its square root."),
            (sp.Rational(1, 2) * (x[0] - m) * (v + EPS) ** sp.Rational(-3, 2), "sign error: x_hat shrinks as the variance grows."),
            (-(x[0] - m) * (v + EPS) ** sp.Rational(-3, 2), "the factor 1/2 from the power rule is missing."),
            (-sp.Rational(3, 2) * (x[0] - m) * (v + EPS) ** sp.Rational(-1, 2),
             "the exponents are swapped: the factor is -1/2 and the power -3/2."),
            (-sp.Rational(1, 2) * (x[0] - m) * (v + EPS) ** sp.Rational(-1, 2),
             "the power did not drop by one: d/dv (v + eps)^(-1/2) = -1/2 (v + eps)^(-3/2).")]


def _q_formula():
    sp, N, x, g, mu, var, s, x_hat, *_ = _column()
    return x_hat.jacobian(x).T * g


def _q_formula_mistakes():
    sp, N, x, g, mu, var, s, x_hat, *_ = _column()
    ones = sp.ones(N, 1)
    return [((g - ones * sum(g) / N) / s, "the term x_hat x_hat^T g / N (the path through the variance) is missing."),
            ((g - x_hat * (x_hat.T * g)[0] / N) / s, "the term 1 1^T g / N (the path through the mean) is missing."),
            (g / s, "both the mean and the variance terms are missing."),
            ((g - ones * sum(g) / N - x_hat * (x_hat.T * g)[0] / N), "the factor 1/s in front is missing.")]


BN_SYMBOLIC = [
    Question("q1_mean", 1, _symbolic("dmu_dx1", _q_mean,
                                     lambda: [(1, "mu is an average: each x_i enters it with weight 1/N.")]),
             derived="dmu_dx1"),
    Question("q2_variance", 2, _symbolic("dvar_dx1", _q_variance, _q_variance_mistakes), derived="dvar_dx1"),
    Question("q3_exponent", 2, _symbolic("dxhat_dv", _q_exponent, _q_exponent_mistakes), derived="dxhat_dv"),
    Question("q4_formula", 3, _symbolic("dx_formula", _q_formula, _q_formula_mistakes), derived="dx_formula"),
]

ASSIGNMENTS = {"bn_backward": BN_BACKWARD, "bn_gradient_scale": BN_GRADIENT_SCALE, "bn_symbolic": BN_SYMBOLIC}
