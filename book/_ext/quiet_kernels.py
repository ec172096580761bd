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
than a PNG drawn at twice the size once compressed. The PDF edition takes the PNG.

Last, the profile has each kernel load :mod:`build_kernel` (the folder beside this file) and
run its ``start``: what only the built site needs, added to the outputs of lib's objects, such
as the box of each panel in an SVG figure of several panels, from which the build writes the
stacked version a phone shows (``page_fixes``, fix 12). The folder is on the kernel's import
path only while it is loaded, so a chapter imports what a reader's kernel imports. A reader's
own Jupyter is left as it is.
"""
from __future__ import annotations

import os
from pathlib import Path

EXT = Path(__file__).resolve().parent
KERNEL = EXT / "build_kernel"
"""The package every build kernel loads (lib_digest counts its files in each chapter's digest)."""

PROFILE = """# written by book/_ext/quiet_kernels.py
c.IPKernelApp.log_level = "ERROR"
c.InlineBackend.figure_formats = {{"svg", "png"}}
c.InteractiveShellApp.exec_lines = [
    "%matplotlib inline",
    "__import__('sys').path.insert(0, {ext!r})",
    "__import__('build_kernel').start()",
    "__import__('sys').path.remove({ext!r})"]
"""
"""The kernels' configuration, with ``{ext}`` for the folder of :data:`KERNEL`: the text of
this template (not the machine's path) is what lib_digest counts."""


def config(ext: Path = EXT) -> str:
    """The configuration file of the build kernels' IPython profile."""
    return PROFILE.format(ext=str(ext))


def setup(app):
    ipython = Path(app.outdir).parent / ".ipython"
    profile = ipython / "profile_default"
    profile.mkdir(parents=True, exist_ok=True)
    (profile / "ipython_kernel_config.py").write_text(config())
    os.environ["IPYTHONDIR"] = str(ipython)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
