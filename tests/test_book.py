"""The book builds strictly: zero warnings, every toc entry a page, and a
failing cell or a broken reference fails the build."""
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import BIN, BOOK, toc_files

pytestmark = pytest.mark.slow


def test_a_clean_build_passes_and_prints_no_warning_lines(built_book):
    """Exit 0, and nothing that looks like a warning: Sphinx's, a kernel's, or anyone's."""
    assert built_book.returncode == 0, built_book.log[-5000:]
    assert "Kernel is running over TCP" not in built_book.log
    warnings = [line for line in built_book.log.splitlines()
                if "WARNING" in line or re.search(r"\b(ERROR|CRITICAL):", line)]
    assert warnings == []


def test_every_toc_entry_produced_a_page(built_book):
    for entry in toc_files():
        page = built_book.html / f"{entry}.html"
        assert page.exists(), f"{entry} is in _toc.yml but {page.name} was not built"
        assert "<h1" in page.read_text(encoding="utf-8"), f"{entry}.html has no title"


def test_every_chapter_file_is_in_the_toc():
    listed = set(toc_files())
    for md in sorted((BOOK / "chapters").glob("*.md")):
        assert f"chapters/{md.stem}" in listed, f"{md.name} exists but is not in _toc.yml"


def _mini_book(tmp_path, chapter_body):
    """A copy of the book whose toc holds only the intro and one test chapter."""
    dest = tmp_path / "book"
    shutil.copytree(BOOK, dest, ignore=shutil.ignore_patterns("_build", "chapters"))
    (dest / "chapters").mkdir()
    header = (BOOK / "chapters" / "01_layer.md").read_text().split("---\n")[1]
    (dest / "chapters" / "probe.md").write_text(f"---\n{header}---\n\n# Probe\n\n{chapter_body}\n")
    (dest / "_toc.yml").write_text("format: jb-book\nroot: intro\nchapters:\n  - file: chapters/probe\n")
    for extra in ("bibliography.md",):
        (dest / extra).unlink(missing_ok=True)
    cmd = [str(BIN / "jupyter-book"), "build", str(dest), "--warningiserror", "--nitpick", "--keep-going"]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600)


def test_a_cell_that_raises_and_a_broken_reference_each_fail_the_build(tmp_path):
    """One small build holding both faults: with --keep-going each is reported, and it fails."""
    proc = _mini_book(tmp_path, "See {ref}`a-label-that-does-not-exist`.\n\n"
                                "```{code-cell} ipython3\nraise RuntimeError('step does not hold')\n```")
    assert proc.returncode != 0
    assert "step does not hold" in proc.stdout + proc.stderr
    assert "a-label-that-does-not-exist" in proc.stdout + proc.stderr


def test_every_checked_equation_is_named_in_its_step_docstring():
    """A {checked} equation and the docstring of the step that checks it name each other."""
    import importlib
    import inspect
    import re

    found = 0
    for md in sorted((BOOK / "chapters").glob("*.md")):
        for dotted, key in re.findall(r"```\{checked\} (lib\.steps\.[\w.]+)\n\s*:key: ([\w-]+)",
                                      md.read_text()):
            module, name = dotted.rsplit(".", 1)
            doc = inspect.getdoc(getattr(importlib.import_module(module), name)) or ""
            assert f"chapter {int(md.name[:2])}, equation {{eq}}`eq-{key}`" in doc, (dotted, key)
            found += 1
    assert found >= 50
