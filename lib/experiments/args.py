"""Argument checks shared by the experiments: each message names the argument.

Public to :mod:`lib.experiments` (and :mod:`lib.widgets`); a bad argument
raises ``TypeError`` or ``ValueError`` before any work is done.
"""
from __future__ import annotations

import math
from numbers import Integral, Real

import numpy as np

from lib.checks import as_float_array, check_finite

__all__ = ["int_arg", "real_arg", "choice_arg", "bool_arg", "column"]


def int_arg(name, value, minimum):
    """``value`` as an int >= ``minimum`` (booleans and floats are refused)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}")
    value = int(value)
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value}")
    return value


def real_arg(name, value, minimum=None, strict=False):
    """``value`` as a finite float, >= ``minimum`` (> with ``strict``) when given."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    if minimum is not None and (value < minimum or (strict and value == minimum)):
        op = ">" if strict else ">="
        raise ValueError(f"{name} must be {op} {minimum}, got {value}")
    return value


def choice_arg(name, value, choices):
    """``value`` if it is one of ``choices``."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}")
    return value


def bool_arg(name, value):
    """``value`` if it is True or False (not 0 or 1)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {type(value).__name__} {value!r}")
    return bool(value)


def column(name, x):
    """``x`` as one finite float64 column of shape (N,), N >= 1."""
    x = as_float_array(name, x, np.float64)
    if x.ndim != 1:
        raise ValueError(f"{name} must be one column, shape (N,), got shape {x.shape}")
    if x.size == 0:
        raise ValueError(f"{name} is empty: a batch needs N >= 1 examples")
    check_finite(name, x)
    return x
