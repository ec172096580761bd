"""A figure's panels stacked for a phone (book/_ext/build_kernel/panels.py): boxes that hold what
each panel draws, in reading order, and a stacked SVG drawn from the same figure.

The built site's use of them (a phone is shown the stacked file) is in test_browser.
"""
from __future__ import annotations

import sys
import xml.etree.ElementTree as ET

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from IPython.core.pylabtools import print_figure  # noqa: E402

from conftest import ROOT  # noqa: E402
from lib import plots  # noqa: E402
from lib.plots.derivation import plot_layout_groups  # noqa: E402

sys.path.insert(0, str(ROOT / "book" / "_ext"))
from build_kernel import panels  # noqa: E402
import quiet_kernels  # noqa: E402


def _svg(fig) -> str:
    return print_figure(fig, "svg", bbox_inches="tight")      # as IPython's inline backend saves it


def _normalization():
    x = np.random.default_rng(0).normal(loc=[4.0, -3.0], scale=[3.0, 0.4], size=(200, 2))
    return plots.plot_normalization(x, gamma=[0.5, 2.0], beta=[1.0, -1.0])


def _viewbox(svg: str) -> tuple[float, float]:
    box = [float(v) for v in ET.fromstring(svg).get("viewBox").split()]
    return box[2], box[3]


def _texts_in_svg_units(fig, ax):
    """Every visible text ``ax`` draws, as (x0, y0, x1, y1) in the coordinates of the figure's SVG."""
    renderer = fig.canvas.get_renderer()
    page = fig.get_tightbbox(renderer).padded(0.1)
    to_inches = fig.dpi_scale_trans.inverted()
    (left, right), (bottom, top) = sorted(ax.get_xlim()), sorted(ax.get_ylim())
    texts = [ax.title, ax.xaxis.label, ax.yaxis.label,                  # tick labels that are drawn
             *[t for t in ax.get_xticklabels() if left <= t.get_position()[0] <= right],
             *[t for t in ax.get_yticklabels() if bottom <= t.get_position()[1] <= top]]
    legend = ax.get_legend()
    if legend:
        texts += legend.get_texts()
    for t in texts:
        if t.get_visible() and t.get_text():
            b = t.get_window_extent(renderer).transformed(to_inches)
            yield ((b.x0 - page.x0) * 72, (page.y1 - b.y1) * 72, (b.x1 - page.x0) * 72, (page.y1 - b.y0) * 72)


@pytest.mark.parametrize("make, count", [(_normalization, 3), (plot_layout_groups, 4)])
def test_each_box_holds_everything_its_panel_draws(make, count):
    fig = make()
    boxes = panels.panel_boxes(fig)
    assert len(boxes) == count
    width, height = _viewbox(_svg(fig))
    for (x, y, w, h), ax in zip(boxes, fig.axes):
        assert 0 <= x and x + w <= width + 0.01 and 0 <= y and y + h <= height + 0.01
        for x0, y0, x1, y1 in _texts_in_svg_units(fig, ax):
            assert x - 0.5 <= x0 and x1 <= x + w + 0.5 and y - 0.5 <= y0 and y1 <= y + h + 0.5, \
                f"a label of panel {ax.get_title()!r} falls outside its box"
    plt.close(fig)


def test_a_colour_bar_stays_with_its_panel():
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.5))
    fig.colorbar(left.imshow(np.eye(4)), ax=left)
    right.plot([0, 1])
    boxes = panels.panel_boxes(fig)
    assert len(boxes) == 2
    renderer = fig.canvas.get_renderer()
    page = fig.get_tightbbox(renderer).padded(0.1)
    bar = fig.axes[-1].get_tightbbox(renderer).transformed(fig.dpi_scale_trans.inverted())
    x, _, w, _ = boxes[0]
    assert x <= (bar.x0 - page.x0) * 72 and (bar.x1 - page.x0) * 72 <= x + w + 0.01
    plt.close(fig)


def test_panels_come_in_reading_order_and_never_overlap():
    fig = plot_layout_groups()               # 2 x 2: top left, top right, bottom left, bottom right
    boxes = panels.panel_boxes(fig)
    (x1, y1, *_), (x2, y2, *_), (x3, y3, *_), (x4, y4, *_) = boxes
    assert x1 < x2 and x3 < x4 and y1 < y3 and y2 < y4
    assert [ax.get_title() for ax in fig.axes] == [ax.get_title() for ax in fig.axes]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert not panels._overlap((a[0], a[1], a[0] + a[2], a[1] + a[3]),
                                       (b[0], b[1], b[0] + b[2], b[1] + b[3]))
    plt.close(fig)


