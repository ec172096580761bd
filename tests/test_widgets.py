"""The slider figures: lib's live view (ipywidgets) and printed frames, and the static HTML the
build's kernels add (book/_ext/build_kernel/widgets.py)."""
from __future__ import annotations

import base64
import io
import math
import re
import sys
from html.parser import HTMLParser
from types import SimpleNamespace

import numpy as np
import pytest
from IPython.core.formatters import DisplayFormatter
from PIL import Image

from conftest import ROOT
from lib import widgets
from lib.widgets.printed import representative

sys.path.insert(0, str(ROOT / "book" / "_ext"))
import quiet_kernels  # noqa: E402
from build_kernel import widget_cache  # noqa: E402
from build_kernel.panels import NARROW  # noqa: E402
from build_kernel.widgets import PIXEL_DENSITY, register, static_html  # noqa: E402
from lib.widgets.residual import residual_widget  # noqa: E402

FACTORIES = {"batch-size": widgets.batch_size_widget,
             "scale": widgets.scale_widget,
             "depth": widgets.depth_widget,
             "learning-rate": widgets.learning_rate_widget,
             "layer-batch": widgets.batch_widget,
             "jacobian": widgets.jacobian_widget,
             "paths": widgets.paths_widget,
             "projection": widgets.projection_widget,
             "residual": residual_widget}

CDN_WIDGET_JS = re.compile(r"require(\.min)?\.js|embed-amd|html-manager|@jupyter-widgets|"
                           r"unpkg\.com|cdn\.jsdelivr\.net|cdnjs\.cloudflare\.com")


def _words(text: str) -> str:
    return " ".join(text.split())


class _Tags(HTMLParser):
    """Every start tag as (tag, attrs dict), in document order."""

    def __init__(self, text):
        super().__init__()
        self.tags = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def find(self, tag, **attrs):
        return [a for t, a in self.tags if t == tag
                and all(a.get(k.replace("_", "-")) == v for k, v in attrs.items())]


def _figure_texts(fig) -> str:
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    return _words(" ".join(texts))


def _has_content(fig) -> bool:
    """Some panel shows data or a sentence: not an empty plot."""
    for ax in fig.axes:
        if any(np.size(line.get_xdata()) > 0 for line in ax.lines if line.get_visible()):
            return True
        if any(len(c.get_offsets()) or len(c.get_paths()) for c in ax.collections):
            return True
        if any(t.get_text().strip() for t in ax.texts):
            return True
        if any(np.size(image.get_array()) > 1 for image in ax.images):
            return True
    return False


@pytest.fixture(scope="module")
def static():
    """Each widget with its static HTML, as the site's build kernels give it: from the disk
    cache under its fingerprint when the build drew it first (``make test`` builds the book
    while these tests run), else drawn here and kept for the build. The fingerprint covers
    every input of the drawing (test_static_html_is_cached_on_disk_under_its_fingerprint)."""
    return {name: (w, static_html(w)) for name, w in ((n, make()) for n, make in FACTORIES.items())}


def _toy(**kw):
    """A small slider figure on a toy function: the generic mechanism alone."""
    def compute(N, kind):
        if N < 3:
            return {"explanation": f"N = {N} is too small."}
        return {"x": np.arange(N), "y": np.arange(N) ** (2 if kind == "square" else 1)}

    def plot(data, ax):
        if "explanation" in data:
            ax.text(0.5, 0.5, data["explanation"])
        else:
            ax.plot(data["x"], data["y"])

    return widgets.SliderFigure(
        name="toy", title="Toy", compute=compute, plot=plot,
        describe=lambda data, values: data.get("explanation", "a curve"),
        controls=[widgets.Control("N", "N", (1, 2, 4, 8, 16), default=4, static_values=(1, 8, 16)),
                  widgets.Control("kind", "kind", ("line", "square"), default="square")],
        figsize=(2, 1.5), static_dpi=40, **kw)


