"""Slider figures for chapter 8: live in Jupyter, still moving in the static site.

A chapter cell calls one function and the result displays itself::

    from lib import widgets
    widgets.batch_size_widget()

The object returned (a :class:`SliderFigure`) carries two representations in
one display bundle:

* ``application/vnd.jupyter.widget-view+json``: ipywidgets controls and an
  image of the figure, redrawn by the kernel whenever a control moves.
  JupyterLab, Notebook and Binder show this one.
* ``text/html``: a self-contained static rendering. The figure is drawn in
  advance at every point of the slider grid, the frames are embedded as PNG
  data URIs, and a few lines of inline JavaScript (no library, no network)
  show the frame the controls point at. The built site shows this one,
  because ``book/_config.yml`` tells myst-nb to drop the widget view
  (``nb_mime_priority_overrides``) and not to load ipywidgets' JavaScript
  from a CDN (``nb_ipywidgets_js: {}``).

Markers of the static HTML (stable: the browser tests rely on them)
-------------------------------------------------------------------
``div.bn-static-widget[data-widget=NAME]``
    the root, one per widget; NAME is ``batch-size``, ``scale`` or
    ``depth``; ``data-frames`` holds the number of frames and ``role=group``
    with ``aria-label`` names it. The script marks it ``data-ready`` once
    the controls are wired.
``input.bn-slider[type=range][data-control=KEY]``
    a numeric control, inside a ``<label>``; its value is the *index* into
    the grid (0, 1, ...); ``aria-valuetext`` and ``data-labels`` give the
    readable values.
``select.bn-choice[data-control=KEY]``
    a categorical control (activation, batch norm on/off); option values are
    indices.
``output.bn-value[data-control=KEY]``
    the current value of control KEY as text, e.g. ``8`` for N = 8 (the
    same text as the slider's ``aria-valuetext``).
``img.bn-frame[data-key=I-J-...]``
    one frame per grid point; ``I-J-...`` are the control indices in the
    order of the controls. Exactly one frame is visible, the others carry
    ``hidden``. Every frame has an ``alt`` text describing what it shows.

Control keys (KEY above, and the keywords of ``update``): ``batch-size``
has ``N``; ``scale`` has ``a`` and ``eps``; ``depth`` has ``depth``,
``batch_size`` (sliders), ``activation`` and ``batchnorm`` (drop-downs).
The static grids are coarser than the live ones for ``a``, ``depth`` and
``batch_size`` (``STATIC_*`` below), to keep 16, 24 and 40 frames.

Timing
------
``SliderFigure.update(**values)`` is the function a control calls: it
computes (memoised per widget), redraws the single Figure and pushes a PNG
to the live image; it returns the Figure and works before the live view is
displayed. Call it directly to time it; ``clear_cache()`` first to include
the computation.

Cache
-----
Drawing the static frames takes a few seconds per widget, so the HTML is
also cached on disk, keyed by a digest of ``lib``'s source and the library
versions (``$BNBOOK_WIDGET_CACHE``, default ``~/.cache/bnbook-widgets``;
``off`` disables it). ``python -m lib.widgets`` fills the cache, e.g. in a
Binder image's ``postBuild``.
"""
from __future__ import annotations

import base64
import hashlib
import html
import io
import itertools
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import matplotlib as mpl
import matplotlib.ticker  # noqa: F401  (mpl.ticker)
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

__all__ = ["Control", "SliderFigure", "batch_size_widget", "scale_widget", "depth_widget"]


