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
    the current value of control KEY as text, e.g. ``N = 8``.
``img.bn-frame[data-key=I-J-...]``
    one frame per grid point; ``I-J-...`` are the control indices in the
    order of the controls. Exactly one frame is visible, the others carry
    ``hidden``. Every frame has an ``alt`` text describing what it shows.

Timing
------
``SliderFigure.update(**values)`` is the function a control calls: it
computes (memoised), redraws the single Figure and pushes a PNG to the live
image. It can be called directly to time it.
"""
from __future__ import annotations

import base64
import html
import io
import itertools
import json
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

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
    """

    key: str
    label: str
    values: tuple
    default: Any
    fmt: Callable[[Any], str] = str

    def __post_init__(self):
        object.__setattr__(self, "values", tuple(self.values))
        if not self.values:
            raise ValueError(f"control {self.key!r} has no values")
        if self.default not in self.values:
            raise ValueError(f"default {self.default!r} of control {self.key!r} "
                             f"is not one of its values {self.values}")

    @property
    def numeric(self) -> bool:
        return all(isinstance(v, (int, float, np.number)) and not isinstance(v, bool)
                   for v in self.values)

    def text(self, value) -> str:
        """``'N = 8'``: the label and the formatted value."""
        return f"{self.label} = {self.fmt(value)}"

    def index(self, value) -> int:
        if value not in self.values:
            raise ValueError(f"{self.key}={value!r} is not on the grid {self.values}")
        return self.values.index(value)


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
        ``plot(data, ax=ax)`` draws on ``ax``.
    describe : callable
        ``describe(data, values) -> str``: the alt text of a frame.
    figsize : (float, float)
        Figure size in inches.
    live_dpi, static_dpi : int
        Resolution of the live image and of the static frames.
    """

    name: str
    title: str
    controls: Sequence[Control]
    compute: Callable[..., dict]
    plot: Callable[..., Any]
    describe: Callable[[dict, dict], str]
    figsize: tuple = (6.0, 3.6)
    live_dpi: int = 100
    static_dpi: int = 80
    values: dict = field(init=False)

    def __post_init__(self):
        self.controls = tuple(self.controls)
        self.values = {c.key: c.default for c in self.controls}
        self._cache: dict = {}
        self._fig = Figure(figsize=self.figsize)
        FigureCanvasAgg(self._fig)
        self._live = None
        self._html = None

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
        if len(axes) == 1:
            ax = axes[0]          # reuse the one Axes: cheaper than a new one
            ax.cla()
        else:
            self._fig.clear()
            ax = self._fig.add_subplot()
        self.plot(data, ax=ax)
        return self._fig

    def png(self, dpi: int, palette: bool = False, **values) -> bytes:
        """The figure at these values as PNG bytes, drawn at ``dpi``.

        ``palette=True`` quantises to 128 colours: frames about three times
        smaller, for the static rendering.
        """
        from PIL import Image  # matplotlib depends on Pillow

        fig = self.figure(**values)
        fig.set_dpi(dpi)
        fig.canvas.draw()
        img = Image.frombuffer("RGBA", fig.canvas.get_width_height(),
                               fig.canvas.buffer_rgba()).convert("RGB")
        out = io.BytesIO()
        if palette:
            img = img.quantize(colors=128, method=Image.Quantize.MEDIANCUT)
            img.save(out, format="PNG", optimize=True)
        else:
            img.save(out, format="PNG", compress_level=1)
        return out.getvalue()

    def update(self, **values) -> Figure:
        """Set controls, redraw, and show the result in the live widget.

        This is what moving a control calls; call it directly to time a
        redraw. Returns the Figure.
        """
        self.values = self._values(values)
        if self._live is None:
            return self.figure(**self.values)
        png = self.png(self.live_dpi, **self.values)
        self._image.value = png
        self._image.alt = self.alt(**self.values)  # not shown, kept for tests
        return self._fig

    def alt(self, **values) -> str:
        """Alt text of the frame at these values."""
        values = self._values(values)
        setting = ", ".join(c.text(values[c.key]) for c in self.controls)
        return f"{self.title} at {setting}: {self.describe(self.data(**values), values)}"

    def grid(self):
        """Every grid point as a dict of control values, first control slowest."""
        for combo in itertools.product(*(c.values for c in self.controls)):
            yield dict(zip((c.key for c in self.controls), combo))

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
                                        layout=w.Layout(width="24em"))
            else:
                ctl = w.ToggleButtons(options=options, value=self.values[c.key],
                                      description=c.label,
                                      style={"button_width": "5em"})
            ctl.observe(self._on_change, names="value")
            self._widgets[c.key] = ctl
            boxes.append(ctl)
        width, height = (int(round(s * self.live_dpi)) for s in self.figsize)
        self._image = w.Image(format="png", width=width, height=height)
        self._live = w.VBox([*boxes, self._image])
        self._live.add_class("bn-live-widget")
        self.update()

    def _on_change(self, change):
        key = next(k for k, ctl in self._widgets.items() if ctl is change["owner"])
        self.update(**{key: change["new"]})

    # -- the static rendering --------------------------------------------
    def static_html(self) -> str:
        """The self-contained static rendering (computed once, then cached)."""
        if self._html is None:
            self._html = self._static_html()
        return self._html

    def _static_html(self) -> str:
        saved = dict(self.values)
        esc = html.escape
        parts = [f'<div class="bn-static-widget" data-widget="{esc(self.name)}" '
                 f'role="group" aria-label="{esc(self.title)}" '
                 f'data-frames="{math.prod(len(c.values) for c in self.controls)}">',
                 '<div class="bn-controls" style="display:flex;flex-wrap:wrap;'
                 'gap:0.4em 1.5em;align-items:center;margin-bottom:0.3em">']
        for c in self.controls:
            labels = esc(json.dumps([c.text(v) for v in c.values]), quote=True)
            i = c.index(self.values[c.key])
            attrs = f'data-control="{esc(c.key)}" data-labels="{labels}"'
            if c.numeric:
                ctl = (f'<input type="range" class="bn-slider" {attrs} min="0" '
                       f'max="{len(c.values) - 1}" step="1" value="{i}" '
                       f'aria-valuetext="{esc(c.text(c.values[i]))}">')
            else:
                opts = "".join(f'<option value="{j}"{" selected" if j == i else ""}>'
                               f'{esc(c.fmt(v))}</option>' for j, v in enumerate(c.values))
                ctl = f'<select class="bn-choice" {attrs}>{opts}</select>'
            parts.append(f'<span><label>{esc(c.label)} {ctl}</label> '
                         f'<output class="bn-value" data-control="{esc(c.key)}" '
                         f'aria-live="polite">{esc(c.text(c.values[i]))}</output></span>')
        parts.append('</div><div class="bn-frames">')
        width, height = (int(round(s * self.static_dpi)) for s in self.figsize)
        for values in self.grid():
            key = "-".join(str(c.index(values[c.key])) for c in self.controls)
            shown = all(values[c.key] == saved[c.key] for c in self.controls)
            src = base64.b64encode(self.png(self.static_dpi, palette=True, **values)).decode()
            parts.append(f'<img class="bn-frame" data-key="{key}" width="{width}" '
                         f'height="{height}" style="max-width:100%;height:auto" '
                         f'alt="{esc(self.alt(**values), quote=True)}"'
                         f'{"" if shown else " hidden"} src="data:image/png;base64,{src}">')
        parts.append(f"</div><script>{_STATIC_JS}</script></div>")
        self.values = saved
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

def _toy_compute(N):
    """Placeholder until lib.experiments lands."""
    if N <= 2:
        return {"N": N, "explanation": f"With N = {N} the input gradient is zero."}
    x = np.linspace(0, 1, 50)
    return {"N": N, "x": x, "y": np.sqrt((N - 2) / N) * np.sin(2 * np.pi * x)}


def _toy_plot(data, ax):
    if "explanation" in data:
        ax.text(0.5, 0.5, data["explanation"], ha="center", va="center", wrap=True)
        ax.set_axis_off()
    else:
        ax.plot(data["x"], data["y"])
    return ax.figure


def _toy_describe(data, values):
    return data.get("explanation") or f"a sine of amplitude {data['y'].max():.2f}"


def batch_size_widget() -> SliderFigure:
    """Batch size slider: how the gradient's batch noise shrinks with N."""
    return SliderFigure(
        name="batch-size", title="Batch noise of the gradient",
        controls=[Control("N", "N", (1, 2, 3, 4, 6, 8, 16, 32, 64, 128), default=8)],
        compute=_toy_compute, plot=_toy_plot, describe=_toy_describe)
