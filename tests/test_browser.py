"""The built site as a reader sees it, in a real browser (Debian's chromium driven by Playwright).

The `built_book` site is served on 127.0.0.1 (random port). Every page of book/_toc.yml must load
with no console error, no page error, no failed request and no request to any other host; every
formula must arrive typeset (KaTeX at build time, with MathML for screen readers), with no
TeX engine in the page; every image must have alt text;
axe-core must find no accessibility violation of any impact; static widgets must respond to
their slider. A screenshot of each page and the page weights and load times are written to
test-artifacts/ (gitignored).
"""
from __future__ import annotations

import functools
import http.server
import io
import json
import threading
import time
import urllib.request
from pathlib import Path
from urllib.parse import unquote, urljoin, urlparse

import pytest

pytest.importorskip("playwright")

from conftest import ROOT, toc_files  # noqa: E402  (and the browser fixture)
from pagespeed import Server
ARTIFACTS = ROOT / "test-artifacts"
SHOTS = ARTIFACTS / "screenshots"

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


PAGES = [f"{page}.html" for page in toc_files()]


# ---------------------------------------------------------------- fixtures: site, server, browser


@pytest.fixture(scope="module")
def site(built_book):
    assert built_book.returncode == 0, "the book does not build:\n" + built_book.log[-3000:]
    return built_book.html


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest's output clean
        pass


@pytest.fixture(scope="module")
def base_url(site):
    """The built site, served by a threaded http.server on 127.0.0.1 and a random free port."""
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = Server(("127.0.0.1", 0), handler)     # room for Chromium's burst of connections
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def metrics():
    """Page weights and load times, added to test-artifacts/browser-metrics.json at the end (the
    pages of one run may be spread over xdist's workers: each adds its own, under a lock)."""
    import fcntl
    data: dict[str, dict] = {}
    yield data
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / "browser-metrics.json"
    with open(ARTIFACTS / "browser-metrics.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            known = json.loads(path.read_text())
        except (OSError, ValueError):
            known = {}
        path.write_text(json.dumps({**known, **data}, indent=2, sort_keys=True))


class Visit:
    """One page opened in a fresh browser context, with everything that went wrong recorded."""

    def __init__(self, browser, base_url: str, site: Path, path: str, color_scheme="light",
                 viewport=(1280, 900), **context_options):
        self.base_url, self.site, self.url = base_url, site, urljoin(base_url, path)
        self.context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]},
                                           color_scheme=color_scheme, **context_options)
        self.page = self.context.new_page()
        self.problems: list[str] = []
        self.foreign: list[str] = []
        self.local_paths: set[str] = set()
        host = urlparse(base_url).netloc
        page = self.page

        def on_request(request):
            parsed = urlparse(request.url)
            if parsed.scheme in ("data", "blob", "about"):
                return
            if parsed.netloc != host:
                self.foreign.append(request.url)
            else:
                self.local_paths.add(unquote(parsed.path))

        def on_response(response):
            # the site names its icon (_static/favicon.svg), so no page asks for a missing /favicon.ico
            if response.status >= 400:
                self.problems.append(f"HTTP {response.status}: {response.url}")

        page.on("request", on_request)
        page.on("response", on_response)
        def on_failed(request):
            # Chromium cancels a same-host request it no longer needs (net::ERR_ABORTED), e.g. the
            # phone's stacked figure of a <picture> once the width is known; a file that exists
            # is not a failure. A missing file is an HTTP 404 above; another host is blocked below.
            parsed = urlparse(request.url)
            file = site / unquote(parsed.path).lstrip("/")
            if request.failure == "net::ERR_ABORTED" and parsed.netloc == host and file.is_file():
                return
            self.problems.append(f"request failed: {request.url} ({request.failure})")

        page.on("requestfailed", on_failed)
        page.on("console", lambda m: m.type == "error" and self.problems.append(f"console error: {m.text}"))
        page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        # Anything to another host is answered locally with an error, so that a leak is seen, not waited on.
        self.context.route(lambda url: urlparse(url).netloc not in ("", host),
                           lambda route: route.abort("blockedbyclient"))

    def open(self) -> float:
        start = time.perf_counter()
        self.page.goto(self.url, wait_until="load")
        return time.perf_counter() - start

    def weight(self) -> int:
        """Bytes of every same-host file the page loaded (HTML, CSS, JS, fonts, images)."""
        total = 0
        for path in self.local_paths:
            file = self.site / path.lstrip("/")
            if file.is_dir():
                file = file / "index.html"
            if file.is_file():
                total += file.stat().st_size
        return total

    def close(self):
        self.context.close()


