"""lib.norms: one forward/backward for batch, spatial batch, layer and group norm."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from lib import batchnorm, norms
from lib.gradcheck import numerical_gradient, rel_error

# (layout function, shape of x, extra args, parameter shape, reduction axes of x)
CASES = [
    (norms.batch_norm, (5, 3), (), (3,), (0,)),
    (norms.batch_norm, (2, 1), (), (1,), (0,)),
    (norms.spatial_batch_norm, (2, 3, 2, 2), (), (3,), (0, 2, 3)),
    (norms.spatial_batch_norm, (1, 2, 3, 1), (), (2,), (0, 2, 3)),
    (norms.layer_norm, (4, 5), (), (5,), (1,)),
    (norms.layer_norm, (2, 3, 2), (), (3, 2), (1, 2)),
    (norms.group_norm, (2, 6, 2, 1), (3,), (6,), None),
    (norms.group_norm, (1, 4, 2, 2), (1,), (4,), (1, 2, 3)),    # G = 1: layer norm over C, H, W
    (norms.group_norm, (2, 3, 1, 3), (3,), (3,), (2, 3)),       # G = C: instance norm
]
IDS = [f"{f.__name__}{shape}{args}" for f, shape, args, _, _ in CASES]


def _data(shape, pshape, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    x = rng.normal(1.0, 2.0, size=shape).astype(dtype)
    gamma = rng.normal(1.0, 0.5, size=pshape).astype(dtype)
    beta = rng.normal(size=pshape).astype(dtype)
    dy = rng.normal(size=shape).astype(dtype)
    return x, gamma, beta, dy


@pytest.mark.parametrize("fn, shape, args, pshape, _axes", CASES, ids=IDS)
def test_gradients_match_finite_differences(fn, shape, args, pshape, _axes):
    x, gamma, beta, dy = _data(shape, pshape)
    _, cache = fn(x, gamma, beta, *args)
    dx, dgamma, dbeta = norms.backward(dy, cache)
    loss = lambda xx, gg, bb: float(np.sum(fn(xx, gg, bb, *args)[0] * dy))  # noqa: E731
    assert rel_error(dx, numerical_gradient(lambda v: loss(v, gamma, beta), x)) < 1e-7
    assert rel_error(dgamma, numerical_gradient(lambda v: loss(x, v, beta), gamma)) < 1e-7
    assert rel_error(dbeta, numerical_gradient(lambda v: loss(x, gamma, v), beta)) < 1e-7
    assert dx.shape == shape and dgamma.shape == pshape and dbeta.shape == pshape


def test_group_norm_statistics_are_per_example_per_group():
    x, gamma, beta, _ = _data((2, 4, 3, 3), (4,))
    y, _ = norms.group_norm(x, np.ones(4), np.zeros(4), G=2)
    for n in range(2):
        for grp in (slice(0, 2), slice(2, 4)):
            block = x[n, grp]
            expected = (block - block.mean()) / np.sqrt(block.var() + 1e-5)
            np.testing.assert_allclose(y[n, grp], expected, atol=1e-12)


def test_spatial_batch_norm_is_batch_norm_of_pixels():
    """Every pixel of every image is one example of an (N H W, C) batch."""
    x, gamma, beta, dy = _data((3, 2, 2, 4), (2,), seed=1)
    as_rows = lambda a: a.transpose(0, 2, 3, 1).reshape(-1, 2)  # noqa: E731
    y, cache = norms.spatial_batch_norm(x, gamma, beta)
    y2, cache2 = batchnorm.forward(as_rows(x), gamma, beta)
    assert cache.M == 3 * 2 * 4
    assert rel_error(as_rows(y), y2) < 1e-12
    dx, dg, db = norms.backward(dy, cache)
    dx2, dg2, db2 = batchnorm.backward(as_rows(dy), cache2)
    assert rel_error(as_rows(dx), dx2) < 1e-12
    assert rel_error(dg, dg2) < 1e-12 and rel_error(db, db2) < 1e-12


def test_layer_norm_is_batch_norm_of_the_transpose_when_gamma_is_one():
    x, _, _, dy = _data((4, 6), (6,), seed=2)
    y, cache = norms.layer_norm(x, np.ones(6), np.zeros(6))
    yt, cache_t = batchnorm.forward(x.T, np.ones(4), np.zeros(4))
    assert rel_error(y, yt.T) < 1e-12
    assert rel_error(norms.backward(dy, cache)[0], batchnorm.backward(dy.T, cache_t)[0].T) < 1e-12


@pytest.mark.parametrize("N, D", [(1, 3), (3, 2), (7, 4), (16, 1)])
def test_batch_norm_agrees_with_lib_batchnorm(N, D):
    x, gamma, beta, dy = _data((N, D), (D,), seed=N + D)
    y, cache = norms.batch_norm(x, gamma, beta)
    y_ref, cache_ref = batchnorm.forward(x, gamma, beta)
    assert rel_error(y, y_ref) < 1e-12
    for got, ref in zip(norms.backward(dy, cache), batchnorm.backward(dy, cache_ref)):
        assert rel_error(got, ref) < 1e-12


@pytest.mark.parametrize("method", batchnorm.METHODS)
def test_batch_norm_agrees_with_every_method_of_lib_batchnorm(method):
    """For N = 2 the input gradient is nearly zero, so compare it with the scale of gamma dy / s."""
    for N, D in [(2, 2), (7, 4), (16, 1)]:
        x, gamma, beta, dy = _data((N, D), (D,), seed=N + D)
        _, cache = norms.batch_norm(x, gamma, beta)
        _, cache_ref = batchnorm.forward(x, gamma, beta)
        (dx, dg, db), (dx_ref, dg_ref, db_ref) = (norms.backward(dy, cache),
                                                  batchnorm.backward(dy, cache_ref, method=method))
        scale = np.abs(gamma * dy * cache.inv_std).max()
        assert np.abs(dx - dx_ref).max() < 1e-12 * scale
        assert rel_error(dg, dg_ref) < 1e-12 and rel_error(db, db_ref) < 1e-12


def test_wrappers_are_forward_with_axes():
    x, gamma, beta, dy = _data((2, 3, 2, 2), (3,), seed=3)
    y1, c1 = norms.spatial_batch_norm(x, gamma, beta)
    y2, c2 = norms.forward(x, gamma, beta, axes=(0, 2, 3))
    assert np.array_equal(y1, y2)
    for a, b in zip(norms.backward(dy, c1), norms.backward(dy, c2)):
        assert np.array_equal(a, b)


def test_effective_batch_sizes():
    x = np.random.default_rng(0).normal(size=(2, 6, 3, 5))
    assert norms.spatial_batch_norm(x, np.ones(6), np.zeros(6))[1].M == 2 * 3 * 5
    assert norms.group_norm(x, np.ones(6), np.zeros(6), G=3)[1].M == 2 * 3 * 5
    assert norms.layer_norm(x, np.ones((6, 3, 5)), np.zeros((6, 3, 5)))[1].M == 6 * 3 * 5
    assert norms.batch_norm(x[:, :, 0, 0], np.ones(6), np.zeros(6))[1].M == 2


def test_batch_of_one_gives_beta():
    x = np.array([[3.0, -1.0]])
    y, cache = norms.batch_norm(x, np.array([2.0, 3.0]), np.array([0.5, -0.5]))
    assert np.array_equal(y, [[0.5, -0.5]])
    assert np.array_equal(norms.backward(np.ones((1, 2)), cache)[0], np.zeros((1, 2)))


# --------------------------------------------------------------------------
# float32
# --------------------------------------------------------------------------

@pytest.mark.parametrize("fn, shape, args, pshape, _axes", CASES, ids=IDS)
def test_float32_stays_float32_and_close_to_float64(fn, shape, args, pshape, _axes):
    x, gamma, beta, dy = _data(shape, pshape, seed=4)
    y64, c64 = fn(x, gamma, beta, *args)
    x32, g32, b32, dy32 = (a.astype(np.float32) for a in (x, gamma, beta, dy))
    y32, c32 = fn(x32, g32, b32, *args)
    grads32 = norms.backward(dy32, c32)
    assert y32.dtype == np.float32 and all(a.dtype == np.float32 for a in grads32)
    assert rel_error(y32, y64) < 1e-5
    (dx32, dg32, db32), (dx64, dg64, db64) = grads32, norms.backward(dy, c64)
    # with M = 2 the input gradient nearly cancels: compare it with the scale of gamma dy / s
    scale = np.abs(c64.gamma * dy.reshape(c64.x_hat.shape) * c64.inv_std).max()
    assert np.abs(dx32 - dx64).max() < 1e-4 * scale
    assert rel_error(dg32, dg64) < 1e-4 and rel_error(db32, db64) < 1e-4


# --------------------------------------------------------------------------
# properties
# --------------------------------------------------------------------------

_floats = st.floats(-1e3, 1e3, allow_nan=False, width=64)
_spatial = st.tuples(st.integers(1, 3), st.integers(1, 4), st.integers(1, 3), st.integers(1, 3))


def _layout_input(draw, which):
    if which == "spatial":
        N, C, H, W = draw(_spatial)
        return (N, C, H, W), (C,), (), (0, 2, 3), norms.spatial_batch_norm
    if which == "group":
        N, _, H, W = draw(_spatial)
        G, per = draw(st.integers(1, 3)), draw(st.integers(1, 3))
        return (N, G * per, H, W), (G * per,), (G,), None, norms.group_norm
    if which == "layer":
        N, D = draw(st.integers(1, 4)), draw(st.integers(2, 6))
        return (N, D), (D,), (), (1,), norms.layer_norm
    N, D = draw(st.integers(2, 6)), draw(st.integers(1, 4))
    return (N, D), (D,), (), (0,), norms.batch_norm


@st.composite
def layout_problems(draw):
    which = draw(st.sampled_from(["batch", "spatial", "layer", "group"]))
    shape, pshape, args, axes, fn = _layout_input(draw, which)
    x = draw(arrays(np.float64, shape, elements=_floats))
    dy = draw(arrays(np.float64, shape, elements=st.floats(-10, 10, allow_nan=False)))
    gamma = draw(arrays(np.float64, pshape, elements=st.floats(-3, 3, allow_nan=False)))
    beta = draw(arrays(np.float64, pshape, elements=st.floats(-3, 3, allow_nan=False)))
    return fn, x, gamma, beta, dy, args, axes


def _group_view(a, args, axes):
    """Reshape a group-norm array to (N, G, C/G, H, W) and name its reduced axes."""
    if axes is not None:
        return a, axes
    (G,) = args
    N, C, H, W = a.shape
    return a.reshape(N, G, C // G, H, W), (2, 3, 4)


@settings(max_examples=150, deadline=None)
@given(layout_problems())
def test_outputs_finite_and_centred_gradients_sum_to_zero(problem):
    fn, x, gamma, beta, dy, args, axes = problem
    y, cache = fn(x, gamma, beta, *args)
    dx, dgamma, dbeta = norms.backward(dy, cache)
    for a in (y, dx, dgamma, dbeta):
        assert np.all(np.isfinite(a))
    x_hat, red = _group_view(cache.x_hat.reshape(x.shape), args, axes)
    dxv, _ = _group_view(dx, args, axes)
    scale = 1 + np.abs(x_hat).max()
    assert np.all(np.abs(x_hat.sum(axis=red)) <= 1e-9 * scale * cache.M)
    # the input gradient of each group sums to zero
    gscale = np.abs(dxv).max() + np.abs(dy).max() * np.abs(gamma).max() * cache.inv_std.max()
    assert np.all(np.abs(dxv.sum(axis=red)) <= 1e-9 * (1 + gscale) * cache.M)


@settings(max_examples=60, deadline=None)
@given(layout_problems(), st.floats(0.5, 4.0))
def test_shift_invariance(problem, shift):
    """Adding a constant to x changes neither y nor the gradients (the mean absorbs it)."""
    fn, x, gamma, beta, dy, args, _ = problem
    y, c = fn(x, gamma, beta, *args)
    y2, c2 = fn(x + shift, gamma, beta, *args)
    tol = 1e-6 * (1 + np.abs(y).max())
    assert np.abs(y - y2).max() <= tol
    dx, dx2 = norms.backward(dy, c)[0], norms.backward(dy, c2)[0]
    gscale = np.abs(dy).max() * np.abs(gamma).max() * c.inv_std.max()
    assert np.abs(dx - dx2).max() <= 1e-6 * (1 + gscale)


# --------------------------------------------------------------------------
# bad input: clear messages
# --------------------------------------------------------------------------

X4 = np.ones((2, 4, 2, 2))


@pytest.mark.parametrize("call, exc, message", [
    (lambda: norms.spatial_batch_norm(np.ones((2, 3)), np.ones(3), np.zeros(3)),
     ValueError, r"spatial_batch_norm needs x of shape \(N, C, H, W\), got 2-D"),
    (lambda: norms.batch_norm(X4, np.ones(4), np.zeros(4)),
     ValueError, r"batch_norm needs x of shape \(N, D\), got 4-D"),
    (lambda: norms.layer_norm(np.ones(5), np.ones(5), np.zeros(5)),
     ValueError, r"layer_norm needs x of shape \(N, D\)"),
    (lambda: norms.group_norm(X4, np.ones(4), np.zeros(4), G=3),
     ValueError, r"G = 3 groups must be >= 1 and divide the C = 4 channels"),
    (lambda: norms.group_norm(X4, np.ones(4), np.zeros(4), G=0),
     ValueError, r"G = 0 groups must be >= 1"),
    (lambda: norms.group_norm(X4, np.ones(4), np.zeros(4), G=2.0),
     TypeError, r"G \(the number of groups\) must be an integer"),
    (lambda: norms.group_norm(X4, np.ones(2), np.zeros(4), G=2),
     ValueError, r"gamma must have shape \(4,\) \(one per channel\), got shape \(2,\)"),
    (lambda: norms.spatial_batch_norm(X4, np.ones(3), np.zeros(4)),
     ValueError, r"gamma must have shape \(4,\) .*got shape \(3,\)"),
    (lambda: norms.forward(X4, np.ones(4), np.zeros(4), axes=(0, 4)),
     ValueError, r"axes has axis 4, out of range for x with 4 dimension"),
    (lambda: norms.forward(X4, np.ones(4), np.zeros(4), axes=(0, 0)),
     ValueError, r"axes repeats an axis"),
    (lambda: norms.forward(X4, np.ones(4), np.zeros(4), axes=()),
     ValueError, r"axes is empty"),
    (lambda: norms.forward(X4, np.ones(4), np.zeros(4), axes=(0, "2")),
     TypeError, r"axes must be integers, got '2'"),
    (lambda: norms.forward(X4, np.ones(4), np.zeros(4), axes=True),
     TypeError, r"axes must be integers, got True"),
    (lambda: norms.forward(X4, np.ones(4), np.zeros(4), axes=0, param_axes=(1, 9)),
     ValueError, r"param_axes has axis 9, out of range"),
    (lambda: norms.forward(X4, np.ones(3), np.zeros(4), axes=0),
     ValueError, r"gamma must have shape \(4, 2, 2\) \(the sizes of x's parameter axes \(1, 2, 3\)\)"),
    (lambda: norms.batch_norm(np.array([[1.0, np.nan], [2.0, 3.0]]), np.ones(2), np.zeros(2)),
     ValueError, r"x contains 1 non-finite value\(s\) \(NaN or inf\)"),
    (lambda: norms.batch_norm(np.ones((3, 2)), np.array([1.0, np.inf]), np.zeros(2)),
     ValueError, r"gamma contains 1 non-finite"),
    (lambda: norms.batch_norm(np.ones((3, 2), dtype=np.float16), np.ones(2), np.zeros(2)),
     TypeError, r"x must be a float32 or float64 array, got dtype float16"),
    (lambda: norms.batch_norm(np.ones((3, 2), dtype=complex), np.ones(2), np.zeros(2)),
     TypeError, r"x must be a float32 or float64 array, got dtype complex128"),
    (lambda: norms.batch_norm(np.array([["a", "b"]]), np.ones(2), np.zeros(2)),
     TypeError, r"x must be a float32 or float64 array, got dtype <U1"),
    (lambda: norms.batch_norm(np.ones((3, 2)), np.ones(2), np.zeros(2), eps=0),
     ValueError, r"eps must be a finite number > 0, got 0"),
    (lambda: norms.layer_norm(np.ones((3, 2)), np.ones(2), np.zeros(2), eps=-1e-5),
     ValueError, r"eps must be a finite number > 0"),
    (lambda: norms.layer_norm(np.ones((3, 2)), np.ones(2), np.zeros(2), eps="small"),
     TypeError, r"eps must be a positive real number, got str"),
    (lambda: norms.batch_norm(np.ones((0, 2)), np.ones(2), np.zeros(2)),
     ValueError, r"x is empty: shape \(0, 2\)"),
])
def test_bad_input_is_named(call, exc, message):
    with pytest.raises(exc, match=message):
        call()


def test_backward_checks_dy_and_cache():
    y, cache = norms.layer_norm(np.ones((3, 2)) + np.eye(3, 2), np.ones(2), np.zeros(2))
    with pytest.raises(ValueError, match=r"dy must have the shape of x, \(3, 2\), got shape \(2, 3\)"):
        norms.backward(np.ones((2, 3)), cache)
    with pytest.raises(ValueError, match=r"dy contains 1 non-finite"):
        norms.backward(np.array([[np.nan, 0.0], [0, 0], [0, 0]]), cache)
    _, bn_cache = batchnorm.forward(np.ones((3, 2)), np.ones(2), np.zeros(2))
    with pytest.raises(TypeError, match=r"cache must be the Cache returned by a forward pass of lib.norms"):
        norms.backward(np.ones((3, 2)), bn_cache)
