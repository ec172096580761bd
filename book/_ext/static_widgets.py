"""The widgets' static frames: drawn by the build's kernels, served as files by the site.

A slider figure (lib/widgets) shows a live ipywidgets view in a kernel; the static site, which
has no kernel, shows every frame drawn in advance, which the build's kernels write as the
figure's ``text/html`` (``build_kernel/widgets.py``, loaded by the profile of
``quiet_kernels.py``; a reader's kernel never draws them). Each frame is a data URI in that
HTML, so that a cell's output is self-contained. On the site that would make a page carry
every frame of its widgets before it can show anything (1.4 MB on chapter 8). So at the end
of the build each frame becomes a file in ``_images/frames/`` (named by its content): the
frame shown first keeps ``src``, the hidden ones get ``data-src`` (``data-srcset`` for the
stacked version of a frame), which the widget's script fetches when the frame is shown or is
one step away.
"""
from __future__ import annotations

import base64
import hashlib
import os
import re
from pathlib import Path

from rewrites import missing

FRAMES = "_images/frames"

PICTURE = re.compile(r'<picture>(<source [^>]*>)(<img class="bn-frame"[^>]*>)</picture>')
FRAME = re.compile(r'<img class="bn-frame"[^>]*>')
LAZY = ('<img class="bn-frame"', '<img class="bn-frame" loading="lazy"')
DATA_URI = re.compile(r'\b(src|srcset)="data:image/png;base64,([A-Za-z0-9+/=]+)"')


def _to_file(tag: str, hidden: bool, page: Path, outdir: Path) -> str:
    def replace(match):
        data = base64.b64decode(match.group(2))
        name = hashlib.sha256(data).hexdigest()[:20] + ".png"
        target = outdir / FRAMES / name
        if not target.is_file():
            target.write_bytes(data)
        url = os.path.relpath(target, page.parent).replace(os.sep, "/")
        return f'{"data-" if hidden else ""}{match.group(1)}="{url}"'
    tag = DATA_URI.sub(replace, tag)
    if not hidden and tag.startswith(LAZY[0]) and "loading=" not in tag:
        tag = tag.replace(*LAZY, 1)     # the frame on show loads when the reader nears the widget
    return tag


def extract_frames(page: Path, outdir: Path) -> bool:
    text = page.read_text(encoding="utf-8")
    if "bn-static-widget" not in text:
        return False

    def picture(match):
        hidden = '" hidden' in match.group(2)
        return (f"<picture>{_to_file(match.group(1), hidden, page, outdir)}"
                f"{_to_file(match.group(2), hidden, page, outdir)}</picture>")

    fixed, pictures = PICTURE.subn(picture, text)
    fixed, frames = FRAME.subn(lambda m: _to_file(m.group(0), '" hidden' in m.group(0), page, outdir), fixed)
    if not pictures + frames:   # build_kernel/widgets.py writes frames this no longer recognises
        raise missing("static_widgets", '<img class="bn-frame"> of a static widget', page.name)
    if "data:image/png;base64," in fixed:
        raise missing("static_widgets", "a frame's data URI in a form it can move to a file", page.name)
    if fixed != text:
        page.write_text(fixed, encoding="utf-8")
    return True


def frames_to_files(app, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    outdir = Path(app.outdir)
    (outdir / FRAMES).mkdir(parents=True, exist_ok=True)
    for page in outdir.rglob("*.html"):
        extract_frames(page, outdir)


def setup(app):
    app.connect("build-finished", frames_to_files)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