# ---------------------------------------------------------------------------
# The generic mechanism
# ---------------------------------------------------------------------------

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
        A coarser grid for the static rendering (a subset of ``values``), to
        keep the number of frames small. The static rendering starts at the
        static value nearest ``default``.
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
        """The grid of the static rendering."""
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
        Resolution of the live image and of the static frames.
    fingerprint : str
        Digest of everything the frames depend on besides the arguments here
        (source code, library versions). When given, the static HTML is
        cached on disk under that key (see :func:`cache_dir`); ``""`` (the
        default) never caches.
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
        self._live = None
        self._html = None
        self._syncing = False

    # -- computing and drawing -------------------------------------------
    def _values(self, overrides) -> dict:
        unknown = set(overrides) - set(self.values)
        if unknown:
            raise TypeError(f"{self.name} widget has no control(s) {sorted(unknown)}; "
                            f"its controls are {list(self.values)}")
        return {**self.values, **overrides}

    def data(self, **values) -> dict:
        """The compute function's result at these control values (memoised)."""
        values = self._values(values)
        key = tuple(values[c.key] for c in self.controls)
        if key not in self._cache:
            self._cache[key] = self.compute(**values)
        return self._cache[key]

    def figure(self, **values) -> Figure:
        """Redraw the single Figure at these values and return it."""
        values = self._values(values)
        data = self.data(**values)
        axes = self._fig.axes
        if len(axes) == self.panels and self.reuse_axes:
            for ax in axes:
                _empty_axes(ax)   # keeps the Axis objects: no new ticks to build
        else:
            self._fig.clear()
            axes = [self._fig.add_subplot(1, self.panels, k + 1, facecolor="white")
                    for k in range(self.panels)]
            # fixed margins, wide enough for log tick labels: a tight or
            # constrained layout would cost extra drawing on every move
            width = self.figsize[0]
            self._fig.subplots_adjust(left=0.95 / width, right=1 - 0.15 / width,
                                      bottom=0.25, top=0.9, wspace=0.45)
        self.plot(data, ax=axes[0] if self.panels == 1 else axes)
        if not self.minor_ticks:
            for ax in axes:
                _drop_unlabelled_minor_ticks(ax)
        return self._fig

    def png(self, dpi: int, palette: bool = False, **values) -> bytes:
        """The figure at these values as PNG bytes, drawn at ``dpi``.

        ``palette=True`` quantises to 16 colours (the figures use a handful):
        frames about four times smaller, for the static rendering.
        """
        from PIL import Image  # matplotlib depends on Pillow

        fig = self.figure(**values)
        fig.set_dpi(dpi)
        fig.canvas.draw()
        img = Image.frombuffer("RGBA", fig.canvas.get_width_height(),
                               fig.canvas.buffer_rgba()).convert("RGB")
        out = io.BytesIO()
        if palette:
            img = img.quantize(colors=16, method=Image.Quantize.FASTOCTREE)
            img.save(out, format="PNG", optimize=True)
        else:
            img.save(out, format="PNG", compress_level=1)
        return out.getvalue()

    def update(self, **values) -> Figure:
        """Set controls, redraw, and show the result in the live widget.

        This is what moving a control calls (compute, draw, encode the PNG,
        send it); call it directly to time a redraw, before or after the
        live view exists. Values need not be on the grid. Returns the Figure.
        """
        self.values = self._values(values)
        png = self.png(self.live_dpi, **self.values)
        if self._live is not None:
            self._image.value = png
            self._image.tooltip = self.alt(**self.values)   # the image's title text
            self._syncing = True              # a direct call moves the controls too
            try:
                for c in self.controls:
                    if self.values[c.key] in c.values:
                        self._widgets[c.key].value = self.values[c.key]
            finally:
                self._syncing = False
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

    # -- the live widget ----------------------------------------------------
    @property
    def live(self):
        """The ipywidgets view (built on first use)."""
        if self._live is None:
            self._build_live()
        return self._live

    def _build_live(self):
        import ipywidgets as w

        boxes = []
        self._widgets = {}
        for c in self.controls:
            options = [(c.fmt(v), v) for v in c.values]
            if c.numeric:
                ctl = w.SelectionSlider(options=options, value=self.values[c.key],
                                        description=c.label, continuous_update=True,
                                        style={"description_width": "initial"},
                                        layout=w.Layout(width="26em"))
            else:
                ctl = w.ToggleButtons(options=options, value=self.values[c.key],
                                      description=c.label,
                                      style={"button_width": "5em",
                                             "description_width": "initial"})
            ctl.observe(self._on_change, names="value")
            self._widgets[c.key] = ctl
            boxes.append(ctl)
        width = int(round(self.figsize[0] * self.live_dpi))
        self._image = w.Image(format="png", width=width,
                              layout=w.Layout(max_width="100%", height="auto"))
        self._live = w.VBox([*boxes, self._image])
        self._live.add_class("bn-live-widget")
        self.update()

    def _on_change(self, change):
        if self._syncing:
            return
        key = next(k for k, ctl in self._widgets.items() if ctl is change["owner"])
        self.update(**{key: change["new"]})

    # -- the static rendering --------------------------------------------
    def static_html(self) -> str:
        """The self-contained static rendering (computed once, then cached).

        Drawing every frame takes seconds, so with a ``fingerprint`` the
        result is also kept on disk: a second run (or a Binder image whose
        build ran ``python -m lib.widgets``) reads it back instantly.
        """
        if self._html is None:
            path = self._cache_path()
            if path is not None and path.is_file():
                self._html = path.read_text(encoding="utf-8")
            else:
                self._html = self._static_html()
                if path is not None:
                    _write_quietly(path, self._html)
                    # entries made by older code can never be read again
                    for old in path.parent.glob(f"{self.name}-*.html"):
                        if not old.name.startswith(f"{self.name}-{self.fingerprint[:12]}-"):
                            old.unlink(missing_ok=True)
        return self._html

    def _cache_path(self):
        folder = cache_dir()
        if not self.fingerprint or folder is None:
            return None
        start = [repr(c.nearest_static(self.values[c.key])) for c in self.controls]
        spec = json.dumps([self.name, self.title, self.fingerprint, self.panels,
                           list(self.figsize), self.static_dpi, start,
                           [[c.key, c.label, [repr(v) for v in c.values],
                             [repr(v) for v in c.static], [c.text(v) for v in c.static]]
                            for c in self.controls]])
        digest = hashlib.sha256(spec.encode()).hexdigest()[:16]
        return folder / f"{self.name}-{self.fingerprint[:12]}-{digest}.html"

    def _static_html(self) -> str:
        start = {c.key: c.nearest_static(self.values[c.key]) for c in self.controls}
        esc = html.escape
        parts = [f'<div class="bn-static-widget" data-widget="{esc(self.name)}" '
                 f'role="group" aria-label="{esc(self.title)}" '
                 f'data-frames="{math.prod(len(c.static) for c in self.controls)}">',
                 '<div class="bn-controls" style="display:flex;flex-wrap:wrap;'
                 'gap:0.4em 1.5em;align-items:center;margin-bottom:0.3em">']
        for c in self.controls:
            labels = esc(json.dumps([c.fmt(v) for v in c.static]), quote=True)
            i = c.index(start[c.key], static=True)
            attrs = f'data-control="{esc(c.key)}" data-labels="{labels}"'
            if c.numeric:
                ctl = (f'<input type="range" class="bn-slider" {attrs} min="0" '
                       f'max="{len(c.static) - 1}" step="1" value="{i}" '
                       f'aria-valuetext="{esc(c.fmt(c.static[i]))}">')
            else:
                opts = "".join(f'<option value="{j}"{" selected" if j == i else ""}>'
                               f'{esc(c.fmt(v))}</option>' for j, v in enumerate(c.static))
                ctl = f'<select class="bn-choice" {attrs}>{opts}</select>'
            parts.append(f'<span><label>{esc(c.label)} {ctl}</label> '
                         f'<output class="bn-value" data-control="{esc(c.key)}" '
                         f'aria-live="polite">{esc(c.fmt(c.static[i]))}</output></span>')
        parts.append('</div><div class="bn-frames">')
        width, height = (int(round(s * self.static_dpi)) for s in self.figsize)
        for values in self.grid(static=True):
            key = "-".join(str(c.index(values[c.key], static=True)) for c in self.controls)
            shown = values == start
            src = base64.b64encode(self.png(self.static_dpi, palette=True, **values)).decode()
            parts.append(f'<img class="bn-frame" data-key="{key}" width="{width}" '
                         f'height="{height}" style="max-width:100%;height:auto" '
                         f'alt="{esc(self.alt(**values), quote=True)}"'
                         f'{"" if shown else " hidden"} src="data:image/png;base64,{src}">')
        parts.append(f"</div><script>{_STATIC_JS}</script></div>")
        return "".join(parts)

    # -- display ------------------------------------------------------------
    def _repr_mimebundle_(self, include=None, exclude=None):
        bundle = dict(self.live._repr_mimebundle_())
        bundle["text/html"] = self.static_html()
        bundle["text/plain"] = f"<{self.title}: " + ", ".join(
            c.text(self.values[c.key]) for c in self.controls) + ">"
        return bundle

    def __repr__(self):
        return f"SliderFigure({self.name!r}, values={self.values!r})"