@pytest.fixture
def visit(browser, base_url, site):
    opened = []

    def _visit(path, **kw):
        v = Visit(browser, base_url, site, path, **kw)
        opened.append(v)
        return v

    yield _visit
    for v in opened:
        v.close()


# ---------------------------------------------------------------- the tests

# What the page shows of its formulas: every span.math/div.math holds one KaTeX rendering with
# MathML; KaTeX's error nodes (.katex-error) and any in-browser TeX engine count as failures.
MATH_STATE = r"""() => {
    const els = [...document.querySelectorAll('span.math, div.math')];
    return {math: els.length,
            katex: els.filter(e => e.querySelectorAll(':scope > .katex, :scope > .katex-display > .katex').length === 1).length,
            mathml: els.filter(e => e.querySelector('.katex-mathml math')).length,
            bare: els.filter(e => !e.querySelector('.katex')).map(e => e.textContent.slice(0, 80)),
            errors: [...document.querySelectorAll('.katex-error')].map(e => e.title || e.textContent.slice(0, 80)),
            engines: [...document.scripts].map(s => s.src).filter(s => /mathjax|tex-chtml|katex(\.min)?\.js|auto-render/i.test(s))};
}"""


def every_section_shown(page):
    """The page once its observers have run (math_scroll.js marks the wide formulas)."""
    page.wait_for_timeout(150)
    return page


def _formula_count(page: Path) -> int:
    """Math elements in the page's HTML file (Sphinx writes each as span.math or div.math)."""
    import re

    html = page.read_text(encoding="utf-8")
    return len(re.findall(r'<(?:span|div) class="(?:[\w-]+ )*math(?: [\w-]+)*"', html))



def test_every_built_page_is_checked(built_book):
    """The pages below come from _toc.yml: the build must not have written content pages outside it."""
    built = {p.relative_to(built_book.html).as_posix() for p in built_book.pages()}
    built.discard("index.html")    # Jupyter Book's redirect to the root page
    built.discard("prf-prf.html")  # sphinx-proof's generated index, linked from no page
    assert built == set(PAGES)


