"""Scale: what happens when a column x becomes a x (chapter 8, "Scale").

With eps = 0 batch norm's output does not change and its input gradient
scales like 1/a; eps breaks both once (a sigma)^2 is comparable with eps.
For weights, the same invariance makes the gradient orthogonal to the
weights, so plain SGD can only grow them (:func:`train_scale_invariant`).
"""
from __future__ import annotations

import math

import numpy as np

from lib import batchnorm as bn
from lib.experiments.args import int_arg, real_arg
from lib.store import cached
from lib.norms import input_grad, normalize

__all__ = ["SCALE_GRID", "scale_response", "weight_scale_check", "train_scale_invariant",
           "training_summary"]

SCALE_GRID = tuple(np.logspace(-4, 2, 121))
"""Scale factors at which :func:`scale_response` tabulates its curves."""


@cached(16)
def _scale_setup(N, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=N)
    x = (x - x.mean()) / x.std() + 0.5            # sigma = 1 exactly, mean 0.5
    g = rng.normal(size=N)                         # upstream dJ/dy (gamma = 1)
    return x, g


def _bn_column_grid(x, g, a, eps):
    """Output and input gradient of BN(a_k x) for every a_k (columns), gamma = 1."""
    x_hat, _, s = normalize(np.outer(x, a), 0, eps)
    with np.errstate(invalid="ignore", divide="ignore"):
        dX = input_grad(g[:, None], x_hat, s)
    return x_hat, dX


@cached(16)
def _scale_curves(eps, N, seed):
    x, g = _scale_setup(N, seed)
    a = np.asarray(SCALE_GRID)
    y_ref, dx_ref = _bn_column_grid(x, g, np.array([1.0]), 0.0)
    y, dx = _bn_column_grid(x, g, a, eps)
    y_change = np.linalg.norm(y - y_ref, axis=0) / np.linalg.norm(y_ref)
    grad = np.linalg.norm(dx, axis=0)
    return a, y_change, grad, float(np.linalg.norm(dx_ref)), y_ref


def scale_response(a, *, eps=1e-5, N=16, seed=0):
    """Output change and input-gradient norm when one column x becomes a x.

    A fixed column x (N values, mean 0.5, standard deviation exactly 1) and
    a fixed upstream gradient g = dJ/dy (gamma = 1) are drawn from ``seed``.
    For the scale ``a`` the column a x goes through batch norm with the given
    ``eps``. With eps = 0 the output would not change at all and the input
    gradient would be exactly 1/a times the one at a = 1; with eps > 0 both
    statements hold while a^2 sigma^2 >> eps and fail once a^2 sigma^2 is
    comparable with eps (here sigma = 1, so around a = sqrt(eps)).

    Parameters
    ----------
    a : float >= 0
        The scale factor. ``a = 0`` is allowed (the column is constant) and
        comes back with an explanation.
    eps : float >= 0, default 1e-5
    N : int >= 3, default 16
    seed : int, default 0

    Returns
    -------
    dict with keys

    ``a, eps, N``
        the arguments;
    ``y_change``
        ||BN(a x) - x_hat_0|| / ||x_hat_0||, x_hat_0 the eps = 0 output
        (0 means perfectly invariant);
    ``grad_norm``
        ||dJ/dx|| at a x;
    ``grad_norm_theory``
        ||dJ/dx at a = 1, eps = 0|| / a, the exact 1/a law (inf at a = 0);
    ``grad_cap``
        ||g - mean(g)|| / sqrt(eps), the limit of ``grad_norm`` as a -> 0
        (inf when eps = 0);
    ``a_break``
        sqrt(eps)/sigma, where a^2 sigma^2 = eps;
    ``regime``
        "invariant", "transition" or "eps-dominated";
    ``a_grid, y_change_grid, grad_norm_grid, theory_grid``
        the same quantities over :data:`SCALE_GRID` (1e-4 ... 1e2), for the
        curves;
    ``explanation``
        a sentence for a = 0, else None.
    """
    a = real_arg("a", a, minimum=0.0)
    eps = real_arg("eps", eps, minimum=0.0)
    N = int_arg("N", N, 3)
    seed = int_arg("seed", seed, 0)
    x, g = _scale_setup(N, seed)
    a_grid, y_grid, grad_grid, grad1, y_ref = _scale_curves(eps, N, seed)
    sigma = float(x.std())
    gc = float(np.linalg.norm(g - g.mean()))
    cap = gc / math.sqrt(eps) if eps > 0 else math.inf
    a_break = math.sqrt(eps) / sigma
    explanation = None
    if a == 0 and eps == 0:
        y_change, grad_norm = math.nan, math.nan
        explanation = ("a = 0 with eps = 0: the column is constant, sigma^2 + eps = 0, "
                       "and batch norm divides 0 by 0 - neither output nor gradient is defined.")
    elif a == 0:
        y_change, grad_norm = 1.0, cap
        explanation = (f"a = 0: the column is constant, so x_hat = 0 and the output is beta "
                       f"whatever x was (the information is gone). The gradient does not blow up "
                       f"like 1/a: eps caps it at ||g - mean(g)|| / sqrt(eps) = {cap:.3g}.")
    else:
        y1, dx1 = _bn_column_grid(x, g, np.array([a]), eps)
        y_change = float(np.linalg.norm(y1 - y_ref) / np.linalg.norm(y_ref))
        grad_norm = float(np.linalg.norm(dx1))
    ratio = (a * sigma) ** 2 / eps if eps > 0 else math.inf
    regime = "invariant" if ratio > 100 else ("eps-dominated" if ratio < 0.01 else "transition")
    with np.errstate(divide="ignore"):
        theory = grad1 / a if a > 0 else math.inf
    return {"a": a, "eps": eps, "N": N, "sigma": sigma,
            "y_change": y_change, "grad_norm": grad_norm, "grad_norm_theory": theory,
            "grad_cap": cap, "a_break": a_break, "regime": regime,
            "a_grid": a_grid, "y_change_grid": y_grid, "grad_norm_grid": grad_grid,
            "theory_grid": grad1 / a_grid, "explanation": explanation}