CACHE_ENV = "BNBOOK_WIDGET_CACHE"
"""Environment variable: folder of the static-HTML cache, or ``off``."""


def cache_dir():
    """Folder of the static-HTML cache (None when ``$BNBOOK_WIDGET_CACHE=off``).

    Default ``$XDG_CACHE_HOME/bnbook-widgets`` (``~/.cache/bnbook-widgets``).
    """
    setting = os.environ.get(CACHE_ENV)
    if setting is not None and setting.strip().lower() in ("", "0", "off", "no", "false"):
        return None
    if setting:
        return Path(setting)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "bnbook-widgets"


def _write_quietly(path, text):
    """Write ``text`` atomically; a read-only or missing disk only costs the cache."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        pass


def _lib_fingerprint() -> str:
    """Digest of the lib package's source and of the libraries that draw the frames."""
    import PIL

    h = hashlib.sha256()
    root = Path(__file__).resolve().parent
    for f in sorted(root.rglob("*.py")):
        h.update(f.relative_to(root).as_posix().encode())
        h.update(f.read_bytes())
    h.update(f"{np.__version__} {mpl.__version__} {PIL.__version__}".encode())
    return h.hexdigest()


def _drop_unlabelled_minor_ticks(ax):
    """No minor ticks on log axes over more than three decades (they are unlabelled)."""
    for axis, lims in ((ax.xaxis, ax.get_xlim()), (ax.yaxis, ax.get_ylim())):
        lo, hi = sorted(lims)
        if axis.get_scale() == "log" and lo > 0 and hi / lo > 1e3:
            axis.set_minor_locator(mpl.ticker.NullLocator())


