"""Experiments on what batch norm does to the gradient (chapter 8).

Every public function here computes data and returns it in a ``dict``
(or a list of them): no plotting (that is :mod:`lib.plots`) and no widgets
(:mod:`lib.widgets`). :func:`table` renders such results as a small text
table, so that a page can print them in one short line.
Each one is deterministic for a fixed ``seed`` and fast enough to be
called on every move of a slider (a few milliseconds to a few tens).

The three functions the widgets are built on
--------------------------------------------
:func:`batch_noise`
    the gradient of one fixed example across many random batches of size N;
:func:`scale_response`
    what happens to the output and to the input gradient when a column is
    multiplied by ``a``;
:func:`depth_profile`
    the gradient norm layer by layer in a deep fully connected network at
    initialization.

A setting where the experiment degenerates (N = 1, N = 2, a = 0, depth 1,
...) does not raise: the returned dict carries an ``"explanation"`` string
(``None`` otherwise), and :mod:`lib.plots` shows that text. Bad arguments
(a negative batch size, NaN, a string where a number belongs) raise
``ValueError`` or ``TypeError`` with a message naming the argument.

Conventions are the book's: one column ``x`` in R^N, ``mu`` its mean,
``sigma^2`` its biased (1/N) variance, ``s = sqrt(sigma^2 + eps)``,
``x_hat = (x - mu)/s``, and ``g = dJ/dx_hat`` the upstream gradient.
"""
from __future__ import annotations

import math
from functools import lru_cache
from numbers import Integral, Real

import numpy as np

from lib import batchnorm as bn

__all__ = [
    "table", "backward_matrix", "projection_properties", "gradient_properties",
    "projection_energy", "degenerate_batch", "santurkar_check",
    "scale_response", "weight_scale_check", "train_scale_invariant",
    "training_summary", "batch_noise", "depth_profile", "depth_rates",
    "yang_linear_rate", "RELU_RATE_LIMIT", "BATCH_NOISE_GRID", "SCALE_GRID",
]

RELU_RATE_LIMIT = math.pi / (math.pi - 1)
"""Large-batch limit of the per-layer growth of the squared gradient norm in
a deep ReLU network with batch norm at initialization (Yang et al. 2019)."""

BATCH_NOISE_GRID = (3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256)
"""Batch sizes at which :func:`batch_noise` tabulates the spread curve."""

SCALE_GRID = tuple(np.logspace(-4, 2, 121))
"""Scale factors at which :func:`scale_response` tabulates its curves."""


# --------------------------------------------------------------------------
# argument checks: each message names the argument
# --------------------------------------------------------------------------

def _int_arg(name, value, minimum):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}")
    value = int(value)
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value}")
    return value


def _real_arg(name, value, minimum=None, strict=False):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    if minimum is not None and (value < minimum or (strict and value == minimum)):
        op = ">" if strict else ">="
        raise ValueError(f"{name} must be {op} {minimum}, got {value}")
    return value


def _choice_arg(name, value, choices):
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}")
    return value


def _bool_arg(name, value):
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {type(value).__name__} {value!r}")
    return bool(value)


def _column(name, x):
    x = bn._as_float_array(name, x, np.float64)
    if x.ndim != 1:
        raise ValueError(f"{name} must be one column, shape (N,), got shape {x.shape}")
    if x.size == 0:
        raise ValueError(f"{name} is empty: a batch needs N >= 1 examples")
    bn._check_finite(name, x)
    return x


# --------------------------------------------------------------------------
# printing results
# --------------------------------------------------------------------------

def _cell(value, digits):
    """One table entry as text: floats to ``digits`` significant digits."""
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, Integral):
        return str(int(value))
    if isinstance(value, Real):
        return f"{float(value):.{digits}g}"
    return str(np.round(np.asarray(value, dtype=float), 3).tolist())


