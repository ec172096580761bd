"""The ``static`` section of ``make bench``: the site's widgets in headless Chromium.

For every widget of the built site (``book/_build/html``, from ``make book``): the time a
move of a control takes to show its frame (the input handler and the layout it forces,
averaged over every position of every control), and the bytes the widget adds to its page;
and each page's own size. The goal is one display frame (16 ms) per switch.
"""
from __future__ import annotations

import functools
import http.server
import shutil
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SITE = ROOT / "book" / "_build" / "html"
PAGES = ("chapters/01_layer.html", "chapters/02_basics.html", "chapters/03_rowwise.html",
         "chapters/06_simplification.html", "chapters/08_gradient.html", "chapters/10_training.html")

SWITCH = """root => {
  const times = [];
  for (const c of root.querySelectorAll('.bn-slider, .bn-choice')) {
    const n = c.type === 'range' ? Number(c.max) + 1 : c.options.length, start = c.value;
    for (let k = 0; k < n; k++) {
      const t0 = performance.now();
      c.value = String(k);
      c.dispatchEvent(new Event(c.type === 'range' ? 'input' : 'change'));
      root.querySelector('img.bn-frame:not([hidden])').offsetHeight;   // the layout the switch needs
      times.push(performance.now() - t0);
    }
    c.value = start; c.dispatchEvent(new Event('change'));
  }
  times.sort((a, b) => a - b);
  return {median: times[times.length >> 1], max: times[times.length - 1], moves: times.length,
          bytes: root.outerHTML.length, name: root.dataset.widget};
}"""


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def bench_static(quick):
    chromium = shutil.which("chromium")
    if not (SITE / "index.html").is_file() or chromium is None:
        return {"skipped": "needs the built site (make book) and Debian's chromium"}
    from playwright.sync_api import sync_playwright
    sys.path.insert(0, str(ROOT / "tests"))
    from conftest import CHROMIUM_ARGS
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(SITE)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    rows, pages = [], {}
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            page = browser.new_page()
            for path in PAGES[:2] if quick else PAGES:
                page.goto(f"http://127.0.0.1:{server.server_address[1]}/{path}")
                pages[path] = (SITE / path).stat().st_size
                roots = page.locator(".bn-static-widget")
                for k in range(roots.count()):
                    rows.append({"page": path, **roots.nth(k).evaluate(SWITCH)})
            browser.close()
    finally:
        server.shutdown()
    return {"rows": rows, "page_bytes": pages,
            "worst_median_ms": max((r["median"] for r in rows), default=None),
            "worst_max_ms": max((r["max"] for r in rows), default=None)}
