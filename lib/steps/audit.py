"""Every checked step of the book, and a planted mistake that each must reject.

The book's verification page is generated from this module at build time: it
runs ``all_steps()`` of every chapter's module, then runs each step again with
a wrong formula (:func:`mutations`) and records that the check refuses it. A
check that accepted every mutation would be a check that cannot fail.
"""
from __future__ import annotations

import importlib
import inspect
import re
import time

import sympy as sp

from lib.store import cached
from lib.steps import (basics, columnwise, example, gradient, layouts, lemma, residual, rowwise,
                       simplify, staged)
from lib.steps.columnwise import C, X_HAT, x
from lib.steps.matrices import ONES_N, mul
from lib.symbolic import StepError

__all__ = ["CHAPTERS", "book_steps", "mutations", "audit", "audited", "shown_as"]

CHAPTERS = ((2, basics), (3, rowwise), (3, staged), (4, lemma), (5, columnwise),
            (6, simplify), (6, example), (7, layouts), (8, gradient), (9, residual))
"""Each chapter's module of checked steps, in book order."""


def book_steps():
    """``(chapter, Step)`` for every checked step of the book, in page order."""
    return [(chapter, step) for chapter, module in CHAPTERS for step in module.all_steps()]


def _double_first_row(table):
    node, forward, wrt, local = table[0]
    return ((node, forward, wrt, 2 * local), *table[1:])


def mutations(formula):
    """Wrong versions of ``formula``, each with what was done: a factor 2, or a term added
    where doubling cannot change a zero; for the staged graph, one doubled local derivative."""
    if isinstance(formula, tuple):
        return [("one local derivative doubled", _double_first_row(formula))]
    if isinstance(formula, sp.ZeroMatrix):
        return [("the zero replaced by the ones column", ONES_N)]
    out = [("a factor 2 planted", 2 * formula)]
    if isinstance(formula, sp.MatrixExpr) and formula.has(X_HAT):
        out.append(("x_hat replaced by the uncentred x/s", formula.xreplace({X_HAT: mul(C, x)})))
    if not isinstance(formula, sp.MatrixExpr):
        out.append(("1 added", formula + 1))
        if isinstance(formula, sp.Expr) and formula.has(basics.k):
            out.append(("one entry set to zero", formula * (1 - sp.KroneckerDelta(basics.i, 1)
                                                              * sp.KroneckerDelta(basics.k, 2))))
    return out


def shown_as(step):
    """The equation labels (``eq-...``) the step's docstring names as showing it."""
    return re.findall(r"\{eq\}`(eq-[\w-]+)`", inspect.getdoc(_function(step)) or "")


def _function(step):
    module, name = step.function.rsplit(".", 1)
    return getattr(importlib.import_module(module), name)


def audit(step, sizes=(2, 3)):
    """Run ``step`` again with each mutation of its formula until one is rejected.

    Returns a dict with ``mutation`` (what was planted, or None when the step has no
    formula to plant a mistake in) and ``rejected`` (True when the check raised StepError).
    """
    args = dict(step.arguments)
    if "formula" not in args:
        return {"mutation": None, "rejected": None, "seconds": 0.0}
    start = time.perf_counter()
    if "sizes" in args:
        args["sizes"] = [n for n in sizes if n in list(args["sizes"])] or list(args["sizes"])[:1]
    for what, wrong in mutations(args["formula"]):
        try:
            _function(step)(**{**args, "formula": wrong})
        except StepError:
            return {"mutation": what, "rejected": True, "seconds": time.perf_counter() - start}
    return {"mutation": what, "rejected": False, "seconds": time.perf_counter() - start}


@cached(1, store=True)
def audited():
    """``(chapter, Step, audit(step))`` for every step of the book: each proved, and each run
    again with a planted mistake.

    The result is kept in the results folder (:func:`lib.store.cached`), under a
    key that changes with any file of ``lib`` this module imports (every step's module among
    them) and with sympy's version: the verification page and the tests share one run of
    every proof.
    """
    return [(chapter, step, audit(step)) for chapter, step in book_steps()]
