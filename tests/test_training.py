"""Chapter 10: the training library, its bad-input messages, and the direction of every claim.

The claims are re-run at the smallest configuration of each experiment: a
change to lib that reversed a result the chapter states fails here (and the
page's own asserts fail the build).
"""
from __future__ import annotations

import numpy as np
import pytest

from lib import batchnorm as bn
from lib import claims
from lib import training as T
from lib.experiments import train_claims as tc
from lib.experiments import training as tx
from lib.gradcheck import numerical_gradient, rel_error


@pytest.fixture(scope="module")
def data():
    return T.digits()


def _with_random_biases(net, seed=0):
    rng = np.random.default_rng(seed)
    for layer in T.weight_layers(net):
        layer.params["b"][:] = 0.1 * rng.normal(size=layer.params["b"].shape)
    return net


# ---------------------------------------------------------------- the data and the layers

def test_digits_are_split_once_and_read_only(data):
    assert data.x_train.shape == (1348, 64) and data.x_test.shape == (449, 64)
    assert 0.0 <= data.x_train.min() and data.x_train.max() <= 1.0
    assert set(np.unique(data.y_test)) == set(range(10))
    with pytest.raises(ValueError, match="read-only"):
        data.x_train[0, 0] = 5.0
    assert T.digits() is data



def test_the_digits_read_from_scikit_learns_file_are_its_load_digits(monkeypatch):
    from sklearn.datasets import load_digits

    x, y = T.load_digits()
    expected_x, expected_y = load_digits(return_X_y=True)
    assert np.array_equal(x, expected_x) and x.dtype == expected_x.dtype
    assert np.array_equal(y, expected_y) and y.dtype == expected_y.dtype
    # and where a release of scikit-learn has moved the file, its loader is used
    monkeypatch.setattr(T, "DIGITS_FILE", ("sklearn", "datasets", "data", "moved.csv.gz"))
    assert np.array_equal(T.load_digits()[0], expected_x)

def test_make_net_stacks_linear_bn_relu_and_a_readout():
    net = T.make_net(2, 8, seed=0)
    assert [type(layer).__name__ for layer in net] == [
        "Linear", "BatchNorm", "ReLU", "Linear", "BatchNorm", "ReLU", "Linear"]
    assert net[0].params["W"].shape == (64, 8) and net[-1].params["W"].shape == (8, 10)
    assert [type(layer).__name__ for layer in T.make_net(1, 4, batchnorm=False)] == [
        "Linear", "ReLU", "Linear"]


def test_batchnorm_layer_is_lib_batchnorm(data):
    layer = T.BatchNorm(5)
    z = np.random.default_rng(1).normal(size=(16, 5))
    y = layer.forward(z)
    np.testing.assert_array_equal(y, bn.forward(z, np.ones(5), np.zeros(5))[0])
    dy = np.random.default_rng(2).normal(size=(16, 5))
    np.testing.assert_array_equal(layer.backward(dy), bn.backward(dy, bn.forward(z, np.ones(5), np.zeros(5))[1])[0])


@pytest.mark.parametrize("batchnorm", [True, False])
def test_whole_network_gradient_matches_finite_differences(data, batchnorm):
    net = _with_random_biases(T.make_net(3, 8, batchnorm=batchnorm, seed=1))
    errors = T.gradient_check(net, data.x_train[:16], data.y_train[:16])
    assert len(errors) == (14 if batchnorm else 8)
    assert max(errors.values()) < 1e-7


def test_gradient_check_sees_a_wrong_backward(data, monkeypatch):
    net = _with_random_biases(T.make_net(2, 6, seed=2))
    monkeypatch.setattr(T.ReLU, "backward", lambda self, dh: dh)      # forgets the mask
    assert max(T.gradient_check(net, data.x_train[:16], data.y_train[:16]).values()) > 1e-3


