"""Feedback for exercises: compare a reader's answer with the reference
and name the likely mistake.

A bare "wrong" teaches little. The functions here recognise the mistakes
people actually make when they write the batch-norm backward pass (a
wrong shape, a forgotten gamma, a sign error, a missing path through the
mean or the variance, the unbiased variance, a sum over the wrong axis)
and say which one it looks like::

    from lib.exercises import diagnose_dx, require
    message = diagnose_dx(my_dx, x, gamma, dy)   # None when it is right
    require(message)                             # raises Mistake(message)

Every ``diagnose_*`` function returns ``None`` for a correct answer and a
message otherwise; :func:`require` turns a message into an exception, which
is what an autograder test needs. The chapters' exercises and the
assignments (``assignments/`` in the repository) both use this module.
"""
from __future__ import annotations

import numpy as np

from lib import batchnorm
from lib.gradcheck import rel_error
from lib.timeouts import SECONDS, TooSlow, call_reader, time_limit  # noqa: F401  (re-exported)

__all__ = ["Mistake", "require", "time_limit", "call_reader", "reference", "problem",
           "diagnose_dx", "diagnose_dgamma", "diagnose_dbeta", "diagnose_backward",
           "diagnose_backward_output",
           "diagnose_number", "diagnose_expr"]

TOL = 1e-7
"""Largest relative error (:func:`lib.gradcheck.rel_error`) counted as equal."""


class Mistake(AssertionError):
    """An answer that is not right; the message says what is likely wrong."""


def require(message):
    """Raise :class:`Mistake` with ``message`` unless it is ``None``.

    Returns ``None`` when there is nothing to report, so a notebook cell
    ``require(diagnose_dx(...))`` prints nothing for a right answer.
    """
    if message is not None:
        raise Mistake(message)


def problem(N=6, D=3, seed=0):
    """A small test problem ``(x, gamma, beta, dy)`` with every part non-trivial.

    ``gamma`` is far from 1 and ``beta`` far from 0, so that forgetting
    either one shows; the columns have different scales.
    """
    if N < 3:
        raise ValueError(f"N must be >= 3 for a useful test problem, got N = {N}")
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(N, D)) * np.linspace(0.5, 3.0, D) + np.linspace(-1.0, 2.0, D)
    gamma = np.linspace(1.5, 3.0, D)
    beta = np.linspace(-0.7, 0.4, D)
    dy = rng.normal(size=(N, D))
    return x, gamma, beta, dy


def reference(x, gamma, dy, eps=1e-5):
    """The right ``(dx, dgamma, dbeta)``, from :mod:`lib.batchnorm`."""
    return _reference(x, gamma, dy, eps)[:3]


def _reference(x, gamma, dy, eps):
    """``(dx, dgamma, dbeta, cache)``: the reference and the forward pass's statistics."""
    _, cache = batchnorm.forward(x, gamma, np.zeros_like(np.asarray(gamma, dtype=float)), eps)
    return (*batchnorm.backward(dy, cache), cache)


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------

def _as_array(name, value):
    """``(array, None)`` or ``(None, message)`` for a value that is not numeric."""
    if value is None:
        return None, (f"{name} is None: the function returned nothing for it "
                      f"(a missing `return`, or a placeholder `...` left in?)")
    if value is Ellipsis:
        return None, f"{name} is still the placeholder `...`: replace it with your code."
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        return None, f"{name} should be an array of numbers, got {type(value).__name__}."
    if not np.all(np.isfinite(arr)):
        return None, (f"{name} contains NaN or inf: look for a division by zero or a "
                      f"square root of a negative number (is eps inside the square root?).")
    return arr, None


def _same(a, b):
    return a.shape == b.shape and rel_error(a, b) < TOL


def _first_match(candidate, known):
    """The message of the first ``(array, message)`` in ``known`` equal to ``candidate``."""
    for arr, message in known:
        if _same(candidate, arr):
            return message
    return None


# --------------------------------------------------------------------------
# the three gradients
# --------------------------------------------------------------------------

