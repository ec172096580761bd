"""The widgets and the self-check questions of the built site, used as a reader uses them.

In headless Chromium (fixtures of test_browser.py): every position of every control of every
widget changes the frame, its value text and its spoken description; the Back button brings
the frame back with the controls; a keyboard alone reaches and works every control and every
question; each question answered right and wrong says so, naming the mistake; dark mode and
reduced motion are honoured.
"""
from __future__ import annotations

import re

import pytest

from conftest import toc_files
from lib import quizzes
from test_browser import PAGES, base_url, site, visit  # noqa: F401  (fixtures; browser is conftest's)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]
WIDGET_PAGES = ["chapters/01_layer.html", "chapters/02_basics.html", "chapters/03_rowwise.html",
                "chapters/06_simplification.html", "chapters/08_gradient.html", "chapters/09_residual.html",
                "chapters/10_training.html"]
QUIZ_PAGES = {n: f"{page}.html" for n, page in enumerate(
    [p for p in toc_files() if p.startswith("chapters/")], start=1)}

STATE = """root => {
  const ctls = [...root.querySelectorAll('.bn-slider,.bn-choice')];
  const frame = [...root.querySelectorAll('img.bn-frame')].filter(i => !i.hidden);
  return {key: ctls.map(c => c.value).join('-'), shown: frame.map(i => i.dataset.key),
          alt: frame.length ? frame[0].alt : null,
          status: root.querySelector('.bn-status').textContent,
          texts: ctls.map(c => c.type === 'range' ? c.getAttribute('aria-valuetext') : c.selectedOptions[0].text),
          nows: ctls.map(c => c.type === 'range'
                 ? Number(c.getAttribute('aria-valuenow')) === JSON.parse(c.dataset.values)[Number(c.value)] : true),
          outputs: ctls.map(c => { const o = root.querySelector('output[data-control="' + c.dataset.control + '"]');
                                   return o ? o.textContent : null; }),
          labels: ctls.map(c => JSON.parse(c.dataset.labels))};
}"""


def test_five_pages_have_sliders(site):  # noqa: F811
    pages = [p for p in PAGES if "bn-static-widget" in (site / p).read_text(encoding="utf-8")]
    assert len(pages) >= 5 and set(WIDGET_PAGES) <= set(pages), pages


def _check(state, where):
    assert state["shown"] == [state["key"]], f"{where}: the frame shown is not the controls' setting"
    for k, labels in enumerate(state["labels"]):
        index = int(state["key"].split("-")[k])
        assert state["texts"][k] == labels[index], f"{where}: control {k} says {state['texts'][k]}"
        assert state["outputs"][k] in (None, labels[index]), f"{where}: the value beside control {k} is stale"
        assert state["nows"][k], f"{where}: control {k}'s aria-valuenow is not its value"


def test_every_position_of_every_control_changes_the_frame_and_what_is_read(visit):  # noqa: F811
    for path in WIDGET_PAGES:
        v = visit(path)
        v.open()
        roots = v.page.locator(".bn-static-widget")
        for w in range(roots.count()):
            root = roots.nth(w)
            name = root.get_attribute("data-widget")
            controls = root.locator(".bn-slider, .bn-choice")
            for c in range(controls.count()):
                control = controls.nth(c)
                control.scroll_into_view_if_needed()
                positions = len(root.evaluate(STATE)["labels"][c])
                alts = set()
                if control.get_attribute("type") == "range":
                    control.focus()
                    control.press("Home")
                    steps = ["ArrowRight"] * (positions - 1)
                else:
                    steps = list(range(positions))
                for step in [None] + steps:
                    if isinstance(step, str):
                        control.press(step)
                    elif step is not None:
                        control.select_option(index=step)
                    state = root.evaluate(STATE)
                    _check(state, f"{name} on {path}, control {c}")
                    if step is not None:
                        assert state["status"] == state["alt"], f"{name}: the move is not announced"
                    alts.add(state["alt"])
                assert len(alts) == positions, f"{name} on {path}: some positions of control {c} share a frame"
        assert not v.problems and not v.foreign, (v.problems, v.foreign)


def test_the_accessibility_tree_gives_a_sliders_value_not_its_position(visit):  # noqa: F811
    v = visit("chapters/08_gradient.html")
    v.open()
    slider = v.page.locator('.bn-static-widget[data-widget="batch-size"] .bn-slider')
    cdp = v.context.new_cdp_session(v.page)

    def value():
        nodes = cdp.send("Accessibility.getFullAXTree")["nodes"]
        # the depth widget, further down, has a slider of the same name: this one comes first
        node = [n for n in nodes if n.get("role", {}).get("value") == "slider"
                and n.get("name", {}).get("value") == "batch size N"][0]
        return node["value"]["value"]
    assert value() == 8                     # position 5 of the grid 1, 2, 3, 4, 6, 8, ...
    slider.focus()
    slider.press("End")
    assert value() == 256


