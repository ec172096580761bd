"""A slider figure on paper: a few of its frames in one picture.

A printed page cannot move a slider, so it shows the figure at a few settings that span what
the controls do, each frame titled with its setting (:func:`frame_grid`). The PDF edition
prints it in place of the controls.
"""
from __future__ import annotations

import io

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.image import imread

from lib.widgets.drawing import png_bytes

__all__ = ["representative", "frame_grid"]


def representative(fig) -> list[dict]:
    """Up to four settings of slider figure ``fig`` that show what it does.

    One control: four positions spread over its static grid, ends included. Several: each of
    the first two controls at both ends of its grid (the others at their current values).
    """
    controls = fig.controls
    if len(controls) == 1:
        grid = controls[0].static
        picks = sorted({round(k * (len(grid) - 1) / 3) for k in range(4)})
        return [{controls[0].key: grid[k]} for k in picks]
    first, second = controls[:2]
    return [{first.key: a, second.key: b}
            for a in (first.static[0], first.static[-1]) for b in (second.static[0], second.static[-1])]


def frame_grid(fig, dpi: int = 150) -> bytes:
    """PNG of the :func:`representative` frames of ``fig``, each titled with its setting.

    Parameters
    ----------
    fig : SliderFigure
        The figure to print.
    dpi : int
        Resolution of every frame. The frames are placed pixel for pixel (``figimage``), so
        print gets them unresampled.

    Returns
    -------
    bytes
        The PNG: two frames a row, or one for a figure of several panels (already wide).
    """
    frames = [(", ".join(c.text(v[c.key]) for c in fig.controls if c.key in v),
               imread(io.BytesIO(fig.png(dpi, **v)), format="png")) for v in representative(fig)]
    columns = 2 if fig.panels == 1 else 1
    rows = -(-len(frames) // columns)
    h, w = frames[0][1].shape[:2]
    cell = h + int(0.3 * dpi)                  # a frame and its title line
    grid = Figure(figsize=(columns * w / dpi, rows * cell / dpi), dpi=dpi, facecolor="white")
    FigureCanvasAgg(grid)
    for k, (title, image) in enumerate(frames):
        row, column = divmod(k, columns)
        x0, y0 = column * w, (rows - 1 - row) * cell
        grid.figimage(image, xo=x0, yo=y0, origin="upper")
        grid.text((x0 + w / 2) / (columns * w), (y0 + (h + cell) / 2) / (rows * cell), title,
                  ha="center", va="center", fontsize=10)
    return png_bytes(grid, dpi)