def table(data, columns=None, *, digits=4, title=None):
    """Render results as a small text table (a ``str``) for ``print``.

    Parameters
    ----------
    data : dict or list of dicts
        * a dict, ``columns`` None: one ``name  value`` line per key;
        * a dict of equal-length sequences, ``columns`` given: one row per
          index, one column per key (e.g. the result of
          :func:`projection_energy`);
        * a list of dicts: one row per dict, one column per key of
          ``columns`` (default: all keys of the first dict).
    columns : list of str, optional
        The keys to show, in order.
    digits : int, default 4
        Significant digits of floats (arrays are rounded to 3 decimals).
    title : str, optional
        A first line.

    Returns
    -------
    str
        Numbers right-aligned, text left-aligned, columns two spaces apart.
    """
    digits = _int_arg("digits", digits, 1)
    if isinstance(data, dict) and columns is None:
        width = max((len(str(k)) for k in data), default=0)
        lines = [f"{str(k):<{width}}  {_cell(v, digits)}" for k, v in data.items()]
    else:
        if isinstance(data, dict):
            columns = list(columns)
            missing = [c for c in columns if c not in data]
            if missing:
                raise ValueError(f"data has no key(s) {missing}; it has {list(data)}")
            lengths = {c: len(np.atleast_1d(data[c])) for c in columns}
            if len(set(lengths.values())) > 1:
                raise ValueError(f"columns must have equal lengths, got {lengths}")
            n = lengths[columns[0]] if columns else 0
            rows = [{c: np.atleast_1d(data[c])[i] for c in columns} for i in range(n)]
        elif isinstance(data, (list, tuple)) and all(isinstance(r, dict) for r in data):
            rows = list(data)
            columns = list(columns) if columns is not None else list(rows[0]) if rows else []
            for k, r in enumerate(rows):
                missing = [c for c in columns if c not in r]
                if missing:
                    raise ValueError(f"row {k} of data has no key(s) {missing}")
        else:
            raise TypeError("data must be a dict or a list of dicts, "
                            f"got {type(data).__name__}")
        cells = [[_cell(r[c], digits) for c in columns] for r in rows]
        numeric = [all(isinstance(r[c], (Real, type(None))) and not isinstance(r[c], str)
                       for r in rows) for c in columns]
        widths = [max([len(c)] + [len(row[j]) for row in cells])
                  for j, c in enumerate(columns)]

        def line(texts):
            return "  ".join(t.rjust(w) if num else t.ljust(w)
                             for t, w, num in zip(texts, widths, numeric)).rstrip()

        lines = [line(columns)] + [line(row) for row in cells]
    return "\n".join(([title] if title else []) + lines)


# --------------------------------------------------------------------------
# 1. the backward map of one column is (gamma/s) P
# --------------------------------------------------------------------------

def _normalize(x, eps, axis=0):
    """mu, sigma^2, s and x_hat of ``x`` along ``axis`` (the batch); eps may be 0.

    mu, sigma^2 and s lose that axis; x_hat has the shape of ``x``.
    """
    mu = x.mean(axis=axis, keepdims=True)
    xc = x - mu
    var = (xc * xc).mean(axis=axis, keepdims=True)
    s = np.sqrt(var + eps)
    return mu.squeeze(axis), var.squeeze(axis), s.squeeze(axis), xc / s