def test_toy_static_html_starts_at_the_static_value_nearest_the_default():
    html = static_html(_toy())
    tags = _Tags(html)
    (slider,) = tags.find("input", type="range", data_control="N")
    assert slider["value"] == "1" and slider["aria-valuetext"] == "8"
    (select,) = tags.find("select", data_control="kind")
    frames = tags.find("img", **{"class": "bn-frame"})
    assert [f["data-key"] for f in frames] == ["0-0", "0-1", "1-0", "1-1", "2-0", "2-1"]
    assert [f["data-key"] for f in frames if "hidden" not in f] == ["1-1"]
    assert frames[0]["alt"] == "Toy at N = 1, kind = line: N = 1 is too small."


def test_static_html_is_cached_on_disk_under_its_fingerprint(tmp_path, monkeypatch):
    import build_kernel.widgets

    monkeypatch.setenv(widget_cache.CACHE_ENV, str(tmp_path))
    monkeypatch.setattr(widget_cache, "fingerprint", lambda fig: "v1")
    first = static_html(_toy())
    assert len(list(tmp_path.glob("toy-*.html"))) == 1
    with monkeypatch.context() as m:
        m.setattr(build_kernel.widgets, "render", lambda *a: pytest.fail("drew the frames again"))
        assert static_html(_toy()) == first
    monkeypatch.setattr(widget_cache, "fingerprint", lambda fig: "v2")
    static_html(_toy())                          # new code: a new entry, the stale one goes
    assert [p.name.split("-")[1] for p in tmp_path.glob("toy-*.html")] == ["v2"]
    monkeypatch.setenv(widget_cache.CACHE_ENV, "off")
    assert widget_cache.cache_path(_toy(), {"N": 8, "kind": "square"}, "v1") is None


def test_only_a_figure_drawn_by_lib_alone_is_cached():
    """The cache's key covers lib's code: a figure drawn by a test's (or a notebook's) is not kept."""
    assert widget_cache.fingerprint(_toy()) == ""
    assert re.fullmatch("[0-9a-f]{64}", widget_cache.fingerprint(widgets.scale_widget()))


# -- the live figure ----------------------------------------------------------

@pytest.mark.parametrize("name", ["batch-size", "scale", "learning-rate", "layer-batch", "jacobian",
                                  "paths", "projection"])
def test_every_live_grid_point_draws_a_non_empty_figure(name):
    w = FACTORIES[name]()
    for values in w.grid():
        fig = w.figure(**values)
        assert _has_content(fig), f"{name} at {values} draws an empty figure"


@pytest.mark.parametrize("values", [{"depth": 1, "architecture": "plain+bn"},
                                    {"depth": 2, "architecture": "skipinit"},
                                    {"depth": 100, "architecture": "residual"}])
def test_the_residual_widgets_edge_settings_draw_and_say_what_they_show(values):
    w = residual_widget()
    assert _has_content(w.figure(**values))
    if values["architecture"] == "skipinit":          # alpha = 0: no weight gradient to plot
        assert "no gradient" in w.alt(**values) and "zero" in _figure_texts(w.figure(**values))


def test_every_live_depth_grid_point_draws_a_non_empty_figure():
    w = widgets.depth_widget()
    for values in w.grid():
        assert _has_content(w.figure(**values)), f"depth at {values} draws an empty figure"


@pytest.mark.parametrize("name, values", [
    ("batch-size", {"N": 1}), ("batch-size", {"N": 2}),
    ("scale", {"a": 0.0, "eps": 0.0}), ("scale", {"a": 0.0, "eps": 1e-5}),
    ("depth", {"batch_size": 1}), ("depth", {"batch_size": 2}),
    ("depth", {"depth": 1, "batchnorm": False}),
])
def test_degenerate_settings_show_their_explanation(name, values):
    w = FACTORIES[name]()
    data = w.data(**values)
    assert data["explanation"], f"{name} at {values} should be explained"
    assert _words(data["explanation"]) in _figure_texts(w.figure(**values))
    assert _words(data["explanation"]) in _words(w.alt(**values))


def test_moving_a_live_control_redraws_the_image():
    w = widgets.batch_size_widget()
    w.live                                  # builds the controls and draws N = 8
    slider = w._widgets["N"]
    before = w._image.value
    slider.value = 64
    assert w.values["N"] == 64
    assert w._image.value != before
    assert Image.open(io.BytesIO(w._image.value)).size == (840, 340)
    assert "N = 64" in w._image.tooltip


