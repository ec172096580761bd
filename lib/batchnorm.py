"""Batch normalization: the forward pass and four backward passes.

Conventions (see the notation page of the book):

* ``x`` has shape (N, D): N examples (rows), D features (columns).
  A 1-D ``x`` of shape (N,) is one column.
* Per column: ``mu = mean(x)``, ``var = mean((x - mu)**2)`` (the biased,
  1/N variance of training mode), ``s = sqrt(var + eps)``,
  ``x_hat = (x - mu) / s`` and ``y = gamma * x_hat + beta``.

All four backward methods compute the same three gradients; they differ
in how the derivation is organised, which is what the book is about.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lib.checks import as_float_array, check_eps, check_finite

METHODS = ("staged", "rowwise", "columnwise", "simplified")
"""Names accepted by :func:`backward`'s ``method`` argument."""

@dataclass(frozen=True)
class Cache:
    """What the forward pass keeps for the backward pass.

    Every array is 2-D per column, (N, D) or (D,), in the input's dtype.
    ``x_shape``, ``gamma_shape`` and ``beta_shape`` remember the shapes the
    caller passed, so that gradients come back in the same shapes.
    """

    x: np.ndarray
    mu: np.ndarray
    var: np.ndarray
    inv_std: np.ndarray
    x_hat: np.ndarray
    gamma: np.ndarray
    eps: float
    x_shape: tuple
    gamma_shape: tuple
    beta_shape: tuple


# --------------------------------------------------------------------------
# input checks: every message names the argument and what was wrong
# --------------------------------------------------------------------------

def _check_param(name, value, D, dtype):
    arr = as_float_array(name, value, dtype)
    if arr.shape not in ((D,), (1, D)) and not (D == 1 and arr.shape in ((), (1, 1))):
        raise ValueError(f"{name} must have shape ({D},) or (1, {D}) to match the {D} "
                         f"column(s) of x, got shape {arr.shape}")
    check_finite(name, arr)
    return arr.reshape(D)


def _check_x(x):
    x = as_float_array("x", x)
    if x.ndim not in (1, 2):
        raise ValueError(f"x must have shape (N, D) or (N,), got {x.ndim}-D shape {x.shape}")
    if x.shape[0] == 0:
        raise ValueError(f"x has an empty batch: shape {x.shape} has N = 0 examples")
    if x.ndim == 2 and x.shape[1] == 0:
        raise ValueError(f"x has no features: shape {x.shape} has D = 0 columns")
    check_finite("x", x)
    return x


def _check_inputs(x, gamma, beta, eps):
    """Checked ``x``, ``x`` as (N, D), ``gamma`` and ``beta`` as (D,) in x's dtype, ``eps``."""
    x = _check_x(x)
    eps = check_eps(eps)
    x2 = x.reshape(x.shape[0], -1)
    g = _check_param("gamma", gamma, x2.shape[1], x.dtype)
    b = _check_param("beta", beta, x2.shape[1], x.dtype)
    return x, x2, g, b, eps


# --------------------------------------------------------------------------
# forward
# --------------------------------------------------------------------------

