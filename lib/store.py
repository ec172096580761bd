"""Results kept between calls and between processes: what an experiment or a proof computed.

:func:`cached` memoises a function (its results made read-only by :func:`frozen`); with
``store=True`` the results are also kept on disk, in the folder named by
``$BNBOOK_RESULTS_CACHE`` (default: ``bnbook-results`` in the system's temporary folder),
under a key that changes with the code the function runs (the files of ``lib`` its module
imports, directly or through ``lib``: :func:`imported_files`) and the numeric and symbolic
packages' versions. Used by :mod:`lib.experiments` and :mod:`lib.steps.audit`.
"""
from __future__ import annotations

import ast
import fcntl
import functools
import hashlib
import os
import pickle
import tempfile
from importlib import metadata
from pathlib import Path

import numpy as np

__all__ = ["frozen", "cached", "imported_files", "STORE_ENV"]


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


LIB = Path(__file__).resolve().parent
"""The folder of this ``lib``."""


def _module_file(dotted, root):
    """``lib.steps.basics`` -> lib/steps/basics.py (or the package's __init__.py) in the
    folder ``root`` of lib, or None."""
    parts = dotted.split(".")[1:]
    if not parts:                               # "lib" itself
        return root / "__init__.py"
    rel = Path(*parts)
    for candidate in (root / rel.with_suffix(".py"), root / rel / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imports(path):
    """The dotted lib modules (and names, which may be modules) that ``path`` imports."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level:
            raise ImportError(f"{path}: lib imports itself absolutely (from lib.x import y), "
                              "so that what a result depends on can be followed")
        if isinstance(node, ast.ImportFrom) and node.module.split(".")[0] == "lib":
            yield node.module
            yield from (f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            yield from (a.name for a in node.names if a.name.split(".")[0] == "lib")


def imported_files(modules, root=LIB):
    """The files of the dotted ``lib`` modules ``modules`` and of every lib module they
    import, directly or through lib (a module's packages' ``__init__`` included), sorted;
    ``root`` is the folder of lib (this one by default).

    Read from the source (``import`` statements), not from what a process has loaded, so
    that every process finds the same files.
    """
    todo, seen = list(modules), {}
    while todo:
        parts = todo.pop().split(".")
        for k in range(1, len(parts) + 1):      # a module imports its packages' __init__ too
            path = _module_file(".".join(parts[:k]), root)
            if path is not None and path not in seen:
                seen[path] = None
                todo.extend(_imports(path))
    return sorted(seen)


@functools.lru_cache(maxsize=None)
def _code_digest(module):
    """A digest of the files of ``lib`` that ``module`` runs (:func:`imported_files`, with this
    module's own) and of the numeric and symbolic packages' versions; every file of ``lib``
    for a module outside it."""
    versions = [np.__version__] + [metadata.version(name) for name in ("scikit-learn", "sympy")]
    h = hashlib.sha256(" ".join(versions).encode())    # read without importing them (seconds)
    files = (imported_files([module, __name__]) if module.split(".")[0] == "lib"
             else sorted(LIB.rglob("*.py")))
    for path in files:
        h.update(path.relative_to(LIB).as_posix().encode() + b"\0" + path.read_bytes())
    return h.hexdigest()[:16]


def _read(path):
    try:
        return True, pickle.loads(path.read_bytes())
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError):
        return False, None


def _stored(function, args, kwargs):
    """``function(*args, **kwargs)``, read from or written to the results folder.

    The key is the function, its arguments and :func:`_code_digest` of its module: a change
    to the code it runs (or to numpy, scikit-learn or sympy) computes afresh. Results are
    deterministic, so the folder only saves time: two pages of one build (a chapter and
    the verification page), or the build and the tests running beside it, share one run.
    A process that finds another computing the same result waits for it (a lock file
    per key) instead of computing it twice.
    """
    folder = Path(os.environ.get(STORE_ENV) or Path(tempfile.gettempdir()) / "bnbook-results")
    code = _code_digest(function.__module__)
    key = hashlib.sha256(repr((function.__module__, function.__qualname__, args,
                               sorted(kwargs.items()), code)).encode()).hexdigest()[:24]
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
