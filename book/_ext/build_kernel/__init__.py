"""What the kernels of a site build do at start-up, beyond what a reader's kernel does.

The chapters' code (``lib``) computes and draws, and shows the same in a reader's Jupyter as
in the build. What only the built site needs is added here, by the kernels that the build
starts: the IPython profile that ``quiet_kernels.py`` writes for them runs :func:`start`
once the inline backend is on. A reader's kernel never loads this package.

:mod:`~build_kernel.panels`
    every SVG figure of several panels side by side carries the box of each panel, from
    which the build writes the stacked version a phone shows;
:mod:`~build_kernel.widgets`
    every slider figure (``lib.widgets``) is also given as HTML that shows its frames,
    drawn in advance, without a kernel, and as a PNG of a few frames for the PDF edition;
:mod:`~build_kernel.widget_cache`
    that HTML kept on disk between builds.

Every chapter's execution-cache digest includes the files of this package
(``lib_digest.py``), so a change here executes every chapter again.
"""
from __future__ import annotations

from . import panels, widgets

__all__ = ["start"]


def start(shell=None) -> None:
    """Register this package's display printers in the kernel ``shell`` (the running one by default)."""
    if shell is None:
        from IPython import get_ipython
        shell = get_ipython()
    panels.register(shell)
    widgets.register(shell)
