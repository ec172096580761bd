"""Chapter 6's checked steps (each holds, each refuses a slip) and the four methods in numbers."""
from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from lib import batchnorm as bn
from lib.gradcheck import numerical_gradient, rel_error
from lib.steps import simplify as sm
from lib.steps.columnwise import G, SIGMA2, X_HAT
from lib.steps.matrices import I, N, ONES, ONES_N, S, add as _add, centre as _centre, mul as _mul
from lib.steps.matrices import with_s
from lib.symbolic import EPS, StepError

from conftest import BOOK

SMALL = [2, 3]
HALF = sp.Rational(1, 2)
PAGE = BOOK / "chapters" / "06_simplification.md"


def test_gamma_and_method_steps_hold():
    assert [s.name for s in (sm.dgamma_step(), sm.dbeta_step(), sm.dx_gamma_step())] == [
        "dJ/dgamma", "dJ/dbeta", "dJ/dx with gamma"]
    assert len(sm.methods_step()) == 4


def test_the_one_liner_is_displayed():
    shown = sm.batch_step(sizes=[2]).latex()
    assert shown.endswith(r"\frac{1}{N} \left(\gamma \odot \left(\sigma^{2} + \epsilon\right)^{-1/2}"
                          r"\right) \odot \left(N \frac{\partial J}{\partial Y} - \frac{\partial J}"
                          r"{\partial \beta} - \hat{X} \odot \frac{\partial J}{\partial \gamma}\right)")
    assert "D = 2" in sm.batch_step(sizes=[2]).sizes


# --------------------------------------------------------------------------
# mutations
# --------------------------------------------------------------------------

def test_substituted_wrong_exponent_fails():
    def wrong():
        return _mul((SIGMA2 + EPS) ** sp.Rational(-3, 2), sp.Transpose(_centre()),
                    _add(I, _mul(-1 / N, X_HAT, X_HAT.T)), G)
    with pytest.raises(StepError):
        sm.substituted_step(wrong(), sizes=SMALL)


def test_substituted_flipped_sign_fails():
    def wrong():
        return _mul((SIGMA2 + EPS) ** -HALF, sp.Transpose(_centre()),
                    _add(I, _mul(1 / N, X_HAT, X_HAT.T)), G)
    with pytest.raises(StepError):
        sm.substituted_step(wrong(), sizes=SMALL)


@pytest.mark.parametrize("sign", [-1, 0], ids=["last term with wrong sign", "last term dropped"])
def test_expansion_needs_the_last_term(sign):
    """For an arbitrary vector the fourth term is not zero: keeping it with the
    wrong sign, or dropping it before using 1 x_hat = 0, is an error."""
    with pytest.raises(StepError):
        sm.expansion_step(sm.expansion_formula(sign), sizes=SMALL)


def test_vanishing_term_needs_a_centred_column():
    with pytest.raises(StepError):
        sm.vanishing_step(sm.vanishing_term().xreplace({X_HAT: _mul(sm.C, sm.cw.x)}), sizes=SMALL)


@pytest.mark.parametrize("sign", [1, -1])
def test_vanishing_term_may_be_kept_with_either_sign(sign):
    """On the real x_hat the term is zero, so adding it (either sign) changes nothing."""
    def kept():
        return _mul((SIGMA2 + EPS) ** -HALF,
                    _add(I, _mul(-1 / N, ONES), _mul(-1 / N, X_HAT, X_HAT.T),
                         _mul(sign / N ** 2, ONES, X_HAT, X_HAT.T)), G)
    sm.simplified_step(kept(), sizes=SMALL)


SIMPLIFIED_MUTANTS = {
    "sqrt^(-1/2) slip": lambda: sm.simplified_formula(exponent=sp.Rational(-1, 4)),
    "exponent -3/2": lambda: sm.simplified_formula(exponent=sp.Rational(-3, 2)),
    "dropped 1/N": lambda: _mul((SIGMA2 + EPS) ** -HALF,
                                _add(I, _mul(-1 / N, X_HAT, X_HAT.T)), G),
    "dropped x_hat x_hat^T": lambda: _mul((SIGMA2 + EPS) ** -HALF,
                                          _add(I, _mul(-1 / N, ONES)), G),
    "flipped sign of x_hat x_hat^T": lambda: _mul(
        (SIGMA2 + EPS) ** -HALF, _add(I, _mul(-1 / N, ONES), _mul(1 / N, X_HAT, X_HAT.T)), G),
    "1/N^2 on x_hat x_hat^T": lambda: _mul(
        (SIGMA2 + EPS) ** -HALF, _add(I, _mul(-1 / N, ONES), _mul(-1 / N ** 2, X_HAT, X_HAT.T)), G),
}


