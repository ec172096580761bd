"""Chapter 4's lemma: its checks hold for arbitrary f and c, and reject planted errors."""
import numpy as np
import pytest
import sympy as sp

from lib import batchnorm as bn, gradcheck
from conftest import proved_steps
from lib.steps import lemma as L
from lib.symbolic import StepError

i, k, c, v, dc, df, n = L.i, L.k, L.c_sym, L.v_ix, L.dc_ix, L.df_ix, L.n_sym


def test_all_steps_hold_for_n_2_to_5_and_1():
    steps = proved_steps(L)
    assert [st.sizes for st in steps] == ["n = 2..5"] * 3 + ["n = 1"] * 2


def test_the_checks_use_arbitrary_functions():
    S = L.Setting(3)
    assert isinstance(S.c.func, sp.core.function.UndefinedFunction)
    assert isinstance(S.f_of_u.func, sp.core.function.UndefinedFunction)
    assert S.c.args == tuple(S.v)        # c depends on every component of v


def test_displayed_lemma_is_the_checked_matrix_expression():
    shown = L.lemma_step(sizes=[2]).latex()
    assert shown == (r"\frac{\partial f}{\partial v} = \left(c(v) I + "
                     r"\frac{\partial c}{\partial v} v^{\top}\right) \frac{\partial f}{\partial u}")


@pytest.mark.parametrize("wrong", [
    dc[i] * v[k],                                     # dropped the [i = k] c term
    dc[k] * v[i] + sp.KroneckerDelta(i, k) * c,       # indices swapped
    dc[i] * v[k] - sp.KroneckerDelta(i, k) * c,       # flipped sign
    sp.KroneckerDelta(i, k) * c,                      # dropped the derivative of c
])
def test_component_mutations_fail(wrong):
    with pytest.raises(StepError, match="components of du/dv"):
        L.component_step(wrong, sizes=[2, 3])


@pytest.mark.parametrize("wrong", [
    sp.Sum(df[k] * dc[i] * v[k], (k, 1, n)),                                      # dropped c I
    sp.Sum(df[i] * (dc[i] * v[k] + sp.KroneckerDelta(i, k) * c), (k, 1, n)),      # df index
    sp.Sum(df[k] * (dc[i] * v[k] + sp.KroneckerDelta(i, k) * c), (k, 1, n - 1)),  # dropped a term
])
def test_chain_mutations_fail(wrong):
    with pytest.raises(StepError, match="chain rule"):
        L.chain_step(wrong, sizes=[2, 3])


@pytest.mark.parametrize("wrong", [{"c_term": False}, {"transpose": True}])
def test_lemma_mutations_fail(wrong):
    with pytest.raises(StepError, match="vector product rule"):
        L.lemma_step(L.lemma_formula(**wrong), sizes=[2])


def test_scalar_case_mutation_fails():
    S = L.Setting(1)
    v, c = S.v[0], S.c
    with pytest.raises(StepError, match="product rule"):
        L.product_rule_step(c.diff(v) * v - c)                      # flipped sign of c
    with pytest.raises(StepError, match="lemma at n = 1"):
        L.scalar_lemma_step((S.grad_c[0] * v - c) * S.df_du[0])


def test_lemma_numerically_for_the_normalization():
    rng = np.random.default_rng(4)
    n_, eps = 9, 1e-5
    vec, w = rng.normal(size=n_), rng.normal(size=n_)
    c_val = (vec @ vec / n_ + eps) ** -0.5
    grad_c = -(vec @ vec / n_ + eps) ** -1.5 * vec / n_
    by_lemma = (np.outer(grad_c, vec) + c_val * np.eye(n_)) @ w
    by_fd = gradcheck.numerical_gradient(lambda z: w @ ((z @ z / n_ + eps) ** -0.5 * z), vec)
    assert gradcheck.rel_error(by_lemma, by_fd) < 1e-8


@pytest.mark.parametrize("N, D", [(3, 2), (33, 5), (128, 2)])
def test_columnwise_against_finite_differences(N, D):
    rng = np.random.default_rng(N + D)
    X = rng.normal(scale=0.5, size=(N, D))
    gamma, beta, G = rng.normal(size=D), rng.normal(size=D), rng.normal(size=(N, D))
    fd = gradcheck.numerical_gradient(lambda z: np.sum(G * bn.forward(z, gamma, beta)[0]), X)
    _, cache = bn.forward(X, gamma, beta)
    dx = bn.backward(G, cache, method="columnwise")[0]
    assert gradcheck.rel_error(dx, fd) < 1e-7


def test_columnwise_in_float32():
    rng = np.random.default_rng(8)
    X, G = rng.normal(size=(50, 6)), rng.normal(size=(50, 6))
    gamma, beta = rng.normal(size=6), rng.normal(size=6)
    _, c64 = bn.forward(X, gamma, beta)
    _, c32 = bn.forward(X.astype(np.float32), gamma, beta)
    dx = bn.backward(G.astype(np.float32), c32, method="columnwise")[0]
    assert dx.dtype == np.float32
    assert gradcheck.rel_error(dx, bn.backward(G, c64)[0]) < 1e-5
