"""lib.experiments.residual: gradients through residual stacks at initialization."""
import math

import numpy as np
import pytest

from lib.experiments import residual as R
from lib.norms import layer_norm, batch_norm, backward


def _numeric_stream(arch, depth=3, B=6, width=5, alpha=None, h=1e-6):
    """dJ/dx_0 by centred differences through the same forward pass."""
    W = R._weights(R.MAX_DEPTH, width, 0)
    x0, G = R._inputs(B, width, 0)
    a = 1.0 if alpha is None else alpha

    def J(x):
        for i in range(depth):
            x, _ = R._forward(arch, x, W[0, i], W[1, i], a)
        if arch == "pre-ln":
            x = R._norm(x, 1)[0]
        return float((G * x).sum())
    grad = np.zeros_like(x0)
    for idx in np.ndindex(*x0.shape):
        e = np.zeros_like(x0)
        e[idx] = h
        grad[idx] = (J(x0 + e) - J(x0 - e)) / (2 * h)
    return grad


@pytest.mark.parametrize("arch", R.ARCHITECTURES)
def test_the_backward_pass_matches_finite_differences(arch):
    alpha = 0.5 if arch == "skipinit" else None
    p = R.profile(arch, 3, batch_size=6, width=5, branch_scale=alpha)
    numeric = _numeric_stream(arch, alpha=alpha)
    assert math.isclose(p["stream_sq"][0], float((numeric ** 2).sum()), rel_tol=1e-6)


def test_the_numerics_are_lib_norms():
    """The unchecked helpers agree with the checked layers (gamma = 1, beta = 0)."""
    z = np.random.default_rng(0).normal(size=(6, 4))
    dy = np.random.default_rng(1).normal(size=(6, 4))
    for axis, layer in ((0, batch_norm), (1, layer_norm)):
        x_hat, cache = R._norm(z, axis)
        y, c = layer(z, np.ones(4), np.zeros(4))
        np.testing.assert_allclose(x_hat, y, atol=1e-12)
        np.testing.assert_allclose(R._norm_back(dy, cache), backward(dy, c)[0], atol=1e-10)


def test_skipinit_at_zero_is_the_identity():
    p = R.profile("skipinit", 20)
    assert np.allclose(p["stream_sq"], p["stream_sq"][0]) and not p["weight_sq"].any()


def test_growth_fit_recovers_a_rate_and_an_exponent():
    l = np.arange(50)
    exp_fit = R.growth_fit(3.0 * 1.5 ** -l.astype(float))
    power_fit = R.growth_fit(2.0 * (1.0 + l) ** -1.3)
    assert math.isclose(exp_fit["rate"], 1.5) and exp_fit["exp_residual"] < 1e-9
    assert math.isclose(power_fit["exponent"], 1.3) and power_fit["power_residual"] < 1e-9


def test_the_kinds_over_seeds():
    rows = {r["architecture"]: r for r in R.growth_rates(["plain+bn", "residual", "residual+bn"],
                                                         depth=60, seeds=range(3))}
    assert rows["plain+bn"]["kind"] == rows["residual"]["kind"] == "exponential"
    assert rows["residual+bn"]["kind"] == "power law"
    assert abs(rows["residual"]["rate"] - 2) < 0.2


@pytest.mark.parametrize("call, exc, message", [
    (lambda: R.profile("resnet", 10), ValueError, r"architecture must be one of 'plain'.*got 'resnet'"),
    (lambda: R.profile("plain", 0), ValueError, r"depth must be an integer >= 1, got 0"),
    (lambda: R.profile("plain", 201), ValueError, r"depth must be <= 200"),
    (lambda: R.profile("residual", 10, branch_scale=math.nan), ValueError, r"branch_scale must be finite"),
    (lambda: R.profile("skipinit", 10, branch_scale=math.inf), ValueError, r"branch_scale must be finite"),
    (lambda: R.profile("plain", 10, branch_scale=0.5), ValueError, r"branch_scale applies to the architectures"),
    (lambda: R.profile("plain+bn", 10, batch_size=1), ValueError, r"batch_size must be an integer >= 2"),
    (lambda: R.growth_rates(["plain"], seeds=[0]), ValueError, r"an interval needs at least 2 seeds"),
])
def test_bad_input_is_named(call, exc, message):
    with pytest.raises(exc, match=message):
        call()
