"""What a reader does, in Chromium: by touch on a 390 px phone and by mouse at 1280 px, light and dark.

A reader comes with a question (does batch norm help against exploding gradients?), looks for
its answer in the introduction, follows a point to its evidence, opens chapter 8's contents,
searches the site, answers a question at the end of a chapter and tries Live Code offline.
The slow tests read the session's one build (``conftest.built_book``) through test_browser's
fixtures; screenshots go to test-artifacts/screenshots/reader-*.png. The fast tests check the
library's side: one letter for the batch size, quiz feedback written as its questions are, the
identity and transpose printed as the book writes them, docstrings rendered in the folds.
"""
from __future__ import annotations

import inspect
import re
import sys
from pathlib import Path
from urllib.parse import urlparse

import pytest

from conftest import BOOK, ROOT
from test_browser import SHOTS, Visit, base_url, site  # noqa: F401  (fixtures)

sys.path.insert(0, str(BOOK / "_ext"))

PHONE = {"viewport": (390, 844), "has_touch": True, "is_mobile": True}
DESKTOP = {"viewport": (1280, 900)}
WAYS = {"phone-light": (PHONE, "light"), "phone-dark": (PHONE, "dark"),
        "desktop-light": (DESKTOP, "light"), "desktop-dark": (DESKTOP, "dark")}


@pytest.fixture
def reader(browser, base_url, site):  # noqa: F811  (fixtures imported from test_browser)
    """Open a page as a reader of one of WAYS does; a tap on a phone, a click on a desktop."""
    opened = []

    def _open(path, way):
        device, scheme = WAYS[way]
        v = Visit(browser, base_url, site, path, color_scheme=scheme, **device)
        v.phone = device is PHONE
        v.press = (lambda locator: locator.tap()) if v.phone else (lambda locator: locator.click())
        opened.append(v)
        v.open()
        return v

    yield _open
    for v in opened:
        v.close()


