"""lib.batchnorm: every backward method against finite differences and each
other, properties over shapes and scales, and the messages bad input gets."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from lib import batchnorm as bn
from lib.gradcheck import numerical_gradient, rel_error


def make_batch(N, D, seed=0, scale=1.0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(N, D)) * scale + rng.normal(size=D)
    gamma = rng.normal(size=D)
    beta = rng.normal(size=D)
    dy = rng.normal(size=(N, D))
    return x, gamma, beta, dy


def loss_of_x(gamma, beta, dy):
    """J(x) = sum(dy * y): its gradient with respect to y is exactly dy."""
    return lambda x: float(np.sum(dy * bn.forward(x, gamma, beta)[0]))


# ---------------------------------------------------------------- gradients

@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("D", [1, 5])
@pytest.mark.parametrize("N", [2, 3, 8, 100])
@pytest.mark.parametrize("method", bn.METHODS)
def test_dx_matches_finite_differences(method, N, D, seed):
    x, gamma, beta, dy = make_batch(N, D, seed)
    _, cache = bn.forward(x, gamma, beta)
    dx, _, _ = bn.backward(dy, cache, method=method)
    numeric = numerical_gradient(loss_of_x(gamma, beta, dy), x)
    assert rel_error(dx, numeric) < 1e-7


@pytest.mark.parametrize("D", [1, 5])
@pytest.mark.parametrize("N", [2, 8])
@pytest.mark.parametrize("method", bn.METHODS)
def test_dgamma_dbeta_match_finite_differences(method, N, D):
    x, gamma, beta, dy = make_batch(N, D, seed=3)
    _, cache = bn.forward(x, gamma, beta)
    _, dgamma, dbeta = bn.backward(dy, cache, method=method)
    j_gamma = lambda g: float(np.sum(dy * bn.forward(x, g, beta)[0]))
    j_beta = lambda b: float(np.sum(dy * bn.forward(x, gamma, b)[0]))
    assert rel_error(dgamma, numerical_gradient(j_gamma, gamma)) < 1e-7
    assert rel_error(dbeta, numerical_gradient(j_beta, beta)) < 1e-7


@pytest.mark.parametrize("D", [1, 5])
@pytest.mark.parametrize("N", [2, 3, 8, 100])
def test_methods_agree(N, D):
    """All four derivations give one function, to 1e-12.

    The tolerance is relative to the size of the terms each method adds,
    |gamma| |dy| / s: for N = 2 the exact gradient is eps / (sigma^2 + eps)
    times smaller than those terms (it is exactly zero when eps = 0), so
    a tolerance relative to the result itself would measure float64
    cancellation rather than disagreement.
    """
    x, gamma, beta, dy = make_batch(N, D, seed=4)
    _, cache = bn.forward(x, gamma, beta)
    results = {m: bn.backward(dy, cache, method=m) for m in bn.METHODS}
    term_scale = np.max(np.abs(gamma * cache.inv_std)) * np.max(np.abs(dy))
    ref = results["simplified"]
    for method, got in results.items():
        for a, b in zip(got, ref):
            assert np.max(np.abs(a - b)) <= 1e-12 * max(term_scale, np.max(np.abs(b))), method


@pytest.mark.parametrize("method", bn.METHODS)
def test_float32_in_float32_out(method):
    x, gamma, beta, dy = make_batch(16, 4, seed=5)
    y32, cache32 = bn.forward(x.astype(np.float32), gamma, beta)
    dx32, dg32, db32 = bn.backward(dy.astype(np.float32), cache32, method=method)
    y64, cache64 = bn.forward(x, gamma, beta)
    dx64, dg64, db64 = bn.backward(dy, cache64, method=method)
    for arr in (y32, dx32, dg32, db32):
        assert arr.dtype == np.float32
    assert rel_error(y32, y64) < 1e-6
    assert rel_error(dx32, dx64) < 1e-5
    assert rel_error(dg32, dg64) < 1e-5


def test_one_dimensional_x_is_one_column():
    x, gamma, beta, dy = make_batch(6, 1, seed=6)
    y2, cache2 = bn.forward(x, gamma, beta)
    y1, cache1 = bn.forward(x[:, 0], float(gamma[0]), float(beta[0]))
    assert y1.shape == (6,)
    np.testing.assert_allclose(y1, y2[:, 0])
    dx1, dg1, db1 = bn.backward(dy[:, 0], cache1)
    dx2, dg2, db2 = bn.backward(dy, cache2)
    assert dx1.shape == (6,) and np.shape(dg1) == () and np.shape(db1) == ()
    np.testing.assert_allclose(dx1, dx2[:, 0])
    np.testing.assert_allclose(dg1, dg2[0])


def test_gradients_come_back_in_the_parameters_shape():
    x, gamma, beta, dy = make_batch(5, 3, seed=7)
    _, cache = bn.forward(x, gamma.reshape(1, 3), beta)
    _, dgamma, dbeta = bn.backward(dy, cache)
    assert dgamma.shape == (1, 3) and dbeta.shape == (3,)


def test_batch_of_one_outputs_beta_and_zero_gradient():
    x = np.array([[3.0, -7.0]])
    beta = np.array([0.5, -0.25])
    for method in bn.METHODS:
        y, cache = bn.forward(x, [2.0, 3.0], beta)
        np.testing.assert_array_equal(y, [beta])
        dx, dgamma, dbeta = bn.backward(np.array([[1.0, 2.0]]), cache, method=method)
        np.testing.assert_array_equal(dx, 0.0)
        np.testing.assert_array_equal(dgamma, 0.0)
        np.testing.assert_array_equal(dbeta, [1.0, 2.0])


def test_integer_input_is_computed_in_float64():
    y, cache = bn.forward([[1, 2], [3, 5]], [1, 1], [0, 0])
    assert y.dtype == np.float64
    np.testing.assert_allclose(y.sum(axis=0), 0.0, atol=1e-12)


def test_biased_variance_is_used():
    x = np.array([[1.0], [2.0], [3.0], [6.0]])
    _, cache = bn.forward(x, [1.0], [0.0])
    assert cache.var[0] == pytest.approx(np.var(x))          # 1/N, not 1/(N-1)
    assert cache.var[0] != pytest.approx(np.var(x, ddof=1))


def test_inference_mode_is_an_affine_map_with_gradient_gamma_over_s():
    rng = np.random.default_rng(8)
    x = rng.normal(size=(5, 2))
    gamma, beta = np.array([2.0, -1.0]), np.array([0.1, 0.2])
    mean, var = np.array([0.3, -0.2]), np.array([1.5, 0.5])
    y = bn.forward_inference(x, gamma, beta, mean, var)
    np.testing.assert_allclose(y, gamma * (x - mean) / np.sqrt(var + 1e-5) + beta)
    j = lambda xx: float(np.sum(bn.forward_inference(xx, gamma, beta, mean, var)))
    expected = np.broadcast_to(gamma / np.sqrt(var + 1e-5), x.shape)
    assert rel_error(numerical_gradient(j, x), expected) < 1e-8


def test_running_average_moves_towards_the_batch_value():
    assert bn.update_running(np.zeros(2), np.ones(2), momentum=0.1) == pytest.approx([0.1, 0.1])
    with pytest.raises(ValueError, match="momentum"):
        bn.update_running(0.0, 1.0, momentum=0.0)


# --------------------------------------------------------------- properties

@st.composite
def batches(draw):
    N = draw(st.integers(2, 40))
    D = draw(st.integers(1, 6))
    scale = draw(st.sampled_from([1e-3, 1e-2, 1e-1, 1.0, 1e1, 1e2, 1e3]))
    elems = st.floats(-1, 1, allow_nan=False, allow_infinity=False)
    x = draw(hnp.arrays(np.float64, (N, D), elements=elems)) * scale
    gamma = draw(hnp.arrays(np.float64, (D,), elements=st.floats(0.1, 3)))
    beta = draw(hnp.arrays(np.float64, (D,), elements=elems))
    dy = draw(hnp.arrays(np.float64, (N, D), elements=elems))
    return x, gamma, beta, dy


@settings(max_examples=150, deadline=None)
@given(batches(), st.sampled_from(bn.METHODS))
def test_properties_over_shapes_and_scales(batch, method):
    x, gamma, beta, dy = batch
    y, cache = bn.forward(x, gamma, beta)
    dx, dgamma, dbeta = bn.backward(dy, cache, method=method)
    for arr in (y, dx, dgamma, dbeta):
        assert np.all(np.isfinite(arr))
    # each column of y - beta has mean zero; rounding the mean of x costs about
    # one ulp of |x|, which normalization magnifies by 1/s
    rounding = np.abs(gamma) * (np.abs(x).max(axis=0) * cache.inv_std + 1)
    assert np.all(np.abs((y - beta).mean(axis=0)) <= 1e-13 * rounding)
    # the input gradient sums to zero in every column (relative to its terms)
    term = np.abs(gamma * cache.inv_std) * np.abs(dy).max(axis=0) * x.shape[0]
    assert np.all(np.abs(dx.sum(axis=0)) <= 1e-10 * np.maximum(term, 1e-300))



@settings(max_examples=60, deadline=None)
@given(batches())
def test_the_training_layers_unchecked_passes_give_the_checked_results_bit_for_bit(batch):
    """lib.layers skips the checks (checked=False) thousands of times a run; the numbers
    of chapter 10 must not depend on it."""
    x, gamma, beta, dy = batch
    y, cache = bn.forward(x, gamma, beta)
    y_fast, cache_fast = bn.forward(x, gamma, beta, checked=False)
    assert np.array_equal(y, y_fast)
    for a, b in zip(bn.backward(dy, cache), bn.backward(dy, cache_fast, checked=False)):
        assert np.array_equal(a, b)


# ---------------------------------------------------------------- bad input

def good():
    x, gamma, beta, dy = make_batch(4, 3)
    return x, gamma, beta, dy


@pytest.mark.parametrize("bad_x, exc, message", [
    (np.zeros((0, 3)), ValueError, r"x has an empty batch: shape \(0, 3\) has N = 0"),
    (np.zeros((4, 0)), ValueError, r"x has no features: shape \(4, 0\) has D = 0"),
    (np.zeros((2, 3, 4)), ValueError, r"x must have shape \(N, D\) or \(N,\), got 3-D shape \(2, 3, 4\)"),
    (np.array([[1.0, np.nan, 0.0], [0, 0, 0]]), ValueError, r"x contains 1 non-finite value\(s\) \(NaN or inf\)"),
    (np.array([[np.inf, 0.0, 0.0], [0, 0, 0]]), ValueError, r"x contains 1 non-finite"),
    (np.zeros((4, 3), dtype=complex), TypeError, r"x must be a float32 or float64 array, got dtype complex128"),
    (np.zeros((4, 3), dtype=np.float16), TypeError, r"got dtype float16"),
    (np.array([["a", "b", "c"]]), TypeError, r"x must be a float32 or float64 array, got dtype <U1"),
    (np.ones((4, 3), dtype=bool), TypeError, r"got dtype bool"),
])
def test_bad_x_is_named(bad_x, exc, message):
    _, gamma, beta, _ = good()
    with pytest.raises(exc, match=message):
        bn.forward(bad_x, gamma, beta)


def test_ragged_x_is_named():
    with pytest.raises(TypeError, match="x must be an array of numbers"):
        bn.forward([[1.0, 2.0], [3.0]], [1.0, 1.0], [0.0, 0.0])


@pytest.mark.parametrize("name", ["gamma", "beta"])
def test_parameter_of_the_wrong_length_is_named(name):
    x, gamma, beta, _ = good()
    args = {"gamma": gamma, "beta": beta}
    args[name] = np.ones(4)
    with pytest.raises(ValueError, match=rf"{name} must have shape \(3,\) or \(1, 3\) to match the 3 "
                                         rf"column\(s\) of x, got shape \(4,\)"):
        bn.forward(x, **args)


def test_non_finite_parameter_is_named():
    x, gamma, beta, _ = good()
    with pytest.raises(ValueError, match=r"beta contains 1 non-finite"):
        bn.forward(x, gamma, np.array([0.0, np.nan, 0.0]))


@pytest.mark.parametrize("eps, exc, message", [
    (0.0, ValueError, r"eps must be a finite number > 0, got 0.0"),
    (-1e-5, ValueError, r"eps must be a finite number > 0, got -1e-05"),
    (float("nan"), ValueError, r"eps must be a finite number > 0, got nan"),
    ("1e-5", TypeError, r"eps must be a positive real number, got str"),
])
def test_bad_eps_is_named(eps, exc, message):
    x, gamma, beta, _ = good()
    with pytest.raises(exc, match=message):
        bn.forward(x, gamma, beta, eps=eps)


def test_dy_of_the_wrong_shape_is_named():
    x, gamma, beta, _ = good()
    _, cache = bn.forward(x, gamma, beta)
    with pytest.raises(ValueError, match=r"dy must have the shape of x, \(4, 3\), got shape \(3, 4\)"):
        bn.backward(np.ones((3, 4)), cache)


def test_non_finite_dy_is_named():
    x, gamma, beta, dy = good()
    _, cache = bn.forward(x, gamma, beta)
    dy[0, 0] = np.nan
    with pytest.raises(ValueError, match=r"dy contains 1 non-finite"):
        bn.backward(dy, cache)


def test_unknown_method_lists_the_methods():
    x, gamma, beta, dy = good()
    _, cache = bn.forward(x, gamma, beta)
    with pytest.raises(ValueError, match=r"method must be one of 'staged', 'rowwise', 'columnwise', "
                                         r"'simplified'; got 'autograd'"):
        bn.backward(dy, cache, method="autograd")


def test_cache_that_is_not_a_cache_is_named():
    _, _, _, dy = good()
    with pytest.raises(TypeError, match=r"cache must be the Cache returned by forward\(\), got tuple"):
        bn.backward(dy, (1, 2))


@pytest.mark.parametrize("method", bn.METHODS)
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_every_method_names_a_non_finite_dy(method, bad):
    x, gamma, beta, dy = good()
    _, cache = bn.forward(x, gamma, beta)
    dy[2, 1] = bad
    with pytest.raises(ValueError, match=r"dy contains 1 non-finite"):
        bn.backward(dy, cache, method=method)


def test_an_overflowing_dy_is_named():
    x, gamma, beta, _ = good()
    _, cache = bn.forward(x.astype(np.float32), gamma, beta)
    with pytest.raises(ValueError, match=r"dy is too large: its column sums overflow float32"):
        bn.backward(np.full((4, 3), 3e38, dtype=np.float32), cache)
