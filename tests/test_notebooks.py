"""Every chapter ran top to bottom as a notebook, from its own folder, in the strict build.

The session's build (``built_book``) executes each chapter once, in the chapter's folder as
a Binder reader runs it (``execute.run_in_temp: false``), and writes the executed notebook
into ``_build/jupyter_execute``. These tests read those notebooks instead of running the
chapters again. One test per notebook page listed in book/_toc.yml, so a chapter added to
the table is tested without touching this file.
"""
from __future__ import annotations

import nbformat
import pytest

from conftest import notebook_pages


def test_toc_lists_notebook_chapters():
    # The parametrization below is empty if the toc cannot be read: that would test nothing.
    assert any(p.startswith("chapters/") for p in notebook_pages())


@pytest.mark.slow
@pytest.mark.parametrize("page", notebook_pages())
def test_chapter_ran_top_to_bottom(built_book, page):
    assert built_book.returncode == 0, built_book.log[-3000:]
    path = built_book.source / "_build" / "jupyter_execute" / f"{page}.ipynb"
    assert path.is_file(), f"the build wrote no executed notebook for {page}"
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert code, f"{page} has no code cell"
    not_run = [i for i, cell in enumerate(code) if cell.get("execution_count") is None]
    assert not not_run, f"code cells {not_run} of {page} did not run"
    counts = [cell.execution_count for cell in code]
    assert counts == sorted(counts), f"{page}: cells ran out of order {counts}"
    errors = [o for c in code for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors, f"{page}: {errors[0].get('ename')}: {errors[0].get('evalue')}"