@pytest.mark.parametrize("name", list(FACTORIES))
def test_the_live_view_updates_for_every_position_of_every_control(name):
    """In a kernel: each control moved through all its values redraws the image and retells it."""
    w = FACTORIES[name]()
    w.live
    for c in w.controls:
        control = w._widgets[c.key]
        previous = control.value
        for value in c.values[::-1] + c.values[1:]:  # from the far end, so every value is a move
            before = w._image.value
            control.value = value
            assert w.values[c.key] == value
            if value != previous:
                assert w._image.value != before, f"{name}: moving {c.key} to {value} did not redraw"
                assert c.text(value) in w._image.tooltip, (name, c.key, value, w._image.tooltip)
            previous = value
        control.value = c.default


def test_update_sets_values_and_returns_the_drawn_figure():
    w = widgets.depth_widget()
    w.live
    fig = w.update(depth=5, batch_size=4, activation="relu", batchnorm=False)
    assert w.values == {"depth": 5, "batch_size": 4, "activation": "relu", "batchnorm": False}
    assert w._widgets["depth"].value == 5 and w._widgets["batchnorm"].value is False
    assert "relu, no BN, batch size 4, depth 5" in fig.axes[0].get_title()


def test_unknown_control_is_a_clear_error():
    with pytest.raises(TypeError, match="no control.*'n'.*controls are \\['N'\\]"):
        widgets.batch_size_widget().update(n=4)


def test_control_default_must_be_on_its_grid():
    with pytest.raises(ValueError, match="default 5 of control 'N'"):
        widgets.Control("N", "N", (1, 2, 3), default=5)
    with pytest.raises(ValueError, match="static values \\[7\\]"):
        widgets.Control("N", "N", (1, 2, 3), default=2, static_values=(2, 7))


@pytest.mark.parametrize("name", list(FACTORIES))
def test_reusing_the_axes_draws_the_same_picture_as_a_fresh_figure(name):
    """The fast path (one Axes emptied and redrawn) must not leak a previous frame's state."""
    reused, fresh = FACTORIES[name](), FACTORIES[name]()
    fresh.reuse_axes = False                # a new Axes for every frame
    points = list(reused.grid(static=True))
    # a path through explained and plain frames, linear/log, BN on/off
    points = points[::{"batch-size": 2, "scale": 2, "depth": 3, "learning-rate": 1}.get(name, 3)]
    for values in points:
        a = np.asarray(Image.open(io.BytesIO(reused.png(40, **values))))
        b = np.asarray(Image.open(io.BytesIO(fresh.png(40, **values))))
        assert a.shape == b.shape
        assert np.mean(a != b) < 1e-3, f"{name} at {values} differs from a fresh drawing"


# -- the display bundle and the static rendering --------------------------------

def _build_kernel_formats(w) -> dict:
    """What a kernel of the site build shows for ``w``: IPython's formatters with build_kernel's."""
    shell = SimpleNamespace(display_formatter=DisplayFormatter())
    register(shell)
    return shell.display_formatter.format(w)[0]


@pytest.mark.parametrize("name", list(FACTORIES))
def test_a_build_kernel_shows_the_live_widget_the_static_html_and_the_printed_frames(name, static):
    w, html = static[name]
    data = _build_kernel_formats(w)
    view = data["application/vnd.jupyter.widget-view+json"]
    assert view["model_id"] == w.live.model_id
    assert data["text/html"] == html
    assert data["text/plain"]
    grid = Image.open(io.BytesIO(data["image/png"]))                    # the PDF edition's frames
    frame = Image.open(io.BytesIO(w.png(150, **w.values)))
    columns = 2 if w.panels == 1 else 1
    assert grid.width == columns * frame.width and grid.height > 4 // columns * frame.height


@pytest.mark.parametrize("name", list(FACTORIES))
def test_print_shows_each_control_at_both_ends(name):
    """The PDF's grid of frames: for one control, four positions including both ends; for
    several, the first two controls each at both ends of their static grids."""
    w = FACTORIES[name]()
    picks = representative(w)
    assert len(picks) == 4 and len({tuple(sorted(p.items())) for p in picks}) == 4
    for c in w.controls[:2]:
        seen = {p[c.key] for p in picks}
        assert {c.static[0], c.static[-1]} <= seen


