"""Serve Thebe (Live Code) from the site itself, instead of sphinx-thebe's unpkg.com URL.

``make book`` unpacks the pinned npm package ``thebe`` into ``book/_vendor/thebe``
(``tools/npm_fetch.py``, hash-checked). At the end of an HTML build its bundle is copied into
``_static/thebe``, and each page's inline ``THEBE_JS_URL`` points there. Thebe is still loaded
only when the reader clicks Live Code; after that the only other host it talks to is the
Binder it starts. Thebe's own MathJax 2 download (for math in outputs) is switched off.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from sphinx.errors import ExtensionError

VENDOR = Path(__file__).resolve().parents[1] / "_vendor" / "thebe"
CDN = "https://unpkg.com/thebe@"
TARGET = "_static/thebe"


def _bundle() -> Path:
    lib = VENDOR / "lib"
    if not (lib / "index.js").is_file():
        raise ExtensionError(f"local_thebe: {lib / 'index.js'} is missing: run "
                             "`python tools/npm_fetch.py book/_vendor` (make book does)")
    return lib


def copy_thebe(app, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    target = Path(app.outdir) / TARGET
    target.mkdir(parents=True, exist_ok=True)
    for file in _bundle().iterdir():
        if file.suffix in (".js", ".css"):
            shutil.copy2(file, target / file.name)


# Resolved against the page's own root (Sphinx writes ``<html data-content_root="../">``), so
# one script serves pages at every depth.
LOCAL = f'document.documentElement.dataset.content_root + "{TARGET}/index.js"'


def point_at_local_thebe(app, pagename, templatename, context, doctree) -> None:
    """Rewrite the inline ``const THEBE_JS_URL = ...`` and Thebe's config of this page.

    The script objects are shared by every page, so the rewrite is the same for all of them;
    it runs before page_fixes drops duplicate scripts.
    """
    for script in context.get("script_files", []):
        body = (getattr(script, "attributes", {}) or {}).get("body", "")
        if CDN in body:
            start = body.index(CDN) - 1          # the opening quote
            end = body.index('"', start + 1) + 1
            script.attributes["body"] = body[:start] + LOCAL + body[end:]
    body = context.get("body", "")
    if "text/x-thebe-config" in body:
        context["body"] = body.replace("requestKernel: true,", "requestKernel: true, mathjaxUrl: false,", 1)


def setup(app):
    app.connect("builder-inited", lambda app: app.builder.format == "html" and _bundle())
    app.connect("build-finished", copy_thebe)
    app.connect("html-page-context", point_at_local_thebe, priority=800)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