@pytest.mark.parametrize("layout", ["one panel", "one column", "twin axes", "colour bar"])
def test_a_figure_that_already_fits_a_phone_is_left_alone(layout):
    if layout == "one panel":
        fig, ax = plt.subplots()
    elif layout == "one column":
        fig, _ = plt.subplots(2, 1)
    elif layout == "twin axes":
        fig, ax = plt.subplots()
        ax.twinx().set_ylabel("right")
    else:                                     # chapter 2's Jacobian: an image and its colour bar
        fig, ax = plt.subplots()
        fig.colorbar(ax.imshow(np.eye(4)))
    svg = _svg(fig)
    assert panels.panel_boxes(fig) == []
    assert panels.mark_panels(svg, fig) == svg
    assert panels.stacked_svg(svg) is None
    plt.close(fig)


def test_the_stacked_svg_shows_each_panel_once_from_one_copy_of_the_drawing():
    fig = _normalization()
    marked = panels.mark_panels(_svg(fig), fig)
    boxes = panels.boxes_of(marked)
    assert len(boxes) == 3
    text, width, height = panels.stacked_svg(marked)
    root = ET.fromstring(text)                        # well-formed XML
    ns = {"svg": "http://www.w3.org/2000/svg"}
    assert panels.ATTRIBUTE not in root.attrib
    assert _viewbox(text) == (width, height)
    assert width == max(b[2] for b in boxes)
    assert height == pytest.approx(sum(b[3] for b in boxes) + 2 * panels.GAP)
    views = root.findall("svg:svg", ns)
    assert [v.get("viewBox") for v in views] == [" ".join(f"{c:g}" for c in b) for b in boxes]
    assert text.count('id="bn-figure"') == 1 and text.count("#bn-figure") == 3
    assert len(text) < 1.02 * len(marked)
    plt.close(fig)


def test_marking_only_adds_the_boxes_to_the_svg():
    fig = _normalization()
    svg = _svg(fig)
    marked = panels.mark_panels(svg, fig)
    assert marked.replace(f' {panels.ATTRIBUTE}="' + ";".join(",".join(f"{v:g}" for v in b)
                                                          for b in panels.boxes_of(marked)) + '"', "") == svg
    plt.close(fig)


def test_the_site_builds_kernels_mark_the_figures_they_show(tmp_path, monkeypatch):
    """A kernel started with the build's IPython profile (book/_ext/quiet_kernels.py)."""
    import nbformat
    from nbclient import NotebookClient

    profile = tmp_path / "ipython" / "profile_default"
    profile.mkdir(parents=True)
    (profile / "ipython_kernel_config.py").write_text(quiet_kernels.config())
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    cells = ["import matplotlib.pyplot as plt\nfig, ax = plt.subplots(1, 2)",
             "fig, ax = plt.subplots(2, 1)",
             "sorted(name for name in globals() if not name.startswith('_'))",
             "import sys\nsorted(p for p in sys.path if '_ext' in p), 'lib' in sys.modules"]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    NotebookClient(nb, kernel_name="python3", timeout=120).execute()
    side_by_side, one_column, names, path = (cell.outputs for cell in nb.cells)
    assert panels.ATTRIBUTE in side_by_side[0]["data"]["image/svg+xml"]
    assert "image/png" in side_by_side[0]["data"]                  # the PDF's version
    assert panels.ATTRIBUTE not in one_column[0]["data"]["image/svg+xml"]
    assert "lib" not in names[0]["data"]["text/plain"]              # the profile leaves no names behind
    assert path[0]["data"]["text/plain"] == "([], False)", "nor book/_ext on the path, nor lib loaded"


def test_a_chapter_runs_again_when_the_code_its_kernel_loads_changes(tmp_path, monkeypatch):
    """The build's kernels load build_kernel before any cell: a cached chapter that never
    imports it is still executed again when it changes (book/_ext/lib_digest.py)."""
    import shutil

    import lib_digest

    shutil.copytree(ROOT / "lib", tmp_path / "lib", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(quiet_kernels.KERNEL, tmp_path / "build_kernel", ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(quiet_kernels, "KERNEL", tmp_path / "build_kernel")
    chapter = tmp_path / "chapter.md"
    chapter.write_text("```{code-cell} ipython3\nfrom lib import batchnorm\n```\n")
    before = lib_digest.digest(chapter, tmp_path / "lib")
    assert lib_digest.digest(chapter, tmp_path / "lib") == before
    panels_file = tmp_path / "build_kernel" / "panels.py"
    panels_file.write_text(panels_file.read_text().replace("GAP = 8.0", "GAP = 9.0"))
    assert lib_digest.digest(chapter, tmp_path / "lib") != before
