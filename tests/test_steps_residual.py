"""The residual chapter's symbolic checks: right formulas pass, plausible wrong ones fail."""
import pytest
import sympy as sp

from conftest import proved_steps
from lib.steps import residual as R
from lib.symbolic import StepError

g, x_hat, k, j, d, r = R.g, R.x_hat, R.k, R.j, R.d, R.r


def test_every_step_holds():
    steps = proved_steps(R)
    assert len(steps) == 9 and all(s.sizes for s in steps)


@pytest.mark.parametrize("wrong", [
    (g[k] - sp.Sum(g[j], (j, 1, d)) / d - x_hat[k] * sp.Sum(g[j] * x_hat[j], (j, 1, d)) / d) / r,  # layer norm's
    (g[k] - x_hat[k] * sp.Sum(g[j] * x_hat[j], (j, 1, d))) / r,                                    # 1/d dropped
    (g[k] - x_hat[k] * sp.Sum(g[j] * x_hat[j], (j, 1, d)) / d) / r ** 3,                           # r^3
])
def test_wrong_rms_backward_fails(wrong):
    with pytest.raises(StepError, match="RMS norm backward"):
        R.rms_backward_step(wrong, sizes=[2, 3])


def test_layer_norms_rank_is_not_rms_norms():
    with pytest.raises(StepError, match="does not hold"):
        R.rms_trace_step(d - 2 + R.DELTA, sizes=[3])
    with pytest.raises(StepError, match="does not hold"):
        R.rms_eigen_step(0 * x_hat[k], sizes=[3])


def test_the_block_variance_needs_its_cross_term():
    with pytest.raises(StepError, match="variance after one block"):
        R.block_variance_step(R.V + 1 - R.DELTA, sizes=[3])
    with pytest.raises(StepError, match="variance after one block"):
        R.block_variance_step(R.V + 1 + 2 * R.C, sizes=[3])          # delta forgotten


@pytest.mark.parametrize("case, wrong", [
    ("batch norm in the branch", R.V0 * 2 ** R.l),
    ("no normalization", R.V0 + R.l),
    ("no normalization", 2 * R.V0 * 2 ** R.l),                      # wrong start
    ("branch scale alpha", R.V0 * (1 + R.ALPHA) ** R.l),
])
def test_wrong_closed_forms_fail(case, wrong):
    with pytest.raises(StepError, match="variance recursion"):
        R.recursion_step(wrong, case=case)


def test_an_unknown_case_is_named():
    with pytest.raises(ValueError, match="unknown case 'resnet'"):
        R.recursion_step(R.V0, case="resnet")


def test_the_relu_constant_is_not_the_second_moment_alone():
    with pytest.raises(StepError, match="ReLU constant"):
        R.relu_gain_step(sp.Integer(2))                       # 1/E[phi^2], forgetting the mean
    with pytest.raises(StepError, match="ReLU constant"):
        R.relu_gain_step(sp.pi / (sp.pi - 2))


def test_the_power_law_is_only_the_products_asymptote():
    """((v0 + L)/(v0 + l))^c is what the product tends to, not what it equals."""
    with pytest.raises(StepError, match="product over blocks"):
        R.product_step(((R.V0 + R.L_) / (R.V0 + R.l)) ** R.CB, sizes=[2])
