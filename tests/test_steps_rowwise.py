"""Chapter 3's checked steps: each holds, and each breaks when a deliberate error is planted."""
import numpy as np
import pytest
import sympy as sp

from lib import batchnorm as bn, gradcheck
from conftest import proved_steps
from lib.steps import rowwise as R
from lib.steps import staged as ST
from lib.symbolic import EPS, StepError

SMALL = [2, 3]
HALF = sp.Rational(1, 2)
x, dxhat, i, j, N = R.x, R.dxhat, R.i, R.j, R.N
mu, var, s, dvar, dmu = R.mu, R.var, R.s, R.dvar, R.dmu
ROOT = sp.sqrt(var + EPS)


def test_every_step_of_the_page_holds():
    steps = proved_steps(R)
    assert len(steps) == 6 + 3 + 1                          # with the chain rule
    assert len(proved_steps(ST)) == len(ST.NODES) + 1
    general = [st for st in steps if st.sizes == "every N"]
    assert {st.name for st in general} >= {"dJ/dsigma^2 (general N)", "dJ/dmu (general N)"}
    assert R.dx_step(sizes=[2]).sizes == "N = 2"


def test_displayed_dvar_has_the_right_exponent():
    shown = R.dvar_step().latex()
    assert r"\left(\epsilon + \sigma^{2}\right)^{\frac{3}{2}}" in shown
    assert r"\sqrt" not in shown


# ---- the slip of a widely read post: exponents of sqrt(sigma^2 + eps) ----

def test_x_hat_with_sqrt_to_the_minus_half_fails():
    with pytest.raises(StepError, match="x_hat with the exponent -1/2"):
        R.x_hat_step(R.x_hat_formula(base=ROOT), sizes=SMALL)


def test_dvar_with_sqrt_to_the_minus_three_halves_fails():
    with pytest.raises(StepError, match="dJ/dsigma\\^2"):
        R.dvar_step(R.dvar_formula(base=ROOT))


@pytest.mark.parametrize("wrong", [
    R.dvar_formula(exponent=-HALF),                                     # wrong exponent
    -R.dvar_formula(),                                                  # flipped sign
    2 * R.dvar_formula(),                                               # dropped the 1/2
    -HALF * (var + EPS) ** sp.Rational(-3, 2) * sp.Sum(dxhat[j], (j, 1, N)),  # dropped (x_j - mu)
])
def test_dvar_mutations_fail(wrong):
    with pytest.raises(StepError):
        R.dvar_step(wrong)


@pytest.mark.parametrize("wrong", [
    -sp.Sum(dxhat[j], (j, 1, N)) / s,                      # dropped the path through sigma^2
    sp.Sum(dxhat[j], (j, 1, N)) / s + dvar * (-2 / N) * sp.Sum(x[j] - mu, (j, 1, N)),  # sign
    -sp.Sum(dxhat[j], (j, 1, N)) / s + dvar * (2 / N) * sp.Sum(x[j] - mu, (j, 1, N)),  # sign
])
def test_dmu_mutations_fail(wrong):
    # with mu an independent variable, the sigma^2 path does not vanish
    with pytest.raises(StepError, match="dJ/dmu"):
        R.dmu_step(wrong)


def test_centred_sum_mutation_fails():
    with pytest.raises(StepError, match="centred column"):
        R.centred_sum_step(sp.Sum(x[j] + mu, (j, 1, N)))


@pytest.mark.parametrize("wrong", [
    sp.Sum(dxhat[j], (j, 1, N)) / s,          # flipped sign
    -sp.Sum(dxhat[j], (j, 1, N)) / (N * s),   # spurious 1/N
])
def test_dmu_short_mutations_fail(wrong):
    with pytest.raises(StepError, match="without its zero term"):
        R.dmu_short_step(wrong)


PATH_STEPS = [R.direct_path_step, R.mean_path_step, R.var_path_step]


@pytest.mark.parametrize("number, wrong", [
    (0, sp.Integer(1)),                  # forgot 1/s
    (0, 1 / s ** 2),                     # wrong power
    (1, sp.Integer(1)),                  # forgot 1/N
    (2, (x[i] - mu) / N),                # dropped the 2
    (2, 2 * (x[i] + mu) / N),            # flipped sign of mu
])
def test_path_local_mutations_fail(number, wrong):
    with pytest.raises(StepError):
        PATH_STEPS[number](wrong, sizes=SMALL)