def diagnose_dx(dx, x, gamma, dy, eps=1e-5):
    """Compare a reader's dJ/dX with the reference and name the likely mistake.

    Parameters
    ----------
    dx : array_like
        The reader's answer; should have the shape (N, D) of ``x``.
    x, gamma, dy : array_like
        The problem: input (N, D), scale (D,) and upstream gradient (N, D).
    eps : float

    Returns
    -------
    str or None
        ``None`` if ``dx`` is right (relative error below :data:`TOL`),
        otherwise a message naming the mistake it most resembles.
    """
    ref, _, _, cache = _reference(x, gamma, dy, eps)
    arr, message = _as_array("dx", dx)
    if message:
        return message
    if arr.shape != ref.shape:
        return _dx_shape_message(arr.shape, ref.shape)
    if _same(arr, ref):
        return None
    message = _first_match(arr, _dx_mistakes(ref, cache, np.asarray(dy, dtype=float), eps)
                           + _eps_mistakes(x, gamma, dy, eps))
    if message:
        return message
    col = np.abs(arr.sum(axis=0)).max()
    scale = np.abs(arr).max()
    hint = ""
    if col > 1e-6 * max(scale, 1e-300):
        hint = (f" A hint: every column of the true dx sums to zero (mu's path removes the mean), "
                f"but yours sums to up to {col:.3g}.")
    return (f"dx is wrong (relative error {rel_error(arr, ref):.2g}) and does not match a "
            f"typical mistake.{hint} Compare it stage by stage with the staged backward pass.")


def _dx_shape_message(shape, right):
    """What is wrong with a dx of ``shape`` when x has shape ``right``."""
    N, D = right
    if shape == right[::-1] and N != D:
        return (f"wrong shape: dx has shape {shape}, the transpose of x's {right}. "
                f"dx must have the shape of x: one row per example.")
    if shape in ((D,), (1, D)):
        return (f"wrong shape: dx has shape {shape}, one value per feature. "
                f"You summed over the batch; dx needs one row per example, shape {right} "
                f"(only dgamma and dbeta are summed over axis 0).")
    return f"wrong shape: dx has shape {shape}, but x has shape {right}."


def _dx_mistakes(ref, cache, dy, eps):
    """``(wrong dx, message)`` for each typical mistake, computed on the problem."""
    N = ref.shape[0]
    xc, x_hat, inv_std, g = cache.x - cache.mu, cache.x_hat, cache.inv_std, cache.gamma
    s_u = np.sqrt(cache.var * N / (N - 1) + eps)        # with the unbiased variance
    x_hat_u = xc / s_u
    unbiased = g / s_u * (dy - dy.mean(axis=0) - x_hat_u * (dy * x_hat_u).sum(axis=0) / (N - 1))
    # the book's formula, with the statistics of the unbiased variance (np.var(..., ddof=1))
    unbiased_formula = g / s_u * (dy - dy.mean(axis=0) - x_hat_u * (dy * x_hat_u).mean(axis=0))
    return [
        (-ref, "sign error: your dx is exactly minus the right one. Check the sign of the "
               "terms through the mean and the variance (d(x - mu)/dmu = -1)."),
        (ref / g, "forgotten gamma: your dx is right for gamma = 1. The gradient reaching x_hat "
                  "is dJ/dx_hat = gamma * dJ/dY, so every term carries a factor gamma."),
        (ref * g, "gamma applied twice: your dx is gamma times the right one. dJ/dx_hat = gamma * dY "
                  "already contains gamma; do not multiply by it again."),
        (g * inv_std * dy, "missing paths: your dx = gamma * dY / s treats mu and sigma^2 as constants. "
                           "x also reaches the loss through the mean and the variance; add those "
                           "two paths (the -dbeta/N and -x_hat*dgamma/N terms)."),
        (g * inv_std * (dy + dy.mean(axis=0) - x_hat * (dy * x_hat).mean(axis=0)),
         "sign error in the path through the mean: the term dbeta / N should be subtracted."),
        (g * inv_std * (dy - dy.mean(axis=0) + x_hat * (dy * x_hat).mean(axis=0)),
         "sign error in the path through the variance: the term x_hat * dgamma / N should be "
         "subtracted (d(sigma^2 + eps)^(-1/2) / d sigma^2 = -(1/2)(sigma^2 + eps)^(-3/2))."),
        (g * inv_std * (dy - dy.mean(axis=0)),
         "missing the path through the variance: the term -x_hat * dgamma / N is absent."),
        (g * inv_std * (dy - x_hat * (dy * x_hat).mean(axis=0)),
         "missing the path through the mean: the term -dbeta / N (the column mean of "
         "gamma * dY) is absent."),
        (unbiased, "unbiased variance: your dx is right for sigma^2 = sum (x - mu)^2 / (N - 1). "
                   "Training-mode batch norm uses the biased variance, divided by N."),
        (unbiased_formula, "unbiased variance: your dx uses sigma^2 = sum (x - mu)^2 / (N - 1) "
                           "(np.var with ddof=1?). Training-mode batch norm uses the biased variance, divided by N."),
        (g * inv_std * (dy - dy.mean(axis=0) - x_hat * (dy * x_hat).mean(axis=0) / inv_std ** 2),
         "wrong exponent in the path through the variance: d(sigma^2 + eps)^(-1/2) / d sigma^2 = "
         "-(1/2)(sigma^2 + eps)^(-3/2); your dx used the power -1/2 there (the exponents swapped)."),
        (ref * N, "a factor N too large: check the 1/N in front of the bracket."),
        (ref / N, "a factor 1/N too small: only the mean and variance terms are divided by N."),
    ]


