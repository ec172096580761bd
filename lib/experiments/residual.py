"""Residual networks and the norms of transformers: gradients at initialization.

One fully connected ReLU network of ``depth`` blocks, width ``width``, on a Gaussian batch
of ``batch_size`` examples, with the loss :math:`J = \\sum G \\odot x_L` for a fixed Gaussian
G (the output passes through a final layer norm in the pre-LN stack). Weights are
:math:`\\mathcal N(0, 1/\\text{width})`, times :math:`\\sqrt 2` (He) where no normalization
follows. The architectures (:data:`ARCHITECTURES`), block l mapping :math:`x_l` to
:math:`x_{l+1}`:

``plain``        :math:`\\phi(\\sqrt2\\, x W)`  (chapter 8's ReLU network without batch norm)
``plain+bn``     :math:`\\phi(\\mathrm{BN}(x W))`  (chapter 8's with batch norm)
``residual``     :math:`x + \\alpha \\sqrt2\\, \\phi(x) W`, α = 1
``skipinit``     the same with a small branch scale α, 0 by default (De and Smith 2020)
``residual+bn``  :math:`x + \\alpha\\, \\mathrm{BN}(\\phi(x) W)`, α = 1: batch norm last in the branch
``pre-ln``       :math:`x + \\sqrt2\\, \\phi(\\mathrm{LN}(x) W_1) W_2`  (a transformer's MLP sub-layer)
``post-ln``      :math:`\\mathrm{LN}(x + \\sqrt2\\, \\phi(x W_1) W_2)`

with φ = ReLU, BN over the batch and LN over the features of each example (γ = 1, β = 0,
ε = 1e-5; the numerics of :mod:`lib.norms`). The blocks of the last two are the MLP half of
a transformer layer only, without attention: a small stand-in for Xiong et al. (2020).
"""
from __future__ import annotations

import math

import numpy as np

from lib.experiments.args import choice_arg, int_arg, real_arg
from lib.store import cached
from lib.experiments.depth import RELU_RATE_LIMIT
from lib.norms import input_grad, normalize

__all__ = ["ARCHITECTURES", "SCALED", "MAX_DEPTH", "THEORY", "profile", "growth_fit", "growth_rates",
           "last_layer_scaling", "skip_variance"]

ARCHITECTURES = ("plain", "plain+bn", "residual", "skipinit", "residual+bn", "pre-ln", "post-ln")
"""The architectures :func:`profile` knows."""
SCALED = ("residual", "skipinit", "residual+bn")
"""The architectures with a scale alpha on the residual branch."""
MAX_DEPTH = 200
_EPS = 1e-5
_ROOT2 = math.sqrt(2.0)


@cached(4)
def _weights(depth, width, seed):
    """W_1 and W_2 of every block (the same draws for every architecture and depth)."""
    rng = np.random.default_rng([seed, width, 7])
    return rng.normal(size=(2, depth, width, width)) / math.sqrt(width)


@cached(16)
def _inputs(batch_size, width, seed):
    rng = np.random.default_rng([seed, width, batch_size, 8])
    return rng.normal(size=(batch_size, width)), rng.normal(size=(batch_size, width))


def _relu(z):
    mask = z > 0
    return z * mask, mask


def _norm(z, axis):
    """Batch norm (axis 0) or layer norm (axis 1) with gamma = 1, beta = 0."""
    x_hat, _, s = normalize(z, axis, _EPS)
    return x_hat, (x_hat, s, axis)


def _norm_back(delta, cache):
    x_hat, s, axis = cache
    return input_grad(delta, x_hat, s, axis)


def _forward(arch, x, W1, W2, alpha):
    """One block: its output and what its backward pass needs."""
    if arch == "plain":
        out, mask = _relu(_ROOT2 * x @ W1)
        return out, (x, mask)
    if arch == "plain+bn":
        x_hat, norm = _norm(x @ W1, 0)
        out, mask = _relu(x_hat)
        return out, (x, norm, mask)
    if arch in ("residual", "skipinit"):
        a, mask = _relu(x)
        return x + alpha * _ROOT2 * a @ W1, (a, mask)
    if arch == "residual+bn":
        a, mask = _relu(x)
        b, norm = _norm(a @ W1, 0)
        return x + alpha * b, (a, mask, norm)
    if arch == "pre-ln":
        u, norm = _norm(x, 1)
        a, mask = _relu(u @ W1)
        return x + _ROOT2 * a @ W2, (u, norm, a, mask)
    a, mask = _relu(x @ W1)                                   # post-ln
    out, norm = _norm(x + _ROOT2 * a @ W2, 1)
    return out, (x, a, mask, norm)


