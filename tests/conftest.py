"""Shared fixtures: paths, the book's pages, chromium, and one strict build of the whole book per session."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import jupytext
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
BIN = Path(sys.executable).parent
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]


def chromium_path() -> str:
    """Debian's chromium, which Playwright drives (``playwright install`` is never run)."""
    path = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        pytest.fail("Debian's chromium is missing: `make test` installs it (apt-get install chromium)")
    return path


@pytest.fixture(scope="module")
def browser():
    """Debian's chromium, headless, driven by Playwright (one per test module)."""
    pytest.importorskip("playwright")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def toc_files(book: Path = BOOK) -> list[str]:
    """The pages of ``_toc.yml`` in reading order: paths without suffix, relative to book/."""
    toc = yaml.safe_load((book / "_toc.yml").read_text())
    found = [toc["root"]]

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                found.append(node["file"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk({k: v for k, v in toc.items() if k != "root"})
    return found


def source_of(page: str, book: Path = BOOK) -> Path:
    """The source file of a toc entry (.md or .ipynb)."""
    for suffix in (".md", ".ipynb"):
        if (book / page).with_suffix(suffix).exists():
            return (book / page).with_suffix(suffix)
    raise FileNotFoundError(f"{page} in _toc.yml has no .md or .ipynb file")


def notebook_pages(book: Path = BOOK) -> list[str]:
    """Toc entries that are notebooks (an .ipynb, or MyST Markdown with a jupytext kernelspec)."""
    pages = []
    for page in toc_files(book):
        path = source_of(page, book)
        if path.suffix == ".ipynb" or "kernelspec" in jupytext.read(path).metadata:
            pages.append(page)
    return pages


@dataclass
class BuiltBook:
    """A build of the book in a temporary copy."""

    source: Path        # the copied book/ folder
    html: Path          # its _build/html
    returncode: int
    log: str            # everything jupyter-book printed

    def pages(self):
        """Every HTML page the build wrote, except Sphinx's own (search, genindex)."""
        skip = {"search.html", "genindex.html", "py-modindex.html"}
        return sorted(p for p in self.html.rglob("*.html")
                      if p.name not in skip and "_static" not in p.parts
                      and "_sources" not in p.parts)


def build_book(dest: Path, extra_args=()) -> BuiltBook:
    """Copy book/ to ``dest`` and build it strictly (warnings are errors)."""
    shutil.copytree(BOOK, dest, ignore=shutil.ignore_patterns("_build", ".ipynb_checkpoints"))
    cmd = [str(BIN / "jupyter-book"), "build", str(dest),
           "--warningiserror", "--nitpick", "--keep-going", *extra_args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1800,
                          env={**os.environ, "PYTHONUNBUFFERED": "1"})
    return BuiltBook(dest, dest / "_build" / "html", proc.returncode, proc.stdout + proc.stderr)


@pytest.fixture(scope="session")
def built_book(tmp_path_factory) -> BuiltBook:
    """The whole book, built once per test session from a clean copy (no cache)."""
    return build_book(tmp_path_factory.mktemp("site") / "book")


@pytest.fixture(scope="session")
def dist(tmp_path_factory) -> Path:
    """Every assignment generated once a session (student folders and autograder zips)."""
    out = tmp_path_factory.mktemp("assignments") / "dist"
    proc = subprocess.run([sys.executable, str(ROOT / "assignments" / "tools" / "generate.py"),
                           "--out", str(out)], capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out