def _empty_axes(ax):
    """Return ``ax`` to a blank state like ``ax.cla()`` does, but keep its ticks."""
    for artist in [*ax.lines, *ax.collections, *ax.patches, *ax.texts, *ax.images,
                   *ax.artists, *ax.tables]:
        artist.remove()
    if ax.legend_ is not None:
        ax.legend_.remove()
    ax.containers.clear()
    for title in (ax.title, ax._left_title, ax._right_title):
        title.set_text("")
    ax.set_xlabel("")
    ax.set_ylabel("")
    ax.set_xscale("linear")        # also restores default locators and formatters
    ax.set_yscale("linear")
    ax.grid(False)
    ax.set_axis_on()
    ax.set_prop_cycle(None)        # colours start again from C0
    ax.relim()
    ax.set_autoscale_on(True)
    ax.margins(*(mpl.rcParams[f"axes.{k}margin"] for k in "xy"))


# Wires every not-yet-ready static widget on the page: the controls pick a
# frame by its data-key, the <output> and aria-valuetext follow.
_STATIC_JS = """(function(){document.querySelectorAll('.bn-static-widget:not([data-ready])')\
.forEach(function(root){root.setAttribute('data-ready','');\
var ctls=root.querySelectorAll('.bn-slider,.bn-choice'),imgs=root.querySelectorAll('img.bn-frame');\
function show(){var key=[];ctls.forEach(function(el){var i=+el.value,\
t=JSON.parse(el.getAttribute('data-labels'))[i],k=el.getAttribute('data-control');key.push(i);\
root.querySelector('output[data-control="'+k+'"]').textContent=t;\
if(el.type==='range'){el.setAttribute('aria-valuetext',t);}});key=key.join('-');\
imgs.forEach(function(img){img.hidden=img.getAttribute('data-key')!==key;});}\
ctls.forEach(function(el){el.addEventListener('input',show);el.addEventListener('change',show);});\
show();});})();"""


