"""A figure's panels on a narrow screen: where each panel is, and the figure with them stacked.

Panels side by side are too small to read on a phone held upright. The build's kernels mark
every SVG figure of several panels with the box of each panel (:func:`register`, run at
start-up, wraps the inline backend's SVG printer in :func:`mark_panels`); at the end of the
build ``page_fixes`` (fix 12) writes a second SVG from the same drawing with the panels one
under the other (:func:`stacked_svg`), which a page shows below :data:`NARROW`. The figures
themselves are lib's (``lib/plots``); a reader's own Jupyter shows them as matplotlib draws
them, unmarked.

Boxes are in the SVG's own units (points, from the top left of the figure as saved with
``bbox_inches="tight"``, which is how IPython saves it) and hold everything a panel
draws: tick labels, axis labels, title and legend.
"""
from __future__ import annotations

import re

ATTRIBUTE = "data-bn-panels"
PAD_INCHES = 0.04     # room around each panel's tight box
GAP = 8.0             # points between stacked panels

NARROW = "(max-width: 40rem)"
"""Where a figure of several panels is shown with its panels stacked (a phone held upright):
the media query of a stacked figure's ``<source>``, and of a widget frame's."""

_ROOT = re.compile(r"<svg\b[^>]*>")
_SIZE = re.compile(r'\b(width|height)="([\d.]+)pt"')
_VIEWBOX = re.compile(r'\bviewBox="[^"]*"')


def _overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _merge(boxes):
    """Boxes (x0, y0, x1, y1) with every overlapping pair joined (a twin axis, an inset)."""
    boxes = [list(b) for b in boxes]
    merged = True
    while merged:
        merged = False
        for i in range(len(boxes)):
            for j in range(i + 1, len(boxes)):
                if _overlap(boxes[i], boxes[j]):
                    a, b = boxes[i], boxes.pop(j)
                    boxes[i] = [min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])]
                    merged = True
                    break
            if merged:
                break
    return boxes


def _padded(box, others, page):
    """``box`` with PAD_INCHES of room, short of any other panel and of the page's edge."""
    x0, y0, x1, y1 = box[0] - PAD_INCHES, box[1] - PAD_INCHES, box[2] + PAD_INCHES, box[3] + PAD_INCHES
    for o in others:
        if o is box:
            continue
        if box[1] < o[3] and o[1] < box[3]:             # side by side
            if o[0] >= box[2]:
                x1 = min(x1, o[0])
            elif o[2] <= box[0]:
                x0 = max(x0, o[2])
        elif o[1] >= box[3]:                            # o above
            y1 = min(y1, o[1])
        elif o[3] <= box[1]:                            # o below
            y0 = max(y0, o[3])
    return max(x0, page[0]), max(y0, page[1]), min(x1, page[2]), min(y1, page[3])


def _extents(fig, renderer):
    """(x0, y0, x1, y1) in inches of what each Axes of ``fig`` draws, a colour bar with the
    Axes whose image or collection it explains (``ScalarMappable.colorbar``)."""
    to_inches = fig.dpi_scale_trans.inverted()
    shown = [ax for ax in fig.axes if ax.get_visible()]
    owner = {artist.colorbar.ax: ax for ax in shown for artist in (*ax.images, *ax.collections)
             if getattr(artist, "colorbar", None) is not None and artist.colorbar.ax in shown}
    parts = {ax: [ax] for ax in shown if ax not in owner}
    for bar, ax in owner.items():
        parts[ax].append(bar)
    extents = []
    for axes in parts.values():
        boxes = [ax.get_tightbbox(renderer).transformed(to_inches) for ax in axes]
        extents.append([min(b.x0 for b in boxes), min(b.y0 for b in boxes),
                        max(b.x1 for b in boxes), max(b.y1 for b in boxes)])
    return extents


