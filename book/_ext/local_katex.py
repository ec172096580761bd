"""Math typeset when the book is built, so a page shows it on first paint with no TeX engine.

sphinxcontrib-katex renders every math node (prose, ``{checked}`` equations, sympy's
``text/latex`` outputs) with KaTeX under Node while the pages are written
(``katex_prerender``), as KaTeX's HTML with its MathML beside it for screen readers. The browser
needs only KaTeX's style sheet and fonts, copied from the pinned npm package
(``tools/npm_fetch.py``, the version sphinxcontrib-katex renders with) into ``_static/katex``:
the site asks no other host. Each font is cut down (fontTools) to the characters the formulas
draw (10 to 30 kB a font before, a few kB after), and a page preloads the fonts its formulas
use, so that they arrive before the first paint instead of moving the text (a layout shift of
up to 0.25 was measured without). A formula KaTeX cannot typeset is an error naming the page
and the formula, never red text on the page.
"""
from __future__ import annotations

import contextlib
import json
import re
import socket
import subprocess
import time
from html.parser import HTMLParser
from pathlib import Path

from docutils import nodes
from sphinx.errors import ExtensionError
from sphinx.util import logging

import sphinxcontrib.katex as katex

from rewrites import missing, replace

logger = logging.getLogger(__name__)

VENDOR = Path(__file__).resolve().parent.parent / "_vendor" / "katex"
CSS = "katex/katex.min.css"           # under _static; katex.min.css finds fonts/ beside it
# The style sheet names each font three times (woff2, woff, ttf); only woff2 is copied.
WOFF_FALLBACKS = re.compile(r',url\(fonts/[^)]+\.(?:woff|ttf)\) format\("(?:woff|truetype)"\)')


def woff2_only(css: str) -> str:
    return replace(css, WOFF_FALLBACKS, "", "local_katex", 'a font\'s woff and ttf fallbacks (`,url(fonts/...woff) '
                   'format("woff")`)', "KaTeX's katex.min.css")


# Every formula must typeset: a KaTeX parse error, or input KaTeX would accept only in its
# lenient mode, raises instead of being drawn in red. Works around hagenw/sphinxcontrib-katex#145:
# katex_options is not passed to the prerenderer, whose options are this module-level dict.
katex.KATEX_DEFAULT_OPTIONS.update({"throwOnError": True, "strict": "error"})


# .katex .mathnormal{font-family:KaTeX_Math;font-style:italic} -> classes, family, style, weight
FONT_RULE = re.compile(r"([^{}]+)\{([^}]*font-family:KaTeX_(\w+)[^}]*)\}")
CLASS_ATTR = re.compile(r'class="([^"]*)"')


def font_rules(css: str) -> list[tuple[frozenset, str]]:
    """(classes, font file) for each rule of KaTeX's style sheet that picks a font."""
    rules = []
    for selectors, body, family in FONT_RULE.findall(css):
        bold, italic = "font-weight:700" in body, "font-style:italic" in body
        style = ("Bold" if bold else "") + ("Italic" if italic else "") or "Regular"
        for selector in selectors.split(","):
            classes = re.findall(r"\.([\w-]+)", selector)
            if classes[:1] == ["katex"] and len(classes) > 1:
                rules.append((frozenset(classes[1:]), f"KaTeX_{family}-{style}.woff2"))
    if not rules:
        raise missing("local_katex", "a font rule (`.katex .mathnormal{font-family:KaTeX_Math;...}`)",
                      "KaTeX's katex.min.css")
    return rules


def fonts_used(body: str, rules) -> list[str]:
    """The KaTeX font files the formulas in ``body`` need (KaTeX_Main-Regular for any formula)."""
    if 'class="katex"' not in body:
        return []
    classes = {c for attr in CLASS_ATTR.findall(body) for c in attr.split()}
    fonts = {"KaTeX_Main-Regular.woff2"} | {font for needs, font in rules if needs <= classes}
    return sorted(f for f in fonts if (VENDOR / "dist" / "fonts" / f).is_file())


def preload_fonts(app, pagename, templatename, context, doctree) -> None:
    if app.builder.format != "html" or "body" not in context:
        return
    if not hasattr(app, "_katex_font_rules"):
        app._katex_font_rules = font_rules((VENDOR / "dist" / "katex.min.css").read_text(encoding="utf-8"))
    links = "".join(
        f'<link rel="preload" href="{context["pathto"]("_static/katex/fonts/" + font, 1)}" '
        f'as="font" type="font/woff2" crossorigin>\n'
        for font in fonts_used(context["body"], app._katex_font_rules))
    context["metatags"] = context.get("metatags", "") + links


