"""The ``pages`` section of ``make bench``: every page of the built site on a slow link.

The built site (``book/_build/html``, from ``make book``) is served compressed and opened in
headless Chromium at 390 x 844 with its network slowed to 10 Mbps and 40 ms
(tests/pagespeed.py). For each page:
bytes on the wire, requests, first contentful paint, DOM ready, layout shift, and the bytes it
adds when opened right after the intro (widget frames aside). Each figure is the median of
three visits.
"""
from __future__ import annotations

import shutil
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SITE = ROOT / "book" / "_build" / "html"
KEYS = ("bytes", "requests", "fcp_ms", "dom_ready_ms", "cls", "frame_bytes")


def bench_pages(quick):
    chromium = shutil.which("chromium")
    if not (SITE / "index.html").is_file() or chromium is None:
        return {"skipped": "needs the built site (make book) and Debian's chromium"}
    from playwright.sync_api import sync_playwright
    sys.path.insert(0, str(ROOT / "tests"))
    from conftest import CHROMIUM_ARGS, toc_files
    from pagespeed import LINK, serve, visit

    server, base = serve(SITE)
    pages = [f"{p}.html" for p in toc_files()][: 3 if quick else None]
    rounds = 1 if quick else 3
    rows = {}

    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            for path in pages:
                first = [visit(browser, base + path) for _ in range(rounds)]
                second = [visit(browser, base + path, after=base + "intro.html") for _ in range(rounds)]
                row = {k: statistics.median([v[k] for v in first if v[k] is not None] or [0]) for k in KEYS}
                row["cls"] = max(v["cls"] for v in first)
                row["stalls"] = sum(v["stalls"] for v in first + second)
                row["next_page_bytes"] = statistics.median(v["bytes"] - v["frame_bytes"] for v in second)
                rows[path] = row
            browser.close()
    finally:
        server.shutdown()
    return {"link": LINK, "rows": rows,
            "worst_dom_ready_ms": max(r["dom_ready_ms"] for r in rows.values()),
            "worst_cls": max(r["cls"] for r in rows.values()),
            "worst_first_visit_bytes": max(r["bytes"] for r in rows.values()),
            "worst_next_page_bytes": max(r["next_page_bytes"] for p, r in rows.items() if p != "intro.html")}
