"""lib.experiments: the facts of chapter 8 and the data behind its widgets."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lib import batchnorm as bn
from lib import experiments as E
from lib.experiments import depth as depth_mod, noise

# --------------------------------------------------------------------------
# 1. the backward map (1/s) P
# --------------------------------------------------------------------------

columns = st.integers(3, 12).flatmap(
    lambda n: st.lists(st.floats(-100, 100, allow_nan=False), min_size=n, max_size=n)
).map(np.array).filter(lambda x: x.std() > 1e-3 * (1 + np.abs(x).max()))


@settings(max_examples=40, deadline=None)
@given(columns)
def test_P_is_an_orthogonal_projection_of_rank_N_minus_2_when_eps_is_0(x):
    d = E.backward_matrix(x, eps=0.0)
    P, N, x_hat = d["P"], d["N"], d["x_hat"]
    assert np.abs(P - P.T).max() < 1e-12                     # symmetric
    assert np.abs(P @ P - P).max() < 1e-12                   # idempotent
    assert abs(np.trace(P) - (N - 2)) < 1e-12                # rank = trace = N - 2
    assert np.linalg.matrix_rank(P, tol=1e-9) == N - 2
    assert np.abs(P @ np.ones(N)).max() < 1e-12              # kills 1
    assert np.abs(P @ x_hat).max() < 1e-12                   # kills x_hat
    assert abs(x_hat @ x_hat - N) < 1e-12 * N


def test_P_is_only_close_to_a_projection_when_eps_is_positive():
    x = np.array([0.0, 0.01, 0.03, -0.02, 0.005])            # sigma^2 ~ 2e-4
    eps = 1e-4
    d = E.backward_matrix(x, eps=eps)
    P, N, x_hat = d["P"], d["N"], d["x_hat"]
    var = x.var()
    assert x_hat @ x_hat == pytest.approx(N * var / (var + eps), rel=1e-12)
    # P x_hat = (1 - ||x_hat||^2/N) x_hat = eps/(var+eps) x_hat, not 0
    assert np.allclose(P @ x_hat, eps / (var + eps) * x_hat, atol=1e-14)
    assert np.abs(P @ P - P).max() > 1e-2


def test_P_over_s_is_the_batchnorm_backward():
    rng = np.random.default_rng(3)
    x, dy = rng.normal(size=7), rng.normal(size=7)
    d = E.backward_matrix(x, eps=1e-5)
    _, cache = bn.forward(x, np.array([2.0]), np.array([0.0]), eps=1e-5)
    dx, _, _ = bn.backward(dy, cache)
    assert np.allclose(dx, 2.0 * d["P"] @ dy / d["s"], rtol=0, atol=1e-12)


def test_gradient_sums_to_zero_is_orthogonal_to_x_minus_mu_and_bounded():
    rng = np.random.default_rng(4)
    x, dy = rng.normal(size=20), rng.normal(size=20)
    _, cache = bn.forward(x, np.array([1.0]), np.array([0.0]), eps=1e-5)
    dx, _, _ = bn.backward(dy, cache)
    s = math.sqrt(x.var() + 1e-5)
    assert abs(dx.sum()) < 1e-12
    assert abs(dx @ (x - x.mean())) < 1e-5 * np.linalg.norm(dx) * np.linalg.norm(x - x.mean())
    assert np.linalg.norm(dx) <= np.linalg.norm(dy) / s


def test_projection_properties_tell_a_projection_from_a_near_projection():
    x = np.array([0.3, -1.2, 2.0, 0.7, -0.4, 1.1])
    exact = E.projection_properties(E.backward_matrix(x, eps=0.0))
    assert exact["rank P"] == 4 and exact["delta"] == 0
    assert max(exact["max |P P - P|"], exact["max |P x_hat - delta x_hat|"]) < 1e-12
    assert exact["trace P"] == pytest.approx(4.0)
    near = E.projection_properties(E.backward_matrix(1e-3 * x, eps=1e-6))
    delta = near["delta"]
    assert 0.1 < delta < 0.9                                  # sigma^2 ~ eps
    assert near["rank P"] == 5 and near["max |P P - P|"] > 1e-2
    assert near["trace P"] == pytest.approx(4 + delta)
    assert near["||x_hat||^2 / N"] == pytest.approx(1 - delta)
    assert near["max |P x_hat - delta x_hat|"] < 1e-12


def test_gradient_properties_of_a_batch():
    rng = np.random.default_rng(6)
    x, dy = rng.normal(1.0, 2.0, size=(16, 3)), rng.normal(size=(16, 3))
    d = E.gradient_properties(x, dy, gamma=0.5)
    assert d["max |column sum of dx|"] < 1e-12
    assert d["max |cos(dx, x - mu)|"] < 10 * d["max delta"] < 1e-4
    assert 0.5 < d["max ||dx|| s / ||g||"] <= 1
    # a column whose variance is close to eps is far from orthogonal
    x[:, 0] *= 1e-3
    assert E.gradient_properties(x, dy, eps=1e-5)["max |cos(dx, x - mu)|"] > 1e-2


def test_degenerate_batches_lose_the_input():
    one, two = E.degenerate_batch(1, seed=1), E.degenerate_batch(2, seed=1)
    assert not np.any(one["y"]) and one["max |dx|"] == 0
    assert np.allclose(np.abs(two["y"]), 1, atol=1e-2)
    assert np.allclose(two["y"].sum(axis=0), 0) and two["max |dx|"] < 0.1


def test_table_renders_rows_columns_and_key_values():
    rows = [{"N": 3, "spread": 2.76612, "regime": "small"},
            {"N": 256, "spread": 0.14237, "regime": "large"}]
    lines = E.table(rows).splitlines()
    assert lines[0].split() == ["N", "spread", "regime"]
    assert lines[1].split() == ["3", "2.766", "small"] and lines[2].split()[:2] == ["256", "0.1424"]
    assert lines[1].startswith("  3  ") and lines[2].startswith("256  ")  # numbers right
    assert lines[1].index("small") == lines[2].index("large") == lines[0].index("regime")
    cols = E.table({"N": np.array([4, 8]), "rate": np.array([1.74, 1.18])},
                   ["N", "rate"], digits=2, title="linear")
    assert cols.splitlines() == ["linear", "N  rate", "4   1.7", "8   1.2"]
    kv = E.table({"rank P": 4, "max |P P - P|": 8.3e-17})
    assert kv.splitlines() == ["rank P         4", "max |P P - P|  8.3e-17"]
    with pytest.raises(ValueError, match="no key"):
        E.table(rows, ["N", "bias"])
    with pytest.raises(TypeError, match="data must be"):
        E.table("N spread")


def test_training_summary_reports_first_and_last_values():
    run = E.train_scale_invariant(steps=20, weight_decay=0.0)
    (row,) = E.training_summary([run])
    assert row["||w||"] == f"{run['w_norm'][0]:.2f} -> {run['w_norm'][-1]:.2f}"
    assert row["accuracy"] == run["accuracy"] and row["weight_decay"] == 0.0


def test_backward_matrix_rejects_a_constant_column_with_eps_0():
    with pytest.raises(ValueError, match="constant"):
        E.backward_matrix(np.ones(4), eps=0.0)


def test_projection_energy_matches_N_minus_2_over_N_within_sampling_error():
    # 4 standard errors: a correct simulation fails this with probability < 1e-4 per N
    d = E.projection_energy([3, 4, 6, 10, 32], n_samples=4000, seed=1)
    assert np.all(np.abs(d["simulated"] - d["theory"]) < 4 * d["stderr"])
    assert np.allclose(d["z"] * d["stderr"], np.abs(d["simulated"] - d["theory"]))
    assert np.all(d["stderr"] < 0.01)          # the test has teeth: s.e. far below the gaps 1/N


def test_santurkar_relation_is_an_equality_with_1_over_m_not_1_over_sqrt_m():
    rng = np.random.default_rng(5)
    for m in (4, 10, 50):
        x, g = rng.normal(size=m), rng.normal(size=m)
        d = E.santurkar_check(x, g, gamma=1.7)
        assert d["rhs_1_over_m"] == pytest.approx(d["lhs"], rel=1e-8)
        assert d["rhs_1_over_sqrt_m"] < d["lhs"]   # so "<= with 1/sqrt(m)" is false here


# --------------------------------------------------------------------------
# 2. scale
# --------------------------------------------------------------------------

@pytest.mark.parametrize("a", [0.5, 3.0, 40.0])
def test_gradient_scales_by_1_over_a_and_output_is_invariant(a):
    d = E.scale_response(a, eps=0.0)
    assert d["y_change"] < 1e-13
    assert d["grad_norm"] == pytest.approx(d["grad_norm_theory"], rel=1e-12)
    d1 = E.scale_response(1.0, eps=0.0)
    assert d["grad_norm"] * a == pytest.approx(d1["grad_norm"], rel=1e-12)


def test_eps_breaks_scale_invariance_where_a2_sigma2_is_near_eps():
    big = E.scale_response(10.0, eps=1e-4)
    near = E.scale_response(math.sqrt(1e-4), eps=1e-4)      # a^2 sigma^2 = eps
    assert big["regime"] == "invariant" and near["regime"] == "transition"
    assert big["grad_norm"] == pytest.approx(big["grad_norm_theory"], rel=1e-5)
    assert near["grad_norm"] < 0.8 * near["grad_norm_theory"]
    assert near["y_change"] > 0.2
    tiny = E.scale_response(1e-6, eps=1e-4)
    assert tiny["grad_norm"] == pytest.approx(tiny["grad_cap"], rel=1e-3)


def test_weight_scaling_ioffe_szegedy_section_3_3():
    d = E.weight_scale_check(4.0, eps=1e-12)
    assert d["output_diff"] < 1e-9
    assert d["grad_ratio"] == pytest.approx(0.25, rel=1e-8)
    assert d["grad_diff"] < 1e-8
    assert d["orthogonality"] < 1e-8
    # the second equation: the gradient reaching u does not change with the weights' scale
    assert d["input_grad_diff"] < 1e-9
    # and the check can see it break: with eps comparable to a^2 sigma^2 it does change
    broken = E.weight_scale_check(0.01, eps=1e-2)
    assert broken["input_grad_diff"] > 1e-2


def test_training_without_weight_decay_grows_norms_and_shrinks_effective_lr():
    plain = E.train_scale_invariant(steps=150, weight_decay=0.0)
    decay = E.train_scale_invariant(steps=150, weight_decay=5e-3)
    assert plain["w_norm"][-1] > plain["w_norm"][0]
    assert np.all(np.diff(plain["w_norm"]) > -1e-6)          # SGD on a scale-invariant weight
    assert plain["eff_lr"][-1] < plain["eff_lr"][0]
    assert decay["w_norm"][-1] < plain["w_norm"][-1]
    assert plain["loss"][-20:].mean() < plain["loss"][:20].mean()


# --------------------------------------------------------------------------
# 3. batch size
# --------------------------------------------------------------------------

def test_batch_noise_spread_shrinks_with_N_about_like_1_over_sqrt_N():
    small, large = E.batch_noise(16), E.batch_noise(256)
    assert large["spread"] < small["spread"] / 2.5
    ratio = small["spread"] / large["spread"]
    assert 2.5 < ratio < 6.5                                 # sqrt(256/16) = 4
    assert large["bias"] < 0.05


def test_batch_noise_is_deterministic():
    a, b = E.batch_noise(8, seed=3), E.batch_noise(8, seed=3)
    assert np.array_equal(a["grads"], b["grads"])
    assert not np.array_equal(a["grads"], E.batch_noise(8, seed=4)["grads"])


def test_batch_noise_gradient_matches_lib_batchnorm():
    d = E.batch_noise(5, n_batches=3, D=3, seed=2)
    # rebuild the first batch and differentiate it with lib.batchnorm
    x0, t0, v, _ = noise._noise_setup(3, 2)
    others, t_others = noise._noise_pool(256, 3, 3, 2)
    X = np.vstack([x0, others[0, :4]])
    T = np.concatenate([[t0], t_others[0, :4]])
    y, cache = bn.forward(X, np.ones(3), np.zeros(3))
    dx, _, _ = bn.backward(np.outer(y @ v - T, v), cache)
    assert np.allclose(d["grads"][0], dx[0], atol=1e-10)


@pytest.mark.parametrize("N", [1, 2])
def test_batch_noise_degenerate_sizes_explain(N):
    d = E.batch_noise(N)
    assert isinstance(d["explanation"], str) and f"N = {N}" in d["explanation"]
    if N == 1:
        assert not np.any(d["grads"])


# --------------------------------------------------------------------------
# 4. depth
# --------------------------------------------------------------------------

def test_linear_bn_growth_rate_is_near_yang_N_minus_2_over_N_minus_3():
    d = E.depth_rates([8, 16], depth=40, width=128, seeds=(0, 1))
    # finite width biases the rate slightly down; 30% of the excess over 1 allowed
    excess_sim, excess_th = d["simulated"] - 1, d["theory"] - 1
    assert np.all(np.abs(excess_sim - excess_th) < 0.3 * excess_th)


def test_relu_bn_explodes_faster_than_linear_and_no_bn_does_not_explode():
    relu = E.depth_profile(40, 64, activation="relu", width=64)
    lin = E.depth_profile(40, 64, activation="linear", width=64)
    plain = E.depth_profile(40, 64, activation="relu", batchnorm=False, width=64)
    assert relu["rate"] == pytest.approx(E.RELU_RATE_LIMIT, rel=0.05)
    assert lin["rate"] < 1.1 < relu["rate"]
    assert 0.9 < plain["rate"] < 1.1
    assert relu["first_over_last"] == pytest.approx(relu["grad_sq"][0] / relu["grad_sq"][-1])
    assert relu["first_over_last"] > 1e4 and plain["first_over_last"] < 100


def test_depth_profile_gradient_matches_finite_differences():
    # a 3-layer ReLU + BN net, N = 5, width 4: compare dJ/dW_1 (norm) with finite differences
    from lib.gradcheck import numerical_gradient
    depth, N, width, seed = 3, 5, 4, 0
    W_all = depth_mod._depth_weights(depth_mod._MAX_DEPTH, width, seed)[:depth].copy()
    h0, G = depth_mod._depth_inputs(N, width, seed)

    def loss(W1):
        h = h0
        for l in range(depth):
            z = h @ (W1 if l == 0 else W_all[l])
            z = (z - z.mean(0)) / np.sqrt(z.var(0) + 1e-5)
            h = np.maximum(z, 0)
        return float((G * h).sum())

    num = numerical_gradient(loss, W_all[0], h=1e-6)
    d = E.depth_profile(depth, N, activation="relu", width=width, seed=seed)
    assert d["grad_sq"][0] == pytest.approx((num ** 2).sum(), rel=1e-5)


@pytest.mark.parametrize("depth,N,word", [(1, 16, "depth 1"), (10, 1, "batch size 1"),
                                           (10, 2, "batch size 2"), (10, 3, "batch size 3")])
def test_depth_profile_degenerate_settings_explain(depth, N, word):
    d = E.depth_profile(depth, N)
    assert word in d["explanation"]
    assert d["grad_sq"].shape == (depth,)


def test_scale_response_a_zero_explains():
    d = E.scale_response(0.0)
    assert "a = 0" in d["explanation"] and d["grad_norm"] == pytest.approx(d["grad_cap"])
    d0 = E.scale_response(0.0, eps=0.0)
    assert "0 by 0" in d0["explanation"] and math.isnan(d0["grad_norm"])
    assert E.scale_response(1.0)["explanation"] is None


# --------------------------------------------------------------------------
# bad arguments
# --------------------------------------------------------------------------

@pytest.mark.parametrize("call,exc,word", [
    (lambda: E.batch_noise(-1), ValueError, "N"),
    (lambda: E.batch_noise(0), ValueError, "N"),
    (lambda: E.batch_noise(2.5), TypeError, "N"),
    (lambda: E.batch_noise("8"), TypeError, "N"),
    (lambda: E.batch_noise(True), TypeError, "N"),
    (lambda: E.batch_noise(8, n_batches=1), ValueError, "n_batches"),
    (lambda: E.scale_response(float("nan")), ValueError, "a"),
    (lambda: E.scale_response(-1.0), ValueError, "a"),
    (lambda: E.scale_response("1"), TypeError, "a"),
    (lambda: E.scale_response(1.0, eps=-1e-5), ValueError, "eps"),
    (lambda: E.scale_response(1.0, eps=float("inf")), ValueError, "eps"),
    (lambda: E.depth_profile(0, 8), ValueError, "depth"),
    (lambda: E.depth_profile(10, -4), ValueError, "batch_size"),
    (lambda: E.depth_profile(10, 8, activation="tanh"), ValueError, "activation"),
    (lambda: E.depth_profile(10, 8, batchnorm="yes"), TypeError, "batchnorm"),
    (lambda: E.depth_profile(10 ** 4, 8), ValueError, "depth"),
])
def test_bad_arguments_name_the_argument(call, exc, word):
    with pytest.raises(exc, match=rf"^{word} "):
        call()


def test_cached_results_cannot_be_changed_by_a_caller():
    # a reader who writes into a result must not change what the next call returns
    ref = E.batch_noise(8)["reference"]
    with pytest.raises(ValueError, match="read-only"):
        ref[:] = 0
    assert np.isfinite(E.batch_noise(16)["spread"])
    grid = E.scale_response(1.0)["a_grid"]
    with pytest.raises(ValueError, match="read-only"):
        grid[0] = -1.0
    prof = E.depth_profile(5, 8)
    prof["grad_sq"][:] = 0                       # a copy: writable, and harmless
    assert E.depth_profile(5, 8)["grad_sq"].min() > 0


def test_table_is_text_and_an_html_table():
    t = E.table([{"N": 4, "spread": 0.5}, {"N": 16, "spread": 0.25}], title="noise")
    assert str(t).splitlines()[1].split() == ["N", "spread"]
    html = t._repr_html_()
    assert html.startswith('<div class="bn-table-wrap" role="region" tabindex="0" aria-label="noise">'
                           '<table class="bn-table"><caption>noise</caption>')
    assert html.count("<tr>") == 3 and '<th scope="col" style="text-align:right">N</th>' in html
    assert '<td class="bn-num" style="text-align:right">0.5</td>' in html     # a number never wraps
    wide = E.table([{"grad_norm_theory": 1.0, "first/last": "a b", "lib.f": 2}])._repr_html_()
    assert ">grad_<wbr>norm_<wbr>theory</th>" in wide and ">first/<wbr>last</th>" in wide   # headers may
    assert '<th scope="col" style="text-align:right">lib.<wbr>f</th>' in wide
    assert '<td style="text-align:left">a b</td>' in wide                                  # text may
    kv = E.table({"rank P": 4})._repr_html_()
    assert '<th scope="row"' in kv and "<td" in kv and ">4</td>" in kv


def test_table_prints_as_its_text_not_its_repr():
    """The PDF edition shows text/plain: the table's lines, not a quoted string with \\n in it."""
    from IPython.core.formatters import PlainTextFormatter
    t = E.table([{"N": 4, "spread": 0.5}], title="noise")
    shown = PlainTextFormatter()(t)
    assert shown == str(t) and "\\n" not in shown and not shown.startswith("'")


