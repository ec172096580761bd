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

from lib import batchnorm
from lib.exercises import diagnose_backward_output, diagnose_dbeta, diagnose_dgamma, diagnose_number, problem


@dataclass(frozen=True)
class Question:
    name: str
    points: float
    build: Callable          # rng -> (cases, inputs, judge)


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


def _backward(function, epsilons):
    def build(rng):
        cases, inputs, problems = [], {}, []
        for k, ((N, D), eps) in enumerate(zip(_shapes(rng), epsilons)):
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
               Question("q2_staged", 4, _backward("backward_staged", (1e-5, 1e-5, 1e-3))),
               Question("q3_simplified", 4, _backward("backward", (1e-5, 1e-5, 1e-3)))]


# ---------------------------------------------------------------- bn_gradient_scale

def _grad_norm_ref(x, dy, a, eps=1e-5):
    D = x.shape[1]
    return float(np.linalg.norm(batchnorm.backward(dy, batchnorm.forward(a * x, np.ones(D), np.zeros(D), eps)[1])[0]))


def _notebook_problem():
    """The column the notebook itself defines (x0, dy0 from seed 0)."""
    rng = np.random.default_rng(0)
    return rng.normal(size=(16, 1)), rng.normal(size=(16, 1))


def _grad_norm(rng):
    x = rng.normal(size=(int(rng.integers(8, 24)), 1))
    dy = rng.normal(size=x.shape)
    a = float(rng.uniform(2.0, 20.0))
    cases = [_call("grad_norm", "x", "dy", a)]

    def judge(groups):
        if len(groups[0]) != 1:
            return "grad_norm must return one number."
        return diagnose_number(f"grad_norm(x, dy, {a:.3g})", groups[0][0], _grad_norm_ref(x, dy, a),
                               mistakes=[(_grad_norm_ref(x, dy, 1.0), "that is the gradient for a = 1: "
                                          "pass a * x to the forward pass.")])
    return cases, {"x": x, "dy": dy}, judge


def _scale(rng):
    x0, dy0 = _notebook_problem()
    one = _grad_norm_ref(x0, dy0, 1.0)
    big, small = _grad_norm_ref(x0, dy0, 10.0) / one, _grad_norm_ref(x0, dy0, 1e-3) / one
    cases = [{"kind": "value", "name": "ratio_big"}, {"kind": "value", "name": "ratio_small"}]

    def judge(groups):
        return (diagnose_number("ratio_big", _one(groups[0]), big, rtol=1e-6, mistakes=[
                    (10.0, "inverted: a larger input gives a smaller gradient, so the ratio is about 1/10."),
                    (1.0, "the output is scale invariant, but the gradient is not: it scales by 1/a.")])
                or diagnose_number("ratio_small", _one(groups[1]), small, rtol=1e-6, mistakes=[
                    (1e3, "that is the 1/a law, which fails here: a^2 sigma^2 = 1e-6 is below eps = 1e-5, "
                          "so s is about sqrt(eps), not a sigma.")]))
    return cases, {}, judge


def _one(group):
    return group[0] if len(group) == 1 and np.size(group[0]) == 1 else "not one number"


def _kept(rng):
    seed, trials = int(rng.integers(2 ** 31)), 1500
    cases = [_call("kept_fraction", 6, trials, seed), {"kind": "value", "name": "fractions"}]

    def judge(groups):
        message = diagnose_number(f"kept_fraction(6, {trials}, seed)", _one(groups[0]), 4 / 6, rtol=0.08)
        if message:
            return message
        values = np.ravel(groups[1][0]) if len(groups[1]) == 1 else np.ravel(groups[1])
        if values.size != 3:
            return f"fractions should hold three numbers (N = 4, 8, 32), it holds {values.size}."
        for N, f in zip((4, 8, 32), values):
            message = diagnose_number(f"kept fraction for N = {N}", f, (N - 2) / N, rtol=0.08, mistakes=[
                ((N - 1) / N, "about (N-1)/N: only the mean was removed; did you forget the x_hat term, or leave s out?"),
                (1.0, "nothing was removed: is dx the batch-norm gradient?")])
            if message:
                return message
        return None
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
                if len(out) != 2:
                    return f"{variable} could not be evaluated."
                got, floats = out
                right = value(expected(), points)
                if got.shape != np.shape(right):
                    return f"{variable} has shape {got.shape}, it should have shape {np.shape(right)}."
                if np.allclose(got, right, rtol=1e-9, atol=1e-12):
                    if float(floats):
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
            (-(x[0] - m) * (v + EPS) ** sp.Rational(-3, 2), "the factor 1/2 from the power rule is missing.")]


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
                                     lambda: [(1, "mu is an average: each x_i enters it with weight 1/N.")])),
    Question("q2_variance", 2, _symbolic("dvar_dx1", _q_variance, _q_variance_mistakes)),
    Question("q3_exponent", 2, _symbolic("dxhat_dv", _q_exponent, _q_exponent_mistakes)),
    Question("q4_formula", 3, _symbolic("dx_formula", _q_formula, _q_formula_mistakes)),
]

ASSIGNMENTS = {"bn_backward": BN_BACKWARD, "bn_gradient_scale": BN_GRADIENT_SCALE, "bn_symbolic": BN_SYMBOLIC}
