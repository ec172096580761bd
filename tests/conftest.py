"""Shared fixtures: paths, the book's pages, chromium, and one strict build of the whole book per session."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import jupytext
import pytest
import yaml

from book_build import BuiltBook, RESULT, SITE_ENV, build_book, finished_build  # noqa: F401 (re-exported)

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


def proved_steps(module) -> list:
    """The Steps ``module.all_steps()`` makes, as the book's audit proved them: read from the
    results folder (lib.store), so each step of the book is proved once a run
    (test_steps_audit.py asserts that they hold; a chapter's tests read their names and sizes)."""
    from lib.steps import audit
    return [step for _, step, _ in audit.audited() if step.function.rsplit(".", 1)[0] == module.__name__]


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


@pytest.fixture(scope="session")
def built_book(tmp_path_factory) -> BuiltBook:
    """The whole book, built once per test run from a clean copy (no cache).

    ``make test`` builds it while the fast tests run and names the folder in
    ``$BNBOOK_TEST_SITE``; without that, the first slow test that needs it builds it here.
    """
    ready = os.environ.get(SITE_ENV)
    if ready:
        built = finished_build(Path(ready))
        if built is None:
            pytest.fail(f"${SITE_ENV}={ready} holds no finished build (tests/book_build.py writes {RESULT})")
        return built
    return build_book(tmp_path_factory.mktemp("site") / "book")


DIST_ENV = "BNBOOK_TEST_DIST"
"""Set by ``make test``: the folder where the assignments were generated, after the fast tests."""


@pytest.fixture(scope="session")
def dist(tmp_path_factory) -> Path:
    """Every assignment generated once a run (student folders and autograder zips), read-only.

    ``make test`` generates them after the fast tests, while the build finishes, and names the
    folder in ``$BNBOOK_TEST_DIST`` (``.complete`` marks a generation that succeeded; its
    output is in ``<folder>.log``); without that, the first test that needs them generates
    them here, once per session.
    """
    ready = os.environ.get(DIST_ENV)
    if ready:
        folder = Path(ready)
        if not (folder / ".complete").is_file():
            log = Path(f"{folder}.log")
            pytest.fail(f"${DIST_ENV}={ready}: generating the assignments failed:\n"
                        + (log.read_text()[-3000:] if log.is_file() else "(no log)"))
        return folder
    out = tmp_path_factory.mktemp("assignments") / "dist"
    proc = subprocess.run([sys.executable, str(ROOT / "assignments" / "tools" / "generate.py"),
                           "--out", str(out)], capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out
