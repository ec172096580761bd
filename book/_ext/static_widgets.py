"""Tell the kernels of a site build to draw the widgets' static frames.

A slider figure (lib/widgets) shows a live ipywidgets view in a kernel; the
static site, which has no kernel, needs every frame drawn in advance, which
takes seconds per widget. lib draws them only when ``$BNBOOK_STATIC_WIDGETS``
is set, so a reader's kernel never pays for them. This extension sets it in
the build process, before any chapter runs: the kernels myst-nb starts
inherit it, whichever way the book is built (``make book``, the tests, a
plain ``jupyter-book build book``).
"""
from __future__ import annotations

import os

STATIC_ENV = "BNBOOK_STATIC_WIDGETS"   # lib.widgets.static.STATIC_ENV


def setup(app):
    os.environ[STATIC_ENV] = "1"
    return {"parallel_read_safe": True, "parallel_write_safe": True}
