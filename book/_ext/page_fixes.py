"""Small fixes to the pages Sphinx and the theme write: no console error, valid ARIA, light pages.

Each fix names in a comment the upstream issue it works around (or says it is an optimisation),
and fails the build when what it rewrites is not there (``rewrites.py``). Fix 1 (sphinx-thebe's
script written twice) moved to local_thebe; the others keep their numbers.

2. The theme's colours are set in the head, before the body is painted (a dark-mode reader's
   first screen was light, and the page was restyled once parsed: about 100 ms on chapter 8).
   A first visit starts in "auto" mode: ``html_context: default_mode`` in _config.yml.
3. Bibliography entries are list items (axe: aria-required-children, critical).
4. A notebook's saved ipywidgets state is dropped: the site shows widgets as static frames
   (build_kernel/widgets.py) and never loads ipywidgets' JavaScript (about 200 kB on chapter 8).
5. The primary sidebar, which holds the title and the search button, is a named region (axe: region).
6. ``fontawesome.js`` (1.5 MB), which redraws as SVG the icons the theme's fonts draw, goes.
7. Those fonts (275 kB, about 2,000 icons) are cut to the icons the site names or its style sheets draw.
8. The search scripts and the whole index load on the search page only.
9. The chapters' figures (``_images/``) load when the reader scrolls near them
   (``loading="lazy"``), and an SVG figure gets the width and height its file declares, so
   that the text around it never moves when it arrives. A figure over 800 px wide (chapter 3's
   graph) is not shrunk below 640 px on a phone: it scrolls sideways in its own box instead.
10. Search summaries on search.html show formulas as their symbols, never as TeX
    (``_ext/static/search_math.js``, served as ``_static/search_math.js``, loaded there only).
11. The scripts listed in a page's head run deferred (in order, once the page is parsed), not
    one round trip apiece before anything shows; not ``documentation_options.js``, which inline
    scripts write into, nor on the search page, whose ``searchtools.js`` needs ``doctools.js``.
12. A figure of several panels side by side (an SVG that the build's kernels marked with its
    panels, see ``build_kernel/panels.py``) gets a second file with the panels one under the
    other, and a ``<picture>`` that shows it on a narrow screen: ``NAME.svg`` becomes
    ``NAME-stacked.svg``, drawn from the same figure. The wide version, shrunk to a phone's
    column, had legend text about 4 px high.
"""
from __future__ import annotations

import re
from pathlib import Path

from docutils import nodes

from build_kernel.panels import NARROW, stacked_svg
from rewrites import missing, replace

FIX = "page_fixes fix {}"

# works around pydata/pydata-sphinx-theme#1857: the theme sets data-theme only once the page is parsed
THEME_AT_ONCE = ('(function (d) { if (d.mode === "auto") d.theme = matchMedia("(prefers-color-scheme: dark)")'
                 '.matches ? "dark" : "light"; })(document.documentElement.dataset);')


def fix_bibliography_roles(app, pagename, templatename, context, doctree) -> None:
    """Fix 3, on every page with citations."""
    # no upstream issue found as of 2026-12: docutils (to its trunk) writes the role DPUB-ARIA 1.1 deprecated
    if doctree is not None and doctree.next_node(nodes.citation) is not None:
        context["body"] = replace(context["body"], 'role="doc-biblioentry"', 'role="listitem"', FIX.format(3),
                                  "docutils' citation role `doc-biblioentry`", f"{pagename}.html")


WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


def drop_widget_state(app, pagename, templatename, context, doctree) -> None:
    """Fix 4, on every page whose notebook saved widget state."""
    # no upstream option or issue found as of 2026-12: myst-nb embeds the state even with nb_ipywidgets_js: {}
    from myst_nb.sphinx_ import NbMetadataCollector

    scripts = context.get("script_files") or []
    kept = [s for s in scripts if s.attributes.get("type") != WIDGET_STATE]
    saved = NbMetadataCollector.get_doc_data(app.env).get(pagename, {}).get("js_files", {})
    if len(kept) == len(scripts) and "ipywidgets_state" in saved:
        raise missing(FIX.format(4), f'myst-nb\'s `<script type="{WIDGET_STATE}">`', f"{pagename}.html")
    scripts[:] = kept