def forward(x, gamma, beta, eps=1e-5, *, checked=True):
    """Batch-normalize ``x`` with batch statistics (training mode).

    .. math:: \\hat x_i = (x_i - \\mu)/\\sqrt{\\sigma^2 + \\epsilon},
              \\qquad y_i = \\gamma \\odot \\hat x_i + \\beta

    with the biased variance :math:`\\sigma^2 = \\frac1N\\sum_i (x_i-\\mu)^2`
    (chapter 1, "The batch-norm layer").

    Parameters
    ----------
    x : array_like, shape (N, D) or (N,)
        The batch; a 1-D ``x`` is a single column. Integers are converted
        to float64; float32 stays float32.
    gamma, beta : array_like, shape (D,) or (1, D)
        Scale and shift per column (a scalar is allowed when D = 1).
    eps : float, default 1e-5
        Added to the variance; must be > 0.
    checked : bool, default True
        False skips the input checks, for a caller that already holds a finite
        (N, D) float array and (D,) parameters of its dtype (the layers of
        :mod:`lib.layers`, thousands of times a training run); the arithmetic is the same.

    Returns
    -------
    y : ndarray, same shape and dtype as ``x``
    cache : Cache
        What :func:`backward` needs.

    Notes
    -----
    N = 1 is legal: the single example equals the mean, so ``x_hat`` is 0
    and the output is ``beta`` whatever ``x`` is (and the input gradient
    is 0).
    """
    if checked:
        x, x2, g, b, eps = _check_inputs(x, gamma, beta, eps)
    else:
        x2, g, b = x, gamma, beta
    mu = x2.mean(axis=0)
    xc = x2 - mu
    var = np.einsum("ij,ij->j", xc, xc) / x2.shape[0]
    inv_std = 1.0 / np.sqrt(var + x.dtype.type(eps))
    x_hat = xc
    x_hat *= inv_std
    y = g * x_hat + b
    cache = Cache(x=x2, mu=mu, var=var, inv_std=inv_std, x_hat=x_hat, gamma=g,
                  eps=eps, x_shape=x.shape, gamma_shape=np.shape(gamma),
                  beta_shape=np.shape(beta))
    return y.reshape(x.shape), cache


def forward_inference(x, gamma, beta, running_mean, running_var, eps=1e-5):
    """Batch norm in inference mode: an affine map with frozen statistics.

    .. math:: y = \\gamma \\odot (x - m)/\\sqrt{v + \\epsilon} + \\beta

    where ``m`` and ``v`` are running averages collected in training
    (chapter 1). Its gradient with respect to ``x`` is just
    :math:`\\gamma/\\sqrt{v+\\epsilon}`, the same for every example.
    """
    x, x2, g, b, eps = _check_inputs(x, gamma, beta, eps)
    m = _check_param("running_mean", running_mean, x2.shape[1], x.dtype)
    v = _check_param("running_var", running_var, x2.shape[1], x.dtype)
    if np.any(v < 0):
        raise ValueError("running_var must be >= 0 in every column")
    y = g * (x2 - m) / np.sqrt(v + x.dtype.type(eps)) + b
    return y.reshape(x.shape)


def update_running(running, batch_value, momentum=0.1):
    """One step of the exponential running average used for inference.

    ``running <- (1 - momentum) * running + momentum * batch_value``.
    Frameworks feed the *unbiased* batch variance N/(N-1) * var here, while
    training itself uses the biased one.
    """
    if not 0 < momentum <= 1:
        raise ValueError(f"momentum must be in (0, 1], got {momentum}")
    return (1 - momentum) * np.asarray(running) + momentum * np.asarray(batch_value)


# --------------------------------------------------------------------------
# backward
# --------------------------------------------------------------------------

def backward(dy, cache, method="simplified", *, checked=True):
    """Gradients of the loss with respect to ``x``, ``gamma`` and ``beta``.

    Parameters
    ----------
    dy : array_like, same shape as the ``x`` given to :func:`forward`
        The upstream gradient dJ/dY.
    cache : Cache
        The second value returned by :func:`forward`.
    method : {"staged", "rowwise", "columnwise", "simplified"}
        Which derivation to evaluate (see :data:`METHODS`); all agree.
    checked : bool, default True
        False skips the checks of ``dy`` and ``cache``, for a caller that hands back
        a finite ``dy`` of the forward pass's shape and dtype (:mod:`lib.layers`).

    Returns
    -------
    dx : ndarray, shape and dtype of ``x``
    dgamma, dbeta : ndarray, shapes of ``gamma`` and ``beta``
    """
    if checked:
        if not isinstance(cache, Cache):
            raise TypeError(f"cache must be the Cache returned by forward(), got {type(cache).__name__}")
        if method not in METHODS:
            raise ValueError(f"method must be one of {', '.join(map(repr, METHODS))}; got {method!r}")
        dy = as_float_array("dy", dy)
        if dy.shape != cache.x_shape:
            raise ValueError(f"dy must have the shape of x, {cache.x_shape}, got shape {dy.shape}")
        dy = dy.astype(cache.x.dtype, copy=False).reshape(cache.x.shape)
    with np.errstate(invalid="ignore", over="ignore"):   # a bad dy is reported below
        dx, dgamma, dbeta = _BACKWARDS[method](dy, cache)
    # A NaN or inf anywhere in dy makes its column sum dbeta non-finite, so checking
    # the D sums is enough to notice; only then is dy scanned, to name the problem.
    if checked and not np.all(np.isfinite(dbeta)):
        check_finite("dy", dy)
        raise ValueError("dy is too large: its column sums overflow "
                         f"{cache.x.dtype}; scale the loss down")
    return (dx.reshape(cache.x_shape),
            dgamma.reshape(cache.gamma_shape),
            dbeta.reshape(cache.beta_shape))


