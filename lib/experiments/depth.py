"""Depth: gradient norms layer by layer at initialization (chapter 8, "Depth").

Deep fully connected networks with batch norm and no skip connections have
exploding gradients at initialization (Yang et al. 2019): going from the
output towards the input, the squared norm of the weight gradient grows by a
factor (N - 2)/(N - 3) a layer in a linear network, more with ReLU.
"""
from __future__ import annotations

import math

import numpy as np

from lib.experiments.args import bool_arg, choice_arg, int_arg
from lib.store import cached
from lib.norms import input_grad, normalize

__all__ = ["RELU_RATE_LIMIT", "yang_linear_rate", "depth_profile", "depth_rates",
           "heuristic_factors"]

RELU_RATE_LIMIT = math.pi / (math.pi - 1)
"""Large-batch limit of the per-layer growth of the squared gradient norm in
a deep ReLU network with batch norm at initialization (Yang et al. 2019)."""


def yang_linear_rate(N):
    """(N - 2)/(N - 3): per-layer growth of the squared gradient norm in a deep
    linear network with batch norm at initialization (Yang et al. 2019), N >= 4."""
    N = int_arg("N", N, 4)
    return (N - 2) / (N - 3)


@cached(8)
def _depth_weights(depth, width, seed):
    rng = np.random.default_rng([seed, width])
    W = rng.normal(size=(depth, width, width)) / math.sqrt(width)
    return W


@cached(32)
def _depth_inputs(N, width, seed):
    rng = np.random.default_rng([seed, width, N, 1])
    return rng.normal(size=(N, width)), rng.normal(size=(N, width))


_MAX_DEPTH = 200


@cached(64)
def _depth_run(depth, N, activation, batchnorm, width, seed):
    """Squared Frobenius norms of dJ/dW_l, l = 1..depth, for one network (BN eps 1e-5)."""
    W_all = _depth_weights(_MAX_DEPTH, width, seed)
    gain = math.sqrt(2.0) if activation == "relu" and not batchnorm else 1.0
    h, G = _depth_inputs(N, width, seed)
    layers = []                               # (input h, BN scale s, x_hat, ReLU mask)
    for l in range(depth):
        z = h @ W_all[l] * gain
        s = x_hat = mask = None
        if batchnorm:
            x_hat, _, s = normalize(z, 0, 1e-5)
            z = x_hat
        if activation == "relu":
            mask = z > 0
            z = z * mask
        layers.append((h, s, x_hat, mask))
        h = z
    delta = G                                 # dJ/dh_depth for J = sum(G * h_depth)
    grad_sq = np.empty(depth)
    for l in range(depth - 1, -1, -1):
        h_in, s, x_hat, mask = layers[l]
        if mask is not None:
            delta = delta * mask
        if s is not None:                     # the (1/s) P map of every column
            delta = input_grad(delta, x_hat, s)
        delta = delta * gain                  # now dJ/dz, z = h_in @ W_l
        grad_sq[l] = float(((h_in.T @ delta) ** 2).sum())
        delta = delta @ W_all[l].T
    return grad_sq


def _fit_rate(gW, skip=3):
    """Per-layer growth of the squared norm going down: exp of the slope of
    log ||dJ/dW_l||^2 against (depth - l), fitted by least squares, leaving out
    the ``skip`` layers nearest the input and nearest the output."""
    L = gW.size
    lo, hi = skip, L - skip
    if hi - lo < 2:
        lo, hi = 0, L
    layers = np.arange(L)[lo:hi]
    logs = np.log(np.maximum(gW[lo:hi], 1e-300))
    slope = np.polyfit(layers, logs, 1)[0]
    return float(np.exp(-slope))