# no upstream issue found as of 2026-12 (pydata/pydata-sphinx-theme#1428, its axe summary, is closed without it)
SIDEBAR = '<div id="pst-primary-sidebar" class="bd-sidebar-primary bd-sidebar">'
SIDEBAR_LANDMARK = SIDEBAR[:-1] + ' role="region" aria-label="Book contents and search">'

# works around pydata/pydata-sphinx-theme#2379: Font Awesome ships as a 1.5 MB script and as web fonts
FONTAWESOME_JS = re.compile(r'<script defer src="[^"]*_static/scripts/fontawesome\.js[^"]*"></script>\s*')

# no upstream issue found as of 2026-12: the theme loads them for search-as-you-type even when it is off
SEARCH_SCRIPTS = re.compile(r'\s*<script src="[^"]*_static/searchtools\.js"></script>'
                            r'\s*<script src="[^"]*_static/language_data\.js"></script>'
                            r'\s*<script src="[^"]*searchindex\.js"></script>')

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
        raise missing(FIX.format(7), 'Font Awesome\'s class rules (`.fa-bell:before{content:"\\f0f3"}`)',
                      "the site's style sheets")
    used = {int(code, 16) for css in rest for code in CODEPOINT.findall(css)}
    # the theme also writes icons as the characters themselves (--pst-icon-bell: "\uf0f3")
    used.update(ord(ch) for css in rest for ch in css if PRIVATE_USE[0] <= ord(ch) <= PRIVATE_USE[1])
    for file in [*outdir.rglob("*.html"), *(outdir / "_static").rglob("*.js")]:
        text = file.read_text(encoding="utf-8", errors="replace")
        used.update(icon_of[n] for n in ICON_NAME.findall(text) if n in icon_of)
    return used


def subset_woff2(original: Path, target: Path, unicodes, hinting: bool = True) -> None:
    """Write ``original`` (a woff2 font) to ``target`` with only the glyphs of ``unicodes``."""
    import logging

    from fontTools import subset   # matplotlib's dependency; woff2 needs brotli

    # KaTeX's fonts date their 'created'/'modified' fields near 1904, which fontTools reports on
    # stderr ("timestamp seems very low") at every build; the fonts are right as they are
    logging.getLogger("fontTools.ttLib.tables._h_e_a_d").setLevel(logging.ERROR)
    options = subset.Options(flavor="woff2", hinting=hinting)
    font = subset.load_font(str(original), options)
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=unicodes)
    subsetter.subset(font)
    subset.save_font(font, str(target), options)


def subset_icon_fonts(outdir: Path) -> None:
    """Fix 7 (an optimisation, see fix 6's issue): the theme's fonts, cut from its own files every build."""
    import pydata_sphinx_theme

    used = icons_used(outdir)
    source = Path(pydata_sphinx_theme.__file__).parent / "theme" / "pydata_sphinx_theme" / "static" / ICON_FONTS
    targets = [(font, outdir / "_static" / ICON_FONTS / font.name) for font in sorted(source.glob("*.woff2"))]
    if not targets or not all(target.is_file() for _, target in targets):
        raise missing(FIX.format(7), "the theme's icon fonts (*.woff2)", f"{source} or _static/{ICON_FONTS}")
    for original, target in targets:
        subset_woff2(original, target, used)


WIDE_FIGURE = 800   # CSS px: wider than this, a figure keeps a readable size on a phone and scrolls
FIGURE_IMG = re.compile(r'<img (?![^>]*\bloading=)([^>]*(?<![\w-])src="([^"]*_images/[^"]+)"[^>]*)>')
SVG_SIZE = re.compile(r'<svg[^>]*\bwidth="([\d.]+)pt"[^>]*\bheight="([\d.]+)pt"')