def _backward(arch, delta, cache, W1, W2, alpha):
    """dJ/d(block input) and dJ/dW of the block's last weight, from dJ/d(block output)."""
    if arch == "plain":
        x, mask = cache
        dz = _ROOT2 * delta * mask
        return dz @ W1.T, x.T @ dz
    if arch == "plain+bn":
        x, norm, mask = cache
        dz = _norm_back(delta * mask, norm)
        return dz @ W1.T, x.T @ dz
    if arch in ("residual", "skipinit"):
        a, mask = cache
        dz = alpha * _ROOT2 * delta
        return delta + (dz @ W1.T) * mask, a.T @ dz
    if arch == "residual+bn":
        a, mask, norm = cache
        dz = _norm_back(alpha * delta, norm)
        return delta + (dz @ W1.T) * mask, a.T @ dz
    if arch == "pre-ln":
        u, norm, a, mask = cache
        da = (_ROOT2 * delta @ W2.T) * mask
        return delta + _norm_back(da @ W1.T, norm), _ROOT2 * a.T @ delta
    x, a, mask, norm = cache                                  # post-ln
    dsum = _norm_back(delta, norm)
    dz = (_ROOT2 * dsum @ W2.T) * mask
    return dsum + dz @ W1.T, _ROOT2 * a.T @ dsum


@cached(256)
def _run(arch, depth, batch_size, width, alpha, seed):
    """Squared norms of dJ/dx_l (l = 0..depth-1, the input of block l + 1) and of dJ/dW of
    each block's last weight; and the mean square of x_l (over the batch and the features)."""
    W = _weights(MAX_DEPTH, width, seed)
    x, G = _inputs(batch_size, width, seed)
    caches, var = [], np.empty(depth + 1)
    for i in range(depth):
        var[i] = (x * x).mean()
        x, c = _forward(arch, x, W[0, i], W[1, i], alpha)
        caches.append(c)
    var[depth] = (x * x).mean()
    final = None
    if arch == "pre-ln":                                      # the stack's final layer norm
        x, final = _norm(x, 1)
    delta = G if final is None else _norm_back(G, final)
    stream, weight = np.empty(depth), np.empty(depth)
    for i in range(depth - 1, -1, -1):
        delta, dW = _backward(arch, delta, caches[i], W[0, i], W[1, i], alpha)
        stream[i], weight[i] = float((delta * delta).sum()), float((dW * dW).sum())
    return stream, weight, var


def _check(arch, depth, batch_size, width, branch_scale, seed):
    arch = choice_arg("architecture", arch, ARCHITECTURES)
    depth = int_arg("depth", depth, 1)
    if depth > MAX_DEPTH:
        raise ValueError(f"depth must be <= {MAX_DEPTH}, got {depth}")
    B = int_arg("batch_size", batch_size, 2)
    width = int_arg("width", width, 2)
    seed = int_arg("seed", seed, 0)
    if arch not in SCALED:
        if branch_scale is not None:
            raise ValueError(f"branch_scale applies to the architectures {SCALED}, not {arch!r}")
        return arch, depth, B, width, None, seed
    if branch_scale is None:
        return arch, depth, B, width, 0.0 if arch == "skipinit" else 1.0, seed
    return arch, depth, B, width, real_arg("branch_scale", branch_scale), seed


def profile(architecture, depth, *, batch_size=32, width=64, branch_scale=None, seed=0):
    """Gradient norms block by block at initialization, for one architecture.

    Parameters
    ----------
    architecture : one of :data:`ARCHITECTURES`
    depth : int, 1 ... 200, the number of blocks
    batch_size : int >= 2, default 32
    width : int >= 2, default 64
    branch_scale : float, optional
        α on the residual branch (``residual``, ``skipinit``, ``residual+bn``); default 1,
        and 0 for ``skipinit``. Must be finite; None for the other architectures.
    seed : int, default 0

    Returns
    -------
    dict with ``architecture``, ``depth``, ``batch_size``, ``width``, ``branch_scale``,
    ``layer`` (1 ... depth), ``stream_sq`` (the squared norm of dJ/dx at the input of each
    block: the gradient the skip path carries), ``weight_sq`` (the squared norm of the
    gradient of each block's last weight matrix), ``mean_square`` (of x_l over the batch and
    the features, l = 0 ... depth: the variance of a centred stream, the quantity He's
    initialization keeps) and ``first_over_last``
    (``stream_sq[0] / stream_sq[-1]``).
    """
    arch, depth, B, width, alpha, seed = _check(architecture, depth, batch_size, width,
                                                branch_scale, seed)
    stream, weight, var = _run(arch, depth, B, width, 1.0 if alpha is None else alpha, seed)
    return {"architecture": arch, "depth": depth, "batch_size": B, "width": width,
            "branch_scale": alpha, "layer": np.arange(1, depth + 1), "stream_sq": stream.copy(),
            "weight_sq": weight.copy(), "mean_square": var.copy(),
            "first_over_last": float(stream[0] / stream[-1])}