def depth_profile(depth, batch_size, *, activation="linear", batchnorm=True, width=64, seed=0):
    """Gradient norm per layer at initialization in a deep fully connected net.

    Layer l computes h_l = phi(BN(h_{l-1} W_l)) (or phi(h_{l-1} W_l) without
    batch norm), with W_l entries N(0, 1/width) (times sqrt(2) for ReLU
    without BN, He's initialization), phi the identity or ReLU, and the loss
    J = sum(G * h_depth) for a fixed Gaussian G. The input batch is
    Gaussian, batch_size x width. Deep networks with batch norm and no skip
    connections have exploding gradients at initialization (Yang et al.
    2019): going from the output to the input, ||dJ/dW_l||^2 grows by a
    factor (N - 2)/(N - 3) a layer for linear networks, more for ReLU
    (tending to pi/(pi - 1) as N grows).

    Parameters
    ----------
    depth : int, 1 ... 200
    batch_size : int >= 1
    activation : {"linear", "relu"}
    batchnorm : bool, default True
    width : int >= 2, default 64
    seed : int, default 0

    Speed: the cost is proportional to depth * batch_size * width^2; at
    depth 50, batch size 128 and width 64 a call takes about 10 ms of CPU
    (results are memoised, so revisiting a setting is free).

    Returns
    -------
    dict with keys

    ``layer``
        1 ... depth;
    ``grad_sq``
        ||dJ/dW_l||_F^2 for each layer;
    ``rate``
        the simulated per-layer growth factor of ``grad_sq`` (going from the
        output towards the input; a fit of log ``grad_sq`` against l), or
        None when depth < 4;
    ``rate_theory``
        (N - 2)/(N - 3) for linear + BN (N >= 4); 1 without BN; None for
        ReLU + BN (only its large-N limit is known in closed form);
    ``rate_limit``
        the large-N limit: 1 for linear + BN, pi/(pi - 1) for ReLU + BN,
        1 without BN;
    ``first_over_last``
        ||dJ/dW_1||^2 / ||dJ/dW_depth||^2, the growth over the whole depth;
    ``explanation``
        a sentence for degenerate settings (depth 1, N <= 3 with BN), else None.
    """
    depth = int_arg("depth", depth, 1)
    if depth > _MAX_DEPTH:
        raise ValueError(f"depth must be <= {_MAX_DEPTH}, got {depth}")
    N = int_arg("batch_size", batch_size, 1)
    activation = choice_arg("activation", activation, ("linear", "relu"))
    batchnorm = bool_arg("batchnorm", batchnorm)
    width = int_arg("width", width, 2)
    seed = int_arg("seed", seed, 0)
    grad_sq = _depth_run(depth, N, activation, batchnorm, width, seed).copy()
    rate = _fit_rate(grad_sq) if depth >= 4 else None
    if batchnorm:
        limit = 1.0 if activation == "linear" else RELU_RATE_LIMIT
        theory = yang_linear_rate(N) if activation == "linear" and N >= 4 else None
    else:
        limit, theory = 1.0, 1.0
    explanation = None
    if batchnorm and N == 1:
        explanation = ("batch size 1: every channel is its own mean, the BN output is beta whatever "
                       "the input, and every gradient below the last layer is zero.")
        rate = None
    elif batchnorm and N == 2:
        explanation = ("batch size 2: BN maps any two values to -1 and +1, so its output does not "
                       "depend on its input and the gradient vanishes (up to eps) below the last layer.")
        rate = None
    elif batchnorm and N == 3 and activation == "linear":
        explanation = ("batch size 3: the theory's rate (N-2)/(N-3) is infinite - the expected squared "
                       "gradient is unbounded, and one simulation shows erratic jumps.")
    elif depth == 1:
        explanation = "depth 1: a single layer, so there is no growth from layer to layer to measure."
    elif depth < 4:
        explanation = "depth < 4: too few layers to fit a growth rate; try a deeper network."
    return {"depth": depth, "batch_size": N, "activation": activation, "batchnorm": batchnorm,
            "width": width, "layer": np.arange(1, depth + 1), "grad_sq": grad_sq,
            "rate": rate, "rate_theory": theory, "rate_limit": limit,
            "first_over_last": float(grad_sq[0] / grad_sq[-1]) if grad_sq[-1] > 0 else math.inf,
            "explanation": explanation}


def depth_rates(batch_sizes, *, depth=40, activation="linear", width=128, seeds=(0, 1, 2, 3, 4)):
    """Simulated per-layer growth rates with batch norm, for several batch sizes.

    For each N, the rate of :func:`depth_profile` averaged (geometric mean)
    over ``seeds`` (one network each), with its standard error across seeds.

    Returns
    -------
    dict with ``N``, ``simulated``, ``stderr``, ``theory``
    ((N - 2)/(N - 3) for linear, nan for ReLU), ``seeds`` and ``per_seed``
    (N x seeds: each network's rate).
    """
    Ns = [int_arg("batch_sizes[k]", b, 4) for b in batch_sizes]
    sims, errs, per_seed = [], [], []
    for N in Ns:
        logs = [math.log(_fit_rate(_depth_run(depth, N, activation, True, width, s))) for s in seeds]
        per_seed.append(np.exp(logs))
        sims.append(math.exp(np.mean(logs)))
        errs.append(sims[-1] * np.std(logs, ddof=1) / math.sqrt(len(logs)) if len(logs) > 1 else math.nan)
    theory = [yang_linear_rate(N) if activation == "linear" else math.nan for N in Ns]
    return {"N": np.array(Ns), "simulated": np.array(sims), "stderr": np.array(errs),
            "theory": np.array(theory), "activation": activation, "depth": depth, "width": width,
            "seeds": tuple(seeds), "per_seed": np.array(per_seed)}