def _px(points: float) -> int:
    return round(points * 4 / 3)     # matplotlib writes points; a CSS pixel is 3/4 of a point


def stacked_source(svg_file: Path, src: str) -> str | None:
    """Fix 12: the ``<source>`` of ``svg_file``'s stacked version (written beside it), if marked."""
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


def note_page(app, pagename, templatename, context, doctree) -> None:
    """The pages this build writes (fixes 5 to 9 rewrite those), and whether each has images."""
    images = doctree is not None and doctree.next_node(nodes.image) is not None
    app.builder.page_fixes_written.append((Path(app.builder.get_outfilename(pagename)), images))


def written_pages(app, exception) -> None:
    """Fixes 5 to 9 and 12, in every HTML page this build wrote (none: nothing was out of date)."""
    if exception is not None or app.builder.format != "html" or not app.builder.page_fixes_written:
        return
    outdir = Path(app.outdir)
    for page, images in app.builder.page_fixes_written:
        name = page.relative_to(outdir).as_posix()
        text = replace(page.read_text(encoding="utf-8"), SIDEBAR, SIDEBAR_LANDMARK, FIX.format(5),
                       f"the primary sidebar `{SIDEBAR}`", name, 1)
        text = replace(text, FONTAWESOME_JS, "", FIX.format(6), '`<script defer src="...fontawesome.js">`', name)
        if name != "search.html":
            text = replace(text, SEARCH_SCRIPTS, "", FIX.format(8), "the search scripts (searchtools.js, "
                           "language_data.js, searchindex.js)", name)
        if images and not FIGURE_IMG.search(text):
            raise missing(FIX.format(9), 'a figure `<img src="..._images/...">`', name)
        page.write_text(lazy_figures(text, page), encoding="utf-8")
    script = outdir / "_static" / "scripts" / "fontawesome.js"
    if not script.is_file():
        raise missing(FIX.format(6), "the theme's fontawesome.js", "_static/scripts")
    for name in ("fontawesome.js", "fontawesome.js.map", "fontawesome.js.LICENSE.txt"):
        (script.parent / name).unlink(missing_ok=True)
    subset_icon_fonts(outdir)


KEEP_BLOCKING = ("documentation_options.js",)


def defer_scripts(app, pagename, templatename, context, doctree) -> None:
    """Fix 11 (an optimisation): every listed script file that is neither async nor deferred becomes deferred."""
    from sphinx.builders.html._assets import _JavaScript

    if pagename == "search":
        return
    scripts, deferred = context["script_files"], 0
    for k, script in enumerate(scripts):
        name, attributes = str(script.filename or ""), dict(script.attributes)
        if (name and not {"async", "defer", "body"} & attributes.keys() and not name.endswith(KEEP_BLOCKING)
                and attributes.get("type") in (None, "text/javascript")):
            scripts[k] = _JavaScript(name, priority=script.priority, **attributes, defer="defer")
            deferred += 1
    if not deferred:
        raise missing(FIX.format(11), "a script file to defer (doctools.js)", f"the scripts of {pagename}.html")


def search_page_scripts(app, pagename, templatename, context, doctree) -> None:
    """Fix 10: the search page alone gets search_math.js, run after searchtools.js (defer)."""
    if pagename == "search" and context.get("script_files") is not None:
        from sphinx.builders.html._assets import _JavaScript

        context["script_files"].append(_JavaScript("_static/search_math.js", defer="defer"))


def setup(app):
    app.connect("builder-inited", lambda app: setattr(app.builder, "page_fixes_written", []))
    app.connect("build-finished", written_pages, priority=400)   # before sphinxcontrib-katex removes its files
    app.add_js_file(None, body=THEME_AT_ONCE, priority=1)
    app.connect("html-page-context", note_page)
    app.connect("html-page-context", fix_bibliography_roles, priority=900)
    app.connect("html-page-context", drop_widget_state, priority=900)
    app.connect("html-page-context", search_page_scripts, priority=900)
    app.connect("html-page-context", defer_scripts, priority=950)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
