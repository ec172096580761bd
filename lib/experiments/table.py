"""Results as tables: plain text for ``print``, an HTML table in a page.

:func:`table` returns a :class:`Table`, which *is* the text table (a
``str``: print it, compare it, split it into lines) and also has a
``_repr_html_``, so that the last expression of a cell shows as a real
HTML table in Jupyter and in the built site.
"""
from __future__ import annotations

import html
import itertools
from numbers import Integral, Real

import numpy as np

from lib.experiments.args import int_arg

__all__ = ["Table", "table"]


class Table(str):
    """A text table that renders as HTML in a notebook or the site.

    ``columns`` are the headers (None for a two-column key/value table),
    ``rows`` the cells as text, ``numeric`` which columns hold numbers
    (right-aligned), ``title`` an optional caption.
    """

    _made = itertools.count(1)

    def __new__(cls, text, *, columns, rows, numeric, title=None):
        self = super().__new__(cls, text)
        self.columns, self.rows, self.numeric, self.title = columns, rows, numeric, title
        self.number = next(cls._made)
        return self

    def _repr_pretty_(self, printer, cycle) -> None:
        """The plain-text table itself, not its repr (the PDF edition prints ``text/plain``)."""
        printer.text(str(self))

    def _repr_html_(self) -> str:
        esc = html.escape
        align = ['style="text-align:right"' if num else 'style="text-align:left"' for num in self.numeric]
        # a number is one unbreakable line (class bn-num); text and headers may wrap
        cell = [f'class="bn-num" {a}' if num else a for a, num in zip(align, self.numeric)]
        # a name of its own: two tables on one page must not be two regions of the same name, so
        # an untitled one is numbered in the order the kernel made them (one kernel a page)
        label = esc(self.title or f"table {self.number}: {', '.join(map(str, self.columns or ['name', 'value']))}",
                    quote=True)
        # the wrapper scrolls a table wider than a phone; focusable, so that it scrolls by keyboard
        out = [f'<div class="bn-table-wrap" role="region" tabindex="0" aria-label="{label}">'
               '<table class="bn-table">']
        if self.title:
            out.append(f"<caption>{esc(self.title)}</caption>")
        if self.columns is not None:
            out.append("<thead><tr>" + "".join(f'<th scope="col" {a}>{_breakable(c)}</th>'
                                              for c, a in zip(self.columns, align)) + "</tr></thead>")
        out.append("<tbody>")
        for row in self.rows:
            cells = [f'<td {a}>{esc(t)}</td>' for t, a in zip(row, cell)]
            if self.columns is None:      # key/value: the key heads its row
                cells[0] = f'<th scope="row" {cell[0]}>{esc(row[0])}</th>'
            out.append("<tr>" + "".join(cells) + "</tr>")
        out.append("</tbody></table></div>")
        return "".join(out)


def _breakable(header) -> str:
    """``header`` as HTML that may break after ``_``, ``/`` and ``.`` (``grad_norm_theory``,
    ``first/last``, ``lib.batchnorm.backward``) as well as at its spaces."""
    text = html.escape(str(header))
    for mark in "_/.":
        text = text.replace(mark, mark + "<wbr>")
    return text


def _cell(value, digits):
    """One table entry as text: floats to ``digits`` significant digits."""
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, Integral):
        return str(int(value))
    if isinstance(value, Real):
        return f"{float(value):.{digits}g}"
    return str(np.round(np.asarray(value, dtype=float), 3).tolist())


def _rows_of(data, columns):
    """``(columns, rows as dicts)`` of a dict of columns or a list of dicts."""
    if isinstance(data, dict):
        columns = list(columns)
        missing = [c for c in columns if c not in data]
        if missing:
            raise ValueError(f"data has no key(s) {missing}; it has {list(data)}")
        lengths = {c: len(np.atleast_1d(data[c])) for c in columns}
        if len(set(lengths.values())) > 1:
            raise ValueError(f"columns must have equal lengths, got {lengths}")
        n = lengths[columns[0]] if columns else 0
        return columns, [{c: np.atleast_1d(data[c])[i] for c in columns} for i in range(n)]
    if isinstance(data, (list, tuple)) and all(isinstance(r, dict) for r in data):
        rows = list(data)
        columns = list(columns) if columns is not None else list(rows[0]) if rows else []
        for k, r in enumerate(rows):
            missing = [c for c in columns if c not in r]
            if missing:
                raise ValueError(f"row {k} of data has no key(s) {missing}")
        return columns, rows
    raise TypeError(f"data must be a dict or a list of dicts, got {type(data).__name__}")


def table(data, columns=None, *, digits=4, title=None):
    """Render results as a small table: text for ``print``, HTML in a page.

    Parameters
    ----------
    data : dict or list of dicts
        * a dict, ``columns`` None: one ``name  value`` line per key;
        * a dict of equal-length sequences, ``columns`` given: one row per
          index, one column per key (e.g. the result of
          :func:`~lib.experiments.projection_energy`);
        * a list of dicts: one row per dict, one column per key of
          ``columns`` (default: all keys of the first dict).
    columns : list of str, optional
        The keys to show, in order.
    digits : int, default 4
        Significant digits of floats (arrays are rounded to 3 decimals).
    title : str, optional
        A first line (the caption of the HTML table).

    Returns
    -------
    Table
        A ``str``: numbers right-aligned, text left-aligned, columns two
        spaces apart; shown as an HTML table by Jupyter and the site.
    """
    digits = int_arg("digits", digits, 1)
    if isinstance(data, dict) and columns is None:
        width = max((len(str(k)) for k in data), default=0)
        rows = [[str(k), _cell(v, digits)] for k, v in data.items()]
        lines = [f"{k:<{width}}  {v}" for k, v in rows]
        numeric = [False, all(isinstance(v, Real) for v in data.values())]
        text = "\n".join(([title] if title else []) + lines)
        return Table(text, columns=None, rows=rows, numeric=numeric, title=title)
    columns, dict_rows = _rows_of(data, columns)
    cells = [[_cell(r[c], digits) for c in columns] for r in dict_rows]
    numeric = [all(isinstance(r[c], (Real, type(None))) and not isinstance(r[c], str)
                   for r in dict_rows) for c in columns]
    widths = [max([len(c)] + [len(row[j]) for row in cells]) for j, c in enumerate(columns)]

    def line(texts):
        return "  ".join(t.rjust(w) if num else t.ljust(w)
                         for t, w, num in zip(texts, widths, numeric)).rstrip()

    lines = [line(columns)] + [line(row) for row in cells]
    text = "\n".join(([title] if title else []) + lines)
    return Table(text, columns=columns, rows=cells, numeric=numeric, title=title)