# --------------------------------------------------------------------------
# the kind of growth: exponential or polynomial
# --------------------------------------------------------------------------

THEORY = {"plain": ("flat", 1.0), "plain+bn": ("exponential", RELU_RATE_LIMIT),
          "residual": ("exponential", 2.0), "skipinit": ("exponential", None),
          "residual+bn": ("power law", RELU_RATE_LIMIT), "pre-ln": ("power law", 1.0),
          "post-ln": (None, None)}
"""What the variance argument predicts for ||dJ/dx_l||^2 going down: the kind, and the
rate (exponential: the factor a block) or the exponent (power law). The rate of ``skipinit``
is 1 + alpha^2; ``plain+bn``'s is Yang et al.'s large-batch limit pi/(pi - 1)."""


def growth_fit(stream_sq, v0=1.0):
    """Fit ``log stream_sq[l]`` (l = 0 ... L-1) by a line in l and by a line in log(v0 + l).

    Returns ``rate`` (exp of minus the slope in l: the factor by which the squared norm
    grows a block going down), ``exponent`` (minus the slope in log(v0 + l): growth like
    (v0 + l)^-exponent), and the root-mean-square residual of each fit,
    ``exp_residual`` and ``power_residual``.
    """
    y = np.log(np.asarray(stream_sq, dtype=float))
    out = {}
    for name, t in (("exp", np.arange(y.size)), ("power", np.log(v0 + np.arange(y.size)))):
        coef = np.polyfit(t, y, 1)
        out[name] = (-coef[0], float(np.sqrt(np.mean((np.polyval(coef, t) - y) ** 2))))
    return {"rate": float(np.exp(out["exp"][0])), "exponent": float(out["power"][0]),
            "exp_residual": out["exp"][1], "power_residual": out["power"][1]}


def _interval(values, level=0.95):
    """Mean and half-width of the t interval over seeds (:func:`lib.claims.t_interval`)."""
    from lib.claims import t_interval
    mean, low, high = t_interval(values, level)
    return mean, (high - low) / 2


def growth_rates(architectures=ARCHITECTURES, *, depth=100, batch_size=32, width=64,
                 branch_scale=None, seeds=range(5), level=0.95):
    """The growth of ||dJ/dx_l||^2 with depth for each architecture, over ``seeds``.

    ``branch_scale`` applies to the architectures of :data:`SCALED` (default: theirs).
    For each architecture, :func:`growth_fit` on every seed's :func:`profile` (v0 = the
    input's mean square), and the t interval at ``level`` over the seeds of the rate and of the
    exponent. ``kind`` is ``"flat"`` when the rate's interval holds 1, else the fit with the
    smaller mean residual (``"exponential"`` or ``"power law"``); ``wins`` counts the seeds
    on which that fit has the smaller residual.

    Returns a list of dicts, one an architecture: ``architecture``, ``branch_scale``,
    ``rate``, ``rate_pm``, ``exponent``, ``exponent_pm`` (the half-widths), ``kind``,
    ``wins``, ``seeds``, ``theory_kind``, ``theory`` (:data:`THEORY`; 1 + alpha^2 for
    ``skipinit``).
    """
    seeds = tuple(int_arg("seeds[k]", s, 0) for s in seeds)
    if len(seeds) < 2:
        raise ValueError(f"an interval needs at least 2 seeds, got {len(seeds)}")
    rows = []
    for arch in architectures:
        runs = [profile(arch, depth, batch_size=batch_size, width=width,
                        branch_scale=branch_scale if arch in SCALED else None, seed=s)
                for s in seeds]
        fits = [growth_fit(p["stream_sq"], p["mean_square"][0]) for p in runs]
        rate, rate_pm = _interval([f["rate"] for f in fits], level)
        expo, expo_pm = _interval([f["exponent"] for f in fits], level)
        exp_won = [f["exp_residual"] < f["power_residual"] for f in fits]
        if abs(rate - 1) <= rate_pm:
            kind, wins = "flat", len(seeds)
        else:
            better = np.mean([f["exp_residual"] for f in fits]) < np.mean([f["power_residual"] for f in fits])
            kind, wins = ("exponential", sum(exp_won)) if better else ("power law", len(seeds) - sum(exp_won))
        alpha = runs[0]["branch_scale"]
        theory_kind, theory = THEORY[runs[0]["architecture"]]
        if runs[0]["architecture"] == "skipinit":
            theory = 1 + alpha ** 2
        rows.append({"architecture": runs[0]["architecture"], "branch_scale": alpha,
                     "rate": rate, "rate_pm": rate_pm, "exponent": expo, "exponent_pm": expo_pm,
                     "kind": kind, "wins": wins, "seeds": len(seeds),
                     "theory_kind": theory_kind, "theory": theory})
    return rows