def vendored_version() -> str:
    manifest = VENDOR / "package.json"
    if not manifest.is_file():
        raise ExtensionError(f"local_katex: {manifest} is missing; run `python tools/npm_fetch.py book/_vendor`"
                             " (make book does)")
    return json.loads(manifest.read_text())["version"]


def _reported(visit):
    """A renderer that logs KaTeX's error at the node (with the TeX) and writes nothing."""
    def render(self, node):
        try:
            visit(self, node)
        except katex.KaTeXError as exc:
            logger.error("KaTeX cannot typeset %r: %s", node.astext()[:200], str(exc).splitlines()[0],
                         location=node)
            raise nodes.SkipNode from None
    return render


def check_version(app, config) -> None:
    if vendored_version() != katex.katex_version:
        raise ExtensionError(f"local_katex: _vendor has KaTeX {vendored_version()} but sphinxcontrib-katex "
                             f"renders with {katex.katex_version}; pin the same version in tools/npm_fetch.py")
    config.katex_css_path = CSS
    config.katex_prerender = True


class _FormulaText(HTMLParser):
    """Collects the characters KaTeX's visible rendering (``span.katex-html``) draws."""

    def __init__(self, chars: set[int]):
        super().__init__()
        self.chars, self.depth = chars, 0

    def handle_starttag(self, tag, attrs):
        if tag != "span":
            return
        if self.depth or "katex-html" in (dict(attrs).get("class") or "").split():
            self.depth += 1

    def handle_endtag(self, tag):
        if tag == "span" and self.depth:
            self.depth -= 1

    def handle_data(self, data):
        if self.depth:
            self.chars.update(map(ord, data))


def characters_shown(outdir: Path) -> set[int]:
    """Every character that a formula on any page of the site draws."""
    chars: set[int] = set()
    for page in outdir.rglob("*.html"):
        parser = _FormulaText(chars)
        parser.feed(page.read_text(encoding="utf-8"))
        parser.close()
    return chars


def copy_katex(app, exception) -> None:
    """KaTeX's style sheet and its woff2 fonts, each cut down to the characters the site has."""
    if exception is not None or app.builder.format != "html":
        return
    from page_fixes import subset_woff2   # book/_ext, beside this file

    outdir = Path(app.outdir)
    target = outdir / "_static" / "katex"
    (target / "fonts").mkdir(parents=True, exist_ok=True)
    css = (VENDOR / "dist" / "katex.min.css").read_text(encoding="utf-8")
    (target / "katex.min.css").write_text(woff2_only(css), encoding="utf-8")
    chars = characters_shown(outdir)
    for original in sorted((VENDOR / "dist" / "fonts").glob("*.woff2")):  # every browser the site serves reads woff2
        # no hinting: screens today draw these sizes well without it, and it is half the file
        subset_woff2(original, target / "fonts" / original.name, chars, hinting=False)


def add_static(app) -> None:
    app.config.html_static_path.append(str(Path(__file__).resolve().parent / "static"))


STARTUP_TIMEOUT = 60.0
"""Seconds Node may take to start KaTeX's render server (sphinxcontrib-katex waits 5 s)."""


def start_server_process(cls, rundir, timeout):
    """sphinxcontrib-katex's ``KaTeXServer.start_server_process``, retrying until Node listens."""
    # no upstream issue found as of 2026-12: 0.9.11 connects once the socket file exists, which Node
    # creates a moment before it listens; the refused build left the server holding its output open
    path = rundir / "katex.sock"
    process = subprocess.Popen(cls.build_command(socket=path), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               cwd=rundir)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        with contextlib.suppress(FileNotFoundError, ConnectionRefusedError):
            sock.connect(str(path))
            return process, sock
        sock.close()
        time.sleep(0.005)
    process.kill()
    process.wait()
    raise cls.timeout_error(timeout)


def setup(app):
    app.setup_extension("sphinxcontrib.katex")
    katex.STARTUP_TIMEOUT = max(katex.STARTUP_TIMEOUT, STARTUP_TIMEOUT)
    katex.KaTeXServer.start_server_process = classmethod(start_server_process)
    app.connect("builder-inited", add_static)
    # a formula wider than the column scrolls; the script makes such a box keyboard-reachable
    app.add_js_file("math_scroll.js", loading_method="defer")
    app.add_html_math_renderer(
        "katex_checked",
        inline_renderers=(_reported(katex.html_visit_math), None),
        block_renderers=(_reported(katex.html_visit_displaymath), None))
    app.connect("config-inited", check_version)
    app.connect("html-page-context", preload_fonts)
    app.connect("build-finished", copy_katex, priority=400)   # an error here before sphinxcontrib-katex cleans up
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