@pytest.mark.parametrize("formula", [
    dxhat[i] / s + dvar * 2 * (x[i] - mu) / N,                 # dropped the path through mu
    dxhat[i] / s + dmu / N,                                    # dropped the path through sigma^2
    dxhat[i] + dvar * 2 * (x[i] - mu) / N + dmu / N,           # dropped 1/s
    dxhat[i] / s + dvar * (x[i] - mu) / N + dmu / N,           # dropped the 2
])
def test_dx_mutations_fail(formula):
    with pytest.raises(StepError, match="three paths"):
        R.dx_step(formula, sizes=SMALL)


def test_dx_with_the_wrong_exponent_in_dvar_fails():
    with pytest.raises(StepError, match="three paths"):
        R.dx_step(R.dx_formula().subs(R.dvar, R.dvar_formula(base=ROOT)), sizes=SMALL)


def _mutate(number, change):
    nodes = list(ST.NODES)
    node, forward, wrt, local = nodes[number]
    nodes[number] = (node, forward, wrt, change(local))
    return nodes


@pytest.mark.parametrize("number", range(len(ST.NODES)))
def test_every_local_derivative_mutation_fails(number):
    nodes = _mutate(number, lambda d: -d + 1)
    node, _, wrt, _ = nodes[number]
    with pytest.raises(StepError, match=f"local derivative d{node}/d{wrt}"):
        ST.local_steps(nodes, sizes=SMALL)


@pytest.mark.parametrize("number", range(len(ST.NODES)))
def test_staged_backward_with_a_wrong_local_derivative_fails(number):
    # every edge matters: a wrong local derivative anywhere gives a wrong gradient
    nodes = _mutate(number, lambda d: 2 * d)
    with pytest.raises(StepError, match="staged backward"):
        ST.staged_step(nodes, sizes=[3])


def test_staged_table_shows_each_checked_derivative():
    table = ST.staged_table(ST.local_steps(sizes=[2]))
    assert table.count(r"\\") == len(ST.NODES) + 1
    assert r"\frac{\partial s}{\partial \sigma^2} = \frac{1}{2 s}" in table


# ---- the numpy methods of the chapter against finite differences ----

@pytest.mark.parametrize("N, D", [(3, 1), (4, 2), (17, 4), (100, 3)])
@pytest.mark.parametrize("method", ["rowwise", "staged"])
def test_methods_against_finite_differences(method, N, D):
    rng = np.random.default_rng(N * D)
    X = rng.normal(loc=2.0, scale=3.0, size=(N, D))
    gamma, beta, G = rng.normal(size=D), rng.normal(size=D), rng.normal(size=(N, D))
    fd = gradcheck.numerical_gradient(lambda z: np.sum(G * bn.forward(z, gamma, beta)[0]), X)
    _, cache = bn.forward(X, gamma, beta)
    dx = bn.backward(G, cache, method=method)[0]
    assert gradcheck.rel_error(dx, fd) < 1e-7
    for other in bn.METHODS:
        assert gradcheck.rel_error(dx, bn.backward(G, cache, method=other)[0]) < 1e-12


@pytest.mark.parametrize("method", ["rowwise", "staged"])
def test_methods_in_float32(method):
    rng = np.random.default_rng(11)
    X, G = rng.normal(size=(64, 8)), rng.normal(size=(64, 8))
    gamma, beta = rng.normal(size=8), rng.normal(size=8)
    _, c64 = bn.forward(X, gamma, beta)
    _, c32 = bn.forward(X.astype(np.float32), gamma, beta)
    reference = bn.backward(G, c64, method="simplified")[0]
    dx = bn.backward(G.astype(np.float32), c32, method=method)[0]
    assert dx.dtype == np.float32
    assert gradcheck.rel_error(dx, reference) < 1e-5


@pytest.mark.parametrize("wrong", [
    R.dxhat[R.i] * R.DXHAT_DX + R.dvar * R.DVAR_DX,                       # a path left out
    R.dxhat[R.i] * R.DXHAT_DX + R.dvar * R.DVAR_DX - R.dmu * R.DMU_DX,    # a sign
])
def test_chain_rule_mutations_fail(wrong):
    with pytest.raises(StepError, match="chain rule"):
        R.chain_rule_step(wrong, sizes=[2, 3])


def test_chain_rule_display_is_the_checked_formula_in_page_order():
    shown = R.chain_rule_step(sizes=[2]).latex()
    assert shown.index(r"\hat{x}_{i}}") < shown.index(r"\sigma^{2}}") < shown.index(r"\mu}")