# -- the derivation's widgets (lib.experiments.derivation): what their pages say ------------

def test_a_normalized_batch_has_mean_0_and_variance_1_and_ignores_the_scale():
    from lib.experiments.derivation import batch_statistics
    from lib.widgets.derivation import LAYER_BATCH_SIZES, LAYER_SCALES
    for N in LAYER_BATCH_SIZES:
        at_one = batch_statistics(N, 1.0)["x_hat"]
        for scale in LAYER_SCALES:
            d = batch_statistics(N, scale)
            assert np.allclose(d["x_hat"].mean(axis=0), 0, atol=1e-9)
            assert np.allclose(d["x_hat"].var(axis=0), d["batch_var"] / (d["batch_var"] + 1e-5))
            assert np.abs(d["x_hat"] - at_one).max() < 1e-2, "the scale visibly moves the normalized batch"
            assert not np.allclose(d["x_inference"], d["x_hat"]), "inference equals training mode"


def test_the_jacobian_of_a_column_is_dense_except_at_n_2_without_eps():
    from lib import batchnorm as bn, gradcheck
    from lib.experiments.derivation import column_jacobian
    from lib.widgets.derivation import JACOBIAN_EPS, JACOBIAN_SIZES
    for N in JACOBIAN_SIZES:
        for eps in JACOBIAN_EPS:
            d = column_jacobian(N, eps)
            if N == 2 and eps == 0:
                assert d["zero_entries"] == 4 and d["largest"] < 1e-12
            else:
                assert d["zero_entries"] == 0, (N, eps)
    d = column_jacobian(5, 0.1)
    one, zero = np.ones(1), np.zeros(1)
    numeric = np.array([gradcheck.numerical_gradient(lambda z: bn.forward(z, one, zero, 0.1)[0][i], d["x"])
                        for i in range(5)])
    assert gradcheck.rel_error(numeric, d["J"]) < 1e-6


