"""The backward map of one column is (gamma/s) P (chapter 8, first sections).

For one column with ``eps = 0``, the input gradient is
:math:`(\\gamma/s)\\,P\\,\\partial J/\\partial y` with
:math:`P = I - \\mathbf 1/N - \\hat x\\hat x^\\top/N`, the orthogonal
projection onto the complement of span{1, x_hat}. The functions here build
P, measure how close it is to a projection, check the properties of the
gradient, simulate how much of an isotropic gradient survives, and compare
Santurkar et al.'s Theorem 4.1 with the exact norm.
"""
from __future__ import annotations

import math

import numpy as np

from lib import batchnorm as bn
from lib.checks import as_float_array, check_eps
from lib.experiments.args import column, int_arg, real_arg
from lib.norms import input_grad, normalize

__all__ = ["backward_matrix", "projection_properties", "gradient_properties",
           "projection_energy", "degenerate_batch", "santurkar_check"]


def backward_matrix(x, eps=0.0):
    """The matrix P and the scale s with dJ/dx = (gamma/s) P dJ/dy for one column.

    .. math:: P = I - \\tfrac1N \\mathbf 1 - \\tfrac1N \\hat x \\hat x^\\top

    Parameters
    ----------
    x : array_like, shape (N,)
        One column of a batch (N >= 1; with ``eps = 0`` it must not be
        constant).
    eps : float, default 0
        The variance offset. With ``eps = 0``, P is the orthogonal projection
        onto the complement of span{1, x_hat} (rank N - 2); with ``eps > 0``
        it is only close to one.

    Returns
    -------
    dict with ``P`` (N x N), ``s``, ``x_hat``, ``N``, ``eps`` and ``var``
    (sigma^2).
    """
    x = column("x", x)
    eps = real_arg("eps", eps, minimum=0.0)
    N = x.size
    if eps == 0 and np.all(x == x[0]):
        raise ValueError("x is constant and eps = 0: sigma^2 + eps = 0, so x_hat is undefined")
    x_hat, var, s = normalize(x, 0, eps)
    P = np.eye(N) - 1.0 / N - np.outer(x_hat, x_hat) / N
    return {"P": P, "s": s.item(), "x_hat": x_hat, "N": N, "eps": eps, "var": var.item()}


def projection_properties(d):
    """How close P is to an orthogonal projection of rank N - 2.

    Parameters
    ----------
    d : dict
        The result of :func:`backward_matrix`.

    Returns
    -------
    dict, one entry per property (0 where a projection has 0):
    ``N``; ``delta`` = eps/(sigma^2 + eps), the fraction of the x_hat
    direction that P keeps; ``||x_hat||^2 / N`` (= 1 - delta);
    ``max |P - P^T|`` (symmetry); ``max |P P - P|`` (idempotence);
    ``trace P`` (= N - 2 + delta); ``rank P`` (N - 2 when eps = 0, N - 1
    otherwise); ``max |P 1|``; ``max |P x_hat - delta x_hat|``.
    """
    if not isinstance(d, dict) or not {"P", "x_hat", "N", "eps", "var"} <= set(d):
        raise TypeError("d must be the dict returned by experiments.backward_matrix()")
    P, x_hat, N = d["P"], d["x_hat"], d["N"]
    delta = d["eps"] / (d["var"] + d["eps"])
    return {"N": N, "delta": delta,
            "||x_hat||^2 / N": float(x_hat @ x_hat / N),
            "max |P - P^T|": float(np.abs(P - P.T).max()),
            "max |P P - P|": float(np.abs(P @ P - P).max()),
            "trace P": float(np.trace(P)),
            "rank P": int(np.linalg.matrix_rank(P)),
            "max |P 1|": float(np.abs(P @ np.ones(N)).max()),
            "max |P x_hat - delta x_hat|": float(np.abs(P @ x_hat - delta * x_hat).max())}


def gradient_properties(x, dy, *, gamma=1.0, eps=1e-5):
    """The three properties of a batch-norm input gradient, column by column.

    Runs :func:`lib.batchnorm.forward` and :func:`~lib.batchnorm.backward`
    on a batch ``x`` (N, D) with upstream gradient ``dy`` and reports the
    worst column.

    Returns
    -------
    dict with ``max |column sum of dx|`` (0 exactly, for any eps);
    ``max |cos(dx, x - mu)|`` (0 when eps = 0; of the order of delta
    otherwise); ``max delta`` (eps/(sigma^2 + eps) over the columns) and
    ``max ||dx|| s / ||g||`` (at most 1: the bound ||dx|| <= ||g||/s, with
    g = gamma dy).
    """
    x, dy = as_float_array("x", x, np.float64), as_float_array("dy", dy, np.float64)
    if x.ndim != 2 or x.shape != dy.shape:
        raise ValueError(f"x and dy must be batches of the same shape (N, D), "
                         f"got {x.shape} and {dy.shape}")
    gamma = real_arg("gamma", gamma)
    eps = check_eps(eps)
    D = x.shape[1]
    _, cache = bn.forward(x, np.full(D, gamma), np.zeros(D), eps=eps)
    dx, _, _ = bn.backward(dy, cache)
    xc, var, s = cache.x - cache.mu, cache.var, 1.0 / cache.inv_std
    cos = (dx * xc).sum(axis=0) / (np.linalg.norm(dx, axis=0) * np.linalg.norm(xc, axis=0))
    bound = np.linalg.norm(dx, axis=0) * s / np.linalg.norm(gamma * dy, axis=0)
    return {"max |column sum of dx|": float(np.abs(dx.sum(axis=0)).max()),
            "max |cos(dx, x - mu)|": float(np.abs(cos).max()),
            "max delta": float((eps / (var + eps)).max()),
            "max ||dx|| s / ||g||": float(bound.max())}