def _backward_staged(dy, c):
    """The computational graph, one node at a time, as autodiff would do it.

    Forward nodes (chapter 3): ``mu = mean(x)``, ``xc = x - mu``,
    ``sq = xc**2``, ``var = mean(sq)``, ``s = sqrt(var + eps)``,
    ``inv = 1/s``, ``x_hat = xc * inv``, ``gx = gamma * x_hat``,
    ``y = gx + beta``. The backward pass visits them in reverse; each line
    is the local derivative of one node times the gradient flowing in.
    """
    N = dy.shape[0]
    # rebuild the nodes an autodiff system would have recorded
    mu = c.x.mean(axis=0)
    xc = c.x - mu
    sq = xc ** 2
    var = sq.mean(axis=0)
    s = np.sqrt(var + c.x.dtype.type(c.eps))
    inv = 1.0 / s
    x_hat = xc * inv
    # 9. y = gx + beta
    dbeta = dy.sum(axis=0)
    dgx = dy
    # 8. gx = gamma * x_hat
    dgamma = (dgx * x_hat).sum(axis=0)
    dx_hat = dgx * c.gamma
    # 7. x_hat = xc * inv
    dinv = (dx_hat * xc).sum(axis=0)
    dxc = dx_hat * inv
    # 6. inv = 1 / s
    ds = -dinv / s ** 2
    # 5. s = sqrt(var + eps)
    dvar = ds / (2 * s)
    # 4. var = mean(sq)
    dsq = np.broadcast_to(dvar / N, sq.shape)
    # 3. sq = xc ** 2
    dxc = dxc + 2 * xc * dsq
    # 2. xc = x - mu
    dx = dxc.copy()
    dmu = -dxc.sum(axis=0)
    # 1. mu = mean(x)
    dx += dmu / N
    return dx, dgamma, dbeta


def _backward_rowwise(dy, c):
    """Per example, through the three paths from ``x_i`` (chapter 3).

    .. math::
       \\frac{\\partial J}{\\partial x_i} =
       \\frac{1}{s}\\frac{\\partial J}{\\partial \\hat x_i}
       + \\frac{\\partial J}{\\partial \\sigma^2}\\frac{2(x_i-\\mu)}{N}
       + \\frac{1}{N}\\frac{\\partial J}{\\partial \\mu}

    with :math:`\\partial J/\\partial\\sigma^2 = -\\tfrac12(\\sigma^2+\\epsilon)^{-3/2}
    \\sum_j \\partial J/\\partial\\hat x_j\\,(x_j-\\mu)` and
    :math:`\\partial J/\\partial\\mu = -\\tfrac1s\\sum_j \\partial J/\\partial\\hat x_j
    + \\partial J/\\partial\\sigma^2\\cdot(-\\tfrac2N)\\sum_j(x_j-\\mu)`.
    All rows are evaluated at once; row i of each array is example i.
    """
    direct, via_var, via_mu = rowwise_paths(dy, c)
    return direct + via_var + via_mu, (dy * c.x_hat).sum(axis=0), dy.sum(axis=0)


