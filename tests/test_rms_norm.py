"""lib.norms.rms_norm: forward and the one backward against finite differences, its rank,
and clear messages for bad input."""
import numpy as np
import pytest

from lib import norms
from lib.gradcheck import numerical_gradient, rel_error


def _data(shape, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    return (rng.normal(1.0, 2.0, size=shape).astype(dtype),
            rng.normal(1.0, 0.5, size=shape[1:]).astype(dtype), rng.normal(size=shape).astype(dtype))


@pytest.mark.parametrize("shape", [(4, 5), (3, 2), (2, 3, 2), (1, 1)])
def test_gradients_match_finite_differences(shape):
    x, gamma, dy = _data(shape)
    _, cache = norms.rms_norm(x, gamma)
    grads = norms.backward(dy, cache)
    assert len(grads) == 2, "RMS norm has no beta: backward gives (dx, dgamma)"
    dx, dgamma = grads
    loss = lambda xx, gg: float(np.sum(norms.rms_norm(xx, gg)[0] * dy))  # noqa: E731
    assert rel_error(dx, numerical_gradient(lambda v: loss(v, gamma), x)) < 1e-7
    assert rel_error(dgamma, numerical_gradient(lambda v: loss(x, v), gamma)) < 1e-7
    assert dx.shape == shape and dgamma.shape == shape[1:]


def test_forward_is_x_over_its_root_mean_square():
    x, gamma, _ = _data((3, 4), seed=1)
    y, cache = norms.rms_norm(x, gamma, eps=1e-3)
    r = np.sqrt((x ** 2).mean(axis=1, keepdims=True) + 1e-3)
    np.testing.assert_allclose(y, gamma * x / r, rtol=1e-13)
    assert cache.M == 4 and not cache.centred


def test_backward_is_the_uncentred_projection():
    """dJ/dx = (1/r)(I - x_hat x_hat^T/d) g: the mean of g is kept, unlike layer norm."""
    x, gamma, dy = _data((1, 6), seed=2)
    _, cache = norms.rms_norm(x, gamma)
    dx, _ = norms.backward(dy, cache)
    xh, r, g = cache.x_hat[0], 1 / cache.inv_std[0, 0], gamma * dy[0]
    np.testing.assert_allclose(dx[0], (np.eye(6) - np.outer(xh, xh) / 6) @ g / r, rtol=1e-12)
    _, ln = norms.layer_norm(x, gamma, np.zeros(6))
    assert abs(norms.backward(dy, ln)[0].sum()) < 1e-12 and abs(dx.sum()) > 1e-3


@pytest.mark.parametrize("d", [2, 3, 5, 8])
def test_rank_is_d_minus_1_against_layer_norms_d_minus_2(d):
    """The Jacobian of dx in dy (gamma = 1, eps tiny against the mean square)."""
    x = np.random.default_rng(d).normal(size=(1, d))
    jac = {}
    for name, layer in (("rms", lambda v: norms.rms_norm(v, np.ones(d), eps=1e-12)),
                        ("ln", lambda v: norms.layer_norm(v, np.ones(d), np.zeros(d), eps=1e-12))):
        _, cache = layer(x)
        jac[name] = np.array([norms.backward(e[None], cache)[0][0] for e in np.eye(d)])
    assert np.linalg.matrix_rank(jac["rms"], tol=1e-8) == d - 1
    assert np.linalg.matrix_rank(jac["ln"], tol=1e-8) == d - 2


def test_float32_stays_float32():
    x, gamma, dy = _data((3, 5), dtype=np.float32)
    y, cache = norms.rms_norm(x, gamma)
    dx, dgamma = norms.backward(dy, cache)
    assert y.dtype == dx.dtype == dgamma.dtype == np.float32


@pytest.mark.parametrize("call, exc, message", [
    (lambda: norms.rms_norm(3.0, np.ones(1)), ValueError,
     r"rms_norm needs x of shape \(N, D\) or \(N, D1, \.\.\.\), non-empty, got a scalar"),
    (lambda: norms.rms_norm(np.ones(4), np.ones(4)), ValueError, r"rms_norm needs x .*got shape \(4,\)"),
    (lambda: norms.rms_norm(np.ones((2, 0)), np.ones(0)), ValueError, r"non-empty, got shape \(2, 0\)"),
    (lambda: norms.rms_norm(np.ones((2, 4)), np.ones(3)), ValueError,
     r"gamma must have shape \(4,\) \(the sizes of x's parameter axes \(1,\)\), got shape \(3,\)"),
    (lambda: norms.rms_norm(np.ones((2, 4)), np.ones((2, 4))), ValueError, r"gamma must have shape \(4,\)"),
    (lambda: norms.rms_norm(np.array([[1.0, np.nan]]), np.ones(2)), ValueError,
     r"x contains 1 non-finite value\(s\) \(NaN or inf\)"),
    (lambda: norms.rms_norm(np.ones((2, 2)), np.array([1.0, np.inf])), ValueError, r"gamma contains 1 non-finite"),
    (lambda: norms.rms_norm(np.ones((2, 2), dtype=np.float16), np.ones(2)), TypeError,
     r"x must be a float32 or float64 array, got dtype float16"),
    (lambda: norms.rms_norm(np.ones((2, 2)), np.ones(2), eps=0.0), ValueError, r"eps must be a finite number > 0"),
])
def test_bad_input_is_named(call, exc, message):
    with pytest.raises(exc, match=message):
        call()


def test_backward_checks_dy():
    _, cache = norms.rms_norm(np.ones((3, 2)), np.ones(2))
    with pytest.raises(ValueError, match=r"dy must have the shape of x, \(3, 2\), got shape \(2, 3\)"):
        norms.backward(np.ones((2, 3)), cache)
