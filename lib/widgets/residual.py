"""The slider figure of the residual chapter: depth and architecture, gradient per block."""
from __future__ import annotations

from lib.experiments import residual
from lib.plots.residual import plot_residual_profile
from lib.widgets.control import Control
from lib.widgets.figure import SliderFigure

__all__ = ["RESIDUAL_DEPTHS", "STATIC_RESIDUAL_DEPTHS", "residual_widget"]

RESIDUAL_DEPTHS = (1, 2, 5, 10, 20, 30, 50, 75, 100)
"""Depths of the live slider."""
STATIC_RESIDUAL_DEPTHS = (10, 20, 50, 100)
"""Depths of the frames drawn in advance."""


def _describe(data, values):
    s, w = data["stream_sq"], data["weight_sq"]
    text = (f"the squared gradient on the skip path goes from {s[-1]:.3g} at the last block to "
            f"{s[0]:.3g} at the first, a factor {data['first_over_last']:.3g}")
    if w.any():
        text += f"; the last weight's gradient goes from {w[-1]:.3g} to {w[0]:.3g}"
    else:
        text += "; the branches' weights get no gradient (alpha = 0)"
    return text + "."


def residual_widget(depth: int = 50, architecture: str = "residual+bn") -> SliderFigure:
    """Slider over the depth and a choice of architecture (:data:`residual.ARCHITECTURES`).

    Calls :func:`lib.experiments.residual.profile` (batch 32, width 64, seed 0; SkipInit
    with alpha = 0) and :func:`lib.plots.residual.plot_residual_profile`.
    """
    return SliderFigure(
        name="residual", title="Gradient norm block by block at initialization",
        controls=[Control("depth", "depth", RESIDUAL_DEPTHS, default=depth,
                          static_values=STATIC_RESIDUAL_DEPTHS),
                  Control("architecture", "architecture", residual.ARCHITECTURES, default=architecture)],
        compute=lambda depth, architecture: residual.profile(architecture, depth),
        plot=plot_residual_profile, describe=_describe, panels=2, figsize=(8.4, 3.4))
