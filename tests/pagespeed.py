"""How fast and how steady a built page is for a reader on a slow link (make bench; test_browser uses its server).

:class:`CompressingHandler` serves the site as a static host does (GitHub Pages compresses
HTML, CSS, JavaScript and SVG with gzip), :func:`throttle` applies Chromium's network
emulation, and :func:`measure` opens a page and reads what the browser itself recorded:
bytes on the wire (``transferSize``), requests, first contentful paint, DOM ready and the
cumulative layout shift.
"""
from __future__ import annotations

import functools
import gzip
import http.server
import io
import mimetypes
import threading

LINK = {"mbps": 10, "latency_ms": 40}          # the "slow link"
COMPRESSED = ("text/html", "text/css", "text/javascript", "application/javascript",
              "application/json", "image/svg+xml", "text/plain")
FRAMES_DIR = "_images/frames/"                  # static widget frames (book/_ext/static_widgets.py)


class CompressingHandler(http.server.SimpleHTTPRequestHandler):
    """Static files, gzip-compressed for a client that accepts it (as GitHub Pages does)."""

    _gzipped: dict[str, bytes] = {}
    protocol_version = "HTTP/1.1"   # keep-alive, as a real host: a page's requests share connections

    def log_message(self, *args):
        pass

    def handle(self):
        try:
            super().handle()
        except (BrokenPipeError, ConnectionResetError):
            pass    # the browser closed a page (and its requests) before a reply was complete

    def send_head(self):
        path = self.translate_path(self.path)
        ctype = mimetypes.guess_type(path)[0] or ""
        if ("gzip" not in self.headers.get("Accept-Encoding", "") or not ctype.startswith(COMPRESSED)):
            return super().send_head()
        try:
            if path.endswith("/"):
                path += "index.html"
            with open(path, "rb") as f:
                raw = f.read()
        except OSError:
            return super().send_head()
        body = self._gzipped.get(path)
        if body is None:
            body = self._gzipped[path] = gzip.compress(raw, compresslevel=6)
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "max-age=600")   # GitHub Pages: 10 minutes
        self.end_headers()
        return io.BytesIO(body)

    def end_headers(self):
        if not any(h.lower().startswith(b"cache-control") for h in getattr(self, "_headers_buffer", [])):
            self.send_header("Cache-Control", "max-age=600")
        super().end_headers()


class Server(http.server.ThreadingHTTPServer):
    """A threaded server with room for every connection Chromium opens at once (backlog 128,
    http.server's is 5). Keep-alive (``CompressingHandler.protocol_version``) made Chromium's
    throttled loads stall less often than one connection a request did; they still stall
    now and then, which :func:`visit` handles.
    """

    request_queue_size = 128
    daemon_threads = True

    def handle_error(self, request, client_address):
        """A browser that closed a connection mid-reply (it left the page) is not an error."""
        import sys
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


def serve(directory) -> tuple[Server, str]:
    """Serve ``directory`` compressed on 127.0.0.1 (a free port) from a thread; (server, base URL)."""
    server = Server(("127.0.0.1", 0), functools.partial(CompressingHandler, directory=str(directory)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


def throttle(page, mbps=LINK["mbps"], latency_ms=LINK["latency_ms"]):
    """Chromium's network emulation on ``page``: ``mbps`` down (and up), ``latency_ms`` added."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    bytes_per_s = mbps * 1_000_000 / 8
    cdp.send("Network.emulateNetworkConditions",
             {"offline": False, "latency": latency_ms, "downloadThroughput": bytes_per_s,
              "uploadThroughput": bytes_per_s})
    return cdp


# Started before any of the page's scripts (add_init_script): layout shifts as they happen.
OBSERVE = """
window.__cls = 0;
new PerformanceObserver(list => { for (const e of list.getEntries())
  if (!e.hadRecentInput) window.__cls += e.value; }).observe({type: 'layout-shift', buffered: true});
"""

READ = """() => {
  const nav = performance.getEntriesByType('navigation')[0];
  const res = performance.getEntriesByType('resource');
  const fcp = performance.getEntriesByName('first-contentful-paint')[0];
  const frames = res.filter(r => r.name.includes('%s'));
  const sum = list => list.reduce((s, r) => s + (r.transferSize || 0), 0);
  return {bytes: nav.transferSize + sum(res), frame_bytes: sum(frames),
          html_bytes: nav.transferSize, requests: 1 + res.length, frame_requests: frames.length,
          fcp_ms: fcp ? fcp.startTime : null, dom_ready_ms: nav.domContentLoadedEventEnd,
          load_ms: nav.loadEventEnd, cls: window.__cls};
}""" % FRAMES_DIR


def measure(page, url: str, settle_ms: int = 1500, timeout_ms: int = 120_000) -> dict:
    """Open ``url`` in ``page`` (throttle it first) and return what the browser recorded."""
    page.add_init_script(OBSERVE)
    page.goto(url, wait_until="load", timeout=timeout_ms)
    page.wait_for_timeout(settle_ms)        # late shifts (fonts, images) still count
    return page.evaluate(READ)


PHONE = {"width": 390, "height": 844}
STALL_MS = 30_000   # 30 times the slowest page: a load this long is the emulation stalling
ATTEMPTS = 3


def visit(browser, url: str, after: str | None = None, settle_ms: int = 1500) -> dict:
    """One throttled visit of ``url`` on a phone, in a fresh context (after ``after``, if given).

    Chromium's network emulation now and then stalls a load for good, every request pending
    and the server idle (about once in 150 throttled loads here, with any page). Such a visit
    is dropped and made again, up to three attempts; ``stalls`` counts them. Requests to other
    hosts are listed under ``foreign``.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    host = url.split("/")[2]
    for attempt in range(ATTEMPTS):
        context = browser.new_context(viewport=PHONE)
        page = context.new_page()
        foreign = []
        page.on("request", lambda r: r.url.split("/")[2:3] != [host] and not r.url.startswith("data:")
                and foreign.append(r.url))
        throttle(page)
        try:
            if after:
                measure(page, after, settle_ms=300, timeout_ms=STALL_MS)
            result = measure(page, url, settle_ms=settle_ms, timeout_ms=STALL_MS)
        except PlaywrightTimeout:
            if attempt == ATTEMPTS - 1:
                raise
            continue
        finally:
            context.close()
        return {**result, "stalls": attempt, "foreign": foreign}