def test_the_back_button_brings_back_the_frame_with_the_controls(visit):  # noqa: F811
    v = visit("chapters/08_gradient.html")
    v.open()
    root = v.page.locator('.bn-static-widget[data-widget="depth"]')
    initial = root.evaluate(STATE)
    slider = root.locator(".bn-slider").first
    slider.scroll_into_view_if_needed()
    slider.focus()
    slider.press("Home")
    select = root.locator(".bn-choice").first
    select.select_option(index=1)
    moved = root.evaluate(STATE)
    v.page.goto(v.base_url + "chapters/10_training.html")
    v.page.go_back()
    v.page.wait_for_timeout(500)
    back = v.page.locator('.bn-static-widget[data-widget="depth"]').evaluate(STATE)
    _check(back, "after Back")
    assert moved["key"] != initial["key"]
    assert back["key"] in (moved["key"], initial["key"]), back      # restored, or the defaults throughout


def test_a_keyboard_alone_reaches_every_control_and_question(visit):  # noqa: F811
    for path in ("chapters/01_layer.html", "chapters/08_gradient.html"):
        v = visit(path)
        v.open()
        wanted = v.page.evaluate("""() => [...document.querySelectorAll(
            '.bn-slider, .bn-choice, .Quiz .Input-text, .Quiz .MCButton input')].length""")
        reached, seen = set(), set()
        for _ in range(3000):                       # round the page once
            v.page.keyboard.press("Tab")
            here = v.page.evaluate("""() => { const e = document.activeElement;
                if (!e.dataset.kb) { e.dataset.kb = String(document.querySelectorAll('[data-kb]').length); }
                return {id: e.dataset.kb, control: e.matches(
                    '.bn-slider, .bn-choice, .Quiz .Input-text, .Quiz .MCButton input')
                    ? (e.closest('.bn-static-widget, .Quiz').id || e.closest('.bn-static-widget').dataset.widget)
                      + '|' + (e.dataset.control || e.name || e.id) : null}; }""")
            if here["id"] in seen:
                break
            seen.add(here["id"])
            if here["control"]:
                reached.add(here["control"])
        groups = v.page.evaluate("""() => new Set([...document.querySelectorAll('.Quiz .MCButton input')]
            .map(e => e.name)).size""")
        radios = v.page.locator(".Quiz .MCButton input").count()
        assert len(reached) >= wanted - radios + groups, f"{path}: Tab reached {len(reached)} controls"
        # and works them: an arrow key moves a slider, Space answers a question
        slider = v.page.locator(".bn-slider").first
        slider.focus()
        before = slider.evaluate("s => s.closest('.bn-static-widget').querySelector('img:not([hidden])').dataset.key")
        slider.press("End")
        after = slider.evaluate("s => s.closest('.bn-static-widget').querySelector('img:not([hidden])').dataset.key")
        assert before != after
        radio = v.page.locator(".Quiz .MCButton input").first
        radio.focus()
        v.page.keyboard.press("Space")
        feedback = radio.evaluate("r => r.closest('.Quiz').querySelector('.Feedback').textContent")
        assert feedback.strip(), f"{path}: answering with the keyboard gave no feedback"


def _words(text):
    return " ".join(text.split())


@pytest.mark.parametrize("chapter", sorted(quizzes.CHAPTERS))
def test_each_question_answered_right_and_wrong_says_why(visit, chapter):  # noqa: F811
    v = visit(QUIZ_PAGES[chapter])
    v.open()
    wraps = v.page.locator(".Quiz")
    questions = quizzes.chapter(chapter)
    assert wraps.count() == len(questions) >= 2
    for k, q in enumerate(questions):
        wrap = wraps.nth(k)
        wrap.scroll_into_view_if_needed()
        assert _words(q["question"]) in _words(wrap.inner_text())
        feedback = wrap.locator(".Feedback")
        for answer in q["answers"]:
            if q["type"] == "multiple_choice":
                exact = re.compile(rf"^\s*{re.escape(answer['answer'])}\s*$")
                wrap.locator(".MCButton", has_text=exact).first.click()
            elif answer["type"] == "value":
                wrap.locator(".Input-text").fill(f"{answer['value']:g}")
                wrap.locator(".Input-text").press("Enter")
            else:
                wrap.locator(".Input-text").fill("123456789")
                wrap.locator(".Input-text").press("Enter")
            said = _words(feedback.inner_text())
            assert _words(answer["feedback"]) in said, (q["question"], answer, said)
            assert feedback.get_attribute("role") == "status", "feedback is not announced"
            if q["type"] == "numeric":
                label = wrap.locator(".Input-text").get_attribute("aria-label")
                assert label and q["question"][:20] in label
    assert not v.problems and not v.foreign, (v.problems, v.foreign)


def test_dark_mode_frames_are_dark_and_reduced_motion_has_no_transitions(browser, base_url):  # noqa: F811
    import io

    import matplotlib.image as mpimg
    context = browser.new_context(color_scheme="dark", reduced_motion="reduce",
                                  viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.goto(base_url + "chapters/02_basics.html")
    frame = page.locator(".bn-static-widget img.bn-frame:not([hidden])").first
    frame.scroll_into_view_if_needed()
    pixels = mpimg.imread(io.BytesIO(frame.screenshot()), format="png")
    corner = pixels[3, 3][:3]
    assert corner.mean() < 0.35, f"a widget frame is a light slab in the dark theme ({corner})"
    durations = page.evaluate("""() => [...document.querySelectorAll('.Quiz .MCButton, .bn-slider')]
        .map(e => getComputedStyle(e).transitionDuration)""")
    assert durations and all(re.fullmatch(r"0s(, 0s)*", d) for d in durations), durations
    context.close()
