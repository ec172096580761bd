"""Chapter 7's symbolic checks: right formulas pass, deliberately wrong ones fail."""
import pytest
import sympy as sp

from lib.steps import layouts as L
from lib.symbolic import StepError

g, x_hat, k, j, M, s = L.g, L.x_hat, L.k, L.j, L.M, L.s


@pytest.mark.parametrize("layout, shape, G", [
    ("layer norm", (1, 2), None),
    ("layer norm", (1, 3), None),
    ("layer norm", (1, 4), None),
    ("layer norm", (2, 3), None),
    ("batch norm", (3, 2), None),
    ("spatial batch norm", (2, 2, 1, 2), None),
    ("spatial batch norm", (1, 1, 2, 2), None),
    ("group norm", (1, 4, 1, 2), 2),
    ("group norm", (1, 3, 1, 1), 3),      # instance norm: groups of one channel
])
def test_general_formula_holds_for_every_layout(layout, shape, G):
    step = L.layout_step(layout=layout, shape=shape, G=G)
    assert step.lhs.shape == step.rhs.shape
    assert step.lhs.shape[0] == sp.prod(shape)


@pytest.mark.parametrize("layout, shape", [("batch norm", (3, 2)), ("spatial batch norm", (2, 2, 1, 2))])
def test_shared_gamma_form_holds_where_gamma_is_constant_on_a_group(layout, shape):
    L.layout_step(L.shared_gamma_formula(), layout=layout, shape=shape)


def test_wrong_M_fails():
    """Spatial batch norm with M = N (the batch) instead of N H W."""
    with pytest.raises(StepError, match="spatial batch norm backward"):
        L.layout_step(L.general_formula().subs(M, 2), layout="spatial batch norm", shape=(2, 1, 1, 2))


def test_wrong_M_fails_for_group_norm():
    """Group norm with M = C/G (channels only), forgetting the pixels."""
    with pytest.raises(StepError, match="group norm backward"):
        L.layout_step(L.general_formula().subs(M, 2), layout="group norm", shape=(1, 4, 1, 2), G=2)


@pytest.mark.parametrize("wrong", [
    (M * g[k] - sp.Sum(g[j], (j, 1, M))) / (M * s),                                  # dropped x_hat term
    (M * g[k] - x_hat[k] * sp.Sum(g[j] * x_hat[j], (j, 1, M))) / (M * s),            # dropped mean term
    (M * g[k] + sp.Sum(g[j], (j, 1, M))
     - x_hat[k] * sp.Sum(g[j] * x_hat[j], (j, 1, M))) / (M * s),                     # flipped sign
    (M * g[k] - sp.Sum(g[j], (j, 1, M))
     - x_hat[k] * sp.Sum(g[j] * x_hat[j], (j, 1, M))) / (M * s ** 3),                # wrong exponent of s
])
@pytest.mark.parametrize("layout, shape, G", [("layer norm", (1, 3), None),
                                              ("spatial batch norm", (2, 1, 1, 2), None)])
def test_mutated_formula_fails(wrong, layout, shape, G):
    with pytest.raises(StepError, match="does not hold"):
        L.layout_step(wrong, layout=layout, shape=shape, G=G)


@pytest.mark.parametrize("layout, shape, G", [("layer norm", (1, 3), None), ("group norm", (1, 4, 1, 1), 2)])
def test_gamma_outside_the_sums_fails_when_gamma_varies_on_a_group(layout, shape, G):
    """Layer and group norm: gamma changes inside a group, so it cannot leave the sums."""
    with pytest.raises(StepError):
        L.layout_step(L.shared_gamma_formula(), layout=layout, shape=shape, G=G)


@pytest.mark.parametrize("Mv", [2, 3, 4, 5])
def test_gradient_of_a_group_sums_to_zero(Mv):
    L.zero_sum_step(sizes=[Mv])


def test_zero_sum_fails_without_the_mean_term():
    wrong = (M * g[k] - x_hat[k] * sp.Sum(g[j] * x_hat[j], (j, 1, M))) / (M * s)
    with pytest.raises(StepError):
        L.zero_sum_step(wrong, sizes=[3])


def test_display_is_rendered_from_the_checked_formula():
    step = L.layout_step(layout="layer norm", shape=(1, 2))
    assert step.latex() == r"\frac{\partial J}{\partial x_{k}} = " + sp.latex(L.general_formula())
    shared = L.layout_step(L.shared_gamma_formula(), layout="batch norm", shape=(2, 1))
    assert sp.latex(L.shared_gamma_formula()) in shared.latex()


def test_unknown_layout_and_bad_groups_are_named():
    with pytest.raises(ValueError, match="unknown layout 'instance norm'"):
        L.layout_axes("instance norm", (1, 2))
    with pytest.raises(ValueError, match="G dividing C = 4"):
        L.layout_axes("group norm", (1, 4, 1, 1), G=3)


def test_zero_sum_for_symbolic_M():
    step = L.zero_sum_general_step()
    assert step.sizes.startswith("any M")


@pytest.mark.parametrize("wrong", [
    (M * g[k] - x_hat[k] * sp.Sum(g[j] * x_hat[j], (j, 1, M))) / (M * s),                 # no mean term
    (M * g[k] - 2 * sp.Sum(g[j], (j, 1, M)) - x_hat[k] * sp.Sum(g[j] * x_hat[j], (j, 1, M))) / (M * s),
])
def test_zero_sum_for_symbolic_M_rejects_wrong_formulas(wrong):
    with pytest.raises(StepError, match="any M"):
        L.zero_sum_general_step(wrong)