def weight_scale_check(a, *, N=32, d_in=5, d_out=3, eps=1e-5, seed=0):
    """Ioffe & Szegedy's section 3.3 for a weight matrix, checked numerically.

    For u in R^{N x d_in}, W in R^{d_in x d_out} and a loss J = sum(G * BN(u W)),
    compares BN(u W) with BN(u (aW)), dJ/du through aW with dJ/du through W, and
    a * dJ/d(aW) with dJ/dW: the three equations of their section 3.3.

    Returns
    -------
    dict with ``output_diff`` (max |BN(uW) - BN(u aW)|), ``grad_ratio``
    (||dJ/d(aW)|| / ||dJ/dW||, 1/a in theory), ``input_grad_diff``
    (max |dJ/du through aW - dJ/du through W| relative to the latter's max), ``grad_diff``
    (max |a dJ/d(aW) - dJ/dW| relative to max |dJ/dW|) and
    ``orthogonality`` (max over columns of |<w_j, dJ/dw_j>| / (||w_j|| ||dJ/dw_j||),
    0 in theory when eps = 0: the gradient of a scale-invariant weight is
    orthogonal to it).
    """
    a = real_arg("a", a, minimum=0.0, strict=True)
    rng = np.random.default_rng(seed)
    u = rng.normal(size=(N, d_in))
    W = rng.normal(size=(d_in, d_out))
    G = rng.normal(size=(N, d_out))
    ones, zeros = np.ones(d_out), np.zeros(d_out)

    def run(Wk):
        y, cache = bn.forward(u @ Wk, ones, zeros, eps=eps)
        dz, _, _ = bn.backward(G, cache)
        return y, u.T @ dz, dz @ Wk.T

    y1, dW1, du1 = run(W)
    ya, dWa, dua = run(a * W)
    cos = np.abs((W * dW1).sum(axis=0)) / (np.linalg.norm(W, axis=0) * np.linalg.norm(dW1, axis=0))
    return {"a": a, "output_diff": float(np.abs(y1 - ya).max()),
            "grad_ratio": float(np.linalg.norm(dWa) / np.linalg.norm(dW1)),
            "input_grad_diff": float(np.abs(dua - du1).max() / np.abs(du1).max()),
            "grad_diff": float(np.abs(a * dWa - dW1).max() / np.abs(dW1).max()),
            "orthogonality": float(cos.max())}


def _two_moons(n, rng):
    t = rng.uniform(0, math.pi, size=n)
    label = rng.integers(0, 2, size=n)
    x = np.where(label[:, None] == 0,
                 np.c_[np.cos(t), np.sin(t)],
                 np.c_[1 - np.cos(t), 0.5 - np.sin(t)])
    return x + 0.15 * rng.normal(size=x.shape), label


