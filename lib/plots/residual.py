"""Figures of the chapter on residual networks and the norms of transformers."""
from __future__ import annotations

import numpy as np

from lib.plots.common import BLUE, GREEN, GREY, ORANGE, RED, axes_of, explain, require

__all__ = ["COLOURS", "plot_residual_profile", "plot_profiles", "plot_ln_scaling"]

COLOURS = {"plain": GREY, "plain+bn": RED, "residual": ORANGE, "skipinit": GREEN,
           "residual+bn": BLUE, "pre-ln": "#7b3294", "post-ln": "#a6611a"}
"""One colour an architecture, the same in every figure of the chapter."""
_KEYS = ("architecture", "depth", "layer", "stream_sq", "weight_sq", "branch_scale")


def _label(data):
    alpha = data["branch_scale"]
    return data["architecture"] + (f", α = {alpha:g}" if data["architecture"] == "skipinit" else "")


def plot_residual_profile(data, ax=None):
    """Two panels from ``residual.profile``: ||dJ/dx_l||^2 and ||dJ/dW_l||^2 block by block."""
    require(data, _KEYS, "residual.profile")
    fig, axes = axes_of(ax, 2, width=8.4)
    colour = COLOURS[data["architecture"]]
    for a, key, ylabel in ((axes[0], "stream_sq", "‖∂J/∂x_l‖²  (skip path)"),
                           (axes[1], "weight_sq", "‖∂J/∂W_l‖²  (last weight)")):
        values = data[key]
        a.set_xlabel("block l (1 = input side)")
        a.set_ylabel(ylabel)
        if not np.any(values > 0):
            explain(a, "Every block's weight gradient is zero: with α = 0 the branches do not "
                       "reach the loss.")
            continue
        a.semilogy(data["layer"], values, "o-", color=colour, ms=2.5)
        a.xaxis.get_major_locator().set_params(integer=True)
    axes[0].set_title(f"{_label(data)}, depth {data['depth']}: first/last "
                      f"{data['stream_sq'][0] / data['stream_sq'][-1]:.3g}", fontsize=9)
    return fig


def plot_profiles(profiles, ax=None):
    """||dJ/dx_l||^2 / ||dJ/dx_L||^2 of several architectures, against l (left, log y) and
    against 1 + l (right, log-log): an exponential is straight on the left, a power law on
    the right."""
    fig, axes = axes_of(ax, 2, width=8.8)
    for data in profiles:
        require(data, _KEYS, "residual.profile")
        rel = data["stream_sq"] / data["stream_sq"][-1]
        for a in axes:
            a.plot(data["layer"], rel, "-", color=COLOURS[data["architecture"]], label=_label(data))
    axes[0].set_yscale("log")
    axes[1].set_xscale("log")
    axes[1].set_yscale("log")
    for a, xlabel in zip(axes, ("block l (1 = input side)", "block l, log scale")):
        a.set_xlabel(xlabel)
        a.set_ylabel("‖∂J/∂x_l‖² / ‖∂J/∂x_L‖²")
    axes[0].legend(fontsize=7, loc="upper right")
    return fig


def plot_ln_scaling(pre, post, profiles, ax=None):
    """Left: the last block's weight gradient against the depth L (``last_layer_scaling``).
    Right: the weight gradient block by block at one depth, pre-LN against post-LN."""
    fig, axes = axes_of(ax, 2, width=8.8)
    for data in (pre, post):
        require(data, ("architecture", "depths", "last_sq", "slope"), "residual.last_layer_scaling")
        axes[0].loglog(data["depths"], data["last_sq"], "o-", color=COLOURS[data["architecture"]],
                       label=f"{data['architecture']}: slope {data['slope']:.2f}")
    axes[0].set_xlabel("depth L (blocks)")
    axes[0].set_ylabel("‖∂J/∂W_L‖² of the last block")
    axes[0].legend(fontsize=7)
    for data in profiles:
        require(data, _KEYS, "residual.profile")
        axes[1].semilogy(data["layer"], data["weight_sq"], "-", color=COLOURS[data["architecture"]],
                         label=data["architecture"])
    axes[1].set_xlabel("block l (1 = input side)")
    axes[1].set_ylabel("‖∂J/∂W_l‖²")
    axes[1].legend(fontsize=7)
    return fig