def test_noise_changes_at_every_step_and_is_in_the_backward_pass(data):
    net = T.make_net(1, 6, noise=T.Noise(1.0, 2.0), seed=0)
    x = data.x_train[:16]
    assert np.abs(T.forward(net, x) - T.forward(net, x)).max() > 0.1        # a new draw each step
    np.testing.assert_array_equal(T.forward(net, x, noisy=False), T.forward(net, x, noisy=False))
    # with the noise frozen, the layer's gradient is the gradient of the noisy function
    layer = net[1]
    scale, shift = layer.noise.draw((16, 6))
    assert np.ptp(scale, axis=0).min() > 0 and np.ptp(shift, axis=0).min() > 0   # per example
    layer.noise.draw = lambda shape: (scale, shift)
    z = np.random.default_rng(3).normal(size=(16, 6))
    g = np.random.default_rng(4).normal(size=(16, 6))
    layer.forward(z)
    analytic = layer.backward(g)
    numeric = numerical_gradient(lambda v: float((g * layer.forward(v)).sum()), z)
    assert rel_error(analytic, numeric) < 1e-8


def test_training_lowers_the_loss_and_beats_chance(data):
    out = T.train(T.make_net(2, 32, seed=0), data, lr=0.3, steps=100)
    assert out["loss"][-10:].mean() < 0.5 * out["loss"][:10].mean()
    assert out["test_accuracy"] > 0.8


def test_hook_records_every_few_steps(data):
    out = T.train(T.make_net(1, 8), data, lr=0.1, steps=25, every=10,
                  hook=lambda t, net, x, y: {"n": len(y)})
    assert [r["step"] for r in out["records"]] == [0, 10, 20] and out["records"][0]["n"] == 64


# ---------------------------------------------------------------- bad input

@pytest.mark.parametrize("kwargs, message", [
    (dict(lr=0.0), "learning rate must be a finite number > 0"),
    (dict(lr=-1.0), "learning rate must be a finite number > 0"),
    (dict(lr=float("nan")), "learning rate must be a finite number > 0"),
    (dict(lr="0.1"), "learning rate must be a finite number > 0"),
    (dict(lr=0.1, batch_size=5000), "batch_size = 5000 is larger than the 1348 training examples"),
    (dict(lr=0.1, steps=0), "steps must be >= 1"),
    (dict(lr=0.1, batch_size=2.5), "batch_size must be an integer"),
])
def test_bad_training_arguments_are_named(data, kwargs, message):
    kwargs = {"steps": 5, **kwargs}
    with pytest.raises((ValueError, TypeError), match=message):
        T.train(T.make_net(1, 4), data, **kwargs)


def test_an_empty_network_is_refused(data):
    with pytest.raises(ValueError, match="empty layer list"):
        T.train([], data, lr=0.1, steps=5)


def test_noise_without_batchnorm_is_refused():
    with pytest.raises(ValueError, match="noise goes after batch-norm layers"):
        T.make_net(2, 4, batchnorm=False, noise=T.Noise())


def test_a_diverging_run_stops_and_says_where(data):
    net = T.make_net(2, 16, batchnorm=False, seed=0)
    net[2].params["W"][:] = 1e308                        # the second Linear overflows
    with pytest.raises(T.Diverged, match=r"non-finite at step 0, in layer 2 \(Linear") as err:
        T.train(net, data, lr=0.1, steps=5)
    assert err.value.step == 0 and err.value.layer == 2


def test_a_diverged_run_is_a_result_in_the_sweep():
    out = tx._run(3, 8, False, 1e150, 20, 0)
    assert out["diverged"] is not None and out["test_accuracy"] == 0.1


# ---------------------------------------------------------------- residual networks

@pytest.mark.parametrize("kind", T.RESNET_KINDS)
def test_residual_network_gradient_matches_finite_differences(data, kind):
    net = _with_random_biases(T.make_resnet(3, 8, kind=kind, seed=1))
    for layer in net:
        if isinstance(layer, T.Residual) and "alpha" in layer.params:
            layer.params["alpha"][...] = 0.3              # SkipInit away from its start at 0
    errors = T.gradient_check(net, data.x_train[:16], data.y_train[:16])
    assert max(errors.values()) < 1e-6, errors
    if kind == "skipinit":
        assert any(key.endswith(".alpha") for key in errors)


