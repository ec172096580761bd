"""What the derivation's widgets show (chapters 1, 2, 3 and 6).

Each function computes one picture's data with the book's own numerics (``lib.batchnorm``
and :func:`lib.experiments.projection.backward_matrix`) and returns a dict; plotting is in
:mod:`lib.plots.derivation`, the sliders in :mod:`lib.widgets.derivation`.

:func:`batch_statistics`
    chapter 1: a batch before and after normalization, its statistics, and the running
    statistics that inference uses;
:func:`column_jacobian`
    chapter 2: the N x N Jacobian of one normalized column;
:func:`path_contributions`
    chapter 3: the three paths' shares of one example's gradient;
:func:`projection_plane`
    chapter 6: for N = 3, the gradient and its projection in the plane perpendicular to 1.
"""
from __future__ import annotations

import numpy as np

from lib import batchnorm as bn
from lib.experiments.args import int_arg, real_arg
from lib.experiments.projection import backward_matrix

__all__ = ["batch_statistics", "column_jacobian", "path_contributions", "projection_plane"]

POPULATION_MEAN = np.array([2.0, -1.0])
POPULATION_STD = np.array([1.0, 3.0])


def batch_statistics(N, scale=1.0, seed=0, steps=200, momentum=0.1):
    """A batch of N two-feature examples, scaled by ``scale``, before and after batch norm.

    The examples are drawn from a population with means (2, -1) and standard deviations
    (1, 3), times ``scale``. The running statistics are the exponential average
    (:func:`lib.batchnorm.update_running`) over ``steps`` earlier batches of the same size,
    fed the unbiased batch variance as frameworks do.

    Returns
    -------
    dict with ``x`` (N x 2), ``x_hat`` (training mode: the batch's own statistics),
    ``x_inference`` (normalized with the running statistics), ``batch_mean``,
    ``batch_var``, ``running_mean``, ``running_var``, ``population_mean``,
    ``population_var``, ``N``, ``scale``.
    """
    N = int_arg("N", N, 2)
    scale = real_arg("scale", scale, minimum=0.0, strict=True)
    rng = np.random.default_rng(seed)

    def draw():
        return scale * (POPULATION_MEAN + POPULATION_STD * rng.normal(size=(N, 2)))

    mean, var = np.zeros(2), np.ones(2)
    for _ in range(steps):
        earlier = draw()
        mean = bn.update_running(mean, earlier.mean(axis=0), momentum)
        var = bn.update_running(var, earlier.var(axis=0, ddof=1), momentum)
    x = draw()
    _, cache = bn.forward(x, np.ones(2), np.zeros(2), eps=1e-5)
    inference = bn.forward_inference(x, np.ones(2), np.zeros(2), mean, var, eps=1e-5)
    return {"x": x, "x_hat": cache.x_hat, "x_inference": inference, "batch_mean": cache.mu,
            "batch_var": cache.var, "running_mean": mean, "running_var": var,
            "population_mean": scale * POPULATION_MEAN, "population_var": (scale * POPULATION_STD) ** 2,
            "N": N, "scale": scale}


def column_jacobian(N, eps=0.0, seed=0):
    """The Jacobian d x_hat / d x of one column of N values: the matrix P/s of chapter 2.

    Returns
    -------
    dict with ``J`` (N x N), ``x``, ``x_hat``, ``N``, ``eps``, ``zero_entries`` (how many
    entries are zero to 1e-12 of the largest), ``largest`` (max |J|) and
    ``diagonal_share`` (the diagonal's share of the sum of |J|).
    """
    N = int_arg("N", N, 2)
    eps = real_arg("eps", eps, minimum=0.0)
    x = np.random.default_rng(seed).normal(size=N)
    d = backward_matrix(x, eps)
    J = d["P"] / d["s"]
    largest = float(np.abs(J).max())
    zero = int((np.abs(J) <= 1e-12 * max(largest, 1e-300)).sum()) if largest > 0 else N * N
    total = float(np.abs(J).sum())
    return {"J": J, "x": x, "x_hat": d["x_hat"], "N": N, "eps": eps, "zero_entries": zero,
            "largest": largest, "diagonal_share": float(np.abs(np.diag(J)).sum() / total) if total else 0.0}


def path_contributions(shift, N=8, seed=0):
    """The three paths' contributions to dJ/dx_0 as example 0 moves away from the others.

    Example 0 sits ``shift`` standard deviations of the other examples from their mean; the
    upstream gradient is fixed. The three terms are chapter 3's, as
    :func:`lib.batchnorm.rowwise_paths` computes them, and they add up to the gradient.

    Returns
    -------
    dict with ``direct``, ``via_var``, ``via_mu``, ``total`` (floats, for example 0),
    ``x_hat0`` (its normalized value), ``shift``, ``N``.
    """
    N = int_arg("N", N, 3)
    shift = real_arg("shift", shift)
    rng = np.random.default_rng(seed)
    others = rng.normal(size=(N - 1, 1))
    x = np.vstack([[[others.mean() + shift * others.std()]], others])
    dy = rng.normal(size=(N, 1))
    dy[0] = 1.0
    _, cache = bn.forward(x, np.ones(1), np.zeros(1), eps=1e-5)
    direct, via_var, via_mu = (float(term[0, 0]) for term in bn.rowwise_paths(dy, cache))
    return {"direct": direct, "via_var": via_var, "via_mu": via_mu,
            "total": direct + via_var + via_mu, "x_hat0": float(cache.x_hat[0, 0]), "shift": shift, "N": N}


def _plane():
    """An orthonormal basis (u, w) of the plane perpendicular to 1 in R^3."""
    u = np.array([1.0, -1.0, 0.0]) / np.sqrt(2)
    w = np.array([1.0, 1.0, -2.0]) / np.sqrt(6)
    return u, w


def projection_plane(angle, eps=0.0):
    """For N = 3: x_hat, an upstream gradient g and Pg, in the plane perpendicular to 1.

    The column is x = cos(angle) u + sin(angle) w (angle in degrees) for the basis (u, w)
    of that plane; g is fixed. With eps = 0, P removes g's part along 1 and along x_hat,
    so Pg is perpendicular to x_hat; with eps > 0 it keeps the fraction delta of that part.

    Returns
    -------
    dict of 2-D coordinates in (u, w): ``x_hat``, ``g`` (g's part in the plane), ``Pg``,
    ``removed`` (= g's part in the plane minus Pg), and ``g_along_one`` (the length of g's
    part along 1, which P always removes), ``cos_Pg_xhat``, ``delta``, ``angle``, ``eps``.
    """
    angle = real_arg("angle", angle)
    eps = real_arg("eps", eps, minimum=0.0)
    u, w = _plane()
    t = np.radians(angle)
    d = backward_matrix(np.cos(t) * u + np.sin(t) * w, eps)
    g = np.array([1.0, 0.2, -0.4]) + 0.5
    Pg = d["P"] @ g

    def flat(v):
        return np.array([v @ u, v @ w])
    norm = np.linalg.norm(Pg) * np.linalg.norm(d["x_hat"])
    return {"x_hat": flat(d["x_hat"]), "g": flat(g), "Pg": flat(Pg), "removed": flat(g) - flat(Pg),
            "g_along_one": float(g.sum() / np.sqrt(3)),
            "cos_Pg_xhat": float(Pg @ d["x_hat"] / norm) if norm > 0 else 0.0,
            "delta": eps / (d["var"] + eps), "angle": angle, "eps": eps}