@pytest.mark.parametrize("path", PAGES)
def test_page_reads_offline_and_accessibly(visit, site, path, metrics):
    from axe_playwright_python.sync_playwright import Axe

    v = visit(path)
    seconds = v.open()
    page = v.page

    # Every formula arrives typeset: one KaTeX rendering per math element, each with its MathML,
    # no error node, and no TeX engine loaded by the page.
    math = page.evaluate(MATH_STATE)
    assert math["katex"] == math["math"] and math["mathml"] == math["math"], math
    assert not math["bare"], f"formulas left untypeset on {path}: {math['bare']}"
    assert not math["errors"], f"KaTeX errors on {path}: {math['errors']}"
    assert not math["engines"], f"{path} loads a TeX engine: {math['engines']}"
    assert math["math"] == _formula_count(site / path), "a formula of the page's HTML is not typeset"

    # No raw TeX reaches the reader: outside typeset math and code, no \frac, \( or $$.
    raw = page.evaluate(r"""() => {
        const copy = document.querySelector('main, article, .bd-article').cloneNode(true);
        copy.querySelectorAll('.math, .katex, pre, code, script, style').forEach(e => e.remove());
        const text = copy.textContent;
        return ['\\frac', '\\(', '$$', '\\partial'].filter(t => text.includes(t))
               .map(t => text.slice(Math.max(0, text.indexOf(t) - 60), text.indexOf(t) + 40));
    }""")
    assert not raw, f"raw TeX on {path}: {raw}"

    # Every image has alt text.
    no_alt = page.evaluate("""() => [...document.querySelectorAll('img')]
        .filter(i => !(i.getAttribute('alt') || '').trim()).map(i => i.src.slice(0, 100))""")
    assert not no_alt, f"images without alt text on {path}: {no_alt}"

    # A figure of several panels is shown as drawn on a desktop (its stacked version is a phone's).
    check_stacked_figures(every_section_shown(page), path, stacked=False)

    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / (path.replace("/", "__").removesuffix(".html") + ".png")),
                    full_page=True)
    # What the reader met; taken before axe runs, because axe re-fetches style sheets by itself
    # and resolves their @import against the page, not the sheet (a 404 no reader ever sees).
    problems, foreign, weight = list(v.problems), list(v.foreign), v.weight()

    # axe-core (bundled with axe-playwright-python, injected locally): no violation of any impact.
    result = Axe().run(every_section_shown(page))
    violations = result.response["violations"]
    bad = [f"{x['id']} ({x['impact']}): {x['help']} - {[n['target'] for n in x['nodes']][:5]}"
           for x in violations]
    minor = [x["id"] for x in violations if x["impact"] not in ("serious", "critical")]

    nav = page.evaluate("() => { const t = performance.getEntriesByType('navigation')[0];"
                        " return {dcl: t.domContentLoadedEventEnd, load: t.loadEventEnd}; }")
    metrics[path] = {"bytes": weight, "requests": len(v.local_paths),
                     "load_ms": round(nav["load"]), "ready_with_math_s": round(seconds, 2),
                     "math": math["math"], "axe_minor": minor, "axe_serious": len(bad)}

    assert not foreign, f"{path} asked other hosts: {foreign}"
    if path.startswith("chapters/"):
        assert weight < 5_000_000, f"{path} weighs {weight / 1e6:.2f} MB with its assets (limit 5 MB)"
    assert not problems, f"{path}: " + "\n".join(problems)
    assert not bad, f"axe on {path}:\n" + "\n".join(bad)


def _widget_pages(site: Path) -> list[str]:
    return [p for p in PAGES if "bn-static-widget" in (site / p).read_text(encoding="utf-8")]


def test_static_widgets_respond_to_their_slider(visit, site):
    pages = _widget_pages(site)
    if not pages:
        if "chapters/08_gradient.html" in PAGES:
            pytest.fail("chapter 8 is in the book but no page has a static widget (.bn-static-widget)")
        pytest.skip("no page has a static widget yet")
    for path in pages:
        v = visit(path)
        v.open()
        widgets = v.page.locator(".bn-static-widget")
        assert widgets.count() > 0
        for i in range(widgets.count()):
            widget = widgets.nth(i)
            widget.scroll_into_view_if_needed()
            slider = widget.locator("input[type=range]").first
            figure = widget.locator("img:visible").first  # the frame on show
            assert slider.count() and figure.count(), f"widget {i} on {path} lacks a slider or a figure"
            before = figure.screenshot()
            at_max = slider.evaluate("s => Number(s.value) >= Number(s.max)")
            slider.press("Home" if at_max else "End")  # keys move a range input as a reader's would
            v.page.wait_for_timeout(200)  # let the figure swap in
            after = widget.locator("img:visible").first.screenshot()
            assert after != before, f"moving the slider of widget {i} on {path} does not change its figure"
        assert not v.problems and not v.foreign, (v.problems, v.foreign)


def test_search_works_offline(visit):
    v = visit("search.html?q=batch")
    v.open()
    results = v.page.locator("#search-results ul.search li")
    results.first.wait_for(timeout=20_000)
    assert results.count() >= 1
    assert not v.foreign, v.foreign
    assert not v.problems, v.problems


