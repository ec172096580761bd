"""The layers of :mod:`lib.training`'s networks, each with ``forward(h)`` and ``backward(dh)``.

``backward`` returns the gradient with respect to the layer's input and stores the
gradients of its parameters in ``grads`` (under the names of ``params``):

* :class:`Linear`, ``z = h W + b`` (He's initialization);
* :class:`BatchNorm`, the book's layer: :func:`lib.batchnorm.forward` and the simplified
  :func:`lib.batchnorm.backward`, with an optional :class:`Noise` after it (Santurkar et
  al.'s "noisy BN");
* :class:`ReLU`;
* :class:`Residual`, ``h + alpha * branch(h)`` around a list of these (He et al. 2016),
  with an optional trainable scale ``alpha`` (SkipInit, De & Smith 2020).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from lib import batchnorm as bn

__all__ = ["Linear", "Noise", "BatchNorm", "ReLU", "Residual"]


class Linear:
    """``z = h W + b``, W of shape (n_in, n_out) drawn N(0, 2/n_in) (He et al. 2015)."""

    def __init__(self, n_in, n_out, rng):
        self.params = {"W": rng.normal(size=(n_in, n_out)) * math.sqrt(2.0 / n_in),
                       "b": np.zeros(n_out)}
        self.grads = {}

    def forward(self, h):
        self._h = h
        return h @ self.params["W"] + self.params["b"]

    def backward(self, dz):
        self.grads = {"W": self._h.T @ dz, "b": dz.sum(axis=0)}
        return dz @ self.params["W"].T

    def __repr__(self):
        return f"Linear{self.params['W'].shape}"


@dataclass
class Noise:
    """Noisy batch norm (Santurkar et al. 2018, section 2): i.i.d. noise on every activation.

    At every training step each unit j draws the mean and the spread of its noise afresh:
    a scale mean ``r_j ~ U(1/spread, spread)`` with spread ``q_j ~ U(0, r_j/2)``, and a
    shift mean ``m_j ~ U(-shift, shift)`` with spread ``v_j ~ U(0, shift)``. Each activation
    of each example then gets its own draws, ``a_ij ~ U(r_j - q_j, r_j + q_j)`` and
    ``c_ij ~ U(m_j - v_j, m_j + v_j)``, and becomes ``a_ij y_ij + c_ij``: the mean and the
    variance of what the next layer sees change at every step, a deliberate covariate shift.
    """

    shift: float = 1.0
    spread: float = 2.0
    rng: np.random.Generator = None

    def draw(self, shape):
        """``(a, c)``, each of ``shape`` (examples, units): this step's scale and shift."""
        width = shape[1]
        r = self.rng.uniform(1.0 / self.spread, self.spread, width)
        q = self.rng.uniform(0.0, 0.5, width) * r
        m = self.rng.uniform(-self.shift, self.shift, width)
        v = self.rng.uniform(0.0, self.shift, width)
        return self.rng.uniform(r - q, r + q, shape), self.rng.uniform(m - v, m + v, shape)


class BatchNorm:
    """The book's batch-norm layer (training mode), optionally followed by :class:`Noise`."""

    def __init__(self, width, noise=None):
        self.params = {"gamma": np.ones(width), "beta": np.zeros(width)}
        self.grads = {}
        self.noise = noise
        self.noisy = True           # False while a network is evaluated
        self._scale = None

    def forward(self, z):
        y, self._cache = bn.forward(z, self.params["gamma"], self.params["beta"], checked=False)
        self._scale = None
        if self.noise is not None and self.noisy:
            self._scale, shift = self.noise.draw(z.shape)
            y = y * self._scale + shift
        return y

    def backward(self, dy):
        if self._scale is not None:
            dy = dy * self._scale
        dz, dgamma, dbeta = bn.backward(dy, self._cache, method="simplified", checked=False)
        self.grads = {"gamma": dgamma, "beta": dbeta}
        return dz

    def __repr__(self):
        return f"BatchNorm({self.params['gamma'].size}{', noisy' if self.noise else ''})"


class ReLU:
    """``max(z, 0)``; no parameters."""

    params = {}

    def __init__(self):
        self.grads = {}

    def forward(self, z):
        self._mask = z > 0
        return z * self._mask

    def backward(self, dh):
        return dh * self._mask

    def __repr__(self):
        return "ReLU"


class Residual:
    """``h + alpha * branch(h)``: a residual block around a list of layers (He et al. 2016).

    ``alpha`` is a fixed 1 by default; ``trainable=True`` makes it a parameter, trained
    with the rest (SkipInit: ``alpha = 0`` at initialization, De & Smith 2020). The
    branch's parameters appear in ``params`` and ``grads`` as ``"k.name"`` (layer k of
    the branch), the same arrays, so that SGD updates them in place.
    """

    def __init__(self, branch, alpha=1.0, trainable=False):
        alpha = float(alpha)
        if not math.isfinite(alpha):
            raise ValueError(f"the branch scale alpha must be finite, got {alpha}")
        self.branch = list(branch)
        self.alpha = np.array(alpha)
        self.params = {f"{k}.{name}": value for k, layer in enumerate(self.branch)
                       for name, value in layer.params.items()}
        if trainable:
            self.params["alpha"] = self.alpha
        self.grads = {}

    def forward(self, h):
        b = h
        for layer in self.branch:
            b = layer.forward(b)
        self._b = b
        return h + self.alpha * b

    def backward(self, dy):
        d = self.alpha * dy
        for layer in reversed(self.branch):
            d = layer.backward(d)
        self.grads = {f"{k}.{name}": g for k, layer in enumerate(self.branch)
                      for name, g in layer.grads.items()}
        if "alpha" in self.params:
            self.grads["alpha"] = np.array(np.sum(dy * self._b))
        return dy + d

    def __repr__(self):
        return f"Residual({', '.join(map(repr, self.branch))}; alpha={float(self.alpha):g})"
