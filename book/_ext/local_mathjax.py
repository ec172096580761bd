"""Serve MathJax 3 from the site itself, so that reading the book needs no other host.

The pinned PyPI package ``django-static-mathjax`` ships MathJax 3.2.2 (its ``es5``
folder). At the end of an HTML build this extension copies the files MathJax loads
into ``_static/mathjax`` of the output; ``mathjax_path`` (set in ``_config.yml``)
points at ``mathjax/tex-chtml.js`` there. No Node, no download at build time.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from sphinx.errors import ExtensionError

# The one bundle the pages load, and the folders it may load lazily from:
# TeX extensions (autoload), CHTML fonts, the menu, the accessibility components.
ENTRY = "tex-chtml.js"
FOLDERS = ("input", "output", "ui", "a11y", "adaptors", "sre")


def mathjax_source() -> Path:
    """The ``es5`` folder of the installed MathJax 3 distribution."""
    try:
        import mathjax  # the module of django-static-mathjax
    except ImportError as exc:  # pragma: no cover - a missing requirement
        raise ExtensionError(
            "local_mathjax: the package django-static-mathjax is not installed "
            "(pip install -r requirements.txt)") from exc
    es5 = Path(mathjax.__file__).parent / "static" / "mathjax" / "es5"
    if not (es5 / ENTRY).is_file():
        raise ExtensionError(f"local_mathjax: {es5 / ENTRY} not found; is django-static-mathjax 3.x installed?")
    return es5


def copy_mathjax(app, exception) -> None:
    """Copy MathJax into the HTML output's ``_static/mathjax`` (HTML builders only)."""
    if exception is not None or app.builder.format != "html":
        return
    source = mathjax_source()
    target = Path(app.outdir) / "_static" / "mathjax"
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source / ENTRY, target / ENTRY)
    for folder in FOLDERS:
        shutil.copytree(source / folder, target / folder, dirs_exist_ok=True)


def setup(app):
    app.connect("build-finished", copy_mathjax)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