def test_a_residual_block_adds_its_branch_and_skipinit_starts_as_the_identity(data):
    x = data.x_train[:8]
    net = T.make_resnet(2, 8, kind="skipinit", seed=0)
    stem, blocks, head = net[:1], net[1:-2], net[-2:]
    assert all(isinstance(b, T.Residual) and float(b.alpha) == 0.0 for b in blocks)
    np.testing.assert_array_equal(T.forward(net, x), T.forward(stem + head, x))
    block = T.make_resnet(1, 8, kind="residual", seed=0)[1]
    h = T.forward(net[:1], x)
    branch = T.forward(block.branch, h)
    np.testing.assert_allclose(block.forward(h), h + branch)
    assert len(T.weight_layers(T.make_resnet(5, 8, kind="residual+bn"))) == 7   # stem, 5 branches, read-out


@pytest.mark.parametrize("call, message", [
    (lambda: T.make_resnet(0, 8), "depth must be >= 1"),
    (lambda: T.make_resnet(3, 8, kind="densenet"), "unknown residual network 'densenet'"),
    (lambda: T.Residual([T.ReLU()], alpha=float("nan")), "alpha must be finite"),
    (lambda: tx.resnet_sweep((0.1, 0.3), ratio_lr=1.0), "ratio_lr = 1.0 must be one of"),
])
def test_bad_residual_arguments_are_named(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# ---------------------------------------------------------------- every claim, smallest configuration

SMALLEST = {
    "lr": (lambda: tx.lr_sweep((0.1, 0.3, 3.0, 10.0), steps=150, seeds=(0, 1, 2)), tc.lr_claims),
    "depth": (lambda: tx.gradient_norms(depth=6, steps=100, every=25, seeds=(0, 1, 2)), tc.depth_claims),
    "noisy": (lambda: tx.noisy_bn(steps=150, seeds=(0, 1, 2)), tc.noisy_claims),
    "ics": (lambda: tx.covariate_shift(depth=4, steps=100, every=25, seeds=(0, 1, 2)), tc.ics_claims),
    "landscape": (lambda: tx.landscape(depth=4, steps=100, every=50, seeds=(0, 1, 2)),
                  tc.landscape_claims),
    "resnet": (lambda: tx.resnet_sweep((0.01, 0.1, 1.0), depth=4, steps=60, every=20, seeds=(0, 1, 2)),
               tc.resnet_claims),
}


@pytest.mark.parametrize("name", SMALLEST)
def test_every_claim_is_a_claim_object_over_the_seeds(name):
    """Each claim function returns lib.claims.Claim objects, one value per seed, with a bound."""
    run, make = SMALLEST[name]
    found, numbers = make(run())
    assert found and all(isinstance(c, claims.Claim) and len(c.values) == 3 for c in found.values())
    assert all(c.chapter == 10 and c.key.startswith(("train-", "res-train-")) for c in found.values())
    assert all(np.isfinite(v) for v in numbers.values())


def test_claims_see_a_reversed_result():
    """A claim says it does not hold when the result goes the other way."""
    d = tx.lr_sweep((0.1, 0.3, 3.0, 10.0), steps=150, seeds=(0, 1, 2))
    swapped = {**d, "bn": d["plain"], "plain": d["bn"]}
    found, _ = tc.lr_claims(swapped)
    assert not found["factor"].holds and not found["gap"].holds
    with pytest.raises(claims.ClaimError, match="train-lr-factor"):
        found["factor"].check()
    s = tx.covariate_shift(depth=4, steps=100, every=25, seeds=(0, 1, 2))
    found, _ = tc.ics_claims({**s, "bn": s["plain"], "plain": s["bn"]})
    assert not any(c.holds for c in found.values())


def test_experiment_results_are_reproducible_and_read_only():
    a = tx.gradient_norms(depth=6, steps=100, every=25)
    tx.gradient_norms.cache_clear()
    b = tx.gradient_norms(depth=6, steps=100, every=25)
    np.testing.assert_array_equal(a["bn"]["norms"], b["bn"]["norms"])
    with pytest.raises(ValueError, match="read-only"):
        b["bn"]["ratio"][0] = 0.0
