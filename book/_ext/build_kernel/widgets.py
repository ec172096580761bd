"""The slider figures of the built site: every frame drawn in advance, a few lines of JavaScript.

A slider figure (:class:`lib.widgets.SliderFigure`) shows itself in a kernel as an ipywidgets
view, which the built site, having no kernel, cannot show: ``book/_config.yml`` tells myst-nb to
drop it (``nb_mime_priority_overrides``) and not to load ipywidgets' JavaScript from a CDN
(``nb_ipywidgets_js: {}``). So the build's kernels give each slider figure two more
representations (:func:`register`, run at start-up by :func:`build_kernel.start`):

* ``text/html`` (:func:`static_html`): the figure drawn at every point of its static grid,
  the frames embedded as PNG data URIs, and inline JavaScript (no library, no network) that
  shows the frame the controls point at. The site shows this one; ``static_widgets.py`` then
  makes each frame a file of the site.
* ``image/png``: a few frames in one picture (:func:`lib.widgets.printed.frame_grid`), which
  the PDF edition prints.

IPython asks a printer registered for an object's type even when the object's
``_repr_mimebundle_`` gives other formats (lib's gives the live view and ``text/plain``). The
printers are registered by the type's name, so the kernel of a chapter without a widget never
imports ``lib.widgets``; a reader's kernel never loads this module and never draws these frames.
Drawing them takes seconds per widget, so the HTML is also kept on disk between builds
(:mod:`build_kernel.widget_cache`).

Markers of the static HTML (stable: the browser tests rely on them)
-------------------------------------------------------------------
``div.bn-static-widget[data-widget=NAME]``
    the root, one per widget; NAME is the figure's ``name`` (``batch-size``, ``scale``,
    ``depth``, ...); ``data-frames`` holds the number of frames and ``role=group`` with
    ``aria-label`` names it. The script marks it ``data-ready`` once the controls are wired.
``input.bn-slider[type=range][data-control=KEY]``
    a numeric control, inside a ``<label>``; its value is the *index* into the static grid
    (0, 1, ...); ``aria-valuetext`` and ``data-labels`` give the readable values,
    ``aria-valuenow`` and ``data-values`` the values themselves.
``select.bn-choice[data-control=KEY]``
    a categorical control (activation, batch norm on/off); option values are indices.
``output.bn-value[data-control=KEY]``
    the current value of slider KEY as text, e.g. ``8`` for N = 8 (the same text as the
    slider's ``aria-valuetext``; hidden from screen readers, which read the slider). A
    drop-down shows its own value.
``p.bn-status[role=status]``
    a visually hidden live region: after a move it reads the new frame's description (its
    ``alt``).
``img.bn-frame[data-key=I-J-...]``
    one frame per grid point; ``I-J-...`` are the control indices in the order of the
    controls. Exactly one frame is visible, the others carry ``hidden``. Every frame has an
    ``alt`` text describing what it shows. A frame of several panels sits in a ``<picture>``
    whose ``<source media=NARROW>`` is the same frame with its panels stacked.

KEY is a control's key (``N``; ``a`` and ``eps``; ``depth``, ``batch_size``, ``activation``
and ``batchnorm``: see :mod:`lib.widgets`).
"""
from __future__ import annotations

import base64
import html
import io
import json
import math

from . import widget_cache
from .panels import NARROW

__all__ = ["register", "static_html", "render", "start_values", "PIXEL_DENSITY", "STATIC_JS"]

FIGURE = ("lib.widgets.figure", "SliderFigure")
"""The type the printers are registered for, by module and name."""

PIXEL_DENSITY = 2
"""Frames are drawn at this multiple of a figure's ``static_dpi`` and shown at ``static_dpi``'s
size: two image pixels a CSS pixel, sharp on high-density screens."""


