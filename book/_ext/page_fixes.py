"""Small fixes to the pages Sphinx and the theme write: no error in the console, valid ARIA.

1. sphinx-thebe registers its inline configuration script (``const THEBE_JS_URL = ...``) once
   per reading pass, and Jupyter Book triggers two: the second ``const`` is a SyntaxError on
   every page ("Identifier 'THEBE_JS_URL' has already been declared"). Identical scripts are
   written once.
2. pydata-sphinx-theme 0.17 sets ``<html data-mode="">`` on a first visit (nothing stored yet)
   and then logs "Got invalid theme mode: ." as an error. A first visit now starts in the
   theme's default mode ("auto": follow the system's light or dark preference).
3. docutils writes the bibliography as ``<div role="list">`` whose entries have the deprecated
   role ``doc-biblioentry``; a list must hold list items (axe: aria-required-children, critical),
   so the entries become ``role="listitem"``.
4. myst-nb copies a notebook's saved ipywidgets state into its page as an inline script. The
   site never loads ipywidgets' JavaScript (a widget shows its static rendering instead, see
   lib/widgets/), so that state is dead weight (about 200 kB on chapter 8) and is dropped.
5. The theme's primary sidebar holds the book's title and the search button outside any
   landmark (axe: region). The sidebar itself becomes a named region, in every page written.
6. The theme ships Font Awesome twice: as web fonts, which its style sheet uses for every
   ``<i class="fa-...">`` icon, and as ``fontawesome.js`` (1.5 MB), which redraws the same
   icons as SVG. The script goes; the icons stay, drawn by the fonts.
"""
from __future__ import annotations

import re
from pathlib import Path

FIRST_VISIT_MODE = (
    'if (!document.documentElement.dataset.mode) {'
    ' document.documentElement.dataset.mode ='
    ' document.documentElement.dataset.defaultMode || "auto"; }'
)


def _key(script):
    """What makes two script tags the same: file, inline body and attributes."""
    attributes = getattr(script, "attributes", {}) or {}
    return (getattr(script, "filename", str(script)) or None,  # sphinx-thebe passes "" or None
            tuple(sorted((k, str(v)) for k, v in attributes.items())))


def drop_duplicate_scripts(app, pagename, templatename, context, doctree) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for script in scripts:
        key = _key(script)
        if key not in seen:
            seen.add(key)
            unique.append(script)
    scripts[:] = unique


WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


def drop_widget_state(app, pagename, templatename, context, doctree) -> None:
    scripts = context.get("script_files")
    if scripts:
        scripts[:] = [s for s in scripts
                      if (getattr(s, "attributes", {}) or {}).get("type") != WIDGET_STATE]


def fix_bibliography_roles(app, pagename, templatename, context, doctree) -> None:
    body = context.get("body")
    if body and 'role="doc-biblioentry"' in body:
        context["body"] = body.replace('role="doc-biblioentry"', 'role="listitem"')


SIDEBAR = '<div id="pst-primary-sidebar" class="bd-sidebar-primary bd-sidebar">'
SIDEBAR_LANDMARK = ('<div id="pst-primary-sidebar" class="bd-sidebar-primary bd-sidebar" role="region" '
                    'aria-label="Book contents and search">')


FONTAWESOME_JS = re.compile(r'<script defer src="[^"]*_static/scripts/fontawesome\.js[^"]*"></script>\s*')


def written_pages(app, exception) -> None:
    """Fixes 5 and 6, in every HTML page of the build."""
    if exception is not None or app.builder.format != "html":
        return
    for page in Path(app.outdir).rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        fixed = FONTAWESOME_JS.sub("", text.replace(SIDEBAR, SIDEBAR_LANDMARK, 1))
        if fixed != text:
            page.write_text(fixed, encoding="utf-8")
    for name in ("fontawesome.js", "fontawesome.js.map", "fontawesome.js.LICENSE.txt"):
        (Path(app.outdir) / "_static" / "scripts" / name).unlink(missing_ok=True)


def setup(app):
    app.connect("build-finished", written_pages)
    app.add_js_file(None, body=FIRST_VISIT_MODE, priority=1)
    app.connect("html-page-context", drop_duplicate_scripts, priority=900)
    app.connect("html-page-context", fix_bibliography_roles, priority=900)
    app.connect("html-page-context", drop_widget_state, priority=900)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