def train_scale_invariant(*, steps=300, lr=0.5, weight_decay=0.0, batch_size=64,
                          hidden=32, init_scale=0.1, eps=1e-5, seed=0):
    """Train a tiny network whose first-layer weights are scale invariant.

    The network is x -> x W1 -> BN -> ReLU -> (. W2 + b2) -> softmax, on a
    two-moons data set (2 inputs, 2 classes), trained by plain SGD with
    L2 weight decay ``weight_decay`` on W1 only. Because BN follows W1, the
    loss does not change when W1 is scaled, its gradient is orthogonal to
    W1, and plain SGD can only make ||W1|| grow; weight decay pulls it back.
    What matters for W1's direction is the effective learning rate
    lr / ||w||^2 (van Laarhoven 2017; Hoffer et al. 2018).

    Returns
    -------
    dict with arrays over steps: ``step``, ``loss``, ``w_norm`` (mean over
    hidden units of ||w_j||, w_j the j-th column of W1), ``eff_lr``
    (lr / mean ||w_j||^2), ``accuracy`` (final, on the whole data set).
    """
    steps = int_arg("steps", steps, 1)
    lr = real_arg("lr", lr, minimum=0.0, strict=True)
    init_scale = real_arg("init_scale", init_scale, minimum=0.0, strict=True)
    weight_decay = real_arg("weight_decay", weight_decay, minimum=0.0)
    batch_size = int_arg("batch_size", batch_size, 2)
    rng = np.random.default_rng(seed)
    X, label = _two_moons(1024, rng)
    W1 = init_scale * rng.normal(size=(2, hidden))
    gamma, beta = np.ones(hidden), np.zeros(hidden)
    W2 = rng.normal(size=(hidden, 2)) / math.sqrt(hidden)
    b2 = np.zeros(2)
    losses, norms = np.empty(steps), np.empty(steps)
    batches = rng.integers(0, X.shape[0], size=(steps, batch_size))
    for t in range(steps):
        xb, yb = X[batches[t]], label[batches[t]]
        h, cache = bn.forward(xb @ W1, gamma, beta, eps=eps)
        r = np.maximum(h, 0)
        logits = r @ W2 + b2
        logits -= logits.max(axis=1, keepdims=True)
        p = np.exp(logits)
        p /= p.sum(axis=1, keepdims=True)
        losses[t] = -np.log(p[np.arange(batch_size), yb]).mean()
        norms[t] = np.linalg.norm(W1, axis=0).mean()
        dlogits = p
        dlogits[np.arange(batch_size), yb] -= 1
        dlogits /= batch_size
        dW2, db2 = r.T @ dlogits, dlogits.sum(axis=0)
        dh = (dlogits @ W2.T) * (h > 0)
        dz, dgamma, dbeta = bn.backward(dh, cache)
        dW1 = xb.T @ dz + weight_decay * W1
        W1 -= lr * dW1
        W2 -= lr * dW2
        b2 -= lr * db2
        gamma -= lr * dgamma
        beta -= lr * dbeta
    h, _ = bn.forward(X @ W1, gamma, beta, eps=eps)
    acc = float(((np.maximum(h, 0) @ W2 + b2).argmax(axis=1) == label).mean())
    return {"step": np.arange(steps), "loss": losses, "w_norm": norms,
            "eff_lr": lr / norms ** 2, "lr": lr, "weight_decay": weight_decay,
            "accuracy": acc}


def training_summary(runs):
    """One row per run of :func:`train_scale_invariant`, for :func:`table`.

    Returns
    -------
    list of dicts with ``weight_decay``; ``||w||`` and ``eta/||w||^2``, each
    as "first -> last"; ``final_loss`` (mean over the last 50 steps) and
    ``accuracy``.
    """
    if not isinstance(runs, (list, tuple)) or not all(
            isinstance(r, dict) and {"w_norm", "eff_lr", "loss"} <= set(r) for r in runs):
        raise TypeError("runs must be a list of dicts from experiments.train_scale_invariant()")
    return [{"weight_decay": r["weight_decay"],
             "||w||": f"{r['w_norm'][0]:.2f} -> {r['w_norm'][-1]:.2f}",
             "eta/||w||^2": f"{r['eff_lr'][0]:.1f} -> {r['eff_lr'][-1]:.1f}",
             "final_loss": float(r["loss"][-50:].mean()),
             "accuracy": r["accuracy"]} for r in runs]