def register(shell) -> None:
    """Give every slider figure that kernel ``shell`` shows its static HTML and printed frames."""
    formatters = shell.display_formatter.formatters
    formatters["text/html"].for_type_by_name(*FIGURE, static_html)
    formatters["image/png"].for_type_by_name(*FIGURE, printed_frames)


def printed_frames(fig) -> bytes:
    """PNG of a few frames of ``fig`` in one picture, for the PDF edition."""
    from lib.widgets.printed import frame_grid

    return frame_grid(fig)


def start_values(fig) -> dict:
    """The point of the static grid nearest the figure's current values: the frame shown first."""
    return {c.key: c.nearest_static(fig.values[c.key]) for c in fig.controls}


def static_html(fig) -> str:
    """The self-contained static HTML of ``fig``, read from the disk cache when it is there."""
    start = start_values(fig)
    return widget_cache.cached(fig, start, lambda: render(fig, start))


# A slider as wide as a phone allows and tall enough to touch: every position of a 16-stop
# slider is 1.3 rem or more wide. Values show beside the slider; a select shows its own.
SLIDER_STYLE = "width:min(22rem,100%);min-height:1.75rem;accent-color:#1f77b4"
# Visually hidden, still read: the live region that announces each new frame's description.
HIDDEN_STYLE = ("position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);"
                "white-space:nowrap")


def _control_html(c, i):
    """The control at static grid position ``i``, labelled, with its value (sliders)."""
    esc = html.escape
    labels = esc(json.dumps([c.fmt(v) for v in c.static]), quote=True)
    attrs = f'data-control="{esc(c.key)}" data-labels="{labels}"'
    if not c.numeric:
        opts = "".join(f'<option value="{j}"{" selected" if j == i else ""}>'
                       f'{esc(c.fmt(v))}</option>' for j, v in enumerate(c.static))
        return (f'<span><label><span style="white-space:nowrap">{esc(c.label)}</span> '
                f'<select class="bn-choice" {attrs} style="min-height:1.75rem">{opts}</select></label></span>')
    # the input moves over grid positions; aria-valuenow/min/max give the accessibility tree
    # the value itself (Chromium reads them in preference to the position)
    values = esc(json.dumps([float(v) for v in c.static]), quote=True)
    ctl = (f'<input type="range" class="bn-slider" {attrs} data-values="{values}" min="0" '
           f'max="{len(c.static) - 1}" step="1" value="{i}" aria-valuemin="{float(min(c.static)):g}" '
           f'aria-valuemax="{float(max(c.static)):g}" aria-valuenow="{float(c.static[i]):g}" '
           f'aria-valuetext="{esc(c.fmt(c.static[i]))}" style="{SLIDER_STYLE}">')
    return (f'<span style="display:flex;align-items:center;gap:0.5em;flex:1 1 16rem">'
            f'<label style="display:inline-flex;align-items:center;gap:0.5em;flex:1 1 auto">'
            f'<span style="white-space:nowrap">{esc(c.label)}</span> {ctl}</label><output class="bn-value" data-control="{esc(c.key)}" aria-hidden="true">'
            f'{esc(c.fmt(c.static[i]))}</output></span>')


