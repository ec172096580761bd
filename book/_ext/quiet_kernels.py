"""The IPython profile of a site build's kernels: quiet, and figures at twice their size.

ipykernel 7 logs "Kernel is running over TCP without encryption" each time a
kernel starts with the default transport, which is every chapter of every
build: the kernels listen on 127.0.0.1 for this build process alone. This
extension gives the build's kernels an IPython directory inside ``_build``
whose kernel configuration raises the kernel application's log level to
ERROR, so that ``make book`` prints no warning lines; warnings and errors of
the chapters' own code are untouched (they are cell outputs, not kernel logs).

The same profile makes the kernels give every matplotlib figure as SVG as well as PNG. The
site shows the SVG (myst-nb prefers it): sharp at any screen density and zoom, and smaller
than a PNG drawn at twice the size once compressed. The PDF edition takes the PNG. Each SVG
of several panels side by side carries the box of each panel (:mod:`lib.plots.panels`), from
which the build writes the stacked version a phone shows (``page_fixes``, fix 12). A reader's
own Jupyter is left as it is.
"""
from __future__ import annotations

import os
from pathlib import Path

PANELS = "lib.plots.panels"
"""The lib module every build kernel runs (lib_digest counts it among each chapter's imports)."""

CONFIG = ('# written by book/_ext/quiet_kernels.py\n'
          'c.IPKernelApp.log_level = "ERROR"\n'
          'c.InlineBackend.figure_formats = {"svg", "png"}\n'
          'c.InteractiveShellApp.exec_lines = ["%matplotlib inline",\n'
          f'    "__import__({PANELS!r}, fromlist=[\'register\']).register()"]\n')


def setup(app):
    ipython = Path(app.outdir).parent / ".ipython"
    profile = ipython / "profile_default"
    profile.mkdir(parents=True, exist_ok=True)
    (profile / "ipython_kernel_config.py").write_text(CONFIG)
    os.environ["IPYTHONDIR"] = str(ipython)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
