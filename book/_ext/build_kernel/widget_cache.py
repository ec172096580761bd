"""The static widgets' HTML, kept on disk between builds.

Drawing every frame of a widget takes seconds, and a build executes again every chapter whose
lib code changed, so the HTML that :func:`build_kernel.widgets.static_html` writes is kept on
disk under a key of all it depends on: the figure's settings (name, title, size, resolution,
controls and their grids, the frame shown first) and the code that draws it, a digest of lib's
source, of this package's and of the versions of numpy, matplotlib and Pillow. Rebuilding the
book after any change that leaves these alone reads the HTML back at once; a new digest
draws afresh, and the stale entries of that widget go.

Only a figure drawn by lib's code alone is kept: one whose functions (compute, plot,
describe, the controls' formats) are lib's, which the digest covers. A figure made in a
notebook or a test is drawn every time.

``$BNBOOK_WIDGET_CACHE`` names the folder (default ``$XDG_CACHE_HOME/bnbook-widgets``, that is
``~/.cache/bnbook-widgets``); ``off`` turns the cache off.
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
from pathlib import Path

__all__ = ["CACHE_ENV", "cache_dir", "cached", "fingerprint", "cache_path", "write_quietly"]

CACHE_ENV = "BNBOOK_WIDGET_CACHE"
"""Environment variable: folder of the cache, or ``off``."""

_OFF = ("", "0", "off", "no", "false")


def cache_dir():
    """Folder of the cache (None when ``$BNBOOK_WIDGET_CACHE=off``)."""
    setting = os.environ.get(CACHE_ENV)
    if setting is not None and setting.strip().lower() in _OFF:
        return None
    if setting:
        return Path(setting)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "bnbook-widgets"


def write_quietly(path: Path, text: str) -> None:
    """Write ``text`` atomically; a read-only or missing disk only costs the cache."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        pass


@functools.cache
def code_digest() -> str:
    """Digest of lib's source, of this package's, and of the libraries that draw the frames."""
    import lib
    import matplotlib
    import numpy
    import PIL

    h = hashlib.sha256()
    for root in (Path(lib.__file__).resolve().parent, Path(__file__).resolve().parent):
        for f in sorted(root.rglob("*.py")):
            h.update(f"{root.name}/{f.relative_to(root).as_posix()}".encode() + b"\0" + f.read_bytes())
    h.update(f"{numpy.__version__} {matplotlib.__version__} {PIL.__version__}".encode())
    return h.hexdigest()


def _is_lib(function) -> bool:
    module = getattr(function, "__module__", None) or ""
    return module == "builtins" or module.split(".")[0] == "lib"


def fingerprint(fig) -> str:
    """:func:`code_digest` if lib's code alone draws ``fig``, else ``""`` (never cached)."""
    functions = (fig.compute, fig.plot, fig.describe, *(c.fmt for c in fig.controls))
    return code_digest() if all(_is_lib(f) for f in functions) else ""


def cache_path(fig, start: dict, code: str):
    """Where the HTML of ``fig`` showing ``start`` first, drawn by ``code``, is kept (or None)."""
    folder = cache_dir()
    if not code or folder is None:
        return None
    spec = json.dumps([fig.name, fig.title, code, fig.panels, list(fig.figsize), fig.static_dpi,
                       [repr(start[c.key]) for c in fig.controls],
                       [[c.key, c.label, [repr(v) for v in c.values],
                         [repr(v) for v in c.static], [c.text(v) for v in c.static]]
                        for c in fig.controls]])
    digest = hashlib.sha256(spec.encode()).hexdigest()[:16]
    return folder / f"{fig.name}-{code[:12]}-{digest}.html"


def cached(fig, start: dict, draw) -> str:
    """The HTML of ``fig`` showing ``start`` first: read from the cache, or ``draw()`` and kept."""
    code = fingerprint(fig)
    path = cache_path(fig, start, code)
    if path is not None and path.is_file():
        return path.read_text(encoding="utf-8")
    text = draw()
    if path is not None:
        write_quietly(path, text)
        for old in path.parent.glob(f"{fig.name}-*.html"):    # made by older code: never read again
            if not old.name.startswith(f"{fig.name}-{code[:12]}-"):
                old.unlink(missing_ok=True)
    return text