# ---------------------------------------------------------------------------
# The three widgets of chapter 8
# ---------------------------------------------------------------------------

def _num(x) -> str:
    """Compact number, two significant digits: 0, 0.32, 3.2e-4, 1e-5, 100."""
    if x == 0:
        return "0"
    if not math.isfinite(x):
        return str(x)
    if 1e-2 <= abs(x) < 1e4:
        return f"{float(f'{x:.2g}'):g}"
    mantissa, exponent = f"{x:.1e}".split("e")
    mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa}e{int(exponent)}"


def _with_explanation(text: str, data: dict) -> str:
    return f"{data['explanation']} {text}".strip() if data.get("explanation") else text


# -- batch size ---------------------------------------------------------------

BATCH_SIZES = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256)
"""Batch sizes of the batch-size slider (live and static)."""


def _describe_batch_noise(data, values):
    if data["N"] == 1:
        return data["explanation"]
    text = (f"the gradient of one fixed example, in {data['n_batches']} random batches of "
            f"{data['N']}, scatters around the large-batch gradient with a spread of "
            f"{data['spread']:.2f} times its norm (offset of the mean {data['bias']:.2f}); "
            f"the spread falls like 1/sqrt(N) as N grows.")
    return _with_explanation(text, data)


def batch_size_widget(N: int = 8) -> SliderFigure:
    """Slider over the batch size N: the batch-to-batch noise of one example's gradient.

    Calls :func:`lib.experiments.batch_noise` and :func:`lib.plots.plot_batch_noise`.
    """
    from lib import experiments, plots

    return SliderFigure(
        name="batch-size", title="Gradient noise against batch size",
        controls=[Control("N", "batch size N", BATCH_SIZES, default=N)],
        compute=lambda N: experiments.batch_noise(N),
        plot=plots.plot_batch_noise, describe=_describe_batch_noise,
        fingerprint=_lib_fingerprint(),
        panels=2, figsize=(8.4, 3.4))


# -- scale --------------------------------------------------------------------

SCALES = (0.0,) + tuple(float(10.0 ** (k / 2)) for k in range(-8, 5))
"""Scale factors a of the live scale slider: 0, then 1e-4 ... 1e2 in half decades."""
STATIC_SCALES = (0.0,) + SCALES[1::2]
"""Scale factors of the static rendering: 0, then whole decades 1e-4 ... 1e2."""
EPSILONS = (0.0, 1e-5, 1e-2)
"""Values of eps offered next to the scale slider (1e-5 is the default)."""


def _describe_scale(data, values):
    if data["a"] == 0:
        return data["explanation"]
    text = (f"with eps = {_num(data['eps'])} the column is in the {data['regime']} regime: "
            f"the output moves by {_num(data['y_change'])} of its norm and the input gradient "
            f"has norm {_num(data['grad_norm'])}, against {_num(data['grad_norm_theory'])} "
            f"from the 1/a law.")
    return _with_explanation(text, data)