@pytest.mark.parametrize("name", SIMPLIFIED_MUTANTS)
def test_simplified_mutations_fail(name):
    with pytest.raises(StepError):
        sm.simplified_step(SIMPLIFIED_MUTANTS[name](), sizes=SMALL)


def test_gamma_step_mutations_fail():
    with pytest.raises(StepError):        # dgamma with the ones column in place of x_hat
        sm.dgamma_step(_mul(ONES_N.T, sm.DY), sizes=SMALL)
    with pytest.raises(StepError):        # dbeta with x_hat in place of the ones column
        sm.dbeta_step(_mul(X_HAT.T, sm.DY), sizes=SMALL)


DX_GAMMA_MUTANTS = {
    "N missing on dy": lambda: _mul(sm.GAMMA / (N * S), _add(
        sm.DY, _mul(-sm.DBETA, ONES_N), _mul(-sm.DGAMMA, X_HAT))),
    "flipped sign on x_hat dgamma": lambda: _mul(sm.GAMMA / (N * S), _add(
        _mul(N, sm.DY), _mul(-sm.DBETA, ONES_N), _mul(sm.DGAMMA, X_HAT))),
    "1/s^2": lambda: _mul(sm.GAMMA / (N * S ** 2), _add(
        _mul(N, sm.DY), _mul(-sm.DBETA, ONES_N), _mul(-sm.DGAMMA, X_HAT))),
    "dbeta dropped": lambda: _mul(sm.GAMMA / (N * S), _add(
        _mul(N, sm.DY), _mul(-sm.DGAMMA, X_HAT))),
}


@pytest.mark.parametrize("name", DX_GAMMA_MUTANTS)
def test_dx_gamma_mutations_fail(name):
    with pytest.raises(StepError):
        sm.dx_gamma_step(DX_GAMMA_MUTANTS[name](), sizes=SMALL)


@pytest.mark.parametrize("sign", [1, 0], ids=["flipped sign", "dropped X_hat * dgamma"])
def test_batch_mutations_fail(sign):
    with pytest.raises(StepError):
        sm.batch_step(sm.batch_formula(sign), sizes=[2])


def test_methods_differ_when_one_is_wrong():
    """A staged pass that forgets the path through the mean is caught."""
    from lib.symbolic import check_step
    f, grads = sm.method_gradients(3)
    mean_path = sum(grads["staged"]) / 3 * sp.ones(3, 1)   # the staged result sums to 0 ...
    wrong = grads["staged"] + (f.gamma * sum(f.dy) / 3 / sp.sqrt(f.var + EPS)) * sp.ones(3, 1)
    check_step("staged sums to zero", mean_path, sp.zeros(3, 1))
    with pytest.raises(StepError):                         # ... so adding the mean back fails
        check_step("wrong staged", with_s(wrong, f.var),
                   with_s(grads["simplified"], f.var))


# --------------------------------------------------------------------------
# numbers: the four methods against finite differences, float64 and float32
# --------------------------------------------------------------------------

def _problem(N, D, seed, dtype=np.float64, scale=3.0):
    rng = np.random.default_rng(seed)
    x = rng.normal(1.0, scale, size=(N, D))
    gamma, beta = rng.normal(size=D), rng.normal(size=D)
    dy = rng.normal(size=(N, D))
    return [a.astype(dtype) for a in (x, gamma, beta, dy)]


@pytest.mark.parametrize("N,D", [(64, 3), (200, 2)])
def test_all_methods_match_finite_differences(N, D):
    x, gamma, beta, dy = _problem(N, D, seed=N)
    dx_fd = numerical_gradient(lambda x: np.sum(dy * bn.forward(x, gamma, beta)[0]), x)
    dgamma_fd = numerical_gradient(lambda g: np.sum(dy * bn.forward(x, g, beta)[0]), gamma)
    dbeta_fd = numerical_gradient(lambda b: np.sum(dy * bn.forward(x, gamma, b)[0]), beta)
    _, cache = bn.forward(x, gamma, beta)
    for method in bn.METHODS:
        dx, dgamma, dbeta = bn.backward(dy, cache, method=method)
        assert rel_error(dx, dx_fd) < 1e-7, method
        assert rel_error(dgamma, dgamma_fd) < 1e-7, method
        assert rel_error(dbeta, dbeta_fd) < 1e-7, method


