"""Results kept between calls and between processes: what an experiment or a proof computed.

:func:`cached` memoises a function (its results made read-only by :func:`frozen`); with
``store=True`` the results are also kept on disk, in the folder named by
``$BNBOOK_RESULTS_CACHE`` (default: ``bnbook-results`` in the system's temporary folder),
under a key that changes with every file of ``lib`` and the numeric and symbolic packages'
versions. Used by :mod:`lib.experiments` and :mod:`lib.steps.audit`.
"""
from __future__ import annotations

import fcntl
import functools
import hashlib
import os
import pickle
import tempfile
from pathlib import Path

import numpy as np

__all__ = ["frozen", "cached", "STORE_ENV"]


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
    """A digest of every file of ``lib`` and of the numeric and symbolic packages' versions."""
    import sklearn
    import sympy

    h = hashlib.sha256(f"{np.__version__} {sklearn.__version__} {sympy.__version__}".encode())
    root = Path(__file__).resolve().parent
    for path in sorted(root.rglob("*.py")):
        h.update(str(path.relative_to(root)).encode() + path.read_bytes())
    return h.hexdigest()[:16]


def _read(path):
    try:
        return True, pickle.loads(path.read_bytes())
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError):
        return False, None


def _stored(function, args, kwargs):
    """``function(*args, **kwargs)``, read from or written to the results folder.

    The key is the function, its arguments and :func:`_lib_digest`: any change to
    ``lib`` (or to numpy, scikit-learn or sympy) computes afresh. Results are
    deterministic, so the folder only saves time: two pages of one build (a chapter and
    the verification page), or the build and the tests running beside it, share one run.
    A process that finds another computing the same result waits for it (a lock file
    per key) instead of computing it twice.
    """
    folder = Path(os.environ.get(STORE_ENV) or Path(tempfile.gettempdir()) / "bnbook-results")
    key = hashlib.sha256(repr((function.__module__, function.__qualname__, args,
                               sorted(kwargs.items()), _lib_digest())).encode()).hexdigest()[:24]
    path = folder / f"{function.__name__}-{key}.pickle"
    found, value = _read(path)
    if found:
        return value
    try:
        folder.mkdir(parents=True, exist_ok=True)
        lock = open(path.with_suffix(".lock"), "a")
    except OSError:
        return function(*args, **kwargs)             # a read-only disk only costs time
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)             # released when the file is closed
        found, value = _read(path)                   # made while this process waited
        if found:
            return value
        value = function(*args, **kwargs)
        try:
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_bytes(pickle.dumps(value))
            tmp.replace(path)
        except OSError:
            pass
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
