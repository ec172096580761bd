"""Every chapter runs top to bottom as a notebook, from its own folder, as a Binder reader would run it.

One test per notebook page listed in book/_toc.yml, so a chapter added to the table is tested
without touching this file.
"""
from __future__ import annotations


import jupytext
import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from conftest import BOOK, notebook_pages, source_of


def test_toc_lists_notebook_chapters():
    # The parametrization below is empty if the toc cannot be read: that would test nothing.
    assert any(p.startswith("chapters/") for p in notebook_pages())


@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.parametrize("page", notebook_pages())
def test_chapter_executes_top_to_bottom(page):
    path = source_of(page)
    notebook = jupytext.read(path)
    assert any(cell.cell_type == "code" for cell in notebook.cells), f"{path.name} has no code cell"
    client = NotebookClient(notebook, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    try:
        client.execute()
    except CellExecutionError as exc:
        pytest.fail(f"{path.relative_to(BOOK)} fails when run top to bottom from {path.parent}:\n{exc}")
    nbformat.validate(notebook)
    not_run = [i for i, cell in enumerate(notebook.cells)
               if cell.cell_type == "code" and cell.get("execution_count") is None]
    assert not not_run, f"cells {not_run} of {path.name} did not run"
