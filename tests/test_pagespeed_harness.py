"""The page-speed harness itself (tests/pagespeed.py): fast, with a stand-in browser."""
from __future__ import annotations

import pytest

pytest.importorskip("playwright")
from playwright.sync_api import TimeoutError as PlaywrightTimeout  # noqa: E402

import pagespeed  # noqa: E402


class _Page:
    def __init__(self, log, stall):
        self.log, self.stall = log, stall
        self.context = self

    def on(self, *args):
        pass

    def new_cdp_session(self, page):
        return self

    def send(self, *args):
        pass

    def add_init_script(self, script):
        pass

    def goto(self, url, **kw):
        self.log.append(url)
        if self.stall:
            raise PlaywrightTimeout("stalled")

    def wait_for_timeout(self, ms):
        pass

    def evaluate(self, script):
        return {"bytes": 1, "frame_bytes": 0, "dom_ready_ms": 5.0, "cls": 0.0}


class _Browser:
    def __init__(self, stalls):
        self.stalls, self.log, self.closed = stalls, [], 0

    def new_context(self, **kw):
        browser = self

        class Context:
            def new_page(self):
                stall = browser.stalls > 0
                browser.stalls -= 1
                return _Page(browser.log, stall)

            def close(self):
                browser.closed += 1
        return Context()


def test_a_stalled_visit_is_made_again_and_counted():
    browser = _Browser(stalls=1)
    out = pagespeed.visit(browser, "http://127.0.0.1:1/a.html")
    assert out["stalls"] == 1 and out["dom_ready_ms"] == 5.0 and out["foreign"] == []
    assert browser.log == ["http://127.0.0.1:1/a.html"] * 2 and browser.closed == 2


def test_a_page_that_always_stalls_fails():
    with pytest.raises(PlaywrightTimeout):
        pagespeed.visit(_Browser(stalls=5), "http://127.0.0.1:1/a.html")