def projection_energy(N_values, *, n_samples=4000, eps=0.0, seed=0):
    """E||dJ/dx||^2 s^2 / E||g||^2 for an isotropic Gaussian g, by simulation.

    For each N, draws ``n_samples`` independent columns x and upstream
    gradients g ~ N(0, I) and compares the ratio of means
    sum ||P g||^2 / sum ||g||^2 with the theory (N - 2)/N (exact for
    eps = 0, since E||P g||^2 = trace P = N - 2 and E||g||^2 = N).

    Returns
    -------
    dict with ``N`` (array), ``simulated``, ``theory``, ``stderr``
    (standard error of the simulated ratio, by the delta method), ``z``
    (|simulated - theory| in standard errors) and ``n_samples``.
    """
    Ns = np.asarray([int_arg("N_values[k]", n, 3) for n in np.atleast_1d(N_values)])
    n_samples = int_arg("n_samples", n_samples, 2)
    eps = real_arg("eps", eps, minimum=0.0)
    rng = np.random.default_rng(seed)
    sim, err = [], []
    for N in Ns:
        x = rng.normal(size=(N, n_samples))            # one column per sample
        g = rng.normal(size=(N, n_samples))
        x_hat, _, _ = normalize(x, 0, eps)
        Pg = input_grad(g, x_hat, 1.0)
        num, den = (Pg * Pg).sum(axis=0), (g * g).sum(axis=0)
        r = num.mean() / den.mean()
        # delta method for a ratio of means
        d = (num - r * den) / den.mean()
        sim.append(r)
        err.append(d.std(ddof=1) / math.sqrt(n_samples))
    sim, err, theory = np.array(sim), np.array(err), (Ns - 2) / Ns
    return {"N": Ns, "simulated": sim, "theory": theory, "stderr": err,
            "z": np.abs(sim - theory) / err, "n_samples": n_samples, "eps": eps}


def degenerate_batch(N, *, D=3, seed=0):
    """Batch norm on a batch of N = 1 or 2 examples: the output and the gradient.

    Draws x and dy, both (N, D), from ``seed`` (an int or a
    ``numpy.random.Generator``), and runs :mod:`lib.batchnorm` with
    gamma = 1, beta = 0 and the default eps.

    Returns
    -------
    dict with ``N``, ``y`` (the output: 0 = beta for N = 1, -1 and +1 up to
    eps for N = 2) and ``max |dx|`` (0 for N = 1, of the order of
    eps/sigma^2 for N = 2).
    """
    N = int_arg("N", N, 1)
    D = int_arg("D", D, 1)
    rng = np.random.default_rng(seed)
    x, dy = rng.normal(size=(N, D)), rng.normal(size=(N, D))
    y, cache = bn.forward(x, np.ones(D), np.zeros(D))
    dx, _, _ = bn.backward(dy, cache)
    return {"N": N, "y": y, "max |dx|": float(np.abs(dx).max())}


def santurkar_check(x, dy, gamma=1.0):
    """Both sides of Santurkar et al. (2018), Theorem 4.1, for one column.

    With ``g = dJ/dy`` (the gradient at the batch-norm output), m = N and
    eps = 0, the exact squared norm of the input gradient is

    .. math:: \\|\\partial J/\\partial x\\|^2 = \\frac{\\gamma^2}{\\sigma^2}
              \\Big(\\|g\\|^2 - \\tfrac1m\\langle \\mathbf 1, g\\rangle^2
              - \\tfrac1m\\langle g, \\hat x\\rangle^2\\Big).

    Returns the left side (computed by :func:`lib.batchnorm.backward` with a
    tiny eps) and the right side with 1/m on the last term and with
    1/sqrt(m): the version some transcriptions of Santurkar et al.'s Theorem 4.1 give.
    Which coefficient the published statement carries was not confirmed (chapter 8 says
    so too); the check shows which one is true.
    """
    x, dy = column("x", x), column("dy", dy)
    if x.shape != dy.shape:
        raise ValueError(f"dy must have the shape of x, {x.shape}, got {dy.shape}")
    gamma = real_arg("gamma", gamma)
    m = x.size
    x_hat, var, _ = normalize(x, 0, 0.0)
    var = var.item()
    if var == 0:
        raise ValueError("x is constant: its variance is 0 and x_hat is undefined")
    eps = 1e-12 * var        # lib.batchnorm needs eps > 0; this one is negligible
    _, cache = bn.forward(x, np.array([gamma]), np.array([0.0]), eps=eps)
    dx, _, _ = bn.backward(dy, cache)
    g2, m1, mx = dy @ dy, dy.sum() ** 2, (dy @ x_hat) ** 2
    scale = gamma ** 2 / var
    return {"lhs": float(dx @ dx),
            "rhs_1_over_m": float(scale * (g2 - m1 / m - mx / m)),
            "rhs_1_over_sqrt_m": float(scale * (g2 - m1 / m - mx / math.sqrt(m))),
            "m": m}
