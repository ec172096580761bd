"""Normalization over any set of axes: batch, spatial, layer, group and RMS norm.

One forward and one backward pass serve every layout; a layout is only a
choice of axes (chapter 7, "Beyond one layout"). For the *reduction axes*
``axes`` of ``x``, each group of M entries that share the other indices
(M = the number of reduced entries, the effective batch) is normalized:

.. math::

   \\mu = \\frac1M \\sum x,\\qquad
   \\sigma^2 = \\frac1M \\sum (x - \\mu)^2,\\qquad
   s = \\sqrt{\\sigma^2 + \\epsilon},\\qquad
   \\hat x = \\frac{x - \\mu}{s},\\qquad
   y = \\gamma \\odot \\hat x + \\beta,

with sums over the group and the biased (1/M) variance. ``gamma`` and
``beta`` vary along the *parameter axes* ``param_axes`` and are shared
(broadcast) along every other axis. With :math:`g = \\gamma \\odot
\\partial J/\\partial y` the gradient of the loss with respect to
:math:`\\hat x`, the backward pass is

.. math::

   \\frac{\\partial J}{\\partial x} = \\frac{1}{M s}
   \\Big[ M g - \\sum g - \\hat x \\odot \\sum (g \\odot \\hat x) \\Big],
   \\qquad
   \\frac{\\partial J}{\\partial \\beta} = \\sum{}' \\frac{\\partial J}{\\partial y},
   \\qquad
   \\frac{\\partial J}{\\partial \\gamma} = \\sum{}' \\frac{\\partial J}{\\partial y}
   \\odot \\hat x,

where :math:`\\sum` runs over the group (the reduction axes) and
:math:`\\sum'` over the axes ``gamma`` is shared across. When ``gamma`` is
constant on each group (batch norm, spatial batch norm) it leaves the
brackets and the two sums become :math:`\\partial J/\\partial\\beta` and
:math:`\\partial J/\\partial\\gamma`: this is chapter 6's compact formula
with N replaced by M.

Layouts (thin wrappers around :func:`forward`; one :func:`backward` for all):

* :func:`batch_norm`, x of shape (N, D): reduce axis 0, M = N; gamma (D,).
* :func:`spatial_batch_norm`, x of shape (N, C, H, W): reduce axes 0, 2, 3,
  M = N H W; gamma (C,).
* :func:`layer_norm`, x of shape (N, ...): reduce every axis but 0, M = the
  number of features; gamma of shape x.shape[1:].
* :func:`group_norm`, x of shape (N, C, H, W), G groups: reduce C/G
  channels and H, W, M = (C/G) H W; gamma (C,).

RMS norm (:func:`rms_norm`) does not centre and has no beta; its cache says
so (``centred=False``) and the same :func:`backward` leaves out the mean of g.
"""
from __future__ import annotations

import operator
from dataclasses import dataclass, replace

import numpy as np

from lib.checks import as_float_array as _as_array, check_eps, check_finite  # same rules as batch norm

__all__ = ["Cache", "normalize", "input_grad", "forward", "backward", "layout_axes",
           "batch_norm", "spatial_batch_norm", "layer_norm", "group_norm", "rms_norm", "LAYOUTS"]


@dataclass(frozen=True)
class Cache:
    """What :func:`forward` keeps for :func:`backward`.

    ``x_hat`` and ``inv_std`` (= 1/s, one value per group, kept with size-1
    reduced axes so that it broadcasts) are in the working shape; ``gamma``
    is broadcastable to it. ``x_shape``, ``gamma_shape`` and ``beta_shape``
    are the caller's shapes, which the gradients come back in. RMS norm has
    ``beta_shape=None`` and ``centred=False``.
    """

    x_hat: np.ndarray
    inv_std: np.ndarray
    gamma: np.ndarray
    axes: tuple
    shared_axes: tuple
    M: int
    eps: float
    x_shape: tuple
    gamma_shape: tuple
    beta_shape: tuple | None
    centred: bool = True


# --------------------------------------------------------------------------
# the numeric core, without input checks
# --------------------------------------------------------------------------
# These two functions are the one implementation of the normalization and of
# its input gradient in lib. They check nothing, so they are fast on the
# large grids of the experiments, and they allow eps = 0, which the checked
# layers refuse. They are public to the rest of lib (lib.experiments calls
# them); a reader's code should call the checked forward() and backward().

