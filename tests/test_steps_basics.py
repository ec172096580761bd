"""Chapter 2's checked steps: each holds, and each breaks when a deliberate error is planted."""
import numpy as np
import pytest
import sympy as sp

from lib import batchnorm as bn, gradcheck
from conftest import proved_steps
from lib.steps import basics as B
from lib.symbolic import StepError

SMALL = [2, 3]          # mutation tests need only fail at one size; keep them fast


def test_correct_steps_hold_for_every_size_shown():
    steps = proved_steps(B)
    assert [st.name for st in steps] == [
        "dJ/dbeta", "dJ/dgamma", "dJ/dx_hat", "Jacobian of one column",
        "the Jacobian is dense", "columns are independent"]
    dense = next(st for st in steps if st.name == "the Jacobian is dense")
    assert all(st.sizes.startswith("N = 2..5") for st in steps if st is not dense)
    assert dense.lhs == sum(n * n for n in range(2, 6))


def test_displayed_equations_come_from_the_formulas():
    assert B.dbeta_step(sizes=[2]).latex() == (
        r"\frac{\partial J}{\partial \beta_{j}} = \sum_{i=1}^{N} \frac{\partial J}{\partial y_{ij}}")
    assert r"\hat{x}_{ij}" in B.dgamma_step(sizes=[2]).latex()
    assert r"\delta_{i k}" in B.jacobian_step(sizes=[2]).latex()


@pytest.mark.parametrize("wrong", [
    sp.Sum(B.dy[B.i, B.j], (B.i, 1, B.N - 1)),                    # dropped the last row
    -sp.Sum(B.dy[B.i, B.j], (B.i, 1, B.N)),                       # flipped sign
    sp.Sum(B.dy[B.i, B.j] * B.x_hat[B.i, B.j], (B.i, 1, B.N)),    # dgamma's formula
])
def test_dbeta_mutations_fail(wrong):
    with pytest.raises(StepError, match="dJ/dbeta"):
        B.dbeta_step(wrong, sizes=SMALL)


@pytest.mark.parametrize("wrong", [
    sp.Sum(B.dy[B.i, B.j], (B.i, 1, B.N)),                        # dropped x_hat
    sp.Sum(B.dy[B.i, B.j] * B.x_hat[B.i, B.j], (B.i, 1, B.N)) / B.N,   # a spurious 1/N
    sp.Sum(B.gamma[B.j] * B.dy[B.i, B.j] * B.x_hat[B.i, B.j], (B.i, 1, B.N)),  # extra gamma
])
def test_dgamma_mutations_fail(wrong):
    with pytest.raises(StepError, match="dJ/dgamma"):
        B.dgamma_step(wrong, sizes=SMALL)


@pytest.mark.parametrize("wrong", [
    B.dy[B.i, B.j],                                  # dropped gamma
    B.dy[B.i, B.j] / B.gamma[B.j],                   # divided instead of multiplied
])
def test_dxhat_mutations_fail(wrong):
    with pytest.raises(StepError, match="dJ/dx_hat"):
        B.dxhat_step(wrong, sizes=SMALL)


s, i, k, N, xh = B.s_sym, B.i, B.k, B.N, B.x_hat


@pytest.mark.parametrize("wrong", [
    sp.KroneckerDelta(i, k) / s,                                         # diagonal only
    (sp.KroneckerDelta(i, k) - xh[i] * xh[k] / N) / s,                   # dropped the mean path
    (sp.KroneckerDelta(i, k) - 1 / N) / s,                               # dropped the variance path
    (sp.KroneckerDelta(i, k) - 1 / N + xh[i] * xh[k] / N) / s,           # flipped sign
    (sp.KroneckerDelta(i, k) - 1 / N - xh[i] * xh[k] / N) / s ** 3,      # wrong power of s
])
def test_jacobian_mutations_fail(wrong):
    with pytest.raises(StepError, match="Jacobian"):
        B.jacobian_step(wrong, sizes=SMALL)


def test_columns_independent_mutation_fails():
    # claiming that one column feeds another as it feeds itself must fail
    with pytest.raises(StepError, match="columns are independent"):
        B.columns_independent_step(B.jacobian_formula(), sizes=[2])
    # and the truth the check uses does see a column's dependence on itself
    assert any(entry != 0 for entry in B.cross_jacobian(2, 0, 0))


def test_dense_check_rejects_a_matrix_with_a_zero_entry():
    with_zero = B.jacobian_formula() * (1 - sp.KroneckerDelta(B.i, 1) * sp.KroneckerDelta(B.k, 2))
    with pytest.raises(StepError, match="entry \\(1, 2\\) is zero"):
        B.dense_jacobian_step(with_zero, sizes=[3])