def _input_grad(g, x_hat, s):
    """dJ/dx = (g - mean(g) - x_hat mean(g x_hat)) / s per column (axis 0), gamma = 1.

    The compact formula of :func:`lib.batchnorm.backward`, here for whole grids
    of columns at once and for eps = 0, which ``lib.batchnorm`` refuses.
    """
    return (g - g.mean(axis=0) - x_hat * (g * x_hat).mean(axis=0)) / s


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
    x = _column("x", x)
    eps = _real_arg("eps", eps, minimum=0.0)
    N = x.size
    if eps == 0 and np.all(x == x[0]):
        raise ValueError("x is constant and eps = 0: sigma^2 + eps = 0, so x_hat is undefined")
    _, var, s, x_hat = _normalize(x, eps)
    P = np.eye(N) - 1.0 / N - np.outer(x_hat, x_hat) / N
    return {"P": P, "s": float(s), "x_hat": x_hat, "N": N, "eps": eps, "var": float(var)}


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
    x, dy = bn._as_float_array("x", x, np.float64), bn._as_float_array("dy", dy, np.float64)
    if x.ndim != 2 or x.shape != dy.shape:
        raise ValueError(f"x and dy must be batches of the same shape (N, D), "
                         f"got {x.shape} and {dy.shape}")
    gamma = _real_arg("gamma", gamma)
    eps = bn._check_eps(eps)
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
    Ns = np.asarray([_int_arg("N_values[k]", n, 3) for n in np.atleast_1d(N_values)])
    n_samples = _int_arg("n_samples", n_samples, 2)
    eps = _real_arg("eps", eps, minimum=0.0)
    rng = np.random.default_rng(seed)
    sim, err = [], []
    for N in Ns:
        x = rng.normal(size=(N, n_samples))            # one column per sample
        g = rng.normal(size=(N, n_samples))
        _, _, _, x_hat = _normalize(x, eps)
        Pg = _input_grad(g, x_hat, 1.0)
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
    N = _int_arg("N", N, 1)
    D = _int_arg("D", D, 1)
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
    1/sqrt(m) (a version found in transcriptions of the theorem).
    """
    x, dy = _column("x", x), _column("dy", dy)
    if x.shape != dy.shape:
        raise ValueError(f"dy must have the shape of x, {x.shape}, got {dy.shape}")
    gamma = _real_arg("gamma", gamma)
    m = x.size
    _, var, _, x_hat = _normalize(x, 0.0)
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


# --------------------------------------------------------------------------
# 2. scale: x -> a x
# --------------------------------------------------------------------------

@lru_cache(maxsize=16)
def _scale_setup(N, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=N)
    x = (x - x.mean()) / x.std() + 0.5            # sigma = 1 exactly, mean 0.5
    g = rng.normal(size=N)                         # upstream dJ/dy (gamma = 1)
    return x, g


def _bn_column_grid(x, g, a, eps):
    """Output and input gradient of BN(a_k x) for every a_k (columns), gamma = 1."""
    _, _, s, x_hat = _normalize(np.outer(x, a), eps)
    with np.errstate(invalid="ignore", divide="ignore"):
        dX = _input_grad(g[:, None], x_hat, s)
    return x_hat, dX


@lru_cache(maxsize=16)
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
    a = _real_arg("a", a, minimum=0.0)
    eps = _real_arg("eps", eps, minimum=0.0)
    N = _int_arg("N", N, 3)
    seed = _int_arg("seed", seed, 0)
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
    compares BN(u W) with BN(u (aW)), and a * dJ/d(aW) with dJ/dW.

    Returns
    -------
    dict with ``output_diff`` (max |BN(uW) - BN(u aW)|), ``grad_ratio``
    (||dJ/d(aW)|| / ||dJ/dW||, 1/a in theory), ``grad_diff``
    (max |a dJ/d(aW) - dJ/dW| relative to max |dJ/dW|) and
    ``orthogonality`` (max over columns of |<w_j, dJ/dw_j>| / (||w_j|| ||dJ/dw_j||),
    0 in theory when eps = 0: the gradient of a scale-invariant weight is
    orthogonal to it).
    """
    a = _real_arg("a", a, minimum=0.0, strict=True)
    rng = np.random.default_rng(seed)
    u = rng.normal(size=(N, d_in))
    W = rng.normal(size=(d_in, d_out))
    G = rng.normal(size=(N, d_out))
    ones, zeros = np.ones(d_out), np.zeros(d_out)

    def run(Wk):
        y, cache = bn.forward(u @ Wk, ones, zeros, eps=eps)
        dz, _, _ = bn.backward(G, cache)
        return y, u.T @ dz

    y1, dW1 = run(W)
    ya, dWa = run(a * W)
    cos = np.abs((W * dW1).sum(axis=0)) / (np.linalg.norm(W, axis=0) * np.linalg.norm(dW1, axis=0))
    return {"a": a, "output_diff": float(np.abs(y1 - ya).max()),
            "grad_ratio": float(np.linalg.norm(dWa) / np.linalg.norm(dW1)),
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
    steps = _int_arg("steps", steps, 1)
    lr = _real_arg("lr", lr, minimum=0.0, strict=True)
    init_scale = _real_arg("init_scale", init_scale, minimum=0.0, strict=True)
    weight_decay = _real_arg("weight_decay", weight_decay, minimum=0.0)
    batch_size = _int_arg("batch_size", batch_size, 2)
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


# --------------------------------------------------------------------------
# 3. batch size: the noise in one example's gradient
# --------------------------------------------------------------------------

_NOISE_MEAN = np.array([2.0, -1.0, 0.5, 1.0, 0.0, -0.5, 1.5, -2.0])
_NOISE_SD = np.array([1.0, 0.5, 2.0, 1.5, 0.8, 1.2, 0.6, 1.0])


def _noise_data(n, D, rng):
    """Inputs x (n, D) and scalar targets t (n,) of the toy regression."""
    reps = -(-D // _NOISE_MEAN.size)
    m, sd = np.tile(_NOISE_MEAN, reps)[:D], np.tile(_NOISE_SD, reps)[:D]
    x = m + sd * rng.normal(size=(n, D))
    t = np.tanh(((x - m) / sd) @ (np.ones(D) / math.sqrt(D))) + 0.1 * rng.normal(size=n)
    return x, t


@lru_cache(maxsize=8)
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


@lru_cache(maxsize=4)
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
    _, _, s, x_hat = _normalize(X, 1e-5, axis=1)                           # s (B, D), x_hat (B, N, D)
    r = x_hat @ v - T                                                       # residuals (B, N)
    dy = r[..., None] * v                                                   # dJ/dy (B, N, D)
    # _input_grad's formula for row 0 only: the other rows are not needed
    dx0 = (dy[:, 0] - dy.mean(axis=1) - x_hat[:, 0] * (dy * x_hat).mean(axis=1)) / s
    return dx0, x_hat[:, 0]


@lru_cache(maxsize=8)
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
        (D,): the gradient with the statistics of a batch of 200 000 (the
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
    N = _int_arg("N", N, 1)
    n_batches = _int_arg("n_batches", n_batches, 2)
    D = _int_arg("D", D, 2)
    seed = _int_arg("seed", seed, 0)
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


# --------------------------------------------------------------------------
# 4. depth: gradient norms layer by layer at initialization
# --------------------------------------------------------------------------

def yang_linear_rate(B):
    """(B - 2)/(B - 3): per-layer growth of the squared gradient norm in a deep
    linear network with batch norm at initialization (Yang et al. 2019), B >= 4."""
    B = _int_arg("B", B, 4)
    return (B - 2) / (B - 3)


@lru_cache(maxsize=8)
def _depth_weights(depth, width, seed):
    rng = np.random.default_rng([seed, width])
    W = rng.normal(size=(depth, width, width)) / math.sqrt(width)
    return W


@lru_cache(maxsize=32)
def _depth_inputs(B, width, seed):
    rng = np.random.default_rng([seed, width, B, 1])
    return rng.normal(size=(B, width)), rng.normal(size=(B, width))


_MAX_DEPTH = 200


@lru_cache(maxsize=64)
def _depth_run(depth, B, activation, batchnorm, width, seed):
    """Squared Frobenius norms of dJ/dW_l, l = 1..depth, for one network (BN eps 1e-5)."""
    W_all = _depth_weights(_MAX_DEPTH, width, seed)
    gain = math.sqrt(2.0) if activation == "relu" and not batchnorm else 1.0
    h, G = _depth_inputs(B, width, seed)
    layers = []                               # (input h, BN scale s, x_hat, ReLU mask)
    for l in range(depth):
        z = h @ W_all[l] * gain
        s = x_hat = mask = None
        if batchnorm:
            _, _, s, x_hat = _normalize(z, 1e-5)
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
            delta = _input_grad(delta, x_hat, s)
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
    factor (B - 2)/(B - 3) a layer for linear networks, more for ReLU
    (tending to pi/(pi - 1) as B grows).

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
        (B - 2)/(B - 3) for linear + BN (B >= 4); 1 without BN; None for
        ReLU + BN (only its large-B limit is known in closed form);
    ``rate_limit``
        the large-B limit: 1 for linear + BN, pi/(pi - 1) for ReLU + BN,
        1 without BN;
    ``first_over_last``
        ||dJ/dW_1||^2 / ||dJ/dW_depth||^2, the growth over the whole depth;
    ``explanation``
        a sentence for degenerate settings (depth 1, B <= 3 with BN), else None.
    """
    depth = _int_arg("depth", depth, 1)
    if depth > _MAX_DEPTH:
        raise ValueError(f"depth must be <= {_MAX_DEPTH}, got {depth}")
    B = _int_arg("batch_size", batch_size, 1)
    activation = _choice_arg("activation", activation, ("linear", "relu"))
    batchnorm = _bool_arg("batchnorm", batchnorm)
    width = _int_arg("width", width, 2)
    seed = _int_arg("seed", seed, 0)
    grad_sq = _depth_run(depth, B, activation, batchnorm, width, seed).copy()
    rate = _fit_rate(grad_sq) if depth >= 4 else None
    if batchnorm:
        limit = 1.0 if activation == "linear" else RELU_RATE_LIMIT
        theory = yang_linear_rate(B) if activation == "linear" and B >= 4 else None
    else:
        limit, theory = 1.0, 1.0
    explanation = None
    if batchnorm and B == 1:
        explanation = ("batch size 1: every channel is its own mean, the BN output is beta whatever "
                       "the input, and every gradient below the last layer is zero.")
        rate = None
    elif batchnorm and B == 2:
        explanation = ("batch size 2: BN maps any two values to -1 and +1, so its output does not "
                       "depend on its input and the gradient vanishes (up to eps) below the last layer.")
        rate = None
    elif batchnorm and B == 3 and activation == "linear":
        explanation = ("batch size 3: the theory's rate (B-2)/(B-3) is infinite - the expected squared "
                       "gradient is unbounded, and one simulation shows erratic jumps.")
    elif depth == 1:
        explanation = "depth 1: a single layer, so there is no growth from layer to layer to measure."
    elif depth < 4:
        explanation = "depth < 4: too few layers to fit a growth rate; try a deeper network."
    return {"depth": depth, "batch_size": B, "activation": activation, "batchnorm": batchnorm,
            "width": width, "layer": np.arange(1, depth + 1), "grad_sq": grad_sq,
            "rate": rate, "rate_theory": theory, "rate_limit": limit,
            "first_over_last": float(grad_sq[0] / grad_sq[-1]) if grad_sq[-1] > 0 else math.inf,
            "explanation": explanation}


def depth_rates(batch_sizes, *, depth=40, activation="linear", width=128, seeds=(0, 1, 2)):
    """Simulated per-layer growth rates with batch norm, for several batch sizes.

    For each B, the rate of :func:`depth_profile` averaged (geometric mean)
    over ``seeds``, with its standard error across seeds.

    Returns
    -------
    dict with ``B``, ``simulated``, ``stderr`` and ``theory``
    ((B - 2)/(B - 3) for linear, nan for ReLU).
    """
    Bs = [_int_arg("batch_sizes[k]", b, 4) for b in batch_sizes]
    sims, errs = [], []
    for B in Bs:
        logs = [math.log(_fit_rate(_depth_run(depth, B, activation, True, width, s))) for s in seeds]
        sims.append(math.exp(np.mean(logs)))
        errs.append(sims[-1] * np.std(logs, ddof=1) / math.sqrt(len(logs)) if len(logs) > 1 else math.nan)
    theory = [yang_linear_rate(B) if activation == "linear" else math.nan for B in Bs]
    return {"B": np.array(Bs), "simulated": np.array(sims), "stderr": np.array(errs),
            "theory": np.array(theory), "activation": activation, "depth": depth, "width": width}