def scale_widget(a: float = 1.0, eps: float = 1e-5) -> SliderFigure:
    """Slider over the scale a of a column (log-spaced, with a = 0) and a choice of eps.

    Calls :func:`lib.experiments.scale_response` and
    :func:`lib.plots.plot_scale_response`.
    """
    from lib import experiments, plots

    return SliderFigure(
        name="scale", title="Output and gradient when a column is scaled by a",
        controls=[Control("a", "scale a", SCALES, default=a, fmt=_num,
                          static_values=STATIC_SCALES),
                  Control("eps", "eps", EPSILONS, default=eps, fmt=_num)],
        compute=lambda a, eps: experiments.scale_response(a, eps=eps),
        plot=plots.plot_scale_response, describe=_describe_scale,
        fingerprint=_lib_fingerprint(),
        panels=2, figsize=(8.4, 3.4))


# -- depth --------------------------------------------------------------------

DEPTHS = (1, 2, 3, 5, 10, 20, 30, 40, 50)
"""Depths of the live depth slider."""
DEPTH_BATCH_SIZES = (1, 2, 3, 4, 5, 8, 16, 32, 64, 128)
"""Batch sizes of the live depth widget."""
STATIC_DEPTHS = (10, 50)
STATIC_DEPTH_BATCH_SIZES = (2, 4, 8, 32, 128)


def _describe_depth(data, values):
    g = data["grad_sq"]
    text = (f"squared norm of the weight gradient layer by layer, from {_num(g[0])} at the "
            f"first layer to {_num(g[-1])} at layer {data['depth']}")
    if data["rate"] is not None:
        text += f"; it grows by a factor {data['rate']:.3f} a layer going towards the input"
        if data["rate_theory"] is not None:
            text += f" (theory {data['rate_theory']:.3f})"
    return _with_explanation(text + ".", data)


def depth_widget(depth: int = 50, batch_size: int = 8, activation: str = "linear",
                 batchnorm: bool = True) -> SliderFigure:
    """Sliders over depth and batch size, choices of activation and batch norm.

    Calls :func:`lib.experiments.depth_profile` and
    :func:`lib.plots.plot_depth_profile`. The static rendering uses the
    coarser grids ``STATIC_DEPTHS`` and ``STATIC_DEPTH_BATCH_SIZES``.
    """
    from lib import experiments, plots

    return SliderFigure(
        name="depth", title="Gradient norm through a deep network at initialization",
        controls=[Control("depth", "depth", DEPTHS, default=depth, static_values=STATIC_DEPTHS),
                  Control("batch_size", "batch size B", DEPTH_BATCH_SIZES, default=batch_size,
                          static_values=STATIC_DEPTH_BATCH_SIZES),
                  Control("activation", "activation", ("linear", "relu"), default=activation),
                  Control("batchnorm", "batch norm", (True, False), default=batchnorm,
                          fmt=lambda on: "on" if on else "off")],
        compute=lambda depth, batch_size, activation, batchnorm: experiments.depth_profile(
            depth, batch_size, activation=activation, batchnorm=batchnorm),
        plot=plots.plot_depth_profile, describe=_describe_depth,
        fingerprint=_lib_fingerprint(), figsize=(5.0, 3.4))


def _main():
    """``python -m lib.widgets``: draw and cache the static frames of the three
    widgets (for a Binder image, so that a reader never waits for them), and
    print their size."""
    import time

    for make in (batch_size_widget, scale_widget, depth_widget):
        t = time.perf_counter()
        w = make()
        text = w.static_html()
        n = math.prod(len(c.static) for c in w.controls)
        print(f"{w.name}: {n} frames, {len(text) / 1e3:.0f} kB, "
              f"{time.perf_counter() - t:.1f} s -> {w._cache_path()}")


if __name__ == "__main__":
    _main()
