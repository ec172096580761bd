"""The symbolic forward pass every checked step differentiates.

One builder, :func:`batch`: an N x D batch of named real symbols
``x_ij``, its per-column mean and variance, ``x_hat``, ``y = gamma x_hat +
beta`` and the loss ``J = sum_ij g_ij y_ij`` with arbitrary symbols ``g_ij``
(by the chain rule a gradient depends on the loss only through dJ/dY, so this
is as general as any loss). :func:`column_pass` and :func:`affine_pass` are
the one-column views that chapters 5 and 6 use, with the truth (the
gradient, differentiated entry by entry) attached.

Every result is cached per size and immutable (sympy ``ImmutableMatrix``).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import sympy as sp

from lib.symbolic import EPS, write_root

__all__ = ["Batch", "Pass", "batch", "moments", "column_pass", "affine_pass"]


def moments(entries):
    """``(mu, sigma^2)`` of a list of entries: the mean and the biased (1/M) variance."""
    M = len(entries)
    mu = sum(entries) / M
    return mu, sum((e - mu) ** 2 for e in entries) / M


@dataclass(frozen=True)
class Batch:
    """The forward pass at explicit sizes, component by component."""

    X: sp.ImmutableMatrix        # N x D inputs x_ij
    gamma: tuple                 # D scale symbols
    beta: tuple                  # D shift symbols
    G: sp.ImmutableMatrix        # N x D upstream gradient dJ/dY, symbols g_ij
    mu: tuple                    # per column
    radicand: tuple              # per column: sigma^2 + eps, an explicit polynomial
    roots: tuple                 # per column: a positive symbol standing for s
    X_hat: sp.ImmutableMatrix    # (x - mu) / sqrt(sigma^2 + eps)
    Y: sp.ImmutableMatrix
    J: sp.Expr                   # sum_ij g_ij y_ij

    def plain(self, expr):
        """``expr`` with every (sigma^2+eps)^p written as a power of s."""
        for radicand, root in zip(self.radicand, self.roots):
            expr = write_root(expr, radicand, root)
        return expr

    def x_hat_of_s(self):
        """X_hat with s as its own symbol (the form the formulas use)."""
        return self.plain(self.X_hat)


def _symbols(name, n, d):
    return sp.ImmutableMatrix(n, d, lambda a, b: sp.Symbol(
        f"{name}_{a + 1}{b + 1}" if d > 1 else f"{name}_{a + 1}", real=True))


@lru_cache(maxsize=None)
def batch(n, d=1) -> Batch:
    """Symbols and forward pass for an n x d batch (cached, immutable)."""
    X, G = _symbols("x", n, d), _symbols("g", n, d)
    gam = tuple(sp.symbols(f"gamma_1:{d + 1}", real=True))
    bet = tuple(sp.symbols(f"beta_1:{d + 1}", real=True))
    roots = tuple(sp.symbols(f"s_1:{d + 1}", positive=True))
    stats = [moments(list(X[:, b])) for b in range(d)]
    X_hat = sp.ImmutableMatrix(n, d, lambda a, b: (X[a, b] - stats[b][0])
                               / sp.sqrt(stats[b][1] + EPS))
    Y = sp.ImmutableMatrix(n, d, lambda a, b: gam[b] * X_hat[a, b] + bet[b])
    J = sum(G[a, b] * Y[a, b] for a in range(n) for b in range(d))
    return Batch(X, gam, bet, G, tuple(m for m, _ in stats),
                 tuple(v + EPS for _, v in stats), roots, X_hat, Y, J)


@dataclass(frozen=True)
class Pass:
    """One column's forward pass and the truths a step compares with (read-only)."""

    n: int
    x: sp.ImmutableMatrix
    g: sp.ImmutableMatrix          # dJ/dx_hat
    mu: sp.Expr
    R: sp.ImmutableMatrix          # x - mu
    var: sp.Expr                   # sigma^2, biased
    x_hat: sp.ImmutableMatrix
    J: sp.Expr
    dJ_dx: sp.ImmutableMatrix
    dy: sp.ImmutableMatrix = None  # affine pass only: dJ/dy, gamma, beta, y and two truths
    gamma: sp.Symbol = None
    beta: sp.Symbol = None
    y: sp.ImmutableMatrix = None
    dJ_dgamma: sp.Expr = None
    dJ_dbeta: sp.Expr = None


@lru_cache(maxsize=None)
def column_pass(n):
    """One column with the loss ``J = g^T x_hat`` (``g`` = dJ/dx_hat), and its gradient.

    Returns a namespace with ``x`` (components x_1..x_n), ``g``, ``mu``,
    ``R`` (= x - mu), ``var``, ``x_hat``, ``J`` and the truth ``dJ_dx``,
    taken component by component. Cached per n; the matrices are immutable.
    """
    B = batch(n, 1)
    x, g = B.X[:, 0], B.G[:, 0]
    x_hat = B.X_hat[:, 0]
    J = (g.T * x_hat)[0, 0]
    return Pass(n=n, x=x, g=g, mu=B.mu[0], R=sp.ImmutableMatrix(x - B.mu[0] * sp.ones(n, 1)),
                   var=B.radicand[0] - EPS, x_hat=x_hat, J=J,
                   dJ_dx=sp.ImmutableMatrix([sp.diff(J, xi) for xi in x]))


@lru_cache(maxsize=None)
def affine_pass(n):
    """One column with the affine step, ``J = dy^T (gamma x_hat + beta)``, and its gradients.

    :func:`column_pass`'s fields, with ``g = gamma dy`` (dJ/dx_hat), plus
    ``dy`` (the symbols g_1..g_n of :func:`batch`), ``gamma``, ``beta``,
    ``y`` and the truths ``dJ_dx``, ``dJ_dgamma``, ``dJ_dbeta``. Cached per n.
    """
    B = batch(n, 1)
    f = column_pass(n)
    gamma, beta, dy = B.gamma[0], B.beta[0], B.G[:, 0]
    return Pass(n=n, x=f.x, mu=f.mu, R=f.R, var=f.var, x_hat=f.x_hat, g=sp.ImmutableMatrix(gamma * dy),
                   dy=dy, gamma=gamma, beta=beta, y=B.Y[:, 0], J=B.J,
                   dJ_dx=sp.ImmutableMatrix([sp.diff(B.J, xi) for xi in f.x]),
                   dJ_dgamma=sp.diff(B.J, gamma), dJ_dbeta=sp.diff(B.J, beta))
