"""What every figure of the book shares: colours, figure and axes set-up, explanations.

Figures have a white face colour so that they stay legible on a dark page.
When an experiment's data carry an ``"explanation"`` (a degenerate setting
such as N = 1), :func:`explain` writes it in the plot instead of leaving an
empty panel.
"""
from __future__ import annotations

import textwrap

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.transforms import ScaledTranslation

__all__ = ["BLUE", "ORANGE", "GREEN", "GREY", "RED", "BAND", "new_figure", "axes_of", "axes_inches",
           "wrap", "explain", "make_room", "require"]

BLUE, ORANGE, GREEN, GREY, RED = "#1f77b4", "#d95f02", "#1b9e77", "#555555", "#c0392b"
BAND = "#f2bcbc"
"""An opaque light red for shaded ranges: a tint drawn with a low alpha is so close to white
that the static frames' 16-colour palette merges it into the background."""


def new_figure(n_panels, width=None):
    width = width or 4.2 * n_panels
    fig, axes = plt.subplots(1, n_panels, figsize=(width, 3.4), facecolor="white")
    # fixed margins: a constrained layout would cost extra draws on every slider move
    fig.subplots_adjust(left=0.85 / width, right=1 - 0.15 / width, bottom=0.16, top=0.9,
                        wspace=0.36)
    axes = np.atleast_1d(axes)
    for a in axes:
        a.set_facecolor("white")
    return fig, list(axes)


def axes_of(ax, n_panels, width=None):
    """Figure and list of axes: new ones if ``ax`` is None, else the given one(s)."""
    if ax is None:
        return new_figure(n_panels, width)
    axes = list(ax) if isinstance(ax, (list, tuple, np.ndarray)) else [ax]
    return axes[0].figure, axes


def axes_inches(ax):
    """Width and height of the Axes ``ax`` in inches."""
    box = ax.get_position()
    return box.width * ax.figure.get_figwidth(), box.height * ax.figure.get_figheight()


def wrap(ax, text, fontsize, fraction):
    """Break ``text`` into lines that fit ``fraction`` of the width of ``ax``.

    An average character of the default font is at most 0.6 em wide, so a
    line of n characters at ``fontsize`` points is at most 0.6 n fontsize / 72
    inches long.
    """
    width = axes_inches(ax)[0] * fraction
    return textwrap.fill(text, max(16, int(width * 72 / (0.6 * fontsize))))


def explain(ax, text, *, full=True):
    """Write ``text`` in ``ax``, inside the Axes.

    ``full=True``: the panel is empty; the text is centred in it.
    ``full=False``: the panel has data; the text goes in a box along the top
    edge and the y-axis is extended upwards so that the data stay below the
    box. A caller that draws a legend must put it in a lower corner.
    """
    if full:
        ax.set_xticks([])
        ax.set_yticks([])
        ax.text(0.5, 0.5, wrap(ax, text, 9, 0.9), ha="center", va="center",
                transform=ax.transAxes, fontsize=9, color="black")
        return
    size = 7.5
    wrapped = wrap(ax, text, size, 0.92)
    n_lines = wrapped.count("\n") + 1
    # box height as a fraction of the Axes: lines at 1.2 em, padding, margin
    frac = (n_lines * 1.2 * size + 14) / 72 / axes_inches(ax)[1]
    make_room(ax, min(frac + 0.04, 0.6))
    # 6 points in from the top left corner: the box (2 points of padding)
    # stays inside the Axes whatever its size
    corner = ax.transAxes + ScaledTranslation(6 / 72, -6 / 72, ax.figure.dpi_scale_trans)
    ax.text(0, 1, wrapped, ha="left", va="top", transform=corner,
            fontsize=size, color="black",
            bbox=dict(facecolor="#fff8dc", edgecolor=GREY, alpha=0.95))


def make_room(ax, frac):
    """Raise the top of the y-axis so that the data fill only the lower 1 - frac."""
    lo, hi = ax.get_ylim()
    keep = 1.0 - frac
    if ax.get_yscale() == "log":
        top = 10 ** (np.log10(lo) + (np.log10(hi) - np.log10(lo)) / keep)
    else:
        top = lo + (hi - lo) / keep
    ax.set_ylim(lo, top)


def require(data, keys, name):
    if not isinstance(data, dict):
        raise TypeError(f"data must be the dict returned by experiments.{name}(), "
                        f"got {type(data).__name__}")
    missing = [k for k in keys if k not in data]
    if missing:
        raise ValueError(f"data is missing {', '.join(missing)}: pass the dict returned by "
                         f"experiments.{name}()")
