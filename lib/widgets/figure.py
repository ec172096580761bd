"""A figure driven by controls: computed, drawn, and shown live.

:class:`SliderFigure` owns the computation (memoised) and the drawing of one
matplotlib Figure at any setting of its controls; :mod:`lib.widgets.live`
shows it in a kernel, and :mod:`lib.widgets.printed` prints a few frames.
Where there is no kernel, the frames can be drawn in advance at every point
of the controls' static grids (:meth:`SliderFigure.grid`,
:meth:`SliderFigure.frame_pngs`, :meth:`SliderFigure.alt`).
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from lib.store import frozen
from lib.widgets.control import Control
from lib.widgets.drawing import drop_unlabelled_minor_ticks, empty_axes, png_bytes, stacked_png
from lib.widgets.live import LiveView

__all__ = ["SliderFigure"]


@dataclass
class SliderFigure:
    """A figure driven by controls, live (ipywidgets) or drawn at every point of a grid.

    Parameters
    ----------
    name : str
        Short name of the widget, e.g. ``"batch-size"``.
    title : str
        Short accessible name of the whole widget.
    controls : sequence of Control
        The controls, in display order.
    compute : callable
        ``compute(**values) -> data`` (a dict); results are memoised.
    plot : callable
        ``plot(data, ax=ax)`` draws on ``ax`` (one Axes, or a list of
        ``panels`` Axes side by side).
    describe : callable
        ``describe(data, values) -> str``: the alt text of a frame.
    panels : int
        Number of Axes side by side.
    figsize : (float, float)
        Figure size in inches.
    live_dpi, static_dpi : int
        Resolution of the live image, and the size (in dots per inch of
        ``figsize``) at which frames drawn in advance are shown.
    reuse_axes : bool
        Redraw into the same Axes, emptied of its artists, instead of a new
        one: several times faster with log axes (matplotlib builds every tick
        of a new Axes afresh). ``tests/test_widgets.py`` checks that the
        result is the same picture as a fresh Figure.
    minor_ticks : bool
        Keep every minor tick of the plot. By default a log axis spanning more
        than three decades loses its minor ticks: there they carry no labels,
        yet are hundreds of small artists, a third of the drawing time.
    """

    name: str
    title: str
    controls: Sequence[Control]
    compute: Callable[..., dict]
    plot: Callable[..., Any]
    describe: Callable[[dict, dict], str]
    panels: int = 1
    figsize: tuple = (5.0, 3.4)
    live_dpi: int = 100
    static_dpi: int = 80
    reuse_axes: bool = True
    minor_ticks: bool = False
    values: dict = field(init=False)

    def __post_init__(self):
        self.controls = tuple(self.controls)
        self.values = {c.key: c.default for c in self.controls}
        self._cache: dict = {}
        self._fig = Figure(figsize=self.figsize, facecolor="white")
        FigureCanvasAgg(self._fig)
        self._view = None

    # -- computing and drawing -------------------------------------------
    def _values(self, overrides) -> dict:
        unknown = set(overrides) - set(self.values)
        if unknown:
            raise TypeError(f"{self.name} widget has no control(s) {sorted(unknown)}; "
                            f"its controls are {list(self.values)}")
        return {**self.values, **overrides}

    def data(self, **values) -> dict:
        """The compute function's result at these control values (memoised, arrays read-only)."""
        values = self._values(values)
        key = tuple(values[c.key] for c in self.controls)
        if key not in self._cache:
            self._cache[key] = frozen(self.compute(**values))
        return self._cache[key]

    def _axes(self):
        """The figure's Axes, emptied for a redraw (made once, with fixed margins)."""
        axes = self._fig.axes
        if len(axes) == self.panels and self.reuse_axes:
            for ax in axes:
                empty_axes(ax)    # keeps the Axis objects: no new ticks to build
            return axes
        self._fig.clear()
        axes = [self._fig.add_subplot(1, self.panels, k + 1, facecolor="white")
                for k in range(self.panels)]
        # fixed margins, wide enough for log tick labels: a tight or
        # constrained layout would cost extra drawing on every move
        width = self.figsize[0]
        self._fig.subplots_adjust(left=0.95 / width, right=1 - 0.15 / width,
                                  bottom=0.25, top=0.9, wspace=0.45)
        return axes

    def figure(self, **values) -> Figure:
        """Redraw the single Figure at these values and return it."""
        data = self.data(**self._values(values))
        axes = self._axes()
        self.plot(data, ax=axes[0] if self.panels == 1 else axes)
        if not self.minor_ticks:
            for ax in axes:
                drop_unlabelled_minor_ticks(ax)
        return self._fig

    def png(self, dpi: int, palette: bool = False, **values) -> bytes:
        """The figure at these values as PNG bytes, drawn at ``dpi``.

        ``palette=True`` quantises to 16 colours: four times smaller, for
        frames drawn in advance.
        """
        return png_bytes(self.figure(**values), dpi, palette)

    def frame_pngs(self, dpi: int, palette: bool = False, **values) -> tuple[bytes, bytes | None]:
        """The frame at these values as it is and, for several panels, with them stacked.

        Returns
        -------
        wide : bytes
            The PNG of :meth:`png`.
        stacked : bytes or None
            The same drawing with its panels one under the other (for a narrow
            screen); None for a figure of one panel.
        """
        if self.panels == 1:
            return self.png(dpi, palette, **values), None
        return stacked_png(self.figure(**values), dpi, self.panels, palette)

    def update(self, **values) -> Figure:
        """Set controls, redraw, and show the result in the live widget.

        This is what moving a control calls (compute, draw, encode the PNG,
        send it); call it directly to time a redraw, before or after the
        live view exists. Values need not be on the grid. Returns the Figure.
        """
        self.values = self._values(values)
        png = self.png(self.live_dpi, **self.values)
        if self._view is not None:
            self._view.show(png, self.alt(**self.values), self.values)
        return self._fig

    def alt(self, **values) -> str:
        """Alt text of the frame at these values."""
        values = self._values(values)
        setting = ", ".join(c.text(values[c.key]) for c in self.controls)
        return f"{self.title} at {setting}: {self.describe(self.data(**values), values)}"

    def grid(self, static: bool = False):
        """Every grid point as a dict of control values, first control slowest."""
        grids = [c.static if static else c.values for c in self.controls]
        for combo in itertools.product(*grids):
            yield dict(zip((c.key for c in self.controls), combo))

    def clear_cache(self):
        """Forget memoised results (to time a cold update)."""
        self._cache.clear()

    # -- the live view --------------------------------------------------------
    @property
    def live(self):
        """The ipywidgets view (built on first use, showing the current frame)."""
        if self._view is None:
            width = int(round(self.figsize[0] * self.live_dpi))
            self._view = LiveView(self.controls, self.values,
                                  lambda key, value: self.update(**{key: value}), width)
            self._widgets, self._image = self._view.widgets, self._view.image
            self.update()
        return self._view.box

    # -- display ------------------------------------------------------------
    def _repr_mimebundle_(self, include=None, exclude=None):
        """The live view and a text summary: all a kernel shows, one frame drawn per move."""
        bundle = dict(self.live._repr_mimebundle_())
        bundle["text/plain"] = f"<{self.title}: " + ", ".join(
            c.text(self.values[c.key]) for c in self.controls) + ">"
        return bundle

    def __repr__(self):
        return f"SliderFigure({self.name!r}, values={self.values!r})"