def rowwise_paths(dy, cache):
    r"""The three terms of chapter 3's row-wise gradient, one array each, shape (N, D).

    ``direct`` is :math:`\tfrac1s\,\partial J/\partial\hat x_i`, ``via_var`` is
    :math:`\partial J/\partial\sigma^2\cdot 2(x_i-\mu)/N` and ``via_mu`` is
    :math:`\tfrac1N\,\partial J/\partial\mu`; their sum is ``dx`` of
    ``backward(dy, cache, method="rowwise")`` (which adds them). No input checks: ``cache``
    comes from :func:`forward` and ``dy`` has its shape.
    """
    c = cache
    N = dy.shape[0]
    xc = c.x - c.mu
    var_eps = c.var + c.x.dtype.type(c.eps)
    dx_hat = c.gamma * dy
    dvar = -0.5 * var_eps ** -1.5 * (dx_hat * xc).sum(axis=0)
    dmu = -c.inv_std * dx_hat.sum(axis=0) + dvar * (-2.0 / N) * xc.sum(axis=0)
    return dx_hat * c.inv_std, dvar * 2 * xc / N, np.broadcast_to(dmu / N, dy.shape)


def _backward_columnwise(dy, c):
    """Per column, in matrix form, as derived with the lemma (chapter 5).

    For one column, ``R = (I - 1/N) x`` and ``x_hat = c(R) R`` with
    :math:`c(R) = (R^\\top R/N + \\epsilon)^{-1/2}`. The lemma gives
    :math:`\\partial J/\\partial R = (\\nabla c\\, R^\\top + c I)\\,\\partial J/\\partial\\hat x`
    with :math:`\\nabla c = -\\tfrac1N(\\sigma^2+\\epsilon)^{-3/2} R`, and the
    linear map gives :math:`\\partial J/\\partial x = (I - \\mathbf 1/N)^\\top
    \\partial J/\\partial R`. Every column is treated at once: column j of
    each array is column j of X.
    """
    N = dy.shape[0]
    dtype = c.x.dtype
    centre = np.eye(N, dtype=dtype) - np.full((N, N), 1.0 / N, dtype=dtype)  # I - 1/N
    R = centre @ c.x
    var_eps = (R * R).sum(axis=0) / N + dtype.type(c.eps)
    c_R = var_eps ** -0.5
    grad_c = -(1.0 / N) * var_eps ** -1.5 * R           # dc/dR, one column each
    dbeta = dy.sum(axis=0)
    dgamma = (dy * c.x_hat).sum(axis=0)
    dx_hat = c.gamma * dy
    # (grad_c R^T + c I) dx_hat, without forming the N x N matrix per column
    dR = grad_c * (R * dx_hat).sum(axis=0) + c_R * dx_hat
    dx = centre.T @ dR
    return dx, dgamma, dbeta


def _backward_simplified(dy, c):
    """The compact formula (chapter 6).

    .. math::
       \\frac{\\partial J}{\\partial X} = \\frac{\\gamma \\odot
       (\\sigma^2+\\epsilon)^{-1/2}}{N} \\odot \\Big[ N \\frac{\\partial J}{\\partial Y}
       - \\frac{\\partial J}{\\partial \\beta}
       - \\hat X \\odot \\frac{\\partial J}{\\partial \\gamma} \\Big]

    Two passes over the data: one for the two column sums, one that writes
    ``dx``. The second pass works on blocks of rows (about 256 KiB each), so
    its four in-place operations on a block run in the CPU cache and ``dx``
    goes to memory once; no temporary array of the full size is made.
    """
    N, D = dy.shape
    dbeta = dy.sum(axis=0)                          # 1_N^T dJ/dY
    dgamma = np.einsum("ij,ij->j", dy, c.x_hat)     # column sums of X_hat * dJ/dY
    mean_dy = dbeta / N
    mean_dy_xhat = dgamma / N
    scale = c.gamma * c.inv_std                     # gamma / s
    dx = np.empty_like(dy)
    rows = max(1, (256 * 1024) // (D * dy.itemsize))  # rows per block
    for i in range(0, N, rows):
        block = dx[i:i + rows]
        np.multiply(c.x_hat[i:i + rows], mean_dy_xhat, out=block)  # X_hat * dgamma / N
        block += mean_dy                                           # + dbeta / N
        np.subtract(dy[i:i + rows], block, out=block)              # dJ/dY - (...)
        block *= scale                                             # * gamma / s
    return dx, dgamma, dbeta


_BACKWARDS = {
    "staged": _backward_staged,
    "rowwise": _backward_rowwise,
    "columnwise": _backward_columnwise,
    "simplified": _backward_simplified,
}