def _eps_mistakes(x, gamma, dy, eps):
    """``(wrong dx, message)`` for an eps that was ignored: the default 1e-5 or none at all."""
    known = []
    for wrong, what in ((1e-5, "the default eps = 1e-5"), (0.0, "eps = 0")):
        if wrong != eps:
            try:
                known.append((_reference(x, gamma, dy, wrong)[0] if wrong else _no_eps_dx(x, gamma, dy),
                              f"eps ignored: your dx is right for {what}, not for the eps passed ({eps:g}). "
                              f"Use the eps argument inside the square root, sqrt(sigma^2 + eps)."))
            except (ValueError, FloatingPointError, ZeroDivisionError):
                pass
    return known


def _no_eps_dx(x, gamma, dy):
    """The dx of a backward pass written without eps (sqrt(sigma^2))."""
    x, dy = np.asarray(x, dtype=float), np.asarray(dy, dtype=float)
    with np.errstate(all="ignore"):
        inv = 1 / np.sqrt(x.var(axis=0))
        x_hat = (x - x.mean(axis=0)) * inv
        return np.asarray(gamma) * inv * (dy - dy.mean(axis=0) - x_hat * (dy * x_hat).mean(axis=0))


def _diagnose_sum(name, value, ref, N, known, right):
    """Diagnosis of dgamma or dbeta: shapes, sum axis, mean, sign, then ``known``.

    ``known`` lists the ``(array, message)`` mistakes particular to ``name``;
    ``right`` says what the answer should be when nothing matches.
    """
    arr, message = _as_array(name, value)
    if message:
        return message
    D = ref.shape[0]
    if arr.shape == (1, D):
        arr = arr.reshape(D)
    if arr.shape != (D,):
        if arr.shape == (N, D):
            return (f"wrong shape: {name} has shape {arr.shape}, one value per example. "
                    f"gamma and beta are shared by the whole batch, so sum over the "
                    f"examples: .sum(axis=0), shape ({D},).")
        if arr.shape == (N,):
            return (f"wrong shape: {name} has shape {arr.shape}. You summed over axis 1 "
                    f"(the features); sum over axis 0 (the examples) to get shape ({D},).")
        if arr.shape == ():
            return (f"wrong shape: {name} is a single number. Sum over the examples only "
                    f"(axis=0), keeping one value per feature: shape ({D},).")
        return f"wrong shape: {name} has shape {arr.shape}; it should be ({D},)."
    if _same(arr, ref):
        return None
    message = _first_match(arr, [
        (-ref, f"sign error: your {name} is exactly minus the right one."),
        (ref / N, f"averaged instead of summed: your {name} is the mean over the batch; "
                  f"the loss adds up every example's contribution, so use .sum(axis=0)."),
        *known,
    ])
    return message or f"{name} is wrong (relative error {rel_error(arr, ref):.2g}); {right}"


def diagnose_dgamma(dgamma, x, gamma, dy, eps=1e-5):
    """Compare a reader's dJ/dgamma with the reference; ``None`` if right.

    Recognises: a missing sum over the batch, a sum over the wrong axis,
    the mean instead of the sum, a sign error, x in place of x_hat,
    dbeta given for dgamma, and an extra factor gamma.
    """
    _, ref, ref_beta, cache = _reference(x, gamma, dy, eps)
    dy_x = (np.asarray(dy, dtype=float) * np.asarray(x)).sum(axis=0)
    return _diagnose_sum("dgamma", dgamma, ref, cache.x.shape[0], [
        (dy_x, "used x instead of x_hat: dgamma = sum_i dy_i * x_hat_i, with the normalized x_hat."),
        (ref_beta, "that is dbeta: dgamma = sum_i dy_i * x_hat_i needs the factor x_hat."),
        (ref * cache.gamma, "extra factor gamma: y = gamma * x_hat + beta, so dy/dgamma = x_hat "
                            "(no gamma)."),
    ], "it should be (dy * x_hat).sum(axis=0).")


