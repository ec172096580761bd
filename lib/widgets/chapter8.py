"""The three slider figures of chapter 8: batch size, scale and depth.

Each factory ties a computation of :mod:`lib.experiments` to a plot of
:mod:`lib.plots` and a text alternative, on a grid of control values.
"""
from __future__ import annotations

import math

from lib import experiments, plots
from lib.widgets.control import Control
from lib.widgets.figure import SliderFigure

__all__ = ["BATCH_SIZES", "SCALES", "STATIC_SCALES", "EPSILONS", "DEPTHS", "DEPTH_BATCH_SIZES",
           "STATIC_DEPTHS", "STATIC_DEPTH_BATCH_SIZES",
           "batch_size_widget", "scale_widget", "depth_widget"]


def _num(x) -> str:
    """Compact number, two significant digits: 0, 0.32, 3.2e-4, 1e-5, 100."""
    if x == 0:
        return "0"
    if not math.isfinite(x):
        return str(x)
    if 1e-2 <= abs(x) < 1e4:
        return f"{float(f'{x:.2g}'):g}"
    mantissa, exponent = f"{x:.1e}".split("e")
    mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa}e{int(exponent)}"


def _with_explanation(text: str, data: dict) -> str:
    return f"{data['explanation']} {text}".strip() if data.get("explanation") else text


# -- batch size ---------------------------------------------------------------

BATCH_SIZES = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256)
"""Batch sizes of the batch-size slider (live and static)."""


def _describe_batch_noise(data, values):
    if data["N"] == 1:
        return data["explanation"]
    text = (f"the gradient of one fixed example, in {data['n_batches']} random batches of "
            f"{data['N']}, scatters around the large-batch gradient with a spread of "
            f"{data['spread']:.2f} times its norm (offset of the mean {data['bias']:.2f}); "
            f"the spread falls like 1/sqrt(N) as N grows.")
    return _with_explanation(text, data)


def batch_size_widget(N: int = 8) -> SliderFigure:
    """Slider over the batch size N: the batch-to-batch noise of one example's gradient.

    Calls :func:`lib.experiments.batch_noise` and :func:`lib.plots.plot_batch_noise`.
    """
    return SliderFigure(
        name="batch-size", title="Gradient noise against batch size",
        controls=[Control("N", "batch size N", BATCH_SIZES, default=N)],
        compute=lambda N: experiments.batch_noise(N),
        plot=plots.plot_batch_noise, describe=_describe_batch_noise,
        panels=2, figsize=(8.4, 3.4))


# -- scale --------------------------------------------------------------------

SCALES = (0.0,) + tuple(float(10.0 ** (k / 2)) for k in range(-8, 5))
"""Scale factors a of the live scale slider: 0, then 1e-4 ... 1e2 in half decades."""
STATIC_SCALES = (0.0,) + SCALES[1::2]
"""Scale factors of the static rendering: 0, then whole decades 1e-4 ... 1e2."""
EPSILONS = (0.0, 1e-5, 1e-2)
"""Values of eps offered next to the scale slider (1e-5 is the default)."""


def _describe_scale(data, values):
    if data["a"] == 0:
        return data["explanation"]
    text = (f"with eps = {_num(data['eps'])} the column is in the {data['regime']} regime: "
            f"the output moves by {_num(data['y_change'])} of its norm and the input gradient "
            f"has norm {_num(data['grad_norm'])}, against {_num(data['grad_norm_theory'])} "
            f"from the 1/a law.")
    return _with_explanation(text, data)


def scale_widget(a: float = 1.0, eps: float = 1e-5) -> SliderFigure:
    """Slider over the scale a of a column (log-spaced, with a = 0) and a choice of eps.

    Calls :func:`lib.experiments.scale_response` and
    :func:`lib.plots.plot_scale_response`.
    """
    return SliderFigure(
        name="scale", title="Output and gradient when a column is scaled by a",
        controls=[Control("a", "scale a", SCALES, default=a, fmt=_num,
                          static_values=STATIC_SCALES),
                  Control("eps", "eps", EPSILONS, default=eps, fmt=_num)],
        compute=lambda a, eps: experiments.scale_response(a, eps=eps),
        plot=plots.plot_scale_response, describe=_describe_scale,
        panels=2, figsize=(8.4, 3.4))


# -- depth --------------------------------------------------------------------

DEPTHS = (1, 2, 3, 5, 10, 20, 30, 40, 50)
"""Depths of the live depth slider."""
DEPTH_BATCH_SIZES = (1, 2, 3, 4, 5, 8, 16, 32, 64, 128)
"""Batch sizes of the live depth widget."""
STATIC_DEPTHS = (10, 20, 30, 40, 50)
STATIC_DEPTH_BATCH_SIZES = (2, 4, 8, 32, 128)


def _describe_depth(data, values):
    g = data["grad_sq"]
    text = (f"squared norm of the weight gradient layer by layer, from {_num(g[0])} at the "
            f"first layer to {_num(g[-1])} at layer {data['depth']}")
    if data["rate"] is not None:
        text += f"; it grows by a factor {data['rate']:.3f} a layer going towards the input"
        if data["rate_theory"] is not None:
            text += f" (theory {data['rate_theory']:.3f})"
    return _with_explanation(text + ".", data)


def depth_widget(depth: int = 50, batch_size: int = 8, activation: str = "linear",
                 batchnorm: bool = True) -> SliderFigure:
    """Sliders over depth and batch size, choices of activation and batch norm.

    Calls :func:`lib.experiments.depth_profile` and
    :func:`lib.plots.plot_depth_profile`. The static rendering uses the
    coarser grids ``STATIC_DEPTHS`` and ``STATIC_DEPTH_BATCH_SIZES``.
    """
    return SliderFigure(
        name="depth", title="Gradient norm through a deep network at initialization",
        controls=[Control("depth", "depth", DEPTHS, default=depth, static_values=STATIC_DEPTHS),
                  Control("batch_size", "batch size N", DEPTH_BATCH_SIZES, default=batch_size,
                          static_values=STATIC_DEPTH_BATCH_SIZES),
                  Control("activation", "activation", ("linear", "relu"), default=activation),
                  Control("batchnorm", "batch norm", (True, False), default=batchnorm,
                          fmt=lambda on: "on" if on else "off")],
        compute=lambda depth, batch_size, activation, batchnorm: experiments.depth_profile(
            depth, batch_size, activation=activation, batchnorm=batchnorm),
        plot=plots.plot_depth_profile, describe=_describe_depth,
        figsize=(5.0, 3.4))