def test_the_three_paths_add_up_and_the_variance_path_vanishes_at_the_mean():
    from lib import batchnorm as bn
    from lib.experiments.derivation import path_contributions
    from lib.widgets.derivation import PATH_BATCH_SIZES, SHIFTS
    for N in PATH_BATCH_SIZES:
        assert abs(path_contributions(0.0, N)["via_var"]) < 1e-12
        for shift in SHIFTS:
            d = path_contributions(shift, N)
            assert np.isclose(d["direct"] + d["via_var"] + d["via_mu"], d["total"])
    x, dy = np.random.default_rng(3).normal(size=(6, 2)), np.random.default_rng(4).normal(size=(6, 2))
    _, cache = bn.forward(x, np.ones(2), np.zeros(2))
    direct, via_var, via_mu = bn.rowwise_paths(dy, cache)
    assert np.allclose(direct + via_var + via_mu, bn.backward(dy, cache, "simplified")[0])
    assert np.allclose(via_mu, via_mu[0]), "the path through mu differs between examples"


def test_p_g_is_perpendicular_to_x_hat_only_without_eps():
    from lib.experiments.derivation import projection_plane
    from lib.widgets.derivation import ANGLES, PROJECTION_EPS
    for angle in ANGLES:
        assert abs(projection_plane(angle, 0.0)["cos_Pg_xhat"]) < 1e-12
        for eps in PROJECTION_EPS[1:]:
            d = projection_plane(angle, eps)
            assert 0 < d["delta"] < 1 and np.isclose(d["delta"], eps / (1 / 3 + eps)), d
    assert max(abs(projection_plane(a, 0.5)["cos_Pg_xhat"]) for a in ANGLES) > 0.05


def test_theorem_4_1_version_is_named_the_same_way_on_the_page_and_in_the_code():
    """Issue 24, item 12: the page and the docstrings say the same thing about which
    version of Santurkar et al.'s Theorem 4.1 carries 1/sqrt(m): transcriptions give it,
    and what the published statement carries was not confirmed."""
    import inspect
    import re
    from pathlib import Path

    from lib.steps import gradient as gr
    page = (Path(__file__).resolve().parents[1] / "book" / "chapters" / "08_gradient.md").read_text()
    page = re.sub(r"\s+", " ", page)
    for name, text in [("chapter 8", page),
                       ("santurkar_check", re.sub(r"\s+", " ", inspect.getdoc(E.santurkar_check))),
                       ("santurkar_formula", re.sub(r"\s+", " ", inspect.getdoc(gr.santurkar_formula)))]:
        assert "transcriptions" in text.lower(), name
        assert "not confirm" in text or "not been able to confirm" in text, name
        assert not re.search(r"as printed|printed in the paper|the printed 1/", text), name