def panel_boxes(fig) -> list[tuple[float, float, float, float]]:
    """The panels of ``fig`` as (x, y, width, height) boxes in its SVG, top to bottom, left to right.

    Empty when there is nothing to stack: one panel, or panels already one under another.
    """
    import matplotlib as mpl

    fig.draw_without_rendering()           # lay out as saving does (titles, tight boxes)
    renderer = fig.canvas.get_renderer()
    pad = mpl.rcParams["savefig.pad_inches"]
    page = fig.get_tightbbox(renderer).padded(pad if isinstance(pad, float) else 0.1)
    drawn = _merge(_extents(fig, renderer))
    boxes = [_padded(b, drawn, (page.x0, page.y0, page.x1, page.y1)) for b in drawn]
    if len(drawn) < 2 or all(a[0] < b[2] and b[0] < a[2] for a in drawn for b in drawn):
        return []                           # a single column already fits a phone
    return [(round(float(b[0] - page.x0) * 72, 2), round(float(page.y1 - b[3]) * 72, 2),
             round(float(b[2] - b[0]) * 72, 2), round(float(b[3] - b[1]) * 72, 2))
            for b in _reading_order(boxes)]


def _reading_order(boxes):
    """Rows from the top (boxes that share some height are a row), each from left to right."""
    rows = []
    for b in sorted(boxes, key=lambda b: -b[3]):
        if rows and b[3] > rows[-1][0][1]:     # its top is above the row's first bottom
            rows[-1].append(b)
        else:
            rows.append([b])
    return [b for row in rows for b in sorted(row, key=lambda b: b[0])]


def mark_panels(svg: str, fig) -> str:
    """``svg`` (``fig`` as IPython saves it) with its panel boxes in a root attribute, if any."""
    boxes = panel_boxes(fig)
    if not boxes:
        return svg
    value = ";".join(",".join(f"{v:g}" for v in box) for box in boxes)
    return _ROOT.sub(lambda m: m.group(0)[:4] + f' {ATTRIBUTE}="{value}"' + m.group(0)[4:], svg, count=1)


def boxes_of(svg: str) -> list[tuple[float, ...]]:
    """The panel boxes :func:`mark_panels` wrote into ``svg`` (empty if none)."""
    root = _ROOT.search(svg)
    found = root and re.search(ATTRIBUTE + r'="([^"]*)"', root.group(0))
    if not found:
        return []
    return [tuple(float(v) for v in box.split(",")) for box in found.group(1).split(";")]


def stacked_svg(svg: str) -> tuple[str, float, float] | None:
    """The figure of a marked ``svg`` with its panels stacked: (SVG text, width, height in points).

    The drawing is kept once, as a symbol each panel shows through its own viewport, so
    the stacked file is barely larger than the original. None if ``svg`` is not marked.
    """
    boxes = boxes_of(svg)
    root = _ROOT.search(svg)
    if not boxes:
        return None
    width = max(b[2] for b in boxes)
    height = sum(b[3] for b in boxes) + GAP * (len(boxes) - 1)
    sizes = {"width": f'width="{width:g}pt"', "height": f'height="{height:g}pt"'}
    tag = _SIZE.sub(lambda m: sizes[m.group(1)], root.group(0))
    tag = _VIEWBOX.sub(f'viewBox="0 0 {width:g} {height:g}"', tag)
    tag = re.sub(rf'\s{ATTRIBUTE}="[^"]*"', "", tag)
    body = svg[root.end():svg.rindex("</svg>")]
    views, top = [], 0.0
    for x, y, w, h in boxes:
        views.append(f'<svg x="{(width - w) / 2:g}" y="{top:g}" width="{w:g}" height="{h:g}" '
                     f'viewBox="{x:g} {y:g} {w:g} {h:g}"><use xlink:href="#bn-figure"/></svg>')
        top += h + GAP
    return (svg[:root.start()] + tag + '<defs><g id="bn-figure">' + body + "</g></defs>"
            + '<rect width="100%" height="100%" fill="white"/>' + "".join(views) + "</svg>\n",
            width, height)


def register(shell=None) -> None:
    """Mark every figure the kernel ``shell`` shows as SVG with its panels.

    Run after the inline backend is on (``%matplotlib inline``): it wraps the SVG formatter
    that the backend registered for figures, so the SVG itself is unchanged.
    """
    from matplotlib.figure import Figure

    if shell is None:
        from IPython import get_ipython
        shell = get_ipython()
    formatter = shell.display_formatter.formatters["image/svg+xml"]
    try:
        draw = formatter.lookup_by_type(Figure)
    except KeyError:
        return                              # no inline SVG figures in this kernel

    def marked(fig, *args, **kwargs):
        svg = draw(fig, *args, **kwargs)
        return mark_panels(svg, fig) if isinstance(svg, str) else svg

    formatter.for_type(Figure, marked)
