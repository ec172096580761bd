"""lib.exercises: each typical mistake in a backward pass gets a message naming it."""
from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings, strategies as st

from lib import batchnorm
from lib.exercises import (Mistake, call_reader, diagnose_backward, diagnose_dbeta,
                           diagnose_dgamma, diagnose_dx, diagnose_expr, diagnose_number,
                           problem, reference, require)


@pytest.fixture
def case():
    x, gamma, beta, dy = problem(6, 3, seed=1)
    dx, dgamma, dbeta = reference(x, gamma, dy)
    return x, gamma, dy, dx, dgamma, dbeta


def test_reference_agrees_with_every_backward_method(case):
    x, gamma, dy, dx, dgamma, dbeta = case
    _, cache = batchnorm.forward(x, gamma, np.zeros(3))
    for method in batchnorm.METHODS:
        got = batchnorm.backward(dy, cache, method=method)
        np.testing.assert_allclose(got[0], dx, rtol=1e-9, atol=1e-12)


def test_right_answers_get_no_message(case):
    x, gamma, dy, dx, dgamma, dbeta = case
    assert diagnose_dx(dx, x, gamma, dy) is None
    assert diagnose_dgamma(dgamma, x, gamma, dy) is None
    assert diagnose_dgamma(dgamma.reshape(1, -1), x, gamma, dy) is None  # (1, D) is fine
    assert diagnose_dbeta(dbeta, x, gamma, dy) is None


@pytest.mark.parametrize("mistake, expected", [
    (lambda dx, g, xh, dy, s: -dx, "sign error"),
    (lambda dx, g, xh, dy, s: dx / g, "forgotten gamma"),
    (lambda dx, g, xh, dy, s: dx * g, "gamma applied twice"),
    (lambda dx, g, xh, dy, s: dx.T, "transpose"),
    (lambda dx, g, xh, dy, s: dx.sum(axis=0), "summed over the batch"),
    (lambda dx, g, xh, dy, s: g * dy / s, "treats mu and sigma^2 as constants"),
    (lambda dx, g, xh, dy, s: g / s * (dy - dy.mean(0)), "path through the variance"),
    (lambda dx, g, xh, dy, s: g / s * (dy - xh * (dy * xh).mean(0)), "path through the mean"),
    (lambda dx, g, xh, dy, s: g / s * (dy + dy.mean(0) - xh * (dy * xh).mean(0)),
     "sign error in the path through the mean"),
    (lambda dx, g, xh, dy, s: dx * np.nan, "NaN"),
    (lambda dx, g, xh, dy, s: None, "returned nothing"),
    (lambda dx, g, xh, dy, s: ..., "placeholder"),
    (lambda dx, g, xh, dy, s: dx + 0.3, "sums to"),
])
def test_each_dx_mistake_is_named(case, mistake, expected):
    x, gamma, dy, dx, _, _ = case
    _, cache = batchnorm.forward(x, gamma, np.zeros(3))
    wrong = mistake(dx, gamma, cache.x_hat, dy, 1 / cache.inv_std)
    message = diagnose_dx(wrong, x, gamma, dy)
    assert message is not None and expected in message


def test_unbiased_variance_is_recognised(case):
    x, gamma, dy, *_ = case
    N = x.shape[0]
    xc = x - x.mean(0)
    s = np.sqrt((xc ** 2).sum(0) / (N - 1) + 1e-5)
    xh = xc / s
    wrong = gamma / s * (dy - dy.mean(0) - xh * (dy * xh).sum(0) / (N - 1))
    assert "unbiased variance" in diagnose_dx(wrong, x, gamma, dy)


