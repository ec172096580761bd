"""Input checks shared by the numeric core: every message names the argument.

:mod:`lib.batchnorm`, :mod:`lib.norms` and :mod:`lib.experiments` accept
the same kinds of arrays and reject the same mistakes (a string, a complex
or boolean array, NaN or inf, a non-positive eps) with the same words, so
the rules live here once.
"""
from __future__ import annotations

import numpy as np

__all__ = ["FLOATS", "as_float_array", "check_finite", "check_eps"]

FLOATS = (np.float32, np.float64)
"""The dtypes the layers compute in."""


def as_float_array(name, value, dtype=None):
    """``value`` as a float32/float64 array; integers become float64.

    With ``dtype`` given, any real array is converted to it (used for
    parameters, which follow the dtype of ``x``). Raises ``TypeError``
    naming ``name`` and the offending dtype otherwise.
    """
    try:
        arr = np.asarray(value)
    except Exception as err:  # ragged lists and the like
        raise TypeError(f"{name} must be an array of numbers, got {type(value).__name__}: {err}") from None
    real = np.issubdtype(arr.dtype, np.number) and not np.iscomplexobj(arr) and arr.dtype != np.bool_
    if dtype is not None:
        if not real:
            raise TypeError(f"{name} must hold real numbers, got dtype {arr.dtype}")
        return arr.astype(dtype, copy=False)
    if not real:
        raise TypeError(f"{name} must be a float32 or float64 array, got dtype {arr.dtype}")
    if np.issubdtype(arr.dtype, np.integer):
        return arr.astype(np.float64)
    if arr.dtype.type not in FLOATS:
        raise TypeError(f"{name} must be a float32 or float64 array, got dtype {arr.dtype} "
                        f"(convert it with .astype(np.float64))")
    return arr


def check_finite(name, arr):
    """Raise ``ValueError`` counting the NaN and inf entries of ``arr``, if any."""
    if not np.all(np.isfinite(arr)):
        bad = np.size(arr) - np.count_nonzero(np.isfinite(arr))
        raise ValueError(f"{name} contains {bad} non-finite value(s) (NaN or inf); "
                         f"normalization needs finite inputs")


def check_eps(eps):
    """``eps`` as a float, or ``TypeError``/``ValueError`` unless it is a finite number > 0."""
    if isinstance(eps, (bool, np.bool_)) or not isinstance(eps, (int, float, np.integer, np.floating)):
        raise TypeError(f"eps must be a positive real number, got {type(eps).__name__}")
    if not np.isfinite(eps) or eps <= 0:
        raise ValueError(f"eps must be a finite number > 0, got {eps}")
    return float(eps)
