"""Small fixes to the pages Sphinx and the theme write: no error in the console, valid ARIA.

Fix 1 (sphinx-thebe's script written twice) moved to local_thebe; the others keep their numbers.

2. A first visit starts in "auto" mode (``html_context: default_mode`` in _config.yml; the theme
   logged "Got invalid theme mode: ." without it), and the head sets ``data-theme`` at once:
   left to the theme's script, it changed only once the page was parsed, which restyled the
   whole page (about 100 ms on chapter 8) and painted a dark-mode reader's first screen light.
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
7. Those fonts hold about 2,000 icons (275 kB); the site shows about twenty. Each font is cut
   down (fontTools) to the icons the pages name (``fa-*`` classes in the HTML and the theme's
   scripts) and the ones style sheets draw directly (``content: "\\f0f3"``, or the character).
8. The theme loads Sphinx's search scripts and the whole search index on every page, for a
   search-as-you-type box the book does not turn on; the search page alone needs them.
9. The chapters' figures (``_images/``) load when the reader scrolls near them
   (``loading="lazy"``), and an SVG figure gets the width and height its file declares, so
   that the text around it never moves when it arrives. A figure over 800 px wide (chapter 3's
   graph) is not shrunk below 640 px on a phone: it scrolls sideways in its own box instead.
10. Search summaries on search.html show formulas as their symbols, never as TeX
    (``_ext/static/search_math.js``, served as ``_static/search_math.js``, loaded there only).
11. The scripts Sphinx and its extensions list in a page's head run deferred (after the
    page is parsed, in the same order): each would otherwise stop the parser until it has
    arrived, which on a slow link costs the reader a round trip apiece before anything shows.
    ``documentation_options.js`` stays as it is, since inline scripts write into the object it
    defines while the page is parsed, and so does the search page, whose ``searchtools.js``
    (loaded by the template, not deferred) calls into ``doctools.js`` at once.
12. A figure of several panels side by side (an SVG that the build's kernels marked with its
    panels, see ``lib/plots/panels.py``) gets a second file with the panels one under the
    other, and a ``<picture>`` that shows it on a narrow screen: ``NAME.svg`` becomes
    ``NAME-stacked.svg``, drawn from the same figure. The wide version, shrunk to a phone's
    column, had legend text about 4 px high.
"""
from __future__ import annotations

import re
from pathlib import Path

from sphinx.errors import ExtensionError

# works around pydata/pydata-sphinx-theme#1857: the theme sets data-theme only once the page is parsed
THEME_AT_ONCE = ('(function (d) { if (d.mode === "auto") d.theme = matchMedia("(prefers-color-scheme: dark)")'
                 '.matches ? "dark" : "light"; })(document.documentElement.dataset);')


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


SEARCH_SCRIPTS = re.compile(r'\s*<script src="[^"]*(?:_static/searchtools\.js|_static/language_data\.js|searchindex\.js)">'
                            r'</script>')

# Font Awesome's class rules, as the theme's style sheet carries them: .fa-bell:before{content:"\f0f3"}
ICON_RULE = re.compile(r'((?:\.fa-[a-z0-9-]+:+before,?)+)\{content:"(\\[0-9a-f]+|[^"\\])"\}')
ICON_NAME = re.compile(r"\bfa-[a-z0-9-]+")
CODEPOINT = re.compile(r'"\\(f[0-9a-f]{3})"')
PRIVATE_USE = (0xE000, 0xF8FF)                # where icon fonts keep their glyphs
ICON_FONTS = "vendor/fontawesome/webfonts"     # under the theme's static folder and the site's _static


def _char(content: str) -> int:
    return int(content[1:], 16) if content.startswith("\\") else ord(content)


def icons_used(outdir: Path) -> set[int]:
    """Code points of the icons that any page, script or style sheet of the site can show."""
    icon_of, rest = {}, []
    for sheet in (outdir / "_static").rglob("*.css"):
        css = sheet.read_text(encoding="utf-8", errors="replace")
        for selectors, content in ICON_RULE.findall(css):
            for name in re.findall(r"fa-[a-z0-9-]+", selectors):
                icon_of[name] = _char(content)
        rest.append(ICON_RULE.sub("", css))
    if not icon_of:
        raise ExtensionError("page_fixes: no Font Awesome class rules found in the theme's style sheets")
    used = {int(code, 16) for css in rest for code in CODEPOINT.findall(css)}
    # the theme also writes icons as the characters themselves (--pst-icon-bell: "\uf0f3")
    used.update(ord(ch) for css in rest for ch in css if PRIVATE_USE[0] <= ord(ch) <= PRIVATE_USE[1])
    for file in [*outdir.rglob("*.html"), *(outdir / "_static").rglob("*.js")]:
        text = file.read_text(encoding="utf-8", errors="replace")
        used.update(icon_of[n] for n in ICON_NAME.findall(text) if n in icon_of)
    return used


def subset_woff2(original: Path, target: Path, unicodes, hinting: bool = True) -> None:
    """Write ``original`` (a woff2 font) to ``target`` with only the glyphs of ``unicodes``."""
    from fontTools import subset   # matplotlib's dependency; woff2 needs brotli

    options = subset.Options()
    options.flavor = "woff2"
    options.hinting = hinting
    font = subset.load_font(str(original), options)
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=unicodes)
    subsetter.subset(font)
    subset.save_font(font, str(target), options)