def depth_claims(rates, smallest=6, within=0.05):
    """Chapter 8's claims about :func:`depth_rates` (linear): for N >= ``smallest``, the
    simulated rate is within ``within`` of (N - 2)/(N - 3), and its excess over 1 falls
    short of the theory's. Per seed, the mean over those N.

    Returns ``(claims, numbers)``: a dict of :class:`lib.claims.Claim` and the
    glued numbers (``shortfall``: by how much the excess falls short, as a fraction).
    """
    from lib.claims import Claim

    if rates["activation"] != "linear":
        raise ValueError("depth_claims compares with (N - 2)/(N - 3): pass linear depth_rates")
    keep = rates["N"] >= smallest
    sim, theory = rates["per_seed"][keep], rates["theory"][keep][:, None]
    ratio, excess = (sim / theory).mean(axis=0), ((sim - 1) / (theory - 1)).mean(axis=0)
    exp = f"lib.experiments.depth_rates(depth={rates['depth']})"
    common = dict(chapter=8, experiment=exp, seeds=rates["seeds"])
    found = {
        "close": Claim(key="grad-rate-close", statement=f"for N >= {smallest} the linear rate is within "
                       f"{within:.0%} of (N-2)/(N-3)", quantity="simulated / theory, mean over N",
                       values=tuple(ratio), low=1 - within, high=1 + within, **common),
        "short": Claim(key="grad-rate-short", statement="its excess over 1 falls short of the theory's",
                       quantity="(simulated - 1)/(theory - 1), mean over N", values=tuple(excess),
                       high=1.0, **common)}
    return found, {"smallest": smallest, "within": 100 * within,
                   "shortfall": 100 * float(1 - excess.mean())}


def _ratio_of_means(num, den):
    """num.mean()/den.mean() and its standard error (delta method)."""
    r = num.mean() / den.mean()
    return r, float(((num - r * den) / den.mean()).std(ddof=1) / math.sqrt(num.size))


def heuristic_factors(batch_sizes, *, n_samples=20000, seed=0):
    """The two factors of the depth heuristic, by simulation, against their exact values.

    For a standard normal column z of N pre-activations and an upstream gradient that already
    lies in the space perpendicular to 1_N (g a centred standard normal column):

    * ``energy``: E||P g||^2 / E||g||^2 (eps = 0), exactly (N - 2)/(N - 1);
    * ``inverse``: E[1/s^2] E[s^2] for s^2 = ||z - mean(z)||^2 / N, a scaled
      chi^2_{N-1} variable, exactly (N - 1)/(N - 3) (finite variance only for N >= 6).

    Returns a dict with ``N`` and, for each factor, ``simulated``, ``stderr``,
    ``theory`` and ``z`` = |simulated - theory| / stderr.
    """
    Ns = np.asarray([int_arg("batch_sizes[k]", b, 6) for b in batch_sizes])
    n = int_arg("n_samples", n_samples, 100)
    rng = np.random.default_rng(seed)
    out = {"N": Ns, "n_samples": n}
    energy, inverse = [], []
    for N in Ns:
        z = rng.normal(size=(N, n))
        g = rng.normal(size=(N, n))
        g -= g.mean(axis=0)
        x_hat, var, _ = normalize(z, 0, 0.0)
        Pg = input_grad(g, x_hat, 1.0)
        energy.append(_ratio_of_means((Pg * Pg).sum(axis=0), (g * g).sum(axis=0)))
        s2 = var[0]
        m1, m2 = (1 / s2).mean(), s2.mean()
        cov = np.cov(np.vstack([1 / s2, s2]))
        se = math.sqrt((m2 ** 2 * cov[0, 0] + m1 ** 2 * cov[1, 1] + 2 * m1 * m2 * cov[0, 1]) / n)
        inverse.append((m1 * m2, se))
    for name, sims, theory in (("energy", energy, (Ns - 2) / (Ns - 1)),
                               ("inverse", inverse, (Ns - 1) / (Ns - 3))):
        sim, err = np.array([v for v, _ in sims]), np.array([e for _, e in sims])
        out[name] = {"simulated": sim, "stderr": err, "theory": theory,
                     "z": np.abs(sim - theory) / err}
    return out