@pytest.mark.parametrize("width", [390, 1280])
def test_the_search_forms_icon_sits_beside_the_query_not_over_it(visit, width):
    """The search page's form and the Ctrl+K dialog: the magnifier ends before the typed text."""
    where = """form => { const icon = form.querySelector('.fa-magnifying-glass').getBoundingClientRect();
        const input = form.querySelector('input'); const style = getComputedStyle(input);
        const text = input.getBoundingClientRect().left + parseFloat(style.paddingLeft);
        return {icon_right: icon.right, icon_width: icon.width, text_left: text}; }"""
    for path, form in (("search.html?q=gradient", ".bd-search-container form.bd-search"),
                       ("chapters/01_layer.html", "#pst-search-dialog form.bd-search")):
        v = visit(path, viewport=(width, 844))
        v.open()
        if "dialog" in form:
            v.page.keyboard.press("Control+k")
        form = v.page.locator(form).first
        form.locator("input").wait_for(state="visible")
        box = form.evaluate(where)
        assert box["icon_width"] > 0 and box["icon_right"] <= box["text_left"], (path, box)


def test_download_buttons_resolve(site, base_url):
    """Each page's download links (.md source, .ipynb for notebooks) answer 200 from the local server."""
    from html.parser import HTMLParser

    class Links(HTMLParser):
        def __init__(self):
            super().__init__()
            self.hrefs = []

        def handle_starttag(self, tag, attrs):
            href = dict(attrs).get("href") or ""
            if tag == "a" and "_sources/" in href:
                self.hrefs.append(href)

    checked = 0
    for path in PAGES:
        parser = Links()
        parser.feed((site / path).read_text(encoding="utf-8"))
        suffixes = {Path(h).suffix for h in parser.hrefs}
        assert ".md" in suffixes, f"{path} has no .md download link"
        source = (site.parents[1] / path).with_suffix(".md")  # the book copy that was built
        if source.read_text(encoding="utf-8").lstrip().startswith("---\njupytext"):
            assert ".ipynb" in suffixes, f"notebook page {path} has no .ipynb download link"
        for href in parser.hrefs:
            url = urljoin(urljoin(base_url, path), href)
            with urllib.request.urlopen(url, timeout=10) as response:
                assert response.status == 200, url
                body = response.read()
            if url.endswith(".ipynb"):
                assert json.loads(body)["cells"], f"{url} is not a notebook with cells"
            checked += 1
    assert checked >= len(PAGES)


def test_thebe_loads_only_on_click_from_the_site_and_talks_only_to_binder(visit):
    """Live Code is served by the site; once the reader asks for it, it talks to mybinder.org only."""
    chapters = [p for p in PAGES if p.startswith("chapters/")]
    v = visit(chapters[0])
    v.open()
    assert not v.foreign, f"requests to other hosts before any click: {v.foreign}"
    assert not any("/thebe/" in p for p in v.local_paths), "Thebe loaded before Live Code was clicked"
    v.page.locator(".dropdown-launch-buttons").first.hover()
    v.page.locator("button.btn-launch-thebe").first.click()
    v.page.wait_for_function("() => window.thebe || window.thebelab", timeout=20_000)
    v.page.wait_for_timeout(3000)
    assert "/_static/thebe/index.js" in v.local_paths, "a click on Live Code did not load the site's Thebe"
    hosts = {urlparse(u).netloc for u in v.foreign}
    assert hosts <= {"mybinder.org"}, f"Live Code asked hosts other than its Binder: {sorted(hosts)}"
    assert hosts, "Live Code did not ask mybinder.org for a kernel"
    assert v.page.locator(".thebe-launch-button, .thebelab-cell, .thebe-cell").count(), "no Thebe cell appeared"