@pytest.mark.parametrize("name", list(FACTORIES))
def test_a_readers_kernel_never_draws_the_static_frames(name, monkeypatch):
    """IPython's own formatters, as in a plain Jupyter or Colab: the live view, one frame a move."""
    w = FACTORIES[name]()
    drawn = []
    real_png = w.png
    monkeypatch.setattr(w, "png", lambda *a, **k: drawn.append(k) or real_png(*a, **k))
    data, _ = DisplayFormatter().format(w)
    assert set(data) == {"application/vnd.jupyter.widget-view+json", "text/plain"}
    assert len(drawn) == 1                               # the one frame the live view shows
    w._widgets[w.controls[0].key].value = w.controls[0].values[0]
    assert len(drawn) == 2                               # one more per slider move


TOY_CELL = """from lib import widgets
widgets.SliderFigure(name="toy", title="Toy", controls=[widgets.Control("N", "N", (1, 2), default=1)],
                     compute=lambda N: {"N": N}, plot=lambda data, ax: ax.plot([0, data["N"]]),
                     describe=lambda data, values: "a line", figsize=(2, 1.5), static_dpi=40)"""


@pytest.mark.parametrize("build", [True, False], ids=["build kernel", "reader's kernel"])
def test_only_the_build_kernels_profile_adds_the_static_html_and_the_printed_frames(build, tmp_path,
                                                                                  monkeypatch):
    """Real kernels: one started with the build's IPython profile (book/_ext/quiet_kernels.py),
    one without, as a reader's Jupyter starts it."""
    import nbformat
    from nbclient import NotebookClient

    profile = tmp_path / "ipython" / "profile_default"
    profile.mkdir(parents=True)
    if build:
        (profile / "ipython_kernel_config.py").write_text(quiet_kernels.config())
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(TOY_CELL)])
    NotebookClient(nb, kernel_name="python3", timeout=120).execute()
    (output,) = nb.cells[0].outputs
    assert "application/vnd.jupyter.widget-view+json" in output["data"]
    assert ("text/html" in output["data"]) == build
    assert ("image/png" in output["data"]) == build
    if build:
        assert 'data-widget="toy"' in output["data"]["text/html"]


@pytest.mark.parametrize("name", list(FACTORIES))
def test_static_html_has_one_frame_per_grid_point_and_the_controls(name, static):
    w, html = static[name]
    tags = _Tags(html)
    (root,) = tags.find("div", **{"class": "bn-static-widget"})
    assert root["data-widget"] == name and root["aria-label"]
    n_frames = math.prod(len(c.static) for c in w.controls)
    assert root["data-frames"] == str(n_frames)
    frames = tags.find("img", **{"class": "bn-frame"})
    assert len(frames) == n_frames
    keys = {f["data-key"] for f in frames}
    expected = {"-".join(str(c.index(v[c.key], static=True)) for c in w.controls)
                for v in w.grid(static=True)}
    assert keys == expected
    visible = [f for f in frames if "hidden" not in f]
    assert len(visible) == 1, "exactly one frame is shown before any control moves"
    assert visible[0]["data-key"] == "-".join(
        str(c.index(c.default, static=True)) for c in w.controls)
    for c in w.controls:
        if c.numeric:
            (ctl,) = tags.find("input", type="range", data_control=c.key)
            assert ctl["max"] == str(len(c.static) - 1) and ctl["aria-valuetext"]
            assert float(ctl["aria-valuenow"]) == float(c.static[int(ctl["value"])]), "the value, not its position"
            assert float(ctl["aria-valuemin"]) == min(c.static) and float(ctl["aria-valuemax"]) == max(c.static)
            assert tags.find("output", data_control=c.key), "a slider shows its value beside it"
        else:
            (ctl,) = tags.find("select", data_control=c.key)
            assert not tags.find("output", data_control=c.key), "a drop-down's value shown twice"
    (status,) = tags.find("p", **{"class": "bn-status"})
    assert status["role"] == "status" and status["aria-label"]
    assert tags.find("script"), "the frames are switched by an inline script"