def normalize(x, axes=0, eps=0.0, centre=True):
    """``(x_hat, var, s)`` of ``x`` over the reduction ``axes``; no input checks.

    .. math:: \\mu = \\operatorname{mean}(x),\\quad
              \\sigma^2 = \\operatorname{mean}((x-\\mu)^2),\\quad
              s = \\sqrt{\\sigma^2 + \\epsilon},\\quad \\hat x = (x - \\mu)/s

    ``var`` and ``s`` keep the reduced axes with size 1, so they broadcast
    against ``x``. ``eps = 0`` is allowed (then a constant group gives NaN).
    ``centre=False`` (RMS norm): no mean subtracted, ``s`` is the root mean square.
    """
    xc = x - x.mean(axis=axes, keepdims=True) if centre else x
    var = (xc * xc).mean(axis=axes, keepdims=True)
    s = np.sqrt(var + eps)
    return xc / s, var, s


def input_grad(g, x_hat, s, axes=0, centre=True):
    """dJ/dx from ``g = dJ/dx_hat`` over the reduction ``axes``; no input checks.

    .. math:: \\frac{\\partial J}{\\partial x} = \\frac1s\\Big[g - \\operatorname{mean}(g)
              - \\hat x \\odot \\operatorname{mean}(g \\odot \\hat x)\\Big]

    the compact formula of chapter 6, with the means over each group
    (1/M times the sums of chapter 7). ``s`` broadcasts against ``g``.
    ``centre=False`` (RMS norm) leaves out :math:`\\operatorname{mean}(g)`.
    """
    if centre:
        g = g - g.mean(axis=axes, keepdims=True)
    return (g - x_hat * (g * x_hat).mean(axis=axes, keepdims=True)) / s


# --------------------------------------------------------------------------
# input checks: every message names the argument and what was wrong
# --------------------------------------------------------------------------

def _check_axes(name, axes, ndim, allow_empty=False):
    """Normalize ``axes`` (an int or a sequence of ints) to a sorted tuple in range."""
    items = (axes,) if not isinstance(axes, (tuple, list, range)) else tuple(axes)
    out = []
    for a in items:
        if isinstance(a, (bool, np.bool_)):
            raise TypeError(f"{name} must be integers, got {a!r}")
        try:
            a = operator.index(a)
        except TypeError:
            raise TypeError(f"{name} must be integers, got {a!r}") from None
        if not -ndim <= a < ndim:
            raise ValueError(f"{name} has axis {a}, out of range for x with {ndim} "
                             f"dimension(s) (valid: {-ndim}..{ndim - 1})")
        out.append(a % ndim)
    if len(set(out)) != len(out):
        raise ValueError(f"{name} repeats an axis: {tuple(items)}")
    if not out and not allow_empty:
        raise ValueError(f"{name} is empty: name at least one axis to reduce over")
    return tuple(sorted(out))


def _check_param(name, value, x, param_axes, dtype):
    """``gamma`` or ``beta`` as an array that broadcasts against ``x``."""
    arr = _as_array(name, value, dtype)
    compact = tuple(x.shape[a] for a in param_axes)
    full = tuple(x.shape[a] if a in param_axes else 1 for a in range(x.ndim))
    if arr.shape == compact or arr.shape == full or (arr.size == 1 and all(n == 1 for n in compact)):
        check_finite(name, arr)
        return arr.reshape(full)
    raise ValueError(f"{name} must have shape {compact} (the sizes of x's parameter axes "
                     f"{param_axes}), got shape {arr.shape}")


# --------------------------------------------------------------------------
# the one implementation
# --------------------------------------------------------------------------

def forward(x, gamma, beta, axes, eps=1e-5, param_axes=None):
    """Normalize ``x`` over the reduction axes ``axes``.

    .. math:: \\hat x = (x - \\mu)/\\sqrt{\\sigma^2 + \\epsilon},\\qquad
              y = \\gamma \\odot \\hat x + \\beta

    with mean and biased variance over ``axes``: each group of
    :math:`M = \\prod_{a \\in \\text{axes}} x.\\text{shape}[a]` entries gets
    its own :math:`\\mu` and :math:`\\sigma^2`.

    Parameters
    ----------
    x : array_like, float32 or float64
        Any shape with at least one dimension; integers become float64.
    gamma, beta : array_like
        Scale and shift. Their shape is the sizes of ``param_axes``
        (``tuple(x.shape[a] for a in param_axes)``), or that shape with
        size-1 axes inserted so that it broadcasts against ``x``.
    axes : int or tuple of int
        The reduction axes (negative values count from the end).
    eps : float, default 1e-5
        Added to the variance; must be > 0.
    param_axes : int or tuple of int, optional
        The axes along which ``gamma`` and ``beta`` vary. Default: every
        axis not in ``axes`` except axis 0, the batch-norm convention
        (one parameter per feature or channel).

    Returns
    -------
    y : ndarray, shape and dtype of ``x``
    cache : Cache
    """
    x = _as_array("x", x)
    if x.ndim == 0:
        raise ValueError("x must have at least one dimension, got a scalar")
    if x.size == 0:
        raise ValueError(f"x is empty: shape {x.shape}")
    check_finite("x", x)
    axes = _check_axes("axes", axes, x.ndim)
    if param_axes is None:
        param_axes = tuple(a for a in range(1, x.ndim) if a not in axes)
    param_axes = _check_axes("param_axes", param_axes, x.ndim, allow_empty=True)
    eps = check_eps(eps)
    g = _check_param("gamma", gamma, x, param_axes, x.dtype)
    b = _check_param("beta", beta, x, param_axes, x.dtype)
    M = int(np.prod([x.shape[a] for a in axes]))
    x_hat, _, s = normalize(x, axes, x.dtype.type(eps))
    y = g * x_hat + b
    shared = tuple(a for a in range(x.ndim) if a not in param_axes)
    cache = Cache(x_hat=x_hat, inv_std=1.0 / s, gamma=g, axes=axes, shared_axes=shared,
                  M=M, eps=eps, x_shape=x.shape, gamma_shape=np.shape(gamma),
                  beta_shape=np.shape(beta))
    return y, cache