def test_nbgitpuller_links_open_on_the_hub_the_instructor_types(visit):
    v = visit("instructors.html")
    v.open()
    links = v.page.locator("a.bn-pull")
    assert links.count() >= 4 and not links.first.is_visible(), "links show before a hub is typed"
    v.page.fill("#bn-hub", "https://hub.example.edu/")
    href = links.first.get_attribute("href")
    assert href.startswith("https://hub.example.edu/hub/user-redirect/git-pull?repo="), href
    assert "branch=notebooks" in href and links.first.is_visible()
    v.page.reload()
    assert v.page.input_value("#bn-hub") == "https://hub.example.edu", "the hub address is not remembered"
    assert not v.problems, v.problems


def _luminance(rgb) -> float:
    r, g, b = (float(c) for c in rgb[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


# Every value <html data-theme> takes while a page loads, and whether the body existed yet.
THEME_CHANGES = """
window.__themes = [];
new MutationObserver(records => { for (const r of records)
  if (r.target === document.documentElement)
    window.__themes.push([r.target.dataset.theme, !!document.body]); })
  .observe(document, {attributes: true, subtree: true, attributeFilter: ['data-theme']});
"""


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_a_first_visit_is_painted_in_its_colour_scheme_from_the_start(visit, scheme):
    """The head sets the theme before the body is parsed, and the theme's script keeps it.

    A theme set only after parsing would paint a dark-mode reader's first screen light, and
    restyle the whole page once more (about 100 ms on chapter 8, measured).
    """
    v = visit("chapters/08_gradient.html", color_scheme=scheme, viewport=(390, 844))
    v.page.add_init_script(THEME_CHANGES)
    v.open()
    changes = v.page.evaluate("() => window.__themes")
    before_body = [theme for theme, body in changes if not body]
    assert before_body and before_body[-1] == scheme, changes        # set in the head
    assert all(theme == scheme for theme, body in changes if body), changes   # and never changed
    assert v.page.evaluate("() => document.documentElement.dataset.theme") == scheme
    assert not v.problems, v.problems


# Figures of the page (widget frames are left out: the dark theme inverts them on purpose,
# test_interactive.py), and the figures of several panels, which have a stacked version.
FIGURE_IMAGES = ".bd-article .cell_output img:not(.bn-frame), .bd-article figure img"
STACKED = "picture > source[srcset$='-stacked.svg'] + img"
STACKED_PAGES = {"chapters/01_layer.html", "chapters/07_layouts.html", "chapters/10_training.html"}
"""Pages that have figures of several panels (each is checked to have at least one)."""


def _arrived(image):
    """Scroll a (lazy) image into view and wait until it has arrived."""
    image.scroll_into_view_if_needed()
    image.evaluate("img => img.decode().catch(() => null)")


def check_stacked_figures(page, path, stacked: bool) -> int:
    """A phone (``stacked``) shows each figure of panels side by side with its panels one under
    the other, at the column's width; a desktop shows the figure as drawn. Returns how many."""
    figures = page.locator(STACKED)
    for i in range(figures.count()):
        img = figures.nth(i)
        _arrived(img)
        shown = img.evaluate("img => ({src: img.currentSrc, w: img.clientWidth, h: img.clientHeight,"
                             " natural: img.naturalWidth})")
        assert shown["src"].endswith("-stacked.svg") == stacked, (path, shown)
        if stacked:
            assert shown["h"] > shown["w"], (path, shown)      # panels one under another
            assert shown["natural"] and shown["w"] >= 0.75 * min(shown["natural"], 358), (path, shown)
    assert figures.count() or path not in STACKED_PAGES, f"no figure of panels found on {path}"
    return figures.count()


# The part of an element the reader sees: inside the boxes that clip it (a figure that scrolls
# sideways), the window, and below a sticky header (the article's, on a phone).
VISIBLE_PART = """el => {
  const r = el.getBoundingClientRect();
  let top = r.top, left = r.left, bottom = r.bottom, right = r.right;
  for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
    const s = getComputedStyle(a);
    if (s.overflowX === 'visible' && s.overflowY === 'visible') continue;
    const c = a.getBoundingClientRect();
    top = Math.max(top, c.top); left = Math.max(left, c.left);
    bottom = Math.min(bottom, c.bottom); right = Math.min(right, c.right);
  }
  top = Math.max(top, 0); left = Math.max(left, 0);
  bottom = Math.min(bottom, innerHeight); right = Math.min(right, innerWidth);
  for (let a = document.elementFromPoint((left + right) / 2, top + 1); a; a = a.parentElement) {
    const p = getComputedStyle(a).position;
    if (a.contains(el)) break;
    if (p === 'sticky' || p === 'fixed') { top = Math.max(top, a.getBoundingClientRect().bottom); break; }
  }
  return {x: left, y: top, width: right - left, height: bottom - top};
}"""


def check_figures_on_light_ground(page, path) -> int:
    """In the dark theme each figure keeps an opaque light background (black axes on dark would
    vanish): at most one of its corners is dark. Returns how many figures were checked."""
    import matplotlib.image as mpimg

    assert page.evaluate("() => document.documentElement.dataset.theme") == "dark"
    images, checked = page.locator(FIGURE_IMAGES), 0
    for i in range(images.count()):
        image = images.nth(i)
        if not image.is_visible():
            continue  # a closed dropdown
        _arrived(image)
        box = image.bounding_box()
        if not box or box["width"] < 60 or box["height"] < 60:
            continue  # icons, not figures
        part = image.evaluate(VISIBLE_PART)   # a phone shows part of a wide or tall figure
        assert part["width"] >= 20 and part["height"] >= 20, f"figure {i} on {path} is hidden: {part}"
        pixels = mpimg.imread(io.BytesIO(page.screenshot(clip=part)), format="png")
        h, w = pixels.shape[:2]
        corners = [pixels[2, 2], pixels[2, w - 3], pixels[h - 3, 2], pixels[h - 3, w - 3]]
        dark = [c for c in corners if _luminance(c) < 0.6]
        assert len(dark) <= 1, f"figure {i} on {path} sits on a dark background in the dark theme"
        checked += 1
    assert checked or path not in STACKED_PAGES, f"no figure checked on {path}"
    return checked


def test_a_folded_block_opens_and_folds_again_on_click(visit):
    """Folds (solutions, "How this is checked") show nothing until opened, then their content,
    formulas typeset; a second click folds them again."""
    v = visit("chapters/08_gradient.html", viewport=(390, 844))
    v.open()
    folds = v.page.locator(".admonition.toggle")
    assert folds.count() >= 10
    state = """fold => { const body = [...fold.children].filter(e => !e.matches('.admonition-title'));
        return {height: body.reduce((h, e) => h + e.getBoundingClientRect().height, 0),
                laid_out: body.filter(e => e.getClientRects().length).length,
                formulas: fold.querySelectorAll('.katex-html').length}; }"""
    for i in (0, folds.count() - 1):
        fold = folds.nth(i)
        folded = fold.evaluate(state)
        assert folded["height"] == 0 and folded["laid_out"] == 0, folded      # not even laid out
        fold.locator(".toggle-button").click()
        v.page.wait_for_timeout(400)                                          # its fade-in
        opened = fold.evaluate(state)
        assert opened["height"] > 40 and opened["laid_out"] > 0, opened
        assert fold.locator(".toggle-button").get_attribute("aria-expanded") == "true"
        fold.locator(".toggle-button").click()
        v.page.wait_for_timeout(400)
        assert fold.evaluate(state)["height"] == 0
    assert not v.problems, v.problems


def test_the_sidebar_buttons_open_their_sidebars_on_a_phone(visit):
    """The ☰ and ≡ buttons at the top of the article open the book's contents and the page's.

    The theme's scripts bind the first such buttons in the page: pydata-sphinx-theme's own top
    bar, hidden, had a pair too, until ``navbar_persistent: []`` (_config.yml) emptied it."""
    v = visit("chapters/08_gradient.html", viewport=(390, 844))
    v.open()
    for toggle, dialog in ((".primary-toggle", "#pst-primary-sidebar-modal"),
                           (".secondary-toggle", "#pst-secondary-sidebar-modal")):
        button = v.page.locator(toggle)
        assert button.count() == 1 and button.is_visible(), toggle
        button.click()
        v.page.wait_for_function(f"() => document.querySelector('{dialog}').open", timeout=5_000)
        v.page.keyboard.press("Escape")
        v.page.wait_for_function(f"() => !document.querySelector('{dialog}').open", timeout=5_000)
    assert not v.problems, v.problems


def test_results_are_tables_that_fit_a_phone(visit):
    """Chapter 8's results are HTML tables (not preformatted text), readable at 390 px."""
    page_visit = visit("chapters/08_gradient.html")
    page_visit.page.set_viewport_size({"width": 390, "height": 844})
    page_visit.open()
    page = every_section_shown(page_visit.page)
    tables = page.locator("table.bn-table")
    assert tables.count() >= 10
    # no result is left as a text block of aligned columns
    pre_texts = page.locator(".cell_output pre").all_inner_texts()
    assert not [t for t in pre_texts if "spread" in t and "bias" in t]
    # a table wider than the column scrolls in its own box: the page itself does not widen
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    heads = page.locator("table.bn-table thead th").all_inner_texts()
    assert {"N", "spread", "bias"} <= set(heads)
    tables.nth(3).scroll_into_view_if_needed()
    ARTIFACTS.mkdir(exist_ok=True)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "08_gradient-tables-390.png"))
    assert not page_visit.problems and not page_visit.foreign


