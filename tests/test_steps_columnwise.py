"""Chapter 5's checked steps: each holds, and each refuses a deliberate slip."""
from __future__ import annotations

import pytest
import sympy as sp

from lib.steps import columnwise as cw
from lib.steps.columnwise import C, GRAD_C, G, I, N, ONES, R, SIGMA2
from lib.steps.forward import column_pass as forward
from lib.steps.matrices import add as _add, centre as _centre, mul as _mul, with_s
from lib.symbolic import EPS, StepError

SMALL = [2, 3]          # the mutations need only one size to fail; two keep them honest


def test_displays_show_the_formulas_of_the_chapter():
    assert cw.centring_step(sizes=[2]).latex() == (
        r"R = x - \mu \mathbf{1}_N = \left(I - \frac{1}{N} \mathbf{1}\right) x")
    assert r"\left(\sigma^{2} + \epsilon\right)^{-3/2} R" in cw.grad_c_step(sizes=[2]).latex()
    shown = cw.columnwise_step(sizes=[2]).latex()
    assert shown.endswith(r"\left(I - \frac{1}{N} \mathbf{1}\right)^{\top} \left(\frac{\partial c}"
                          r"{\partial R} R^{\top} + c I\right) \frac{\partial J}{\partial \hat{x}}")


# --------------------------------------------------------------------------
# mutations: one wrong candidate per step, each must raise StepError
# --------------------------------------------------------------------------

@pytest.mark.parametrize("matrix", [
    _add(I, _mul(-1 / (N - 1), ONES)),       # wrong denominator
    _add(I, _mul(1 / N, ONES)),              # flipped sign
    I,                                       # centring dropped
], ids=["denominator", "sign", "dropped"])
def test_centring_mutations_fail(matrix):
    with pytest.raises(StepError):
        cw.centring_step(_mul(matrix, cw.x), sizes=SMALL)


def test_unbiased_variance_fails():
    with pytest.raises(StepError):
        cw.variance_step(_mul(1 / (N - 1), R.T, R), sizes=SMALL)


@pytest.mark.parametrize("exponent", [sp.Rational(-1, 4), sp.Rational(1, 2), -1])
def test_normalise_wrong_exponent_fails(exponent):
    # -1/4 is the (sqrt(sigma^2 + eps))^(-1/2) slip of one widely read post
    with pytest.raises(StepError):
        cw.normalise_step(_mul((SIGMA2 + EPS) ** exponent, R), sizes=SMALL)


def _grad_c_variant(coeff, exponent):
    return lambda: _mul(coeff, (SIGMA2 + EPS) ** exponent, R)


GRAD_C_MUTANTS = {
    "dropped 1/N": _grad_c_variant(-1, sp.Rational(-3, 2)),
    "flipped sign": _grad_c_variant(1 / N, sp.Rational(-3, 2)),
    "exponent -1/2": _grad_c_variant(-1 / N, sp.Rational(-1, 2)),
    "sqrt^(-1.5) slip": _grad_c_variant(-1 / N, sp.Rational(-3, 4)),
}


@pytest.mark.parametrize("name", GRAD_C_MUTANTS)
def test_grad_c_mutations_fail(name):
    with pytest.raises(StepError):
        cw.grad_c_step(GRAD_C_MUTANTS[name](), sizes=SMALL)


LEMMA_MUTANTS = {
    "dropped c I": lambda: _mul(_mul(GRAD_C, R.T), G),
    "dropped grad c": lambda: _mul(_mul(C, I), G),
    "flipped sign": lambda: _mul(_add(_mul(-1, GRAD_C, R.T), _mul(C, I)), G),
}


@pytest.mark.parametrize("name", LEMMA_MUTANTS)
def test_lemma_mutations_fail(name):
    with pytest.raises(StepError):
        cw.lemma_step(LEMMA_MUTANTS[name](), sizes=SMALL)


def _with_grad_c(variant):
    """The column-wise formula with a wrong dc/dR put in for GRAD_C."""
    return lambda: cw.columnwise_formula().xreplace({GRAD_C: variant()})


COLUMNWISE_MUTANTS = {
    "no linear map": lambda: cw.lemma_formula(),
    "wrong exponent in dc/dR": _with_grad_c(_grad_c_variant(-1 / N, sp.Rational(-1, 2))),
    "flipped sign of dc/dR": _with_grad_c(_grad_c_variant(1 / N, sp.Rational(-3, 2))),
    "centring with 1/(N-1)": lambda: _mul(
        sp.Transpose(_add(I, _mul(-1 / (N - 1), ONES))), *cw.lemma_formula().args),
}


@pytest.mark.parametrize("name", COLUMNWISE_MUTANTS)
def test_columnwise_mutations_fail(name):
    with pytest.raises(StepError):
        cw.columnwise_step(COLUMNWISE_MUTANTS[name](), sizes=SMALL)


def test_transpose_of_centring_is_harmless():
    """(I - 1/N) is symmetric, so leaving out the transpose is *not* a mistake."""
    cw.columnwise_step(_mul(_centre(), *cw.lemma_formula().args), sizes=SMALL)


def test_general_centring_mutation_fails():
    j, i, x = cw._j, cw._i, cw._xi
    with pytest.raises(StepError):
        cw.general_centring_step(sp.Sum(sp.KroneckerDelta(i, j) * x[j], (j, 1, N)))


@pytest.mark.parametrize("coeff,exponent", [(-1 / N, sp.Rational(-1, 2)),
                                            (sp.Integer(-1), sp.Rational(-3, 2)),
                                            (-1 / N, sp.Rational(-3, 4))],
                         ids=["exponent -1/2", "dropped 1/N", "sqrt^(-1.5) slip"])
def test_general_grad_c_mutations_fail(coeff, exponent):
    j, i, Ri = cw._j, cw._i, cw._Ri
    sigma2 = sp.Sum(Ri[j] ** 2, (j, 1, N)) / N
    with pytest.raises(StepError):
        cw.general_grad_c_step(coeff * (sigma2 + EPS) ** exponent * Ri[i])


def test_with_s_keeps_a_wrong_exponent():
    """The s-substitution must not hide a wrong power of sigma^2 + eps."""
    f = forward(3)
    wrong = (f.var + EPS) ** sp.Rational(-1, 4)
    assert with_s(wrong, f.var) != with_s((f.var + EPS) ** sp.Rational(-1, 2), f.var)
    assert with_s((f.var + EPS) ** sp.Rational(-3, 2), f.var) == cw.S ** -3


def test_c_means_what_its_displayed_formula_says(monkeypatch):
    # the value of c in every check comes from c_formula, the formula the page shows
    monkeypatch.setattr(cw, "c_formula", lambda: (SIGMA2 + EPS) ** sp.Rational(-3, 2))
    with pytest.raises(StepError):
        cw.normalise_step(sizes=[2])