def render(fig, start) -> str:
    """The self-contained static HTML of slider figure ``fig``, showing ``start`` first."""
    esc = html.escape
    parts = [f'<div class="bn-static-widget" data-widget="{esc(fig.name)}" '
             f'role="group" aria-label="{esc(fig.title)}" '
             f'data-frames="{math.prod(len(c.static) for c in fig.controls)}">',
             '<div class="bn-controls" style="display:flex;flex-wrap:wrap;'
             'gap:0.4em 1.5em;align-items:center;margin-bottom:0.3em">']
    parts += [_control_html(c, c.index(start[c.key], static=True)) for c in fig.controls]
    parts.append(f'</div><p class="bn-status" role="status" aria-label="{esc(fig.title, quote=True)}: '
                 f'frame shown" style="{HIDDEN_STYLE}"></p>'
                 '<div class="bn-frames">')
    width, height = (int(round(s * fig.static_dpi)) for s in fig.figsize)
    for values in fig.grid(static=True):
        key = "-".join(str(c.index(values[c.key], static=True)) for c in fig.controls)
        hidden = "" if values == start else " hidden"
        wide, stacked = fig.frame_pngs(PIXEL_DENSITY * fig.static_dpi, palette=True, **values)
        img = (f'<img class="bn-frame" data-key="{key}" width="{width}" height="{height}" '
               f'style="max-width:100%;height:auto" alt="{esc(fig.alt(**values), quote=True)}"{hidden} '
               f'src="{_data_uri(wide)}">')
        if stacked is None:
            parts.append(img)
            continue
        # on a narrow screen the panels come one under the other, each at the column's width
        w, h = _size(stacked)
        parts.append(f'<picture><source media="{NARROW}" width="{w // PIXEL_DENSITY}" '
                     f'height="{h // PIXEL_DENSITY}" srcset="{_data_uri(stacked)}">{img}</picture>')
    parts.append(f"</div><script>{STATIC_JS}</script></div>")
    return "".join(parts)


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()


def _size(png: bytes) -> tuple[int, int]:
    from PIL import Image

    return Image.open(io.BytesIO(png)).size


# Wires every not-yet-ready static widget on the page: the controls pick a frame by its
# data-key; the value beside a slider and its aria-valuetext follow; the status region reads
# the new frame's description after a move. After the browser's Back button the controls
# come back where the reader left them, and so does the frame ("pageshow"). On the site a
# hidden frame's image waits in data-src (and its stacked version in data-srcset): it is
# fetched when shown; once the reader reaches for the widget (pointer, focus, touch) and
# after every move, so are the frames one step away on every control.
STATIC_JS = """(function(){document.querySelectorAll('.bn-static-widget:not([data-ready])')\
.forEach(function(root){root.setAttribute('data-ready','');\
var ctls=root.querySelectorAll('.bn-slider,.bn-choice'),imgs=root.querySelectorAll('img.bn-frame'),\
status=root.querySelector('.bn-status'),byKey={};imgs.forEach(function(img){byKey[img.getAttribute('data-key')]=img;});\
function load(img){if(!img){return;}var p=img.parentNode;if(p.tagName==='PICTURE'){\
p.querySelectorAll('source[data-srcset]').forEach(function(s){s.srcset=s.getAttribute('data-srcset');\
s.removeAttribute('data-srcset');});}var d=img.getAttribute('data-src');if(d){img.src=d;img.removeAttribute('data-src');}}\
function show(announce){var key=[];ctls.forEach(function(el){var i=+el.value,\
t=JSON.parse(el.getAttribute('data-labels'))[i],k=el.getAttribute('data-control');key.push(i);\
if(el.type==='range'){el.setAttribute('aria-valuetext',t);\
el.setAttribute('aria-valuenow',JSON.parse(el.getAttribute('data-values'))[i]);\
var out=root.querySelector('output[data-control="'+k+'"]');if(out){out.textContent=t;}}});\
var shown=byKey[key.join('-')];load(shown);imgs.forEach(function(img){img.hidden=img!==shown;});\
if(announce){near(key);}if(announce&&shown&&status){status.textContent=shown.alt;}}\
function near(key){key.forEach(function(i,j){[-1,1].forEach(function(d){var n=key.slice();n[j]=i+d;\
load(byKey[n.join('-')]);});});}\
function current(){var k=[];ctls.forEach(function(el){k.push(+el.value);});return k;}\
['pointerenter','focusin','touchstart'].forEach(function(t){root.addEventListener(t,function(){near(current());},\
{once:true,passive:true});});\
ctls.forEach(function(el){el.addEventListener('input',function(){show(true);});\
el.addEventListener('change',function(){show(true);});});\
window.addEventListener('pageshow',function(){show(false);});\
document.addEventListener('DOMContentLoaded',function(){show(false);});show(false);});})();"""
