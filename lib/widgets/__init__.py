"""Slider figures: a figure redrawn as the reader moves its controls.

A chapter cell calls one function and the result displays itself::

    from lib import widgets
    widgets.batch_size_widget()

The object returned (a :class:`SliderFigure`) shows itself in a kernel as
ipywidgets controls and an image of the figure, redrawn by the kernel
whenever a control moves (``application/vnd.jupyter.widget-view+json``, with
a ``text/plain`` summary). JupyterLab, Notebook, Binder and Colab show it; a reader's
kernel draws one frame per move and nothing in advance.

Each control also has a coarser static grid (``Control.static``): where there
is no kernel, the figure can be drawn in advance at every point of it
(:meth:`SliderFigure.grid`, :meth:`SliderFigure.frame_pngs`, with
:meth:`SliderFigure.alt` describing each frame), and on paper a few frames
stand for the controls (:func:`lib.widgets.printed.frame_grid`). The book's
build does both, in ``book/_ext/build_kernel/widgets.py``.

The package, one concern a module:

:mod:`~lib.widgets.control`
    :class:`Control`, one control and its grids;
:mod:`~lib.widgets.figure`
    :class:`SliderFigure`: compute (memoised), draw, display;
:mod:`~lib.widgets.live`
    the ipywidgets view;
:mod:`~lib.widgets.printed`
    a few frames in one picture, for print;
:mod:`~lib.widgets.drawing`
    matplotlib speed-ups for redrawing one figure many times;
:mod:`~lib.widgets.chapter8`
    the three widgets of chapter 8;
:mod:`~lib.widgets.training`
    the learning-rate widget of chapter 10;
:mod:`~lib.widgets.residual`
    the residual chapter's depth-and-architecture widget (imported by that chapter alone, so
    that a change to its experiments re-runs no other chapter);
:mod:`~lib.widgets.derivation`
    the widgets of the derivation: a batch before and after (chapter 1), the Jacobian of a
    column (chapter 2), the three paths (chapter 3), the projection in the plane (chapter 6).

Controls
--------
Control keys (the keywords of ``update``): ``batch-size`` has ``N``;
``scale`` has ``a`` and ``eps``; ``depth`` has ``depth``, ``batch_size``
(sliders), ``activation`` and ``batchnorm`` (drop-downs). The static grids
are coarser than the live ones for ``a`` and ``batch_size`` (``STATIC_*``
below); the depth slider offers every depth from 10 to 50 in steps of 10.

Timing
------
``SliderFigure.update(**values)`` is the function a control calls: it
computes (memoised per widget), redraws the single Figure and pushes a PNG
to the live image; it returns the Figure and works before the live view is
displayed. Call it directly to time it; ``clear_cache()`` first to include
the computation.
"""

from lib.widgets.chapter8 import (BATCH_SIZES, DEPTH_BATCH_SIZES, DEPTHS, EPSILONS, SCALES,
                                  STATIC_DEPTH_BATCH_SIZES, STATIC_DEPTHS, STATIC_SCALES,
                                  batch_size_widget, depth_widget, scale_widget)
from lib.widgets.training import learning_rate_widget
from lib.widgets.derivation import batch_widget, jacobian_widget, paths_widget, projection_widget
from lib.widgets.control import Control
from lib.widgets.figure import SliderFigure
from lib.widgets.printed import frame_grid

__all__ = ["Control", "SliderFigure", "batch_size_widget", "scale_widget", "depth_widget",
           "learning_rate_widget", "batch_widget", "jacobian_widget", "paths_widget", "projection_widget",
           "frame_grid"]