@pytest.mark.parametrize("which, mistake, expected", [
    ("dgamma", lambda dy, x, xh: dy * xh, "one value per example"),
    ("dgamma", lambda dy, x, xh: (dy * xh).sum(axis=1), "axis 1"),
    ("dgamma", lambda dy, x, xh: (dy * xh).mean(axis=0), "averaged instead of summed"),
    ("dgamma", lambda dy, x, xh: (dy * x).sum(axis=0), "x instead of x_hat"),
    ("dgamma", lambda dy, x, xh: dy.sum(axis=0), "that is dbeta"),
    ("dgamma", lambda dy, x, xh: -(dy * xh).sum(axis=0), "sign error"),
    ("dbeta", lambda dy, x, xh: dy, "one value per example"),
    ("dbeta", lambda dy, x, xh: dy.sum(), "single number"),
    ("dbeta", lambda dy, x, xh: (dy * xh).sum(axis=0), "that is dgamma"),
    ("dbeta", lambda dy, x, xh: -dy.sum(axis=0), "sign error"),
])
def test_each_parameter_mistake_is_named(case, which, mistake, expected):
    x, gamma, dy, *_ = case
    _, cache = batchnorm.forward(x, gamma, np.zeros(3))
    diagnose = diagnose_dgamma if which == "dgamma" else diagnose_dbeta
    message = diagnose(mistake(dy, x, cache.x_hat), x, gamma, dy)
    assert message is not None and expected in message


@settings(max_examples=25, deadline=None)
@given(N=st.integers(3, 12), D=st.integers(1, 5), seed=st.integers(0, 10_000))
def test_the_reference_is_accepted_and_its_negative_is_not(N, D, seed):
    x, gamma, _, dy = problem(N, D, seed=seed)
    dx, dgamma, dbeta = reference(x, gamma, dy)
    assert diagnose_dx(dx, x, gamma, dy) is None
    assert diagnose_dx(-dx, x, gamma, dy) is not None


def _right(dy, x, gamma, eps):
    _, cache = batchnorm.forward(x, gamma, np.zeros_like(gamma), eps)
    return batchnorm.backward(dy, cache)


def test_diagnose_backward_runs_a_function_and_reports_its_failures():
    assert diagnose_backward(_right) is None

    def no_gamma(dy, x, gamma, eps):
        dx, dg, db = _right(dy, x, gamma, eps)
        return dx / gamma, dg, db

    def boom(dy, x, gamma, eps):
        raise RuntimeError("boom")

    def hard_coded(dy, x, gamma, eps):
        return _right(dy[:6, :3], x[:6, :3], gamma[:3], eps)

    assert "forgotten gamma" in diagnose_backward(no_gamma)
    assert "raised RuntimeError: boom" in diagnose_backward(boom)
    assert "wrong shape" in diagnose_backward(hard_coded)
    assert "three things" in diagnose_backward(lambda *a: (1, 2))
    assert "should be a function" in diagnose_backward(42)


def test_an_endless_loop_becomes_a_message():
    def spin(*args):
        while True:
            pass

    result, message = call_reader(spin, seconds=0.2)
    assert result is None and "did not finish within 0.2 s" in message


def test_require_raises_only_for_a_message():
    assert require(None) is None
    with pytest.raises(Mistake, match="forgotten gamma"):
        require("forgotten gamma: ...")


def test_diagnose_number_names_known_wrong_values():
    assert diagnose_number("r", 0.1 + 1e-9, 0.1) is None
    assert "inverted" in diagnose_number("r", 10.0, 0.1, mistakes=[(10.0, "inverted")])
    assert "not right" in diagnose_number("r", 3.0, 0.1)
    assert "should be a number" in diagnose_number("r", "x", 0.1)


def test_diagnose_expr_is_exact_and_refuses_floats():
    x = sp.Symbol("x")
    assert diagnose_expr("e", (x + 1) ** 2, x ** 2 + 2 * x + 1) is None
    assert "float" in diagnose_expr("e", 0.5 * x, x / 2)
    assert "exponent" in diagnose_expr("e", x ** -3, x ** -2, [(x ** -3, "exponent")])
    assert "not filled in" in diagnose_expr("e", ..., x)


def test_problem_refuses_a_batch_too_small():
    with pytest.raises(ValueError, match="N must be >= 3"):
        problem(2, 3)
