"""The static rendering: every frame drawn in advance, a few lines of JavaScript.

The built site has no kernel, so a slider figure is drawn at every point of
its static grid, the frames are embedded as PNG data URIs, and inline
JavaScript (no library, no network) shows the frame the controls point at.

Drawing every frame takes seconds, so it happens only when the book is
built: the site build sets :data:`STATIC_ENV` (``book/_ext/static_widgets.py``
does it for every Jupyter Book build), and a reader's kernel, where it is
not set, never draws them. The HTML is also cached on disk, keyed by a
digest of ``lib``'s source and the library versions (:data:`CACHE_ENV`), so
that rebuilding the book after a change elsewhere does not draw them again.
"""
from __future__ import annotations

import base64
import hashlib
import html
import io
import json
import math
import os
from pathlib import Path

import matplotlib as mpl
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.image import imread
import numpy as np

from lib.widgets.drawing import png_bytes

PIXEL_DENSITY = 2
"""Static frames are drawn at this multiple of a widget's ``static_dpi`` and shown at
``static_dpi``'s size: two image pixels a CSS pixel, sharp on high-density screens."""

__all__ = ["STATIC_ENV", "CACHE_ENV", "static_enabled", "cache_dir", "cache_path", "frame_grid",
           "representative", "render", "lib_fingerprint", "write_quietly", "PIXEL_DENSITY", "NARROW"]

STATIC_ENV = "BNBOOK_STATIC_WIDGETS"
"""Environment variable: ``1`` while the site is built (draw the static frames)."""

CACHE_ENV = "BNBOOK_WIDGET_CACHE"
"""Environment variable: folder of the static-HTML cache, or ``off``."""

_OFF = ("", "0", "off", "no", "false")


def static_enabled() -> bool:
    """True while the site is built (``$BNBOOK_STATIC_WIDGETS`` set and not off)."""
    return os.environ.get(STATIC_ENV, "").strip().lower() not in _OFF


def cache_dir():
    """Folder of the static-HTML cache (None when ``$BNBOOK_WIDGET_CACHE=off``).

    Default ``$XDG_CACHE_HOME/bnbook-widgets`` (``~/.cache/bnbook-widgets``).
    """
    setting = os.environ.get(CACHE_ENV)
    if setting is not None and setting.strip().lower() in _OFF:
        return None
    if setting:
        return Path(setting)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "bnbook-widgets"


def write_quietly(path, text):
    """Write ``text`` atomically; a read-only or missing disk only costs the cache."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        pass


def lib_fingerprint() -> str:
    """Digest of the lib package's source and of the libraries that draw the frames."""
    import PIL

    h = hashlib.sha256()
    root = Path(__file__).resolve().parent.parent
    for f in sorted(root.rglob("*.py")):
        h.update(f.relative_to(root).as_posix().encode())
        h.update(f.read_bytes())
    h.update(f"{np.__version__} {mpl.__version__} {PIL.__version__}".encode())
    return h.hexdigest()


def cache_path(fig, start):
    """Where the static HTML of ``fig`` starting at ``start`` is cached (or None)."""
    folder = cache_dir()
    if not fig.fingerprint or folder is None:
        return None
    spec = json.dumps([fig.name, fig.title, fig.fingerprint, fig.panels,
                       list(fig.figsize), fig.static_dpi, [repr(start[c.key]) for c in fig.controls],
                       [[c.key, c.label, [repr(v) for v in c.values],
                         [repr(v) for v in c.static], [c.text(v) for v in c.static]]
                        for c in fig.controls]])
    digest = hashlib.sha256(spec.encode()).hexdigest()[:16]
    return folder / f"{fig.name}-{fig.fingerprint[:12]}-{digest}.html"


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
        wide, stacked = fig.static_pngs(**values)
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


NARROW = "(max-width: 40rem)"
"""Where a frame of several panels is shown with its panels stacked (a phone held upright)."""


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()


def _size(png: bytes) -> tuple[int, int]:
    from PIL import Image

    return Image.open(io.BytesIO(png)).size


def representative(fig) -> list[dict]:
    """Up to four settings that show what the widget does, for print.

    One control: four positions spread over its static grid, ends included. Several: each of
    the first two controls at both ends of its grid (the others at their defaults).
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
    """PNG of a grid of representative frames, each titled with its setting (the PDF edition).

    The frames are placed pixel for pixel (``figimage``), so print gets them unresampled.
    """
    frames = [(", ".join(c.text(v[c.key]) for c in fig.controls if c.key in v),
               imread(io.BytesIO(fig.png(dpi, **v)), format="png")) for v in representative(fig)]
    columns = 2 if fig.panels == 1 else 1      # a frame of several panels is already wide
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
