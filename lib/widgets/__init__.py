"""Slider figures for chapter 8: live in Jupyter, still moving in the static site.

A chapter cell calls one function and the result displays itself::

    from lib import widgets
    widgets.batch_size_widget()

The object returned (a :class:`SliderFigure`) carries two representations in
one display bundle:

* ``application/vnd.jupyter.widget-view+json``: ipywidgets controls and an
  image of the figure, redrawn by the kernel whenever a control moves.
  JupyterLab, Notebook and Binder show this one.
* ``text/html``, only while the site is built (``$BNBOOK_STATIC_WIDGETS``,
  set for every Jupyter Book build by ``book/_ext/static_widgets.py``): a
  self-contained static rendering. The figure is drawn in advance at every
  point of the slider grid, the frames are embedded as PNG data URIs, and a
  few lines of inline JavaScript (no library, no network) show the frame the
  controls point at. The built site shows this one, because
  ``book/_config.yml`` tells myst-nb to drop the widget view
  (``nb_mime_priority_overrides``) and not to load ipywidgets' JavaScript
  from a CDN (``nb_ipywidgets_js: {}``). A reader's kernel never draws it.

The package, one concern a module:

:mod:`~lib.widgets.control`
    :class:`Control`, one control and its grid;
:mod:`~lib.widgets.figure`
    :class:`SliderFigure`: compute (memoised), draw, display;
:mod:`~lib.widgets.live`
    the ipywidgets view;
:mod:`~lib.widgets.static`
    the static HTML and JavaScript, and its disk cache;
:mod:`~lib.widgets.drawing`
    matplotlib speed-ups for redrawing one figure many times;
:mod:`~lib.widgets.chapter8`
    the three widgets of chapter 8;
:mod:`~lib.widgets.chapter9`
    the learning-rate widget of chapter 9;
:mod:`~lib.widgets.derivation`
    the widgets of the derivation: a batch before and after (chapter 1), the Jacobian of a
    column (chapter 2), the three paths (chapter 3), the projection in the plane (chapter 6).

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
    the current value of slider KEY as text, e.g. ``8`` for N = 8 (the
    same text as the slider's ``aria-valuetext``; hidden from screen readers,
    which read the slider). A drop-down shows its own value.
``p.bn-status[role=status]``
    a visually hidden live region: after a move it reads the new frame's
    description (its ``alt``).
``img.bn-frame[data-key=I-J-...]``
    one frame per grid point; ``I-J-...`` are the control indices in the
    order of the controls. Exactly one frame is visible, the others carry
    ``hidden``. Every frame has an ``alt`` text describing what it shows.

Control keys (KEY above, and the keywords of ``update``): ``batch-size``
has ``N``; ``scale`` has ``a`` and ``eps``; ``depth`` has ``depth``,
``batch_size`` (sliders), ``activation`` and ``batchnorm`` (drop-downs).
The static grids are coarser than the live ones for ``a`` and ``batch_size``
(``STATIC_*`` below); the depth slider offers every depth from 10 to 50 in
steps of 10.

Timing
------
``SliderFigure.update(**values)`` is the function a control calls: it
computes (memoised per widget), redraws the single Figure and pushes a PNG
to the live image; it returns the Figure and works before the live view is
displayed. Call it directly to time it; ``clear_cache()`` first to include
the computation.

Cache
-----
Drawing the static frames takes a few seconds per widget, so during a site
build the HTML is also cached on disk, keyed by a digest of ``lib``'s source
and the library versions (``$BNBOOK_WIDGET_CACHE``, default
``~/.cache/bnbook-widgets``; ``off`` disables it). ``python -m lib.widgets``
fills the cache.
"""

from lib.widgets.chapter8 import (BATCH_SIZES, DEPTH_BATCH_SIZES, DEPTHS, EPSILONS, SCALES,
                                  STATIC_DEPTH_BATCH_SIZES, STATIC_DEPTHS, STATIC_SCALES,
                                  batch_size_widget, depth_widget, scale_widget)
from lib.widgets.chapter9 import learning_rate_widget
from lib.widgets.derivation import batch_widget, jacobian_widget, paths_widget, projection_widget
from lib.widgets.control import Control
from lib.widgets.figure import SliderFigure
from lib.widgets.static import CACHE_ENV, STATIC_ENV, cache_dir, static_enabled

__all__ = ["Control", "SliderFigure", "batch_size_widget", "scale_widget", "depth_widget",
           "learning_rate_widget", "batch_widget", "jacobian_widget", "paths_widget", "projection_widget"]