def backward(dy, cache):
    """Gradients with respect to ``x``, ``gamma`` and ``beta``, for any layout.

    .. math::
       g = \\gamma \\odot \\frac{\\partial J}{\\partial y},\\qquad
       \\frac{\\partial J}{\\partial x} = \\frac{1}{M s}
       \\Big[ M g - \\sum g - \\hat x \\odot \\sum (g \\odot \\hat x) \\Big]

    (sums over each group, i.e. over the reduction axes);
    ``dgamma`` and ``dbeta`` sum ``dy * x_hat`` and ``dy`` over the axes
    ``gamma`` is shared across.

    Parameters
    ----------
    dy : array_like, shape of the ``x`` given to the forward pass
        The upstream gradient dJ/dy.
    cache : Cache
        From :func:`forward` or one of the layout functions.

    Returns
    -------
    dx : ndarray, shape and dtype of ``x``
    dgamma, dbeta : ndarray, shapes of ``gamma`` and ``beta``
        For RMS norm, which has no beta, only ``(dx, dgamma)`` is returned.
    """
    if not isinstance(cache, Cache):
        raise TypeError(f"cache must be the Cache returned by a forward pass of lib.norms, "
                        f"got {type(cache).__name__}")
    dy = _as_array("dy", dy)
    if dy.shape != cache.x_shape:
        raise ValueError(f"dy must have the shape of x, {cache.x_shape}, got shape {dy.shape}")
    check_finite("dy", dy)
    c = cache
    dy = dy.astype(c.x_hat.dtype, copy=False).reshape(c.x_hat.shape)
    dgamma = (dy * c.x_hat).sum(axis=c.shared_axes)
    dx = input_grad(c.gamma * dy, c.x_hat, 1.0, c.axes, c.centred) * c.inv_std  # g = gamma dy
    grads = dx.reshape(c.x_shape), dgamma.reshape(c.gamma_shape)
    return grads if c.beta_shape is None else (*grads, dy.sum(axis=c.shared_axes).reshape(c.beta_shape))


# --------------------------------------------------------------------------
# the layouts: only the axes change
# --------------------------------------------------------------------------

