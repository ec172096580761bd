"""Argument checks shared by the experiments: each message names the argument.

Public to :mod:`lib.experiments` (and :mod:`lib.widgets`); a bad argument
raises ``TypeError`` or ``ValueError`` before any work is done.
"""
from __future__ import annotations

import functools
import hashlib
import math
import os
import pickle
import tempfile
from numbers import Integral, Real
from pathlib import Path

import numpy as np

from lib.checks import as_float_array, check_finite

__all__ = ["int_arg", "real_arg", "choice_arg", "bool_arg", "column", "frozen", "cached"]


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


def frozen(value):
    """``value`` with every numpy array in it made read-only, for caches.

    A memoised result is shared by every caller; a caller that writes into
    it would silently change what the next caller gets. Arrays inside
    tuples, lists and dicts are frozen too. Returns ``value``.
    """
    if isinstance(value, np.ndarray):
        value.setflags(write=False)
    elif isinstance(value, (tuple, list)):
        for item in value:
            frozen(item)
    elif isinstance(value, dict):
        for item in value.values():
            frozen(item)
    return value


STORE_ENV = "BNBOOK_RESULTS_CACHE"
"""The environment variable naming the folder of :func:`cached`'s stored results
(default: ``bnbook-results`` in the system's temporary folder)."""


@functools.lru_cache(maxsize=1)
def _lib_digest():
    """A digest of every file of ``lib`` and of the numeric packages' versions."""
    import sklearn

    h = hashlib.sha256(f"{np.__version__} {sklearn.__version__}".encode())
    root = Path(__file__).resolve().parents[1]
    for path in sorted(root.rglob("*.py")):
        h.update(str(path.relative_to(root)).encode() + path.read_bytes())
    return h.hexdigest()[:16]


def _stored(function, args, kwargs):
    """``function(*args, **kwargs)``, read from or written to the results folder.

    The key is the function, its arguments and :func:`_lib_digest`: any change to
    ``lib`` (or to numpy or scikit-learn) computes afresh. Results are deterministic,
    so the folder only saves time: two pages of one build (a chapter and the
    verification page) share one run.
    """
    folder = Path(os.environ.get(STORE_ENV) or Path(tempfile.gettempdir()) / "bnbook-results")
    key = hashlib.sha256(repr((function.__module__, function.__qualname__, args,
                               sorted(kwargs.items()), _lib_digest())).encode()).hexdigest()[:24]
    path = folder / f"{function.__name__}-{key}.pickle"
    try:
        return pickle.loads(path.read_bytes())
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError):
        pass
    value = function(*args, **kwargs)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(pickle.dumps(value))
        tmp.replace(path)
    except OSError:
        pass                                         # a read-only disk only costs time
    return value


def cached(maxsize, store=False):
    """``functools.lru_cache`` whose results are :func:`frozen` (read-only arrays).

    Lists among the arguments are taken as tuples, so that they can be keys. With
    ``store``, results are also kept on disk between processes (:func:`_stored`).
    """
    def decorate(function):
        compute = (lambda *a, **k: _stored(function, a, k)) if store else function
        memo = functools.lru_cache(maxsize=maxsize)(lambda *a, **k: frozen(compute(*a, **k)))

        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            key = lambda v: tuple(v) if isinstance(v, list) else v  # noqa: E731
            return memo(*map(key, args), **{k: key(v) for k, v in kwargs.items()})
        wrapper.cache_clear = memo.cache_clear
        return wrapper
    return decorate
