"""Batch size: the noise in one example's gradient (chapter 8, "Batch size").

The batch statistics depend on an example's companions, so its gradient
changes from batch to batch; :func:`batch_noise` measures that spread and
how it shrinks as the batch grows (roughly like 1/sqrt(N)).
"""
from __future__ import annotations

import math

import numpy as np

from lib import batchnorm as bn
from lib.experiments.args import int_arg
from lib.store import cached
from lib.norms import input_grad, normalize

__all__ = ["BATCH_NOISE_GRID", "batch_noise", "noise_claims"]

BATCH_NOISE_GRID = (3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256)
"""Batch sizes at which :func:`batch_noise` tabulates the spread curve."""

_NOISE_MEAN = np.array([2.0, -1.0, 0.5, 1.0, 0.0, -0.5, 1.5, -2.0])
_NOISE_SD = np.array([1.0, 0.5, 2.0, 1.5, 0.8, 1.2, 0.6, 1.0])


def _noise_data(n, D, rng):
    """Inputs x (n, D) and scalar targets t (n,) of the toy regression."""
    reps = -(-D // _NOISE_MEAN.size)
    m, sd = np.tile(_NOISE_MEAN, reps)[:D], np.tile(_NOISE_SD, reps)[:D]
    x = m + sd * rng.normal(size=(n, D))
    t = np.tanh(((x - m) / sd) @ (np.ones(D) / math.sqrt(D))) + 0.1 * rng.normal(size=n)
    return x, t


@cached(8)
def _noise_setup(D, seed):
    """The fixed example (x_0, t_0), the read-out v, and x_0's large-batch reference gradient."""
    rng = np.random.default_rng([seed, D])
    x0, t0 = _noise_data(1, D, rng)
    v = np.linspace(1.0, -1.0, D) if D > 1 else np.ones(1)
    # the N -> infinity limit: statistics of a very large batch
    big_x, big_t = _noise_data(100_000, D, rng)
    X = np.vstack([x0, big_x])
    T = np.concatenate([t0, big_t])
    y, cache = bn.forward(X, np.ones(D), np.zeros(D))
    dy = np.outer(y @ v - T, v)
    dx, _, _ = bn.backward(dy, cache)
    return x0[0], float(t0[0]), v, dx[0]


@cached(4)
def _noise_pool(size, n_batches, D, seed):
    """Companions for every batch: (n_batches, size, D) inputs and their targets.

    A batch of size N uses the first N - 1 of its row, so batches for
    nearby N share companions and a slider moves smoothly."""
    rng = np.random.default_rng([seed, D, n_batches, size])
    x, t = _noise_data(n_batches * size, D, rng)
    return x.reshape(n_batches, size, D), t.reshape(n_batches, size)


def _noise_batches(N, n_batches, D, seed):
    """Gradient and output of the fixed example in n_batches random batches of size N."""
    x0, t0, v, _ = _noise_setup(D, seed)
    size = max(256, 1 << (N - 1).bit_length())
    others, t_others = _noise_pool(size, n_batches, D, seed)
    X = np.concatenate([np.broadcast_to(x0, (n_batches, 1, D)), others[:, :N - 1]], axis=1)
    T = np.concatenate([np.full((n_batches, 1), t0), t_others[:, :N - 1]], axis=1)
    x_hat, _, s = normalize(X, 1, 1e-5)          # every batch at once: x_hat (B, N, D)
    r = x_hat @ v - T                             # residuals (B, N)
    dy = r[..., None] * v                         # dJ/dy (B, N, D)
    dx0 = input_grad(dy, x_hat, s, axes=1)[:, 0]  # the fixed example is row 0
    return dx0, x_hat[:, 0]


@cached(8)
def _noise_curve(n_batches, D, seed):
    _, _, _, ref = _noise_setup(D, seed)
    out = []
    for N in BATCH_NOISE_GRID:
        dx0, _ = _noise_batches(N, n_batches, D, seed)
        out.append(_spread(dx0) / np.linalg.norm(ref))
    return np.array(BATCH_NOISE_GRID), np.array(out)


def _spread(samples):
    """Root mean squared distance of the rows from their mean."""
    return float(np.sqrt(((samples - samples.mean(axis=0)) ** 2).sum(axis=1).mean()))


def batch_noise(N, *, n_batches=200, D=4, seed=0):
    """The gradient of one fixed example across many random batches of size N.

    The layer is batch norm (gamma = 1, beta = 0, eps = 1e-5) on D features,
    followed by a fixed linear read-out v and a squared loss,
    J = sum_i (y_i . v - t_i)^2 / 2. One example (x_0, t_0) is held fixed;
    the other N - 1 examples of each batch are drawn afresh from the data
    distribution. Because the batch statistics depend on those companions,
    dJ/dx_0 differs from batch to batch: this is the noise Ioffe & Szegedy
    (2015, section 3.4) credit with a regularizing effect. Its spread
    shrinks roughly like 1/sqrt(N).

    Parameters
    ----------
    N : int >= 1
        Batch size. N = 1 and N = 2 are degenerate and come back with an
        explanation.
    n_batches : int >= 2, default 200
    D : int >= 2, default 4
        Number of features (the plot shows the first two).
    seed : int, default 0

    Returns
    -------
    dict with keys

    ``N, n_batches, D``
        the arguments;
    ``grads``
        (n_batches, D): dJ/dx_0 in each batch;
    ``outputs``
        (n_batches, D): the normalized x_hat_0 in each batch (forward noise);
    ``reference``
        (D,): the gradient with the statistics of a batch of 100 001 (x_0 and 100 000 others; the
        N -> infinity limit);
    ``spread``
        root-mean-square distance of ``grads`` from their mean, relative to
        ||reference||;
    ``bias``
        ||mean(grads) - reference|| / ||reference||;
    ``N_grid, spread_grid``
        the relative spread at every N of :data:`BATCH_NOISE_GRID`;
    ``guide``
        c / sqrt(N_grid), anchored at the largest N of the grid;
    ``explanation``
        a sentence for N = 1 or N = 2, else None.
    """
    N = int_arg("N", N, 1)
    n_batches = int_arg("n_batches", n_batches, 2)
    D = int_arg("D", D, 2)
    seed = int_arg("seed", seed, 0)
    _, _, _, ref = _noise_setup(D, seed)
    N_grid, spread_grid = _noise_curve(n_batches, D, seed)
    guide = spread_grid[-1] * np.sqrt(N_grid[-1] / N_grid)
    explanation = None
    if N == 1:
        grads = np.zeros((n_batches, D))
        outputs = np.zeros((n_batches, D))
        explanation = ("N = 1: the example is its own mean, so x_hat = 0 and the output is beta "
                       "whatever x is. The gradient with respect to x is exactly zero in every batch.")
    else:
        grads, outputs = _noise_batches(N, n_batches, D, seed)
        if N == 2:
            typical = float(np.median(np.linalg.norm(grads, axis=1)))
            explanation = ("N = 2: the two examples are normalized to -1 and +1 whatever their values, "
                           "so the output does not depend on x; with eps = 0 the gradient is exactly zero. "
                           "With eps > 0 a remainder of relative size eps/(sigma^2 + eps) is left: "
                           f"negligible in most batches (median norm {typical:.1e}), large only when the "
                           "two examples nearly coincide (sigma^2 ~ eps).")
    nref = float(np.linalg.norm(ref))
    return {"N": N, "n_batches": n_batches, "D": D, "grads": grads, "outputs": outputs,
            "reference": ref, "spread": _spread(grads) / nref,
            "bias": float(np.linalg.norm(grads.mean(axis=0) - ref) / nref),
            "N_grid": N_grid, "spread_grid": spread_grid, "guide": guide,
            "explanation": explanation}


def noise_claims(Ns=(4, 16, 64, 256), seeds=(0, 1, 2, 3, 4), n_batches=200):
    """Chapter 8's claims about :func:`batch_noise`, over ``seeds``: from N = ``Ns[1]`` on, the
    spread shrinks by about half when N quadruples (each ``Ns`` is 4 times the last), and at
    the two smallest N the mean over batches is off the reference by more than its standard
    error, spread / sqrt(n_batches).

    Returns ``(claims, numbers)``: a dict of :class:`lib.claims.Claim` and glued numbers.
    """
    from lib.claims import Claim

    Ns = [int_arg("Ns[k]", N, 3) for N in Ns]
    runs = np.array([[batch_noise(N, n_batches=n_batches, seed=s)["spread"] for N in Ns]
                     for s in seeds])
    bias = np.array([[batch_noise(N, n_batches=n_batches, seed=s)["bias"] for N in Ns[:2]]
                     for s in seeds])
    halving = (runs[:, 2:] / runs[:, 1:-1]).mean(axis=1)
    z = (bias / (runs[:, :2] / math.sqrt(n_batches))).min(axis=1)
    common = dict(chapter=8, experiment="lib.experiments.batch_noise(N, seed=s)", seeds=tuple(seeds))
    found = {
        "halves": Claim(key="grad-noise-halves", statement=f"from N = {Ns[1]} on, the spread about "
                        "halves when N quadruples", quantity="spread(4N)/spread(N), mean over N",
                        values=tuple(halving), low=0.4, high=0.6, **common),
        "biased": Claim(key="grad-noise-biased", statement=f"at N = {Ns[0]} and {Ns[1]} the mean "
                        "gradient is off by more than its standard error",
                        quantity="bias / (spread/sqrt(batches)), smaller of the two N",
                        values=tuple(z), low=1.0, **common)}
    return found, {"halving": float(halving.mean()), "n_batches": n_batches}