def diagnose_dbeta(dbeta, x, gamma, dy, eps=1e-5):
    """Compare a reader's dJ/dbeta with the reference; ``None`` if right.

    Recognises a missing sum, the wrong axis, the mean instead of the sum,
    a sign error, and a factor gamma or x_hat that does not belong.
    """
    _, ref_gamma, ref, cache = _reference(x, gamma, dy, eps)
    return _diagnose_sum("dbeta", dbeta, ref, cache.x.shape[0], [
        (ref_gamma, "that is dgamma: y = gamma * x_hat + beta, so dy/dbeta = 1 and "
                    "dbeta = dy.sum(axis=0), without x_hat."),
        (ref * cache.gamma, "extra factor gamma: dbeta = dy.sum(axis=0); gamma multiplies x_hat, "
                            "not beta."),
    ], "it should be dy.sum(axis=0).")


def diagnose_backward(backward, eps=1e-5, shapes=((6, 3), (5, 1), (8, 4))):
    """Run a reader's ``backward(dy, x, gamma, eps)`` on test problems and diagnose it.

    ``backward`` must return ``(dx, dgamma, dbeta)``. It is called on a few
    problems of different shapes (so that a hard-coded size or a transposed
    result shows), and the first mistake found is reported, prefixed with
    the problem's shape. Exceptions raised by ``backward`` are reported,
    not propagated.

    Returns
    -------
    str or None
    """
    for k, (N, D) in enumerate(shapes):
        x, gamma, _, dy = problem(N, D, seed=k)
        where = f"for x of shape ({N}, {D})"
        out, message = call_reader(backward, dy.copy(), x.copy(), gamma.copy(), eps)
        message = message or diagnose_backward_output(out, x, gamma, dy, eps)
        if message:
            return f"{where}: {message}"
    return None


def diagnose_backward_output(out, x, gamma, dy, eps=1e-5):
    """Diagnose what a reader's backward pass returned for one problem: ``(dx, dgamma, dbeta)``.

    The grader uses this on the results a sandboxed submission hands back; it never runs
    the reader's code itself. Returns ``None`` or the first mistake found.
    """
    if out is None or out is Ellipsis:
        return "your function returned nothing: it must return (dx, dgamma, dbeta)."
    try:
        dx, dgamma, dbeta = out
    except (TypeError, ValueError):
        return "your function must return three things (dx, dgamma, dbeta)."
    # dx first: a mistake in the statistics (the unbiased variance, an ignored eps) also
    # changes dgamma, and dx's catalogue is the one that can name it
    for check in (lambda: diagnose_dx(dx, x, gamma, dy, eps), lambda: diagnose_dbeta(dbeta, x, gamma, dy, eps),
                  lambda: diagnose_dgamma(dgamma, x, gamma, dy, eps)):
        message = check()
        if message:
            return message
    return None


# --------------------------------------------------------------------------
# numbers and formulas
# --------------------------------------------------------------------------

def diagnose_number(name, value, expected, rtol=1e-6, mistakes=()):
    """Compare a number with the expected one; ``None`` if within ``rtol``.

    ``mistakes`` is a sequence of ``(wrong_value, message)``: a value close
    to one of them gets that message.
    """
    try:
        got = float(value)
    except (TypeError, ValueError):
        return f"{name} should be a number, got {type(value).__name__}."
    if not np.isfinite(got):
        return f"{name} is {got}: it should be a finite number."

    def close(a, b):
        return abs(a - b) <= rtol * max(abs(a), abs(b), 1e-300)

    if close(got, float(expected)):
        return None
    for wrong, message in mistakes:
        if close(got, float(wrong)):
            return f"{name} = {got:.6g}: {message}"
    return f"{name} = {got:.6g} is not right."


def diagnose_expr(name, value, expected, mistakes=()):
    """Compare a sympy expression with the expected one, exactly.

    Uses :func:`lib.symbolic.is_zero`. Floats are refused with advice
    (they never cancel); ``mistakes`` is a sequence of
    ``(wrong_expression, message)``.
    """
    import sympy as sp

    from lib.symbolic import is_zero

    if value is None or value is Ellipsis:
        return f"{name} is not filled in yet (it is {value!r})."
    try:
        value = sp.sympify(value)
    except (sp.SympifyError, TypeError):
        return f"{name} should be a sympy expression, got {type(value).__name__}."
    if value.atoms(sp.Float):
        return (f"{name} contains a float ({sorted(value.atoms(sp.Float), key=str)[0]}): use "
                f"exact numbers such as sp.Rational(1, 2) or sp.sqrt(...); floats never cancel.")
    if is_zero(value - expected):
        return None
    for wrong, message in mistakes:
        if is_zero(value - wrong):
            return f"{name}: {message}"
    return f"{name} is not equal to the expected expression."