def test_jacobian_formula_matches_finite_differences():
    rng = np.random.default_rng(5)
    x = rng.normal(size=12)
    one, zero = np.ones(1), np.zeros(1)
    numeric = np.array([gradcheck.numerical_gradient(
        lambda z, r=r: bn.forward(z, one, zero)[0][r], x) for r in range(12)])
    _, cache = bn.forward(x, one, zero)
    h, s_value = cache.x_hat[:, 0], 1 / cache.inv_std[0]
    formula = (np.eye(12) - 1 / 12 - np.outer(h, h) / 12) / s_value
    assert gradcheck.rel_error(formula, numeric) < 1e-8


@pytest.mark.parametrize("N, D", [(2, 3), (16, 5), (64, 4)])
def test_parameter_gradients_against_finite_differences(N, D):
    rng = np.random.default_rng(N)
    X = rng.normal(size=(N, D))
    gamma, beta, G = rng.normal(size=D), rng.normal(size=D), rng.normal(size=(N, D))
    loss = lambda g, b: np.sum(G * bn.forward(X, g, b)[0])  # noqa: E731
    fd_dgamma = gradcheck.numerical_gradient(lambda g: loss(g, beta), gamma)
    fd_dbeta = gradcheck.numerical_gradient(lambda b: loss(gamma, b), beta)
    _, cache = bn.forward(X, gamma, beta)
    for method in bn.METHODS:
        _, dgamma, dbeta = bn.backward(G, cache, method=method)
        assert gradcheck.rel_error(dgamma, fd_dgamma) < 1e-7, method
        assert gradcheck.rel_error(dbeta, fd_dbeta) < 1e-7, method


def test_parameter_gradients_in_float32():
    rng = np.random.default_rng(3)
    X, G = rng.normal(size=(32, 4)), rng.normal(size=(32, 4))
    gamma, beta = rng.normal(size=4), rng.normal(size=4)
    _, c64 = bn.forward(X, gamma, beta)
    _, c32 = bn.forward(X.astype(np.float32), gamma, beta)
    _, ref_dgamma, ref_dbeta = bn.backward(G, c64)
    for method in bn.METHODS:
        _, dgamma, dbeta = bn.backward(G.astype(np.float32), c32, method=method)
        assert dgamma.dtype == np.float32
        assert gradcheck.rel_error(dgamma, ref_dgamma) < 1e-5, method
        assert gradcheck.rel_error(dbeta, ref_dbeta) < 1e-5, method


def test_general_N_checks_are_part_of_the_steps():
    assert B.dbeta_step(sizes=[2]).sizes == "N = 2, D = 2, and every N"


@pytest.mark.parametrize("variable, wrong", [
    (B.beta_ix[B.j], sp.Sum(B.dy[B.i, B.j], (B.i, 1, B.N - 1))),           # dropped a row
    (B.beta_ix[B.j], sp.Sum(B.dy[B.i, B.j] * B.gamma[B.j], (B.i, 1, B.N))),  # extra gamma
    (B.gamma[B.j], sp.Sum(B.dy[B.i, B.j], (B.i, 1, B.N))),                  # dropped x_hat
    (B.gamma[B.j], -sp.Sum(B.dy[B.i, B.j] * B.x_hat[B.i, B.j], (B.i, 1, B.N))),  # sign
])
def test_general_N_check_rejects_mutations(variable, wrong):
    with pytest.raises(StepError, match="every N"):
        B.general_check("mutant", B.J_general().diff(variable), wrong,
                         B.dbeta_step(sizes=[2]))


def test_general_N_dxhat_rejects_a_missing_gamma():
    truth = B.branch_in_batch(B.J_general().diff(B.x_hat[B.k, B.j]).doit(), B.k)
    with pytest.raises(StepError, match="every N"):
        B.general_check("mutant", truth, B.dy[B.k, B.j], B.dbeta_step(sizes=[2]))


def test_the_printed_left_side_is_the_variable_the_check_differentiates_by():
    shown = B.dbeta_step(sizes=[2]).latex()
    assert shown.startswith(r"\frac{\partial J}{\partial \beta_{j}} = ")
    # the same variable labels the display and drives the every-N check: a label that does
    # not match the formula fails
    with pytest.raises(StepError):
        B._parameter_step("mislabelled", lambda b: b.beta, B.gamma[B.j], B.dbeta_formula(), [2])


def test_the_shown_jacobian_is_the_jacobian_with_its_factor_out():
    """Chapter 2 shows the 3 x 3 Jacobian as 1/(3s) times a matrix without fractions (legible on
    a phone: a matrix sets its entries small); the product is the Jacobian of the formula."""
    shown = B.jacobian_symbolic(3)
    factor, matrix = shown.args
    assert factor == 1 / (3 * B.s_sym) and "frac" not in sp.latex(matrix)
    h = [sp.Symbol(rf"\hat{{x}}_{{{a}}}", real=True) for a in (1, 2, 3)]
    for a in range(3):
        for b in range(3):
            want = (int(a == b) - sp.Rational(1, 3) - h[a] * h[b] / 3) / B.s_sym
            assert sp.simplify(shown.doit()[a, b] - want) == 0