def shot(v, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    v.page.screenshot(path=str(SHOTS / f"reader-{name}.png"))


def top_in_page(locator) -> float:
    return locator.evaluate("e => e.getBoundingClientRect().top + window.scrollY")


def target_in_view(page) -> dict:
    """Where the element named by the URL's #fragment is, on the screen."""
    # a label's target is an empty <span> before its section's heading: the heading is then read
    return page.evaluate("""() => { const id = decodeURIComponent(location.hash.slice(1));
        const el = document.getElementById(id); if (!el) return {id, found: false};
        const heading = el.textContent.trim() ? el : el.closest('section').querySelector('h1, h2, h3');
        const r = el.getBoundingClientRect();
        return {id, found: true, top: r.top, height: innerHeight,
                text: heading.textContent.replace(/^[\\d.\\s]+/, '').trim().slice(0, 80)}; }""")


# ---------------------------------------------------------------- the answer, up front


@pytest.mark.parametrize("way", list(WAYS))
@pytest.mark.slow
@pytest.mark.timeout(600)
def test_the_intro_answers_the_exploding_gradients_question_in_its_first_three_screens(reader, way):
    v = reader("intro.html", way)
    page = v.page
    screen = WAYS[way][0]["viewport"][1]
    bullet = page.locator("article li", has_text=re.compile(r"exploding gradients", re.I)).first
    assert bullet.count(), "the intro has no point about exploding gradients"
    assert top_in_page(bullet) + 60 < 3 * screen, "the answer is below the first three screens"
    text = bullet.inner_text()
    assert re.search(r"\d", text), f"the point quotes no number: {text}"
    assert "glue" not in text and "::" not in text, text
    points = page.locator("#the-short-answer li")
    assert 4 <= points.count() <= 6, points.count()
    for i in range(points.count()):
        assert points.nth(i).locator("a[href*='#']").count(), f"point {i + 1} links to no evidence"
    page.evaluate("b => b.scrollIntoView({block: 'center'})", bullet.element_handle())
    shot(v, f"intro-{way}")
    v.press(bullet.locator("a[href*='#']").last)
    page.wait_for_url(re.compile(r"08_gradient\.html#"))
    page.wait_for_timeout(300)
    where = target_in_view(page)
    assert where["found"] and 0 <= where["top"] < 0.5 * where["height"], where
    assert "Depth" in where["text"] or "depth" in where["text"], where
    shot(v, f"intro-evidence-{way}")
    assert not v.problems and not v.foreign, (v.problems, v.foreign)


@pytest.mark.parametrize("way", ["phone-light", "phone-dark"])
@pytest.mark.slow
@pytest.mark.timeout(600)
def test_chapter_8_leads_to_its_answer_from_its_first_screen_and_its_contents(reader, way):
    v = reader("chapters/08_gradient.html", way)
    page = v.page
    first = page.locator("article a[href$='#grad-answer']").first
    assert first.count() and first.is_visible(), "chapter 8 does not link to its answer"
    assert first.evaluate("a => a.getBoundingClientRect().bottom") <= 844, "the link is below the first screen"
    v.press(page.locator(".secondary-toggle"))
    page.wait_for_function("() => document.querySelector('#pst-secondary-sidebar-modal').open", timeout=5000)
    entry = page.locator("#pst-secondary-sidebar-modal a", has_text="The answer")
    assert entry.count() == 1 and entry.is_visible(), "≡ does not list 'The answer'"
    shot(v, f"ch8-contents-{way}")
    v.press(entry)
    page.wait_for_timeout(500)
    assert page.evaluate("() => location.hash") in ("#grad-answer", "#the-answer")
    where = target_in_view(page)
    assert where["found"] and -5 <= where["top"] < 200, where
    assert not v.problems, v.problems


def _search(reader, way, query):
    v = reader(f"search.html?q={query}", way)
    v.page.wait_for_function(
        "() => /Search finished/.test(document.querySelector('#search-results')?.textContent || '')",
        timeout=60_000)
    v.page.wait_for_timeout(800)     # each summary arrives with its page
    return v, v.page.locator("#search-results ul.search > li")


@pytest.mark.parametrize("way", ["phone-dark", "desktop-light"])
@pytest.mark.slow
@pytest.mark.timeout(600)
def test_searching_exploding_lands_at_the_answer(reader, way):
    v, results = _search(reader, way, "exploding")
    assert results.count() >= 1
    top = results.first.locator("a").first
    href = top.get_attribute("href")
    assert "08_gradient.html#" in href, f"the first hit is not a section of chapter 8: {href}"
    summary = results.first.locator("p.context")
    summary.wait_for(timeout=10_000)
    assert "exploding" in summary.inner_text(), summary.inner_text()
    shot(v, f"search-exploding-{way}")
    v.press(top)
    v.page.wait_for_url(re.compile(r"08_gradient\.html#"))
    v.page.wait_for_timeout(500)
    where = target_in_view(v.page)
    assert where["found"] and -5 <= where["top"] < 0.4 * where["height"], where
    assert where["text"].startswith("The answer"), where
    assert not v.problems, v.problems


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_search_summaries_quote_the_article_and_write_formulas_as_symbols(reader):
    v, results = _search(reader, "desktop-light", "lemma")
    v.page.wait_for_function("() => document.querySelectorAll('#search-results p.context').length >= 3",
                             timeout=30_000)
    summaries = v.page.locator("#search-results p.context").all_inner_texts()
    chrome = [s for s in summaries if re.search(r"\bContents\b|Binder|Colab|Live Code|\.ipynb", s)]
    assert not chrome, chrome[:3]
    flat = [s for s in summaries if re.search(r"σ2|x\^|∂J∂", s)]
    assert not flat, flat[:3]
    assert results.count() >= 3
    assert not v.problems, v.problems


# ---------------------------------------------------------------- what the pages show


@pytest.mark.slow
def test_the_pdf_link_leads_to_the_pdf(site):  # noqa: F811
    import yaml
    from notebooks import site_url

    html = (site / "intro.html").read_text(encoding="utf-8")
    links = re.findall(r'<a [^>]*href="([^"]+\.pdf)"[^>]*>\s*one\s+PDF', html)
    assert len(links) == 1, links
    repo = yaml.safe_load((BOOK / "_config.yml").read_text())["repository"]["url"]
    href = links[0]
    if urlparse(href).scheme:
        assert href == site_url(repo) + "backprop-batchnorm.pdf", href
    else:
        assert (site / href).is_file(), f"the intro links to {href}, which the site does not hold"


@pytest.mark.slow
def test_how_this_is_checked_folds_show_no_raw_markup(site):  # noqa: F811
    from bs4 import BeautifulSoup

    found = 0
    for page in sorted((site / "chapters").glob("*.html")):
        soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
        for fold in soup.select(".bn-how"):
            text = fold.get_text(" ")
            raw = re.findall(r"\{eq\}|:func:|:data:|:math:|``", text)
            assert not raw, f"{page.name}: {raw} in {text[:200]}"
            found += 1
    assert found >= 50
    ch6 = BeautifulSoup((site / "chapters" / "06_simplification.html").read_text(encoding="utf-8"),
                        "html.parser")
    assert ch6.select(".bn-how a[href*='#equation-eq-']"), "the docstrings' equations are not links"


@pytest.mark.slow
def test_the_batch_size_is_N_in_chapter_8_and_its_depth_widget(site):  # noqa: F811
    from bs4 import BeautifulSoup

    soup = BeautifulSoup((site / "chapters" / "08_gradient.html").read_text(encoding="utf-8"),
                         "html.parser")
    for math in soup.select(".katex-mathml"):
        math.decompose()
    text = soup.select_one("article").get_text(" ")
    assert not re.search(r"batch size B\b|\(B ?[-−] ?[23]\)|\bB ?= ?\d", text), \
        re.findall(r".{40}(?:batch size B\b|\(B ?[-−] ?[23]\)|\bB ?= ?\d).{20}", text)[:3]
    annotations = re.findall(r'<annotation encoding="application/x-tex">(.*?)</annotation>',
                             (site / "chapters" / "08_gradient.html").read_text(encoding="utf-8"))
    assert not [a for a in annotations if re.search(r"\bB\b", a)], "a formula of chapter 8 uses B"


@pytest.mark.slow
def test_unlinked_index_pages_are_not_built(site):  # noqa: F811
    assert not (site / "genindex.html").exists(), "genindex.html is built (empty, linked from nowhere)"
    assert not (site / "prf-prf.html").exists(), "prf-prf.html is built (a raw label, linked from nowhere)"


# ---------------------------------------------------------------- questions and Live Code


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_arrow_keys_move_between_choices_and_the_feedback_shows_on_a_phone(reader):
    v = reader("chapters/08_gradient.html", "phone-light")
    page = v.page
    quiz = page.locator(".Quiz", has=page.locator(".MCButton")).first
    quiz.scroll_into_view_if_needed()
    radios = quiz.locator(".MCButton input[type=radio]")
    feedback = quiz.locator(".Feedback")
    radios.first.focus()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    page.wait_for_timeout(200)
    assert not feedback.inner_text().strip(), "an arrow key answered the question"
    assert not quiz.locator(".correctButton, .incorrectButton").count()
    page.evaluate("q => q.scrollIntoView({block: 'start'})", quiz.element_handle())
    v.press(quiz.locator(".MCButton").last)
    page.wait_for_timeout(800)
    assert feedback.inner_text().strip(), "no feedback after a choice"
    box = feedback.bounding_box()
    assert box and box["y"] + box["height"] <= 844 + 1, f"the feedback is off the screen: {box}"
    shot(v, "quiz-feedback-phone")
    assert not v.problems, v.problems


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_live_code_offline_says_it_needs_a_connection(reader):
    v = reader("chapters/01_layer.html", "desktop-light")
    v.context.set_offline(True)
    v.page.locator(".dropdown-launch-buttons").first.hover()
    v.page.locator("button.btn-launch-thebe").first.click()
    note = v.page.locator("#bn-thebe-note")
    note.wait_for(timeout=5000)
    assert "offline" in note.inner_text()
    assert not v.page.locator(".thebe-launch-button").count(), "Thebe launched offline"
    v.context.set_offline(False)


# ---------------------------------------------------------------- fast: the library's side


def test_the_depth_experiments_and_widget_call_the_batch_size_N():
    from lib import experiments as ex
    from lib import plots, widgets

    assert "N" in ex.depth_rates([6], depth=6, width=8, seeds=(0, 1)) and \
        "N" in ex.heuristic_factors([6], n_samples=200)
    fig = plots.plot_depth_rates([ex.depth_rates([6, 8], depth=6, width=8, seeds=(0, 1))])
    assert fig.axes[0].get_xlabel() == "batch size N"
    labels = [c.label for c in widgets.depth_widget().controls]
    assert "batch size N" in labels, labels


BATCH_B = re.compile(r"batch size B\b|\(B ?[-−] ?[123]\)|\bB ?(?:=|>=|\\ge) ?\d|1_B\b|large-B")


@pytest.mark.parametrize("folder", ["book", "lib"])
def test_no_page_or_module_calls_the_batch_size_B(folder):
    files = [p for p in (ROOT / folder).rglob("*") if p.suffix in (".md", ".py")
             and "_build" not in p.parts and "_vendor" not in p.parts]
    bad = [f"{p.relative_to(ROOT)}: {m.group(0)}" for p in files
           for m in BATCH_B.finditer(p.read_text(encoding="utf-8"))]
    assert not bad, bad[:10]


ASCII_MATH = re.compile(r"\^T\b|\^\(?-?\d|\bsigma\b|\beps\b|x_hat|\bgamma\b|\bbeta\b|\bdbeta\b|\bdy\.")


def test_quiz_feedback_writes_its_mathematics_as_the_questions_do():
    from lib import quizzes

    bad = []
    for n in quizzes.CHAPTERS:
        for q in quizzes.chapter(n):
            uses_powers = "^(" in q["question"] + "".join(str(a.get("answer", "")) for a in q["answers"])
            for a in q["answers"]:
                text = a["feedback"]
                if uses_powers:           # the question writes powers as ^(-3/2): so may its feedback
                    text = re.sub(r"\^\(-?\d+/\d+\)", "", text)
                bad += [f"chapter {n}: {m.group(0)!r} in {a['feedback']!r}" for m in ASCII_MATH.finditer(text)]
    assert not bad, bad


def test_the_printer_writes_the_identity_and_the_transpose_as_the_book_does():
    import sympy as sp

    from lib.printing import to_latex
    from lib.steps import lemma

    v = sp.MatrixSymbol("v", 3, 1)
    assert to_latex(sp.Identity(3)) == "I"
    assert to_latex(v.T) == r"v^{\top}"
    shown = lemma.lemma_step(sizes=[2]).latex()
    assert r"\mathbb{I}" not in shown and "^{T}" not in shown and r"v^{\top}" in shown, shown


def test_checked_folds_render_docstrings_and_show_code_without_them():
    import importlib

    import checked

    steps = set()
    for md in sorted((BOOK / "chapters").glob("*.md")):
        steps |= set(re.findall(r"```\{checked\} (lib\.steps\.[\w.]+)", md.read_text()))
    assert len(steps) >= 40
    for dotted in sorted(steps):
        module, name = dotted.rsplit(".", 1)
        function = inspect.unwrap(getattr(importlib.import_module(module), name))
        code, doc = checked.split_docstring(function)
        shown = checked.docstring_markdown(doc)
        assert '"""' not in code and f"def {name}(" in code, dotted
        assert not re.search(r":func:|:data:|:math:|``|^-{3,}$", shown, re.M), (dotted, shown)
        assert re.search(r"Shown in chapter \d+, equation \{eq\}`eq-", shown), (dotted, shown)
    layout = checked.docstring_markdown(inspect.getdoc(importlib.import_module("lib.steps.layouts").layout_step))
    assert "**Parameters**" in layout and "- `formula` (sympy expression): The candidate" in layout


def test_the_intro_glues_its_numbers_from_the_chapters():
    """Every number of the short answer comes from chapter 8 or 9 (glued), none is typed."""
    intro = (BOOK / "intro.md").read_text(encoding="utf-8")
    answer = intro.split("## The short answer", 1)[1].split("\n## ", 1)[0]
    prose = re.sub(r"\{glue:text\}`[^`]+`|\$[^$]+\$|\{numref\}`[^`]+`", "", answer)
    prose = re.sub(r"^%.*$", "", prose, flags=re.M)
    assert not re.findall(r"\d", prose), re.findall(r".{20}\d.{10}", prose)
    keys = re.findall(r"\{glue:text\}`chapters/(\d\d_\w+)\.md::(\w+):", answer)
    assert len(keys) >= 8
    for chapter, key in keys:
        source = (BOOK / "chapters" / f"{chapter}.md").read_text(encoding="utf-8")
        prefix = key.split("_")[0]
        assert (f'"{key.removeprefix("answer_")}"' in source or f'glue_all("{prefix}"' in source
                or f'glue(f"{prefix}_' in source), key