def layout_axes(layout, shape, G=None):
    """``(working shape, reduction axes, parameter axes)`` of a named layout.

    The one table of layouts in lib (:mod:`lib.steps.layouts` uses it for
    its symbolic checks). Group norm views (N, C, H, W) as
    (N, G, C/G, H, W); the other layouts keep the shape.
    """
    shape = tuple(shape)
    if layout == "batch norm":
        return shape, (0,), (1,)
    if layout == "spatial batch norm":
        return shape, (0, 2, 3), (1,)
    if layout == "layer norm":
        feats = tuple(range(1, len(shape)))
        return shape, feats, feats
    if layout == "group norm":
        N, C, H, W = shape
        if G is None or C % G:
            raise ValueError(f"group norm needs a number of groups G dividing C = {C}, got {G}")
        return (N, G, C // G, H, W), (2, 3, 4), (1, 2)
    raise ValueError(f"unknown layout {layout!r}; choose from {tuple(LAYOUTS)}")


def _check_ndim(name, x, ndim, shape_text):
    x = _as_array("x", x)
    if x.ndim != ndim:
        raise ValueError(f"{name} needs x of shape {shape_text}, got {x.ndim}-D shape {x.shape}")
    return x


def _layout_forward(layout, x, gamma, beta, eps):
    """:func:`forward` with the axes of ``layout`` (:func:`layout_axes`)."""
    _, axes, param_axes = layout_axes(layout, x.shape)
    return forward(x, gamma, beta, axes=axes, eps=eps, param_axes=param_axes)


def batch_norm(x, gamma, beta, eps=1e-5):
    """Batch norm of a batch ``x`` of shape (N, D): statistics over axis 0.

    The effective batch is M = N; ``gamma``, ``beta`` have shape (D,).
    Same numbers as :func:`lib.batchnorm.forward`.
    """
    return _layout_forward("batch norm", _check_ndim("batch_norm", x, 2, "(N, D)"), gamma, beta, eps)


def spatial_batch_norm(x, gamma, beta, eps=1e-5):
    """Spatial batch norm of images ``x`` of shape (N, C, H, W).

    Statistics per channel over axes (0, 2, 3): every pixel of every image
    counts as an example, so the effective batch is M = N H W.
    ``gamma``, ``beta`` have shape (C,).
    """
    x = _check_ndim("spatial_batch_norm", x, 4, "(N, C, H, W)")
    return _layout_forward("spatial batch norm", x, gamma, beta, eps)


def layer_norm(x, gamma, beta, eps=1e-5):
    """Layer norm of ``x`` of shape (N, ...): statistics per example.

    Each example (row) is normalized over all its features, axes 1..ndim-1,
    so M = the number of features; the batch plays no part. ``gamma``,
    ``beta`` have shape ``x.shape[1:]`` (one per feature) and are shared
    across examples.
    """
    x = _as_array("x", x)
    if x.ndim < 2:
        raise ValueError(f"layer_norm needs x of shape (N, D) or (N, D1, ...), "
                         f"got {x.ndim}-D shape {x.shape}")
    return _layout_forward("layer norm", x, gamma, beta, eps)


def group_norm(x, gamma, beta, G, eps=1e-5):
    """Group norm of images ``x`` of shape (N, C, H, W) with ``G`` groups.

    The C channels are split into G groups of C/G consecutive channels;
    statistics are taken per example and per group, over that group's
    channels and all pixels, so M = (C/G) H W. ``gamma``, ``beta`` have
    shape (C,): one per channel, not per group. G = 1 is layer norm over
    (C, H, W); G = C is instance norm.

    Internally ``x`` is viewed as (N, G, C/G, H, W) and reduced over axes
    (2, 3, 4), with parameters along axes (1, 2).
    """
    x = _check_ndim("group_norm", x, 4, "(N, C, H, W)")
    if isinstance(G, (bool, np.bool_)) or not isinstance(G, (int, np.integer)):
        raise TypeError(f"G (the number of groups) must be an integer, got {type(G).__name__}")
    N, C, H, W = x.shape
    if G < 1 or C % G:
        raise ValueError(f"G = {G} groups must be >= 1 and divide the C = {C} channels")
    g = _as_array("gamma", gamma, x.dtype)
    b = _as_array("beta", beta, x.dtype)
    for name, arr in (("gamma", g), ("beta", b)):
        if arr.shape != (C,):
            raise ValueError(f"{name} must have shape ({C},) (one per channel), got shape {arr.shape}")
    work, axes, param_axes = layout_axes("group norm", x.shape, G)
    pshape = tuple(work[a] for a in param_axes)
    y, cache = forward(x.reshape(work), g.reshape(pshape), b.reshape(pshape),
                       axes=axes, eps=eps, param_axes=param_axes)
    cache = replace(cache, x_shape=x.shape, gamma_shape=np.shape(gamma), beta_shape=np.shape(beta))
    return y.reshape(x.shape), cache


def rms_norm(x, gamma, eps=1e-5):
    """RMS norm (Zhang and Sennrich 2019) of ``x``, (N, D) or (N, D1, ...): per example,
    :math:`\\hat x = x/r`, :math:`r = \\sqrt{\\operatorname{mean}(x^2) + \\epsilon}`,
    :math:`y = \\gamma \\odot \\hat x`; no centring, no beta; ``gamma`` of shape
    ``x.shape[1:]``. :func:`backward` gives ``(dx, dgamma)``."""
    x = _as_array("x", x)
    if x.ndim < 2 or x.size == 0:
        got = "a scalar" if x.ndim == 0 else f"shape {x.shape}"
        raise ValueError(f"rms_norm needs x of shape (N, D) or (N, D1, ...), non-empty, got {got}")
    check_finite("x", x)
    eps = check_eps(eps)
    axes = tuple(range(1, x.ndim))
    g = _check_param("gamma", gamma, x, axes, x.dtype)
    x_hat, _, r = normalize(x, axes, x.dtype.type(eps), centre=False)
    return g * x_hat, Cache(x_hat=x_hat, inv_std=1.0 / r, gamma=g, axes=axes, shared_axes=(0,),
                            M=x.size // x.shape[0], eps=eps, x_shape=x.shape,
                            gamma_shape=np.shape(gamma), beta_shape=None, centred=False)


LAYOUTS = {
    "batch norm": batch_norm,
    "spatial batch norm": spatial_batch_norm,
    "layer norm": layer_norm,
    "group norm": group_norm,
}
"""The layout functions by name; each returns ``(y, cache)`` for :func:`backward`."""