def last_layer_scaling(architecture, depths=(6, 12, 25, 50, 100), *, batch_size=32, width=64,
                       seeds=range(5), level=0.95):
    """How the gradient of the last block's last weight scales with the depth L.

    For each seed, the slope of ``log weight_sq[-1]`` against ``log L`` over ``depths``
    (Xiong et al. 2020 bound it by a constant for post-LN and by a multiple of
    :math:`1/\\sqrt L` in norm, so :math:`1/L` squared, for pre-LN).

    Returns a dict with ``architecture``, ``depths``, ``last_sq`` (mean over seeds, one
    value a depth), ``slope`` and ``slope_pm`` (the t interval's half-width at ``level``).
    """
    seeds = tuple(int_arg("seeds[k]", s, 0) for s in seeds)
    if len(seeds) < 2:
        raise ValueError(f"an interval needs at least 2 seeds, got {len(seeds)}")
    depths = [int_arg("depths[k]", L, 1) for L in depths]
    last = np.array([[profile(architecture, L, batch_size=batch_size, width=width, seed=s)["weight_sq"][-1]
                      for L in depths] for s in seeds])
    slopes = [np.polyfit(np.log(depths), np.log(row), 1)[0] for row in last]
    slope, pm = _interval(slopes, level)
    return {"architecture": architecture, "depths": np.array(depths), "last_sq": last.mean(axis=0),
            "slope": slope, "slope_pm": pm}


def skip_variance(architecture, *, depth=100, batch_size=32, width=64, branch_scale=None,
                  seeds=range(5), level=0.95):
    """How the mean square v_l of the skip path grows block by block, over ``seeds``.

    With batch norm in the branch (``residual+bn``) or layer norm before it (``pre-ln``)
    each block adds about 1: the fitted ``step`` is the slope of v_l against l. Otherwise
    the fitted ``factor`` is exp of the slope of log v_l against l (2 for ``residual``,
    1 + alpha^2 for ``skipinit``). Returns a dict with ``architecture``, ``branch_scale``,
    ``fit`` ("step" or "factor"), ``value``, ``pm`` (the t interval's half-width at
    ``level``), ``theory`` (1, 2 or 1 + alpha^2) and ``mean_square`` (v_l, mean over seeds).
    """
    seeds = tuple(int_arg("seeds[k]", s, 0) for s in seeds)
    if len(seeds) < 2:
        raise ValueError(f"an interval needs at least 2 seeds, got {len(seeds)}")
    runs = [profile(architecture, depth, batch_size=batch_size, width=width,
                    branch_scale=branch_scale, seed=s) for s in seeds]
    arch, alpha, l = runs[0]["architecture"], runs[0]["branch_scale"], np.arange(depth + 1)
    additive = arch in ("residual+bn", "pre-ln")
    fits = [np.polyfit(l, p["mean_square"], 1)[0] if additive
            else math.exp(np.polyfit(l, np.log(p["mean_square"]), 1)[0]) for p in runs]
    value, pm = _interval(fits, level)
    theory = 1.0 if additive else (1 + alpha ** 2 if alpha is not None else None)
    return {"architecture": arch, "branch_scale": alpha, "fit": "step" if additive else "factor",
            "value": value, "pm": pm, "theory": theory,
            "mean_square": np.mean([p["mean_square"] for p in runs], axis=0)}