@pytest.mark.parametrize("N,D", [(128, 4), (1000, 3)])
def test_all_methods_in_float32(N, D):
    x, gamma, beta, dy = _problem(N, D, seed=7)
    _, cache64 = bn.forward(x, gamma, beta)
    ref = bn.backward(dy, cache64, method="simplified")
    x32, g32, b32, dy32 = (a.astype(np.float32) for a in (x, gamma, beta, dy))
    _, cache32 = bn.forward(x32, g32, b32)
    for method in bn.METHODS:
        out = bn.backward(dy32, cache32, method=method)
        assert all(a.dtype == np.float32 for a in out), method
        for a, b in zip(out, ref):
            assert rel_error(a, b) < 1e-5, method   # float32 eps is 1.2e-7; sums of N terms


@settings(max_examples=30, deadline=None)
@given(N=st.integers(2, 40), D=st.integers(1, 4), seed=st.integers(0, 10_000),
       scale=st.sampled_from([1e-2, 1.0, 1e2]))
def test_methods_agree_and_columns_sum_to_zero(N, D, seed, scale):
    x, gamma, beta, dy = _problem(N, D, seed, scale=scale)
    _, cache = bn.forward(x, gamma, beta)
    ref = bn.backward(dy, cache, method="simplified")[0]
    # the natural size of dx is |gamma| |dy| / s; for N = 2 dx itself is ~0
    # (exactly 0 when eps = 0), so errors are measured against that size
    size = np.abs(gamma) * np.abs(dy).max(axis=0) * cache.inv_std
    for method in bn.METHODS:
        err = np.abs(bn.backward(dy, cache, method=method)[0] - ref).max(axis=0)
        assert np.all(err <= 1e-9 * size), method
    # the simplified formula's bracket kills the mean: every column of dx sums to 0
    assert np.all(np.abs(ref.sum(axis=0)) <= 1e-9 * N * size)


def test_page_keeps_the_benchmark_section_before_the_summary():
    headings = [line for line in PAGE.read_text().splitlines() if line.startswith("## ")]
    assert headings[-4:] == ["## How fast is it?", "## Summary", "## Check yourself", "## Exercises"]


def test_cached_method_gradients_cannot_be_changed():
    f, grads = sm.method_gradients(2)
    with pytest.raises(TypeError):
        grads["staged"] = sp.zeros(2, 1)
    with pytest.raises(TypeError):
        grads["staged"][0] = 0
    with pytest.raises(Exception):
        f.x = None


# -- displays whose printed form carries mathematics are built from checked objects --

def test_the_printed_exponent_of_the_batch_formula_is_the_checked_one():
    # a factor (sigma^2 + eps)^(-3/2) in the display must fail the check, not just print
    wrong = sm.batch_formula(factor=sm.inv_std_formula(sp.Rational(-3, 2)))
    assert r"\left(\sigma^{2} + \epsilon\right)^{-3/2}" in sm.latex(wrong)
    with pytest.raises(StepError):
        sm.batch_step(wrong, sizes=[2])


def test_the_batch_formula_takes_dgamma_and_dbeta_from_their_checked_formulas(monkeypatch):
    monkeypatch.setattr(sm, "dgamma_formula", sm.dbeta_formula)     # dJ/dgamma means dJ/dbeta
    with pytest.raises(StepError):
        sm.batch_step(sizes=[2])


def test_the_worked_example_is_exact_and_shows_what_it_checked():
    from lib.steps import example as worked

    step = worked.example_step()
    _, _, values = worked.example_values()
    result = step.rhs
    assert sp.simplify(sum(result)) == 0, "the gradient of a normalized column sums to zero"
    assert sp.simplify((values[X_HAT].T * result)[0, 0]) == 0, "and is perpendicular to x_hat"
    assert sp.latex(sp.Matrix(result).T) in step.latex(), "the result shown is the one checked"
    assert sp.latex(values[X_HAT].T) in step.latex() and "sizes" not in step.latex()
    assert step.sizes == "N = 3, ε = 0"


def test_the_worked_example_rejects_a_wrong_formula_and_bad_numbers():
    from lib.steps import example as worked

    wrong = _mul(sm.GAMMA / (N * S), _add(_mul(N, sm.DY), _mul(-sm.DBETA, ONES_N), _mul(sm.DGAMMA, X_HAT)))
    with pytest.raises(StepError, match="the N = 3 example"):
        worked.example_step(formula=wrong)          # the x_hat term with the wrong sign
    with pytest.raises(ValueError, match="as many in dy"):
        worked.example_values(x=(1, 2, 3), dy=(1, 0))
