"""The checks of the assignment ``bn_gradient_scale``, shared by the student's notebook and the grader.

The notebook's public checks (``grader.check``) and the grader's judgement
(``assignments/tools/specs.py``) call the same functions, with the same
tolerances and references computed here from :mod:`lib.batchnorm` — never
from the student's own functions — so that a check passed in the notebook
means the marks of that question (on the grader's inputs). Each returns
``None`` for a right answer and otherwise a message naming the likely
mistake.
"""
from __future__ import annotations

import numpy as np

from lib import batchnorm
from lib.exercises import diagnose_number

__all__ = ["grad_norm_reference", "check_grad_norm", "check_ratios", "check_fractions", "check_kept",
           "KEPT_RTOL"]

KEPT_RTOL = 0.08
"""Relative tolerance of a simulated kept fraction against (N - 2)/N."""


def grad_norm_reference(x, dy, a, eps=1e-5):
    """The norm of dJ/dx when the layer (gamma = 1, beta = 0) receives ``a * x``."""
    D = np.shape(x)[1]
    cache = batchnorm.forward(a * np.asarray(x, dtype=float), np.ones(D), np.zeros(D), eps)[1]
    return float(np.linalg.norm(batchnorm.backward(dy, cache)[0]))


def check_grad_norm(value, x, dy, a):
    """A student's ``grad_norm(x, dy, a)`` (eps = 1e-5) against the reference."""
    name = f"grad_norm(x, dy, {a:.3g})"
    right = grad_norm_reference(x, dy, a)
    message = diagnose_number(name, value, right, mistakes=[
        (grad_norm_reference(x, dy, 1.0), "that is the gradient for a = 1: pass a * x to the forward pass."),
        (grad_norm_reference(x, dy, 1.0 / a), "that is the gradient for the input x / a: multiply x by a."),
        (right * a, "a times the right value: the question asks for the gradient with respect to the "
                    "layer's input a * x, without the chain rule back to x."),
        (right ** 2, "that is the squared norm: return np.linalg.norm(dx), not its square."),
        (float(np.linalg.norm(dy)), "that is the norm of dy: the gradient is dx, the first value "
                                    "batchnorm.backward returns."),
    ])
    if message and message.endswith("is not right."):
        got = float(value)
        message = (f"{message[:-1]}: the norm of dx for the input a * x is {right:.6g}, yours is "
                   f"{got / right:.3g} times that. Call batchnorm.forward(a * x, gamma, beta, eps), then "
                   f"batchnorm.backward(dy, cache), and return np.linalg.norm of dx.")
    return message


def check_ratios(ratio_big, ratio_small, x0, dy0):
    """``ratio_big`` (a = 10) and ``ratio_small`` (a = 1e-3) against references from lib."""
    one = grad_norm_reference(x0, dy0, 1.0)
    big, small = grad_norm_reference(x0, dy0, 10.0) / one, grad_norm_reference(x0, dy0, 1e-3) / one
    return (diagnose_number("ratio_big", ratio_big, big, rtol=1e-6, mistakes=[
                (10.0, "inverted: a larger input gives a smaller gradient, so the ratio is about 1/10."),
                (1.0, "the output is scale invariant, but the gradient is not: it scales by 1/a.")])
            or diagnose_number("ratio_small", ratio_small, small, rtol=1e-6, mistakes=[
                (1e3, "that is the 1/a law, which fails here: a^2 sigma^2 = 1e-6 is below eps = 1e-5, "
                      "so s is about sqrt(eps), not a sigma."),
                (1.0, "the output is scale invariant, but the gradient is not: compare a^2 sigma^2 with eps.")]))


SIMULATED = {
    # (N, trials, seed): the kept fraction simulated with that seed, drawing in each trial x then
    # dy, or dy then x (numbers from the grader's simulation, assignments/tools/specs.py)
    (6, 1500, 3): (0.6604305399018582, 0.6613188237710118),
    (4, 2000, 0): (0.4961188515100985, 0.49878005382096646),
    (8, 2000, 0): (0.755659214028583, 0.7521635068619984),
    (32, 2000, 0): (0.9362932428811024, 0.9363763026320109),
}
"""The public calls' simulations, as numbers: the check compares with the same seed's simulation."""


def check_kept(value, N, trials, seed, simulated=None):
    """One simulated kept fraction for batches of N: it must be the simulation of this seed
    (``simulated``: its values, by default those of :data:`SIMULATED`), not only near (N - 2)/N."""
    name = f"kept_fraction({N}, {trials}, {seed})"
    simulated = SIMULATED[(N, trials, seed)] if simulated is None else simulated
    message = diagnose_number(name, value, (N - 2) / N, rtol=KEPT_RTOL, mistakes=[
        ((N - 1) / N, "about (N-1)/N: only the mean was removed; did you forget the x_hat term, or leave s out?"),
        (1.0, "nothing was removed: is dx the batch-norm gradient?")])
    if message:
        return message
    if any(abs(float(value) - v) <= 1e-6 * abs(v) for v in simulated):
        return None
    typed = abs(float(value) - (N - 2) / N) <= 1e-9
    return (f"{name} = {float(value):.6g} is {'the theory' if typed else 'near the theory'} (N-2)/N, but not the "
            f"simulation of seed {seed}, which gives {simulated[0]:.6g}: in each trial draw x, then dy, from "
            f"np.random.default_rng(seed), as the question says; a value typed in earns nothing.")


def check_fractions(fractions):
    """``fractions``: the kept fractions for N = 4, 8, 32 (2000 trials each, seed 0)."""
    values = np.ravel(np.asarray(fractions, dtype=float))
    if values.size != 3:
        return f"fractions should hold three numbers (N = 4, 8, 32), it holds {values.size}."
    for N, f in zip((4, 8, 32), values):
        message = check_kept(f, N, 2000, 0)
        if message:
            return message
    return None
