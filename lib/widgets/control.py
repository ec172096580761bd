"""One control of a slider figure: its grid of values, live and static."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

__all__ = ["Control"]


@dataclass(frozen=True)
class Control:
    """One control of a slider figure.

    Parameters
    ----------
    key : str
        Keyword argument it sets in the compute function.
    label : str
        What the reader sees next to it.
    values : sequence
        The grid: every value the control can take. Numbers become a range
        slider, anything else (strings, booleans) a drop-down.
    default : object
        Starting value; must be one of ``values``.
    fmt : callable, optional
        Turns a value into readable text (default ``str``).
    static_values : sequence, optional
        A coarser grid for frames drawn in advance, where there is no kernel
        (a subset of ``values``), to keep their number small. Such a rendering
        starts at the static value nearest the control's value.
    """

    key: str
    label: str
    values: tuple
    default: Any
    fmt: Callable[[Any], str] = str
    static_values: tuple | None = None

    def __post_init__(self):
        object.__setattr__(self, "values", tuple(self.values))
        if not self.values:
            raise ValueError(f"control {self.key!r} has no values")
        if self.static_values is not None:
            object.__setattr__(self, "static_values", tuple(self.static_values))
            extra = set(self.static_values) - set(self.values)
            if extra:
                raise ValueError(f"static values {sorted(extra)} of control {self.key!r} "
                                 f"are not among its values {self.values}")
        if self.default not in self.values:
            raise ValueError(f"default {self.default!r} of control {self.key!r} "
                             f"is not one of its values {self.values}")

    @property
    def static(self) -> tuple:
        """The grid of the frames drawn in advance."""
        return self.values if self.static_values is None else self.static_values

    @property
    def numeric(self) -> bool:
        return all(isinstance(v, (int, float, np.number)) and not isinstance(v, bool)
                   for v in self.values)

    def text(self, value) -> str:
        """``'N = 8'``: the label and the formatted value."""
        return f"{self.label} = {self.fmt(value)}"

    def nearest_static(self, value):
        """The value of the static grid nearest ``value`` (by grid position)."""
        i = self.index(value)
        return min(self.static, key=lambda v: (abs(self.values.index(v) - i), v))

    def index(self, value, static: bool = False) -> int:
        """Position of ``value`` in the (static) grid."""
        grid = self.static if static else self.values
        if value not in grid:
            raise ValueError(f"{self.key}={value!r} is not on the grid {grid}")
        return grid.index(value)
