"""What a reader sees on a phone (390 px, by touch) and a desktop (1280 px, by mouse), light and
dark, and on paper (Chromium's print to PDF), on the shared build.

Tables of up to five columns show every cell; a table or a formula wider than its column shows
that it scrolls (an inner shadow where more is hidden, reader.css); a tap or click in the middle
of a solution's title opens the solution; code on a phone wraps instead of scrolling; a printed
chapter has no toggle text, keeps its number and cuts no code. Screenshots of each go to
test-artifacts/screenshots/reader-*.png.
"""
from __future__ import annotations

import re
import shutil
import subprocess

import pytest

pytest.importorskip("playwright")

from test_browser import SHOTS, base_url, site  # noqa: E402,F401  (fixtures: the served shared build)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1280, "height": 900}}
SCREENS = [(390, "light"), (390, "dark"), (1280, "light"), (1280, "dark")]
CHAPTERS = [f"chapters/{name}.html" for name in (
    "01_layer", "02_basics", "03_rowwise", "04_lemma", "05_columnwise", "06_simplification",
    "07_layouts", "08_gradient", "10_training")]
TABLE_PAGES = CHAPTERS[5:]          # the chapters with tables (6: a Markdown table, 8 and 9: results)


@pytest.fixture(scope="module")
def screen(browser, base_url):  # noqa: F811
    """``screen(width, scheme)``: one page in its own browser context per screen, reused."""
    pages = {}

    def _screen(width, scheme):
        if (width, scheme) not in pages:
            context = browser.new_context(color_scheme=scheme, **(PHONE if width < 600 else DESKTOP))
            pages[width, scheme] = context.new_page()
        return pages[width, scheme]

    yield _screen
    for page in pages.values():
        page.context.close()


def shoot(page, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"reader-{name}.png"))


# Every cell of every visible table of up to five columns, as the rectangle of its text, and the
# box the table is seen in (its scrolling wrapper): the cells whose text is not inside that box.
CELLS_OUT_OF_VIEW = """() => {
  const out = [], tables = [];
  for (const table of document.querySelectorAll('.bd-article table')) {
    if (!table.getClientRects().length) continue;
    const columns = Math.max(...[...table.rows].map(r => r.cells.length));
    if (columns > 5) continue;
    const box = (table.closest('.bn-table-wrap, .pst-scrollable-table-container') || table.parentElement)
                .getBoundingClientRect();
    tables.push(columns);
    for (const cell of table.querySelectorAll('th, td')) {
      const range = document.createRange();
      range.selectNodeContents(cell);
      const text = range.getBoundingClientRect();
      if (!text.width) continue;
      if (text.left < box.left - 0.5 || text.right > box.right + 0.5)
        out.push(`${cell.textContent.trim().slice(0, 30)} (${Math.round(text.left)}..${Math.round(text.right)}`
                 + ` in ${Math.round(box.left)}..${Math.round(box.right)})`);
    }
  }
  return {tables: tables.length, out};
}"""


@pytest.mark.parametrize("width,scheme", SCREENS)
def test_every_cell_of_a_table_of_up_to_five_columns_is_in_view(screen, base_url, width, scheme):  # noqa: F811
    page, checked = screen(width, scheme), 0
    for path in TABLE_PAGES:
        page.goto(base_url + path, wait_until="load")
        seen = page.evaluate(CELLS_OUT_OF_VIEW)
        assert not seen["out"], f"{path} at {width} px, {scheme}: cells outside their table's box: {seen['out'][:6]}"
        checked += seen["tables"]
        if path.endswith("10_training.html"):
            page.locator("table.bn-table").nth(1).scroll_into_view_if_needed()
            shoot(page, f"table-{width}-{scheme}")
    assert checked >= 20, f"only {checked} tables of up to five columns found: the selectors no longer match"


# The computed shadow of a scroll box (the cue is an animation driven by its scroll position)
# and whether it is wider than its column.
CUE = """box => ({wide: box.scrollWidth > box.clientWidth + 1, shadow: getComputedStyle(box).boxShadow})"""
RIGHT_SHADOW = re.compile(r"\) -\d[^,]* inset")      # an inner shadow with a negative x offset: on the right


def _edge_shaded(page, box) -> float:
    """The share of pixel rows in the rightmost 3 px of ``box`` that differ from the page colour."""
    import io

    import matplotlib.image as mpimg

    rect = box.bounding_box()
    top = max(rect["y"], 0)                  # the part of a tall box that is on the screen
    height = min(rect["y"] + rect["height"], page.viewport_size["height"]) - top
    pixels = mpimg.imread(io.BytesIO(page.screenshot(clip={"x": rect["x"] + rect["width"] - 4, "y": top,
                                                           "width": 3, "height": height})), format="png")
    page_colour = page.evaluate("() => getComputedStyle(document.body).backgroundColor")
    rgb = [int(v) / 255 for v in re.findall(r"\d+", page_colour)[:3]]
    differs = (abs(pixels[:, :, :3] - rgb).max(axis=2) > 0.03).any(axis=1)
    return float(differs.mean())