@pytest.mark.parametrize("name", list(FACTORIES))
def test_every_static_frame_is_a_png_with_a_describing_alt_text(name, static):
    w, html = static[name]
    width, height = (round(s * w.static_dpi) for s in w.figsize)
    for frame, values in zip(_Tags(html).find("img", **{"class": "bn-frame"}),
                             w.grid(static=True)):
        assert frame["alt"] == w.alt(**values)
        assert all(c.text(values[c.key]) in frame["alt"] for c in w.controls)
        src = frame["src"]
        assert src.startswith("data:image/png;base64,")
        img = Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1])))
        assert (int(frame["width"]), int(frame["height"])) == (width, height), "shown at static_dpi's size"
        assert img.size == (PIXEL_DENSITY * width, PIXEL_DENSITY * height), "drawn at twice that"
        assert len(img.getcolors(256) or range(257)) > 2, "a frame is not blank"


@pytest.mark.parametrize("name", [n for n in FACTORIES if FACTORIES[n]().panels > 1])
def test_a_frame_of_several_panels_stacks_them_on_a_narrow_screen(name, static):
    """Each multi-panel frame has a <source> for narrow screens: the same panels, one under the other."""
    w, html = static[name]
    sources = _Tags(html).find("source")
    frames = _Tags(html).find("img", **{"class": "bn-frame"})
    assert len(sources) == len(frames) > 0
    for source, frame in zip(sources, frames):
        assert source["media"] == NARROW
        wide = Image.open(io.BytesIO(base64.b64decode(frame["src"].split(",", 1)[1])))
        tall = Image.open(io.BytesIO(base64.b64decode(source["srcset"].split(",", 1)[1])))
        assert tall.height == w.panels * wide.height and tall.width < 0.7 * wide.width
        assert (int(source["width"]), int(source["height"])) == (tall.width // PIXEL_DENSITY,
                                                                  tall.height // PIXEL_DENSITY)
        # every panel keeps its drawing: each horizontal band of the stack has ink in it
        grey = np.asarray(tall.convert("L"))
        for k in range(w.panels):
            band = grey[k * wide.height:(k + 1) * wide.height]
            assert (band < 128).mean() > 0.005, f"panel {k + 1} of {name} is empty when stacked"


@pytest.mark.parametrize("name", list(FACTORIES))
def test_static_html_needs_no_network(name, static):
    _, html = static[name]
    assert "http://" not in html and "https://" not in html
    assert not CDN_WIDGET_JS.search(html)


def test_degenerate_static_frames_carry_the_explanation(static):
    w, html = static["batch-size"]
    frames = {f["data-key"]: f for f in _Tags(html).find("img", **{"class": "bn-frame"})}
    for N in (1, 2):
        key = str(w.controls[0].index(N, static=True))
        assert _words(w.data(N=N)["explanation"]) in _words(frames[key]["alt"])


# -- the built site ---------------------------------------------------------------

@pytest.mark.slow
def test_built_chapter_shows_every_static_widget_and_loads_no_widget_js(built_book):
    assert built_book.returncode == 0, built_book.log[-3000:]
    pages = [p for p in built_book.pages() if "bn-static-widget" in p.read_text(encoding="utf-8")]
    assert pages, "no page of the built book shows a widget"
    text = "".join(p.read_text(encoding="utf-8") for p in pages)
    tags = _Tags(text)
    for name, make in FACTORIES.items():
        roots = tags.find("div", **{"class": "bn-static-widget", "data-widget": name})
        assert roots, f"the {name} widget is not in the built site"
        n_frames = math.prod(len(c.static) for c in make().controls)
        assert all(r["data-frames"] == str(n_frames) for r in roots)
    for page in pages:
        html = page.read_text(encoding="utf-8")
        scripts = [a.get("src", "") for t, a in _Tags(html).tags if t == "script"]
        assert not [s for s in scripts if CDN_WIDGET_JS.search(s)], page.name
        assert "application/vnd.jupyter.widget-view+json" not in html, \
            f"{page.name} renders an ipywidgets view that needs a kernel"
        assert page.stat().st_size < 5_000_000, f"{page.name} is over 5 MB"


def test_memoised_widget_data_is_read_only():
    w = widgets.batch_size_widget()
    grads = w.data(N=8)["grads"]
    with pytest.raises(ValueError, match="read-only"):
        grads[:] = 0
    assert np.isfinite(w.data(N=8)["spread"])
