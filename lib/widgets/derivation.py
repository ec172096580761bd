"""The slider figures of the derivation: chapters 1, 2, 3 and 6.

Each factory ties a computation of :mod:`lib.experiments.derivation` to a plot of
:mod:`lib.plots.derivation` and a text alternative, on a grid of control values; every
value of the grid is also a static frame, so each slider of the site is worth moving.
"""
from __future__ import annotations

from lib.experiments import derivation as ex
from lib.plots import derivation as plots
from lib.widgets.control import Control
from lib.widgets.figure import SliderFigure

__all__ = ["batch_widget", "jacobian_widget", "paths_widget", "projection_widget"]

LAYER_BATCH_SIZES = (2, 3, 4, 8, 16, 32, 64)
LAYER_SCALES = (0.1, 1.0, 10.0, 100.0, 1000.0)
JACOBIAN_SIZES = (2, 3, 4, 5, 6, 8, 12, 16)
JACOBIAN_EPS = (0.0, 0.01, 0.1, 1.0)
SHIFTS = tuple(k / 2 for k in range(-8, 9))
PATH_BATCH_SIZES = (3, 4, 8, 32)
ANGLES = tuple(range(0, 360, 30))
PROJECTION_EPS = (0.0, 0.1, 0.5, 2.0)


def _vec(v) -> str:
    return "(" + ", ".join(f"{t:.2f}" for t in v) + ")"


def _describe_batch(d, values):
    return (f"batch mean {_vec(d['batch_mean'])} and variance {_vec(d['batch_var'])}; running mean "
            f"{_vec(d['running_mean'])} and variance {_vec(d['running_var'])} (population "
            f"{_vec(d['population_mean'])} and {_vec(d['population_var'])}). In training mode the "
            f"normalized batch has mean 0 and variance 1 in each feature; normalized with the "
            f"running statistics (inference) it has mean {_vec(d['x_inference'].mean(axis=0))} and "
            f"variance {_vec(d['x_inference'].var(axis=0))}.")


def batch_widget(N: int = 8, scale: float = 1.0) -> SliderFigure:
    """Chapter 1: a batch before and after normalization, as N and the input scale move."""
    return SliderFigure(
        name="layer-batch", title="A batch before and after batch norm",
        controls=[Control("N", "batch size N", LAYER_BATCH_SIZES, default=N),
                  Control("scale", "input scale", LAYER_SCALES, default=scale, fmt=lambda v: f"{v:g}")],
        compute=lambda N, scale: ex.batch_statistics(N, scale),
        plot=plots.plot_batch_statistics, describe=_describe_batch,
        panels=2, figsize=(8.4, 3.6))


def _describe_jacobian(d, values):
    N, zero = d["N"], d["zero_entries"]
    if zero == N * N:
        return ("every entry is 0: with N = 2 and eps = 0 the normalized values are -1 and +1 "
                "whatever x is, so x_hat does not depend on x at all.")
    return (f"{N * N - zero} of the {N * N} entries are non-zero, so the matrix is dense, not diagonal: "
            f"every input moves every output. The diagonal carries {d['diagonal_share']:.0%} of the "
            f"total size; the largest entry is {d['largest']:.2f}.")


def jacobian_widget(N: int = 4, eps: float = 0.0) -> SliderFigure:
    """Chapter 2: the N x N Jacobian of one column as a heat map, as N and eps move."""
    return SliderFigure(
        name="jacobian", title="The Jacobian of one normalized column",
        controls=[Control("N", "batch size N", JACOBIAN_SIZES, default=N),
                  Control("eps", "eps", JACOBIAN_EPS, default=eps, fmt=lambda v: f"{v:g}")],
        compute=lambda N, eps: ex.column_jacobian(N, eps),
        plot=plots.plot_column_jacobian, describe=_describe_jacobian,
        figsize=(4.6, 4.0))


def _describe_paths(d, values):
    return (f"direct path {d['direct']:+.2f}, through sigma^2 {d['via_var']:+.2f}, through mu "
            f"{d['via_mu']:+.2f}; total {d['total']:+.2f} (x_hat_0 = {d['x_hat0']:.2f}). The path "
            f"through sigma^2 is dJ/dsigma^2 times 2(x_0 - mu)/N, so it vanishes when the example "
            f"sits at the mean; the path through mu is the same for every example of the batch.")


def paths_widget(shift: float = 1.0, N: int = 8) -> SliderFigure:
    """Chapter 3: the three paths' contributions to one example's gradient, as it moves."""
    return SliderFigure(
        name="paths", title="The three paths to one example's gradient",
        controls=[Control("shift", "distance from the mean (sd)", SHIFTS, default=shift,
                          fmt=lambda v: f"{v:+g}"),
                  Control("N", "batch size N", PATH_BATCH_SIZES, default=N)],
        compute=lambda shift, N: ex.path_contributions(shift, N),
        plot=plots.plot_path_contributions, describe=_describe_paths,
        figsize=(5.4, 3.4))


def _describe_projection(d, values):
    text = (f"x_hat points at {d['angle']:g} degrees; P g makes an angle with cosine "
            f"{d['cos_Pg_xhat']:+.2f} with x_hat")
    if d["eps"] == 0:
        return text + ": P g is perpendicular to x_hat, the projection removes g's part along x_hat (and along 1)."
    return text + (f": with eps > 0, P keeps the fraction {d['delta']:.2f} of g's part along x_hat, "
                   f"so it is no longer a projection.")


def projection_widget(angle: int = 30, eps: float = 0.0) -> SliderFigure:
    """Chapter 6: for N = 3, g and P g in the plane perpendicular to 1, as x_hat and eps change."""
    return SliderFigure(
        name="projection", title="The projection P in the plane perpendicular to 1",
        controls=[Control("angle", "direction of x_hat (degrees)", ANGLES, default=angle),
                  Control("eps", "eps", PROJECTION_EPS, default=eps, fmt=lambda v: f"{v:g}")],
        compute=lambda angle, eps: ex.projection_plane(angle, eps),
        plot=plots.plot_projection_plane, describe=_describe_projection,
        figsize=(4.6, 4.4))