def _assert_cue(page, box, what):
    box.evaluate("b => { b.scrollLeft = 0; }")
    page.wait_for_timeout(100)
    state = box.evaluate(CUE)
    assert state["wide"], f"{what} fits its column: pick a wider one"
    assert RIGHT_SHADOW.search(state["shadow"]), f"{what} is cut at the column's edge with no sign that it scrolls"
    shaded = _edge_shaded(page, box)
    assert shaded > 0.9, f"{what}: only {shaded:.0%} of its right edge is shaded"
    box.evaluate("b => { b.scrollLeft = b.scrollWidth; }")        # at its end: nothing more on the right
    page.wait_for_timeout(100)
    assert not RIGHT_SHADOW.search(box.evaluate(CUE)["shadow"]), f"{what}, scrolled to its end, still shades its right edge"
    box.evaluate("b => { b.scrollLeft = 0; }")


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_a_formula_wider_than_the_column_shows_that_it_scrolls(screen, base_url, scheme):  # noqa: F811
    """(1.1) on a phone, and chapter 4's sympy expression, are cut with a shadow at the cut."""
    page = screen(390, scheme)
    for path, selector, what in (("chapters/01_layer.html", "div.math > .katex-display", "(1.1)"),
                                 ("chapters/04_lemma.html", "div.output.text_latex > .katex-display",
                                  "chapter 4's sympy expression")):
        page.goto(base_url + path, wait_until="load")
        box = page.locator(selector).first
        box.scroll_into_view_if_needed()
        _assert_cue(page, box, what)
        shoot(page, f"formula-{path[9:11]}-390-{scheme}")


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_a_table_wider_than_the_column_shows_that_it_scrolls(screen, base_url, scheme):  # noqa: F811
    """The verification page's table (seven columns) on a phone; on a 320 px phone if it fits 390."""
    page = screen(390, scheme)
    for width in (390, 320):
        page.set_viewport_size({"width": width, "height": 844})
        page.goto(base_url + "verification.html", wait_until="load")
        boxes = page.locator(".bd-article .pst-scrollable-table-container, .bd-article .bn-table-wrap")
        wide = [boxes.nth(i) for i in range(boxes.count()) if boxes.nth(i).evaluate(CUE)["wide"]]
        if wide:
            wide[0].scroll_into_view_if_needed()
            _assert_cue(page, wide[0], f"the verification table at {width} px")
            shoot(page, f"wide-table-{width}-{scheme}")
            break
    page.set_viewport_size(PHONE["viewport"])
    assert wide, "no table of the verification page is wider than a 320 px phone's column"


@pytest.mark.parametrize("width", [390, 1280])
def test_a_tap_in_the_middle_of_a_solutions_title_opens_it(screen, base_url, width):  # noqa: F811
    """Chapters 1 to 9: the first solution opens where the reader taps (a phone) or clicks (a desktop)."""
    page = screen(width, "light")
    for path in CHAPTERS:
        page.goto(base_url + path, wait_until="load")
        solution = page.locator(".solution.dropdown").first
        title = solution.locator(".admonition-title")
        title.scroll_into_view_if_needed()
        box = title.bounding_box()
        middle = (box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        (page.touchscreen.tap if width < 600 else page.mouse.click)(*middle)
        page.wait_for_timeout(400)                                   # its fade-in
        assert page.url == base_url + path, f"a tap on the title of {path}'s solution went to {page.url}"
        assert solution.evaluate("s => !s.classList.contains('toggle-hidden')"), f"{path}: the solution stays folded"
        assert solution.locator("section").first.is_visible()
        if path.endswith("01_layer.html"):
            shoot(page, f"solution-{width}")


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_code_on_a_phone_wraps_in_a_readable_size(screen, base_url, scheme):  # noqa: F811
    """No code cell of chapter 6 needs sideways scrolling at 390 px, in a monospace of 12 px or more."""
    page = screen(390, scheme)
    page.goto(base_url + "chapters/06_simplification.html", wait_until="load")
    cells = page.evaluate("""() => [...document.querySelectorAll('.bd-article .cell_input pre')]
        .map(pre => ({wide: pre.scrollWidth > pre.clientWidth + 1, px: parseFloat(getComputedStyle(pre).fontSize),
                      text: pre.textContent.slice(0, 40)}))""")
    assert len(cells) >= 10
    assert not [c for c in cells if c["wide"]], [c["text"] for c in cells if c["wide"]]
    assert min(c["px"] for c in cells) >= 12
    page.locator(".cell_input pre").nth(3).scroll_into_view_if_needed()
    shoot(page, f"code-390-{scheme}")


def _squeezed(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_a_printed_chapter_has_no_toggle_text_keeps_its_number_and_cuts_no_code(screen, base_url, tmp_path):  # noqa: F811
    """Chapter 6 printed from the browser (media print, A4), read back with pdftotext."""
    assert shutil.which("pdftotext"), "pdftotext is missing: `make test` installs poppler-utils"
    page = screen(1280, "light")
    page.goto(base_url + "chapters/06_simplification.html", wait_until="load")
    page.emulate_media(media="print")
    try:
        code = page.evaluate("""() => [...document.querySelectorAll('.bd-article pre')]
            .filter(pre => pre.getClientRects().length).map(pre => pre.innerText)""")
        pdf = tmp_path / "06_simplification.pdf"
        page.pdf(path=str(pdf), format="A4")
    finally:
        page.emulate_media(media="screen")
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "Click to" not in text, "the printed folds carry sphinx-togglebutton's hint"
    assert re.match(r"\s*6\.\s+Simplification", text), f"the printed chapter starts {text[:80]!r}"
    printed = _squeezed(text)
    cut = [line for block in code for line in block.splitlines() if _squeezed(line) not in printed]
    assert len(code) >= 10 and not cut, f"code lines cut at the margin: {cut[:5]}"