RAW_TEX = ["\\frac", "\\(", "$$", "\\partial", "\\hat", "\\mathbf", "\\sum", "\\left"]


@pytest.mark.parametrize("query", ["gradient", "projection", "variance"])
def test_search_summaries_show_no_raw_tex(visit, query):
    """Sphinx's search page quotes each result's text: its formulas must read as symbols."""
    v = visit(f"search.html?q={query}")
    v.open()
    v.page.wait_for_function(
        "() => /Search finished/.test(document.querySelector('#search-results')?.textContent || '')",
        timeout=60_000)
    # searchtools.js says "Search finished" once the results are listed; each summary arrives
    # later, with its page (one fetch a result)
    v.page.wait_for_function("() => document.querySelectorAll('#search-results p.context').length >= 3",
                             timeout=30_000)
    v.page.wait_for_timeout(500)
    results = v.page.evaluate("""() => [...document.querySelectorAll('#search-results li')]
        .map(li => li.textContent)""")
    assert len(results) >= 3, f"too few results for {query!r}: {results}"
    raw = [(t, r[:200]) for r in results for t in RAW_TEX if t in r]
    assert not raw, f"raw TeX in the search results for {query!r}: {raw[:3]}"
    assert not v.problems, v.problems


# Everything that can be too wide for a phone: formulas, tables, code and text outputs. Each is
# cut off when an ancestor hides its overflow; it is fine when it fits, or when the first
# ancestor that does not let it overflow scrolls and starts at its left edge.
OVERFLOW = """() => {
  const vw = document.documentElement.clientWidth, bad = [];
  const items = document.querySelectorAll('.bd-article .katex, .bd-article .katex-display, .bd-article table, '
                                          + '.bd-article .cell_output pre, .bd-article img');
  for (const el of items) {
    const r = el.getBoundingClientRect();
    if (!r.width || el.closest('[hidden], details:not([open]), .toggle-hidden')) continue;
    let a = el.parentElement, verdict = null;
    for (; a && a !== document.body; a = a.parentElement) {
      const o = getComputedStyle(a).overflowX, b = a.getBoundingClientRect();
      const out = r.right > b.right + 1 || r.left < b.left - 1;
      if (o === 'auto' || o === 'scroll') {
        if (r.left < b.left - 1 - a.scrollLeft) verdict = 'starts left of its scroll box';
        break;
      }
      if ((o === 'hidden' || o === 'clip') && out) { verdict = 'cut off by ' + a.className; break; }
    }
    if (!verdict && !a && (r.right > vw + 1 || r.left < -1)) verdict = 'wider than the screen';
    if (verdict) bad.push(verdict + ': ' + (el.textContent || el.alt || el.tagName).trim().slice(0, 60));
  }
  if (document.documentElement.scrollWidth > vw + 1) bad.push('the page scrolls sideways');
  return bad;
}"""