def subset_icon_fonts(outdir: Path) -> None:
    import pydata_sphinx_theme

    used = icons_used(outdir)
    source = Path(pydata_sphinx_theme.__file__).parent / "theme" / "pydata_sphinx_theme" / "static" / ICON_FONTS
    for original in sorted(source.glob("*.woff2")):     # cut from the theme's own files, every build
        subset_woff2(original, outdir / "_static" / ICON_FONTS / original.name, used)


WIDE_FIGURE = 800   # CSS px: wider than this, a figure keeps a readable size on a phone and scrolls
FIGURE_IMG = re.compile(r'<img (?![^>]*\bloading=)([^>]*(?<![\w-])src="([^"]*_images/[^"]+)"[^>]*)>')
SVG_SIZE = re.compile(r'<svg[^>]*\bwidth="([\d.]+)pt"[^>]*\bheight="([\d.]+)pt"')


def _px(points: float) -> int:
    return round(points * 4 / 3)     # matplotlib writes points; a CSS pixel is 3/4 of a point


def stacked_source(svg_file: Path, src: str) -> str | None:
    """Fix 12: the ``<source>`` of ``svg_file``'s stacked version (written beside it), if marked."""
    from lib.plots.panels import stacked_svg
    from lib.widgets.static import NARROW

    stacked = stacked_svg(svg_file.read_text(encoding="utf-8"))
    if stacked is None:
        return None
    text, width, height = stacked
    name = svg_file.stem + "-stacked.svg"
    (svg_file.parent / name).write_text(text, encoding="utf-8")
    return (f'<source media="{NARROW}" srcset="{src.rsplit("/", 1)[0]}/{name}" '
            f'width="{_px(width)}" height="{_px(height)}">')


def lazy_figures(text: str, page: Path) -> str:
    def fix(match):
        attrs, src = match.group(1).rstrip(), match.group(2)
        attrs = attrs[:-1].rstrip() if attrs.endswith("/") else attrs
        if src.endswith(".svg") and " width=" not in f" {attrs}":
            svg_file = page.parent / src
            size = SVG_SIZE.search(svg_file.read_text(encoding="utf-8", errors="replace")[:2000])
            if size:
                width, height = (_px(float(v)) for v in size.groups())
                attrs += f' width="{width}" height="{height}"'
                source = stacked_source(svg_file, src)
                if source:
                    return f'<picture>{source}<img loading="lazy" {attrs}></picture>'
                if width > WIDE_FIGURE:
                    return f'<span class="bn-wide-figure"><img loading="lazy" {attrs}></span>'
        return f'<img loading="lazy" {attrs}>'
    return FIGURE_IMG.sub(fix, text)


def written_pages(app, exception) -> None:
    """Fixes 5 to 9 and 12, in every HTML page of the build."""
    if exception is not None or app.builder.format != "html":
        return
    outdir = Path(app.outdir)
    for page in outdir.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        fixed = FONTAWESOME_JS.sub("", text.replace(SIDEBAR, SIDEBAR_LANDMARK, 1))
        if page.relative_to(outdir).as_posix() != "search.html":
            fixed = SEARCH_SCRIPTS.sub("", fixed)
        fixed = lazy_figures(fixed, page)
        if fixed != text:
            page.write_text(fixed, encoding="utf-8")
    for name in ("fontawesome.js", "fontawesome.js.map", "fontawesome.js.LICENSE.txt"):
        (outdir / "_static" / "scripts" / name).unlink(missing_ok=True)
    subset_icon_fonts(outdir)


KEEP_BLOCKING = ("documentation_options.js",)


def defer_scripts(app, pagename, templatename, context, doctree) -> None:
    """Fix 11: every listed script file that is neither async nor deferred becomes deferred."""
    from sphinx.builders.html._assets import _JavaScript

    scripts = context.get("script_files")
    if not scripts or pagename == "search":
        return
    for k, script in enumerate(scripts):
        name = str(getattr(script, "filename", "") or "")
        attributes = dict(getattr(script, "attributes", {}) or {})
        if (not name or "async" in attributes or "defer" in attributes or "body" in attributes
                or name.endswith(KEEP_BLOCKING) or attributes.get("type") not in (None, "text/javascript")):
            continue
        scripts[k] = _JavaScript(name, priority=script.priority, **attributes, defer="defer")


def search_page_scripts(app, pagename, templatename, context, doctree) -> None:
    """Fix 10: the search page alone gets search_math.js, run after searchtools.js (defer)."""
    if pagename == "search" and context.get("script_files") is not None:
        from sphinx.builders.html._assets import _JavaScript

        context["script_files"].append(_JavaScript("_static/search_math.js", defer="defer"))


def setup(app):
    app.connect("build-finished", written_pages)
    app.add_js_file(None, body=THEME_AT_ONCE, priority=1)
    app.connect("html-page-context", fix_bibliography_roles, priority=900)
    app.connect("html-page-context", drop_widget_state, priority=900)
    app.connect("html-page-context", search_page_scripts, priority=900)
    app.connect("html-page-context", defer_scripts, priority=950)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
