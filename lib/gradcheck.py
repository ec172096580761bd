"""Centred finite differences, and the relative error the book reports.

The relative error is taken over the whole array,

.. math:: \\mathrm{rel}(a, b) = \\frac{\\max_k |a_k - b_k|}
          {\\max(\\max_k |a_k| + \\max_k |b_k|,\\ 10^{-300})},

rather than entry by entry (as CS231n does). A batch-norm input gradient
sums to zero in every column, so some of its entries are close to zero;
an entry-wise ratio would divide finite-difference noise by those near
zeros and report a large error for a correct gradient. Scaling by the
largest entry asks the question that matters: is the error small compared
with the gradient?
"""
from __future__ import annotations

import numpy as np


def numerical_gradient(f, x, h=1e-5):
    """Centred finite-difference gradient of a scalar function.

    .. math:: \\frac{\\partial f}{\\partial x_k} \\approx
              \\frac{f(x + h e_k) - f(x - h e_k)}{2h}

    Parameters
    ----------
    f : callable
        Takes an array shaped like ``x`` and returns a real number.
    x : array_like
        Where to differentiate. Not modified (a float64 copy is perturbed).
    h : float
        Step; the error is O(h**2) plus rounding of order 1e-16 * |f| / h.

    Returns
    -------
    ndarray of float64, shape of ``x``
    """
    if not h > 0:
        raise ValueError(f"h must be > 0, got {h}")
    x = np.array(x, dtype=np.float64)
    grad = np.empty_like(x)
    flat, gflat = x.reshape(-1), grad.reshape(-1)
    for k in range(flat.size):
        old = flat[k]
        flat[k] = old + h
        f_plus = float(f(x))
        flat[k] = old - h
        f_minus = float(f(x))
        flat[k] = old
        gflat[k] = (f_plus - f_minus) / (2 * h)
    return grad


def rel_error(a, b):
    """Largest absolute difference relative to the largest entries.

    Returns 0.0 when both arrays are exactly zero.
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"cannot compare shapes {a.shape} and {b.shape}")
    if a.size == 0:
        return 0.0
    scale = np.max(np.abs(a)) + np.max(np.abs(b))
    return float(np.max(np.abs(a - b)) / max(scale, 1e-300))
