"""lib.plots: every figure is a Figure with something drawn, also at the extremes."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from lib import experiments as E  # noqa: E402
from lib import plots as P  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def drawn(fig):
    """What a reader would see: finite data points in lines/collections, and visible texts."""
    points, texts = 0, []
    for ax in fig.axes:
        for line in ax.get_lines():
            y = np.asarray(line.get_ydata(), dtype=float)
            points += int(np.isfinite(y).sum())
        for coll in ax.collections:
            points += len(coll.get_offsets()) + len(getattr(coll, "get_paths", lambda: [])())
        texts += [t.get_text() for t in ax.texts if t.get_text().strip()]
    return points, texts


def check(fig, *, need_points=True, need_text=None):
    assert isinstance(fig, Figure)
    points, texts = drawn(fig)
    if need_points:
        assert points > 0, "nothing plotted"
    if need_text:
        assert any(need_text in t.replace("\n", " ") for t in texts), texts
    fig.canvas.draw()                      # renders without error
    assert fig.get_facecolor()[:3] == (1.0, 1.0, 1.0)
    return fig


@pytest.mark.parametrize("N", [3, 256, 1024])
def test_batch_noise_plot_draws_cloud_and_curve(N):
    fig = check(P.plot_batch_noise(E.batch_noise(N)))
    cloud, curve = fig.axes
    assert len(cloud.collections[0].get_offsets()) == 200      # one point per batch
    assert any(line.get_label() == f"N = {N}" for line in curve.get_lines())


@pytest.mark.parametrize("N", [1, 2])
def test_batch_noise_plot_shows_the_explanation(N):
    d = E.batch_noise(N)
    check(P.plot_batch_noise(d), need_text=f"N = {N}:")
    _, ax = plt.subplots()
    check(P.plot_batch_noise(d, ax=ax), need_text=f"N = {N}:")   # one panel too


@pytest.mark.parametrize("a", [1e-4, 1.0, 100.0])
def test_scale_plot_marks_the_current_a(a):
    fig = check(P.plot_scale_response(E.scale_response(a)))
    grad_ax = fig.axes[-1]
    marker = [ln for ln in grad_ax.get_lines() if ln.get_label().startswith("a = ")]
    assert marker and marker[0].get_xdata()[0] == pytest.approx(a)


@pytest.mark.parametrize("eps", [1e-5, 0.0])
def test_scale_plot_at_a_zero_explains(eps):
    check(P.plot_scale_response(E.scale_response(0.0, eps=eps)), need_text="a = 0")


def test_scale_plot_into_a_given_axes():
    _, ax = plt.subplots()
    fig = check(P.plot_scale_response(E.scale_response(0.3), ax=ax))
    assert fig is ax.figure and len(fig.axes) == 1


@pytest.mark.parametrize("kw", [dict(depth=100, batch_size=256, activation="relu"),
                                dict(depth=100, batch_size=4),
                                dict(depth=20, batch_size=64, batchnorm=False)])
def test_depth_plot_draws_profile_and_theory(kw):
    fig = check(P.plot_depth_profile(E.depth_profile(**kw)))
    labels = [ln.get_label() for ln in fig.axes[0].get_lines()]
    assert "simulated" in labels and any("per layer" in lab for lab in labels)


@pytest.mark.parametrize("depth,N,word", [(1, 16, "depth 1"), (10, 1, "batch size 1"),
                                           (10, 2, "batch size 2")])
def test_depth_plot_degenerate_settings_explain(depth, N, word):
    check(P.plot_depth_profile(E.depth_profile(depth, N)), need_points=(N != 1), need_text=word)


def test_page_only_figures():
    check(P.plot_projection_energy(E.projection_energy([3, 8], n_samples=200)))
    runs = [E.train_scale_invariant(steps=20, weight_decay=wd) for wd in (0.0, 0.01)]
    check(P.plot_training(runs))
    check(P.plot_depth_rates([E.depth_rates([6, 8], depth=8, width=16, seeds=(0, 1))]))


def test_the_resnet_figure_draws_every_network_and_the_ratios():
    from lib.experiments import training as tx

    fig = P.plot_resnet_sweep(tx.resnet_sweep((0.01, 0.1, 1.0), depth=3, steps=30, every=10, seeds=(0, 1)))
    check(fig)
    labels = fig.axes[0].get_legend_handles_labels()[1]
    assert {"plain, batch norm", "residual, batch norm", "residual, no normalization",
            "SkipInit (α from 0)"} <= set(labels)
    assert len(fig.axes[1].get_lines()) >= 2 * 2          # a line a seed for the two networks with BN


@pytest.mark.parametrize("fn", [P.plot_batch_noise, P.plot_scale_response, P.plot_depth_profile,
                                P.plot_resnet_sweep])
def test_plots_reject_wrong_data(fn):
    with pytest.raises(TypeError, match="data must be the dict"):
        fn([1, 2, 3])
    with pytest.raises(ValueError, match="data is missing"):
        fn({"N": 3})


def _text_boxes(fig):
    """(axes, window extent) of every explanation text: its box if it has one."""
    renderer = fig.canvas.get_renderer()
    out = []
    for ax in fig.axes:
        for t in ax.texts:
            if t.get_text().strip():
                patch = t.get_bbox_patch()
                out.append((ax, (patch or t).get_window_extent(renderer)))
    return out


@pytest.mark.parametrize("make,values", [
    ("batch_size_widget", dict(N=1)), ("batch_size_widget", dict(N=2)),
    ("depth_widget", dict(depth=50, batch_size=2)), ("depth_widget", dict(depth=50, batch_size=3)),
    ("depth_widget", dict(depth=10, batch_size=1)), ("depth_widget", dict(depth=1, batch_size=8)),
    ("depth_widget", dict(depth=3, batch_size=8)),
    ("scale_widget", dict(a=0.0, eps=1e-5)), ("scale_widget", dict(a=0.0, eps=0.0))])
def test_explanations_stay_inside_their_panel_and_off_the_legend(make, values):
    from lib import widgets

    fig = getattr(widgets, make)().figure(**values)       # the widget's own figure size
    fig.canvas.draw()
    boxes = _text_boxes(fig)
    assert boxes, "no explanation drawn"
    renderer = fig.canvas.get_renderer()
    for ax, box in boxes:
        panel = ax.get_window_extent(renderer)
        assert panel.x0 <= box.x0 and box.x1 <= panel.x1, "text runs past the panel's side"
        assert panel.y0 <= box.y0 and box.y1 <= panel.y1, "text runs past the panel's top/bottom"
        if ax.get_legend() is not None:
            assert not box.overlaps(ax.get_legend().get_window_extent(renderer)), \
                "text covers the legend"


@pytest.mark.parametrize("values", [dict(depth=50, batch_size=2), dict(depth=50, batch_size=3)])
def test_explanation_box_leaves_the_data_uncovered(values):
    from lib import widgets

    fig = widgets.depth_widget().figure(**values)
    fig.canvas.draw()
    (ax, box), = _text_boxes(fig)
    line = ax.get_lines()[0]                                # the simulated profile
    xy = ax.transData.transform(np.c_[line.get_xdata(), line.get_ydata()])
    inside = ((box.x0 <= xy[:, 0]) & (xy[:, 0] <= box.x1)
              & (box.y0 <= xy[:, 1]) & (xy[:, 1] <= box.y1))
    assert not np.any(inside), "the explanation hides data points"


def test_the_staged_graph_is_drawn_from_the_checked_table():
    from lib.plots.derivation import plot_graph
    from lib.steps import staged
    fig = plot_graph(staged.NODES)
    texts = [t.get_text() for t in fig.axes[0].texts]
    arrows = [a for a in fig.axes[0].texts if getattr(a, "arrow_patch", None) is not None]
    assert len(arrows) == len(staged.NODES) == 13
    assert r"$\frac{1}{N}$" in texts and r"$\mu$" in texts
    with pytest.raises(ValueError, match="no place for the node"):
        plot_graph(staged.NODES + (("z", "z", "y", 1),))


def test_layout_groups_shade_one_group_of_each_layout():
    from lib.plots.common import ORANGE
    from lib.plots.derivation import plot_layout_groups
    import matplotlib.colors as mcolors

    fig = plot_layout_groups(examples=4, channels=6)
    axes = fig.axes
    assert len(axes) == 4 and len({round(ax.get_position().y0, 2) for ax in axes}) == 2, "two rows of two"
    shaded = [sum(mcolors.same_color(p.get_facecolor(), ORANGE) for p in ax.patches) for ax in axes]
    # batch norm: one feature of 4 examples; spatial: one channel x 4 examples x 4 pixels;
    # layer norm: one example x 6 channels x 4 pixels; group norm: 2 channels x 4 pixels
    assert shaded == [4, 16, 24, 8]
    assert [len(ax.patches) for ax in axes] == [24, 96, 96, 96]
