"""The PDF edition (``make pdf``): every chapter and figure, no broken reference, no missing glyph.

One LaTeX build of a copy of the session's built book (its warm execution cache, so no
chapter runs again), read back with poppler's tools. A few pages are rendered to PNG in
test-artifacts/pdf/ for a person to look at.
"""
from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from conftest import BIN, ROOT, source_of, toc_files

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]
PDF_NAME = "backprop-batchnorm.pdf"


@pytest.fixture(scope="session")
def pdf(built_book, tmp_path_factory, worker_id):
    """The PDF edition, built once a run. Under xdist (``make test`` spreads these tests over
    its workers one at a time) the first worker that needs it builds it in the folder the
    workers share, under a lock, and the others wait for it and read it."""
    assert built_book.returncode == 0, built_book.log[-3000:]
    for tool in ("xelatex", "latexmk", "pdftotext", "pdffonts", "pdfimages", "pdftoppm"):
        assert shutil.which(tool), f"{tool} is missing: `make test` installs Debian's TeX and poppler-utils"
    shared = tmp_path_factory.getbasetemp() if worker_id == "master" else tmp_path_factory.getbasetemp().parent
    with open(shared / "pdf.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        result = shared / "pdf.json"
        if not result.exists():
            result.write_text(json.dumps(_build_pdf(built_book, shared / "pdf" / "book")))
        made = json.loads(result.read_text())
    latex = Path(made["latex"])
    assert made["returncode"] == 0 and (latex / PDF_NAME).is_file(), made["log"]
    return latex


def _build_pdf(built_book, book):
    shutil.copytree(built_book.source, book, ignore=shutil.ignore_patterns("html"))
    start = time.perf_counter()
    proc = subprocess.run([str(BIN / "jupyter-book"), "build", str(book), "--builder", "pdflatex",
                           "--warningiserror", "--nitpick", "--keep-going"],
                          capture_output=True, text=True, timeout=1100,
                          env={**os.environ, "LATEXMKOPTS": "-silent"})
    print(f"PDF built in {time.perf_counter() - start:.0f} s")
    return {"returncode": proc.returncode, "latex": str(book / "_build" / "latex"),
            "log": (proc.stdout + proc.stderr)[-4000:]}


def _text(pdf_dir):
    return subprocess.run(["pdftotext", "-layout", str(pdf_dir / PDF_NAME), "-"],
                          capture_output=True, text=True, check=True).stdout


def _title(page):
    for line in source_of(page).read_text(encoding="utf-8").splitlines():
        if line.startswith("# "):
            return line[2:].strip()
    raise AssertionError(f"{page} has no title")


def test_every_chapter_is_in_the_pdf_numbered_as_on_the_site(pdf):
    text = re.sub(r"[ \t]+", " ", _text(pdf))
    chapters = [p for p in toc_files() if p.startswith("chapters/")]
    for number, page in enumerate(chapters, start=1):
        title = _title(page)
        # the table of contents lists "N Title" (the front matter is unnumbered)
        assert re.search(rf"^\s*{number} {re.escape(title)}\b", text, re.M | re.I), f"no chapter {number}: {title}"
    assert "Notation and conventions" in text and not re.search(r"^\s*1 Notation", text, re.M)
    # the self-check questions print as text, with their answers; no output prints an object's repr
    assert "IPython.core.display" not in text and "object>" not in text
    assert "Answers." in text and "What is its variance" in text
    _render_a_few_pages(pdf)


def _render_a_few_pages(pdf):
    """test-artifacts/pdf/page-NNN.png: a few pages at 60 dpi, for a person to look at."""
    out = ROOT / "test-artifacts" / "pdf"
    out.mkdir(parents=True, exist_ok=True)
    pages = int(re.search(r"Pages:\s+(\d+)", subprocess.run(
        ["pdfinfo", str(pdf / PDF_NAME)], capture_output=True, text=True, check=True).stdout)[1])
    assert pages > 60, f"the PDF has {pages} pages"
    for page in (1, 3, pages // 2, pages - 5):
        subprocess.run(["pdftoppm", "-r", "60", "-png", "-f", str(page), "-l", str(page),
                        str(pdf / PDF_NAME), str(out / f"page-{page:03d}")], check=True)


def test_no_unresolved_reference_and_no_missing_glyph(pdf):
    text = _text(pdf)
    assert "??" not in text, "an unresolved reference prints as ??"
    log = (pdf / PDF_NAME.replace(".pdf", ".log")).read_text(errors="replace")
    assert "Missing character" not in log, re.findall(r"Missing character.*", log)[:5]
    assert "There were undefined references" not in log
    fonts = subprocess.run(["pdffonts", str(pdf / PDF_NAME)], capture_output=True, text=True, check=True).stdout
    rows = [line.split() for line in fonts.splitlines()[2:] if line.strip()]
    assert rows and all("yes" == row[-5] for row in rows), f"a font is not embedded:\n{fonts}"


def test_every_figure_and_widget_grid_is_printed(pdf):
    tex = (pdf / PDF_NAME.replace(".pdf", ".tex")).read_text()
    included = re.findall(r"\\sphinxincludegraphics(?:\[[^\]]*\])?\{\{([^}]+)\}", tex)
    images = subprocess.run(["pdfimages", "-list", str(pdf / PDF_NAME)],
                            capture_output=True, text=True, check=True).stdout.splitlines()[2:]
    assert len(included) >= 10 and len(images) >= len(set(included)), (len(included), len(images))
    # each slider widget is a grid of frames, printed after the cell that makes it
    for call in ("scale\\PYGZus{}widget", "batch\\PYGZus{}size\\PYGZus{}widget", "depth\\PYGZus{}widget",
                 "learning\\PYGZus{}rate\\PYGZus{}widget"):
        at = tex.index(call)
        assert "sphinxincludegraphics" in tex[at:at + 600], f"{call} has no printed frames"
    assert "How this is checked" not in _text(pdf), "the checking code belongs to the site"
