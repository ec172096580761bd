"""A figure driven by controls: computed, drawn, and shown live or static.

:class:`SliderFigure` owns the computation (memoised) and the drawing of one
matplotlib Figure; :mod:`lib.widgets.live` shows it in a kernel and
:mod:`lib.widgets.static` renders every frame for the site.
"""
from __future__ import annotations

import base64
import itertools
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from lib.experiments.args import frozen
from lib.widgets import static
from lib.widgets.control import Control
from lib.widgets.drawing import drop_unlabelled_minor_ticks, empty_axes, png_bytes, stacked_png
from lib.widgets.live import LiveView

__all__ = ["SliderFigure"]


@dataclass
class SliderFigure:
    """A figure driven by controls, live (ipywidgets) and static (HTML).

    Parameters
    ----------
    name : str
        Marker of the static HTML (``data-widget``), e.g. ``"batch-size"``.
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
        Resolution of the live image and of the static frames (which are shown at
        ``static_dpi``'s size and drawn at :data:`lib.widgets.static.PIXEL_DENSITY` times it).
    fingerprint : str
        Digest of everything the frames depend on besides the arguments here
        (source code, library versions). When given, the static HTML is
        cached on disk under that key (see :func:`lib.widgets.static.cache_dir`);
        ``""`` (the default) never caches.
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
    fingerprint: str = ""
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
        self._html = None

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

        ``palette=True`` quantises to 16 colours, for the static rendering.
        """
        return png_bytes(self.figure(**values), dpi, palette)

    def static_pngs(self, **values) -> tuple[bytes, bytes | None]:
        """A static frame at these values: the PNG, and for several panels the stacked PNG.

        Both are drawn at twice ``static_dpi`` (sharp on high-density screens) and 16 colours.
        """
        dpi = static.PIXEL_DENSITY * self.static_dpi
        if self.panels == 1:
            return self.png(dpi, palette=True, **values), None
        return stacked_png(self.figure(**values), dpi, self.panels, palette=True)

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

    # -- the static rendering --------------------------------------------
    def _start(self) -> dict:
        """The static grid point nearest the current values."""
        return {c.key: c.nearest_static(self.values[c.key]) for c in self.controls}

    def _cache_path(self):
        return static.cache_path(self, self._start())

    def _static_html(self) -> str:
        return static.render(self, self._start())

    def static_html(self) -> str:
        """The self-contained static rendering (drawn once, then cached).

        With a ``fingerprint`` the result is also kept on disk, so that a
        second build reads it back instantly.
        """
        if self._html is None:
            path = self._cache_path()
            if path is not None and path.is_file():
                self._html = path.read_text(encoding="utf-8")
            else:
                self._html = self._static_html()
                if path is not None:
                    static.write_quietly(path, self._html)
                    # entries made by older code can never be read again
                    for old in path.parent.glob(f"{self.name}-*.html"):
                        if not old.name.startswith(f"{self.name}-{self.fingerprint[:12]}-"):
                            old.unlink(missing_ok=True)
        return self._html

    # -- display ------------------------------------------------------------
    def _repr_mimebundle_(self, include=None, exclude=None):
        """The live view, a text summary, and, while the book is built, its static renderings.

        A reader's kernel never draws the static frames: only a book build (which sets
        ``$BNBOOK_STATIC_WIDGETS``) adds ``text/html`` (every frame, for the site) and
        ``image/png`` (a grid of representative frames, for the PDF edition).
        """
        bundle = dict(self.live._repr_mimebundle_())
        if static.static_enabled():
            bundle["text/html"] = self.static_html()
            bundle["image/png"] = base64.b64encode(static.frame_grid(self)).decode()
        bundle["text/plain"] = f"<{self.title}: " + ", ".join(
            c.text(self.values[c.key]) for c in self.controls) + ">"
        return bundle

    def __repr__(self):
        return f"SliderFigure({self.name!r}, values={self.values!r})"
