"""One strict build of the whole book, which every slow test reads.

``make test`` starts it in the background (``python tests/book_build.py DEST``) while the fast tests
run, so that the two cores are both busy; the slow tests then find it finished in ``DEST``
(``$BNBOOK_TEST_SITE``, see ``conftest.built_book``). Run without that variable, the slow tests
build it themselves, once per session. Either way each chapter is executed once per test run:
the notebook, browser, PDF, export and cache tests all read this build and its cache.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
BIN = Path(sys.executable).parent
SITE_ENV = "BNBOOK_TEST_SITE"
RESULT = "build.json"      # beside the copied book/: the build's exit status and output


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


def strict_build(book: Path, extra_args=(), env=None, timeout=1800):
    """``jupyter-book build`` of ``book`` with warnings as errors: (exit status, output)."""
    cmd = [str(BIN / "jupyter-book"), "build", str(book),
           "--warningiserror", "--nitpick", "--keep-going", *extra_args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})})
    return proc.returncode, proc.stdout + proc.stderr


def build_book(dest: Path, extra_args=()) -> BuiltBook:
    """Copy book/ to ``dest`` and build it strictly; the result is also written beside it."""
    shutil.copytree(BOOK, dest, ignore=shutil.ignore_patterns("_build", ".ipynb_checkpoints"))
    code, log = strict_build(dest, extra_args)
    (dest.parent / RESULT).write_text(json.dumps({"returncode": code, "log": log}))
    return BuiltBook(dest, dest / "_build" / "html", code, log)


def finished_build(folder: Path) -> BuiltBook | None:
    """The build ``python tests/book_build.py folder`` left there, if it finished."""
    result = folder / RESULT
    if not result.is_file():
        return None
    data = json.loads(result.read_text())
    book = folder / "book"
    return BuiltBook(book, book / "_build" / "html", data["returncode"], data["log"])


if __name__ == "__main__":
    folder = Path(sys.argv[1]).resolve()
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    built = build_book(folder / "book")
    print(f"book_build.py: strict build of {folder / 'book'} exited {built.returncode}")
