"""Measured claims, checked like the steps: a number over seeds, an interval, and what makes it false.

A sentence of chapters 8 and 10 that states a direction or a size is a :class:`Claim`:
the quantity it is about, measured once per seed by a named experiment; the bound the
sentence asserts for it (``low < mean``, ``mean < high``, or both); and the interval
the seeds give for the mean, with the t quantile for that many seeds. The claim holds
when the whole interval lies on the claimed side of its bounds. A claim stated for
every seed (``every_seed=True``) also needs each seed's value inside the bounds; any
other claim says how many seeds fall inside, and the page prints that count ("on 4 of
5 seeds") from :meth:`Claim.glue`, never a typed copy.

A page calls :meth:`Claim.check` (a :class:`ClaimError` stops the build when the claim
does not hold) and :meth:`Claim.glue` (its numbers for the prose); the verification
page lists the same objects (:func:`rows`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import stdtrit      # Student's t quantile (what scipy.stats.t.ppf calls)

__all__ = ["CONFIDENCE", "Claim", "ClaimError", "t_interval", "check_all", "rows"]

CONFIDENCE = 0.95
"""The coverage of every claim's interval."""


class ClaimError(AssertionError):
    """A claim of the book that its runs do not support."""


def t_interval(values, confidence=CONFIDENCE):
    """``(mean, low, high)``: the mean of ``values`` and its two-sided t interval.

    With n values the half-width is ``t_{n-1} * sd / sqrt(n)`` (sd with n - 1), the
    quantile for that many seeds: ±2 standard errors of 3 seeds would be an 82 % interval.
    """
    v = np.asarray(values, dtype=float)
    if v.ndim != 1 or v.size < 2:
        raise ValueError(f"an interval needs at least two values, one per seed; got {v.size}")
    if not np.all(np.isfinite(v)):
        raise ValueError(f"the values must be finite, got {v.tolist()}")
    mean = float(v.mean())
    half = float(stdtrit(v.size - 1, 0.5 + confidence / 2) * v.std(ddof=1) / math.sqrt(v.size))
    return mean, mean - half, mean + half


@dataclass(frozen=True)
class Claim:
    """One measured claim of the book.

    Parameters
    ----------
    key : str
        Its name on the page: the glue keys start with it (``train-lr-gap``).
    chapter : int
    statement : str
        What the page says, in words.
    experiment : str
        The call that measured it (``lib.experiments.training.lr_sweep()``).
    quantity : str
        What ``values`` are, per seed.
    seeds : tuple of int
    values : tuple of float
        The quantity on each seed.
    low, high : float or None
        The claim: the mean lies above ``low`` and below ``high``.
    every_seed : bool
        Stated for every seed: each value must lie within the bounds too.
    """

    key: str
    chapter: int
    statement: str
    experiment: str
    quantity: str
    seeds: tuple
    values: tuple
    low: float | None = None
    high: float | None = None
    every_seed: bool = False

    def __post_init__(self):
        if self.low is None and self.high is None:
            raise ValueError(f"claim {self.key!r} has no bound: give low, high or both")
        if len(self.seeds) != len(self.values):
            raise ValueError(f"claim {self.key!r}: {len(self.values)} values for {len(self.seeds)} seeds")
        object.__setattr__(self, "values", tuple(float(v) for v in self.values))
        object.__setattr__(self, "seeds", tuple(int(s) for s in self.seeds))
        t_interval(self.values)                          # at least two finite values

    def _inside(self, v):
        return (self.low is None or v > self.low) and (self.high is None or v < self.high)

    @property
    def interval(self):
        """``(mean, low, high)`` of the values, :data:`CONFIDENCE` t interval."""
        return t_interval(self.values)

    @property
    def held(self):
        """On how many seeds the value lies within the bounds."""
        return sum(self._inside(v) for v in self.values)

    @property
    def bound(self):
        """The bounds as text: ``> 0``, ``< 1``, ``in (0.97, 1.03)``."""
        if self.high is None:
            return f"> {self.low:.4g}"
        if self.low is None:
            return f"< {self.high:.4g}"
        return f"in ({self.low:.4g}, {self.high:.4g})"

    @property
    def falsified_by(self):
        """What would make the claim false."""
        text = f"a {CONFIDENCE:.0%} interval of the mean not entirely {self.bound}"
        return text + (f", or one seed not {self.bound}" if self.every_seed else "")

    @property
    def holds(self):
        _, lo, hi = self.interval
        inside = (self.low is None or lo > self.low) and (self.high is None or hi < self.high)
        return inside and (not self.every_seed or self.held == len(self.values))

    @property
    def on_seeds(self):
        """``"on every seed"`` or ``"on 4 of 5 seeds"``."""
        n = len(self.values)
        return "on every seed" if self.held == n else f"on {self.held} of {n} seeds"

    def check(self):
        """Raise :class:`ClaimError` unless the claim holds; return the claim."""
        if not self.holds:
            mean, lo, hi = self.interval
            raise ClaimError(
                f"claim {self.key!r} (chapter {self.chapter}) does not hold: {self.statement}. "
                f"{self.quantity} should be {self.bound}; mean {mean:.4g}, {CONFIDENCE:.0%} "
                f"interval ({lo:.4g}, {hi:.4g}), {self.on_seeds} "
                f"(values {', '.join(f'{v:.4g}' for v in self.values)})")
        return self

    def glue(self):
        """Glue ``key`` (the mean), ``key-lo``, ``key-hi``, ``key-seeds``, ``key-held``, ``key-on``."""
        from myst_nb import glue

        mean, lo, hi = self.interval
        for suffix, value in (("", mean), ("-lo", lo), ("-hi", hi), ("-seeds", len(self.values)),
                              ("-held", self.held), ("-on", self.on_seeds)):
            glue(self.key + suffix, value, display=False)
        return self


def check_all(claims, glue=True):
    """Check every claim of a dict or list (the first that fails raises); glue them all."""
    items = list(claims.values()) if isinstance(claims, dict) else list(claims)
    for claim in items:
        claim.check()
    if glue:
        for claim in items:
            claim.glue()
    return claims


def rows(claims):
    """One row a claim, for a table: chapter, claim, experiment, seeds, interval, result."""
    out = []
    for c in claims:
        mean, lo, hi = c.interval
        out.append({"chapter": c.chapter, "claim": c.statement, "measured": c.quantity,
                    "seeds": len(c.seeds), "claimed": c.bound,
                    f"{CONFIDENCE:.0%} interval": f"{lo:.3g} to {hi:.3g}",
                    "result": ("holds" if c.holds else "FAILS") + ", " + c.on_seeds})
    return out