@pytest.mark.parametrize("path", PAGES)
def test_on_a_phone_in_the_dark_theme_nothing_is_cut_off_figures_are_legible_and_axe_finds_no_violation(visit, path):
    """One visit at 390 px in the dark theme (a page of formulas takes axe seconds): no formula,
    table or figure is cut off or wider than the screen; figures of several panels come stacked;
    every figure keeps its light background; axe-core finds no violation."""
    from axe_playwright_python.sync_playwright import Axe

    v = visit(path, color_scheme="dark", viewport=(390, 844))
    v.open()
    page = every_section_shown(v.page)
    bad = page.evaluate(OVERFLOW)
    counted = page.evaluate("() => document.querySelectorAll('.bd-article .katex').length")
    assert not bad, f"{path} at 390 px:\n" + "\n".join(bad[:10])
    if path.startswith("chapters/"):
        assert counted > 0, "no formula measured: the selectors no longer match the page"
    check_stacked_figures(page, path, stacked=True)
    check_figures_on_light_ground(page, path)
    assert not v.problems, v.problems
    violations = Axe().run(page).response["violations"]
    assert not violations, [f"{x['id']} ({x['impact']}): {[n['target'] for n in x['nodes']][:3]}"
                            for x in violations]


# Header cells of the page's tables that are not fully visible: beyond the right edge of their
# nearest clipping box (a scroll wrapper, the article) or of the window.
HIDDEN_COLUMNS = r"""() => {
    const clip = el => {
        for (let p = el.parentElement; p; p = p.parentElement) {
            const o = getComputedStyle(p).overflowX;
            if (o !== 'visible' || p.tagName === 'ARTICLE') return p.getBoundingClientRect();
        }
        return document.documentElement.getBoundingClientRect();
    };
    return [...document.querySelectorAll('article table')].flatMap(t => {
        const box = clip(t);
        return [...t.querySelectorAll('thead th')].filter(th => {
            const r = th.getBoundingClientRect();
            return r.right > Math.min(box.right, innerWidth) + 1 || r.left < box.left - 1 || r.width < 24;
        }).map(th => th.textContent.trim());
    });
}"""


def test_the_verification_page_shows_every_column_no_code_and_numbered_equations(visit):
    """How this book is checked: at 1280 px every column of both tables is in view; no code
    cell is shown; equations are their numbers, linked; no cell is a bare "-"; the claims of
    chapters 8 and 10 are listed; at 390 px the page itself does not widen."""
    v = visit("verification.html")
    v.open()
    page = every_section_shown(v.page)
    assert page.evaluate(HIDDEN_COLUMNS) == []
    assert page.locator("article table").count() >= 2
    assert page.locator("article .cell_input").count() == 0
    cells = [c.strip() for c in page.locator("article table td").all_inner_texts()]
    assert "-" not in cells and not [c for c in cells if c.startswith("eq-")]
    numbers = page.locator("article table td a").all_inner_texts()
    assert "(2.1)" in numbers
    claims = page.locator("article table").nth(1).locator("tbody tr").all_inner_texts()
    assert any(r.startswith("8") for r in claims) and any(r.startswith("10") for r in claims)
    assert all("holds" in r for r in claims)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "verification-1280.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.wait_for_timeout(200)
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(SHOTS / "verification-390.png"), full_page=True)
    assert not v.problems and not v.foreign
