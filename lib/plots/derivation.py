"""Plots of the derivation (chapters 1, 2, 3, 6 and 7), one function a picture.

Each takes the dict of the matching :mod:`lib.experiments.derivation` function and draws on
``ax`` (one Axes, or a list of two), as the slider figures of :mod:`lib.widgets` need.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Rectangle

from lib.plots.common import BLUE, GREEN, GREY, ORANGE, RED, axes_of

__all__ = ["plot_batch_statistics", "plot_column_jacobian", "plot_path_contributions",
           "plot_projection_plane", "plot_graph", "plot_layout_groups"]

NODE_LABELS = {"x": "x_i", "gamma": r"\gamma", "beta": r"\beta", "mu": r"\mu", "xc": r"\mathrm{xc}_i",
               "sq": r"\mathrm{sq}_i", "var": r"\sigma^2", "s": "s", "inv": r"\mathrm{inv}",
               "xhat": r"\hat{x}_i", "gx": r"\mathrm{gx}_i", "y": "y_i"}


def plot_batch_statistics(data, ax=None):
    """Left: the raw batch with its mean and the running mean. Right: the batch normalized
    with its own statistics (training) and with the running ones (inference)."""
    fig, (raw, out) = axes_of(ax, 2)
    x, scale = data["x"], data["scale"]
    raw.scatter(x[:, 0], x[:, 1], s=14, color=BLUE, label="examples")
    raw.plot(*data["batch_mean"], "X", color=ORANGE, ms=10, label="batch mean")
    raw.plot(*data["running_mean"], "+", color=GREEN, ms=14, mew=2.5, label="running mean")
    reach = 4 * scale * 3.0
    centre = data["population_mean"]
    raw.set_xlim(centre[0] - reach, centre[0] + reach)
    raw.set_ylim(centre[1] - reach, centre[1] + reach)
    raw.set_title(f"input batch, N = {data['N']}, scale {scale:g}", fontsize=9)
    raw.set_xlabel("feature 1")
    raw.set_ylabel("feature 2")
    raw.legend(fontsize=7, loc="lower right")
    out.scatter(data["x_hat"][:, 0], data["x_hat"][:, 1], s=14, color=BLUE, label="training: batch statistics")
    out.scatter(data["x_inference"][:, 0], data["x_inference"][:, 1], s=16, facecolors="none",
                edgecolors=RED, label="inference: running statistics")
    out.set_xlim(-4, 4)
    out.set_ylim(-4, 4)
    out.axhline(0, color=GREY, lw=0.5)
    out.axvline(0, color=GREY, lw=0.5)
    out.set_title("after batch norm (gamma = 1, beta = 0)", fontsize=9)
    out.set_xlabel("x_hat, feature 1")
    out.legend(fontsize=7, loc="lower right")
    return fig


def plot_column_jacobian(data, ax=None):
    """The N x N Jacobian as a heat map on a symmetric colour scale (values written when N <= 6)."""
    fig, (a,) = axes_of(ax, 1)
    J, N = data["J"], data["N"]
    top = max(data["largest"], 1e-12)
    a.imshow(J, cmap="RdBu_r", vmin=-top, vmax=top, interpolation="nearest")
    a.set_xticks(range(N), [str(k + 1) for k in range(N)] if N <= 8 else [""] * N, fontsize=7)
    a.set_yticks(range(N), [str(k + 1) for k in range(N)] if N <= 8 else [""] * N, fontsize=7)
    a.set_xlabel("k (input x_k)")
    a.set_ylabel("i (output x_hat_i)")
    a.set_title(f"d x_hat_i / d x_k, N = {N}, eps = {data['eps']:g}", fontsize=9)
    if N <= 6:
        for i in range(N):
            for k in range(N):
                a.text(k, i, f"{J[i, k]:.2f}", ha="center", va="center", fontsize=7,
                       color="white" if abs(J[i, k]) > 0.6 * top else "black")
    return fig


def plot_path_contributions(data, ax=None):
    """Bars: each path's contribution to dJ/dx_0 and their sum."""
    fig, (a,) = axes_of(ax, 1)
    names = ["direct", "through sigma^2", "through mu", "total"]
    values = [data["direct"], data["via_var"], data["via_mu"], data["total"]]
    a.bar(range(4), values, color=[BLUE, ORANGE, GREEN, GREY])
    a.set_xticks(range(4), names)
    a.axhline(0, color="black", lw=0.8)
    top = 1.15 * max(max(abs(v) for v in values), 1e-3)
    a.set_ylim(-top, top)
    a.set_ylabel("contribution to dJ/dx_0")
    a.set_title(f"example 0 at {data['shift']:+g} sd from the others (x_hat_0 = {data['x_hat0']:.2f}), "
                f"N = {data['N']}", fontsize=8)
    a.tick_params(axis="x", labelsize=7)
    return fig


def plot_projection_plane(data, ax=None):
    """The plane perpendicular to 1: x_hat, g's part in the plane, Pg and what P removed."""
    fig, (a,) = axes_of(ax, 1)

    def arrow(v, color, label, style="-"):
        a.annotate("", xy=v, xytext=(0, 0), arrowprops=dict(arrowstyle="->", color=color, lw=2, ls=style))
        a.plot([], [], color=color, lw=2, ls=style, label=label)

    t = np.linspace(0, 2 * np.pi, 200)
    radius = np.linalg.norm(data["x_hat"])
    a.plot(radius * np.cos(t), radius * np.sin(t), color=GREY, lw=0.6, ls=":")
    arrow(data["x_hat"], ORANGE, "x_hat")
    arrow(data["g"], GREY, "g (its part in the plane)")
    arrow(data["Pg"], BLUE, "P g")
    a.plot([data["Pg"][0], data["g"][0]], [data["Pg"][1], data["g"][1]], color=RED, lw=1.2, ls="--",
           label="removed by P")
    a.set_xlim(-2.2, 2.2)
    a.set_ylim(-2.2, 2.2)
    a.set_aspect("equal")
    a.set_xlabel("u = (1, -1, 0)/sqrt 2")
    a.set_ylabel("w = (1, 1, -2)/sqrt 6")
    a.set_title(f"N = 3, the plane perpendicular to 1; eps = {data['eps']:g}", fontsize=9)
    a.legend(fontsize=7, loc="lower left")
    return fig


# Where each node of chapter 3's graph is drawn: the inputs and the chain on the bottom row,
# the statistics above it, the parameters below. The edges and their labels come from the
# table the sympy check uses.
GRAPH_LAYOUT = {"x": (0, 0), "mu": (1, 1), "xc": (2, 0), "sq": (3, 1), "var": (4, 1), "s": (5, 1),
                "inv": (6, 1), "xhat": (7, 0), "gamma": (7, -1), "gx": (8, 0), "beta": (8, -1), "y": (9, 0)}


def plot_graph(nodes, ax=None):
    """The staged computational graph, drawn from the table of nodes the sympy check uses.

    ``nodes`` is :data:`lib.steps.staged.NODES`: (node, formula, input, local derivative)
    rows. Each edge is labelled with its local derivative, as the check proves it.
    """
    import sympy as sp

    missing = {n for row in nodes for n in (row[0], row[2])} - set(GRAPH_LAYOUT)
    if missing:
        raise ValueError(f"plot_graph has no place for the node(s) {sorted(missing)}")
    where = GRAPH_LAYOUT
    fig, (ax,) = axes_of(ax, 1, width=9.6)
    for node, _, source, local in nodes:
        (x0, y0), (x1, y1) = where[source], where[node]
        ax.annotate("", xy=(x1, y1), xytext=(x0, y0),
                    arrowprops=dict(arrowstyle="->", color=GREY, lw=1.2, shrinkA=16, shrinkB=16))
        dx, dy = x1 - x0, y1 - y0
        norm = (dx * dx + dy * dy) ** 0.5
        ax.text((x0 + x1) / 2 - 0.18 * dy / norm, (y0 + y1) / 2 + 0.18 * dx / norm, f"${sp.latex(local)}$",
                ha="center", va="center", fontsize=8, color=BLUE)
    inputs = {row[2] for row in nodes} - {row[0] for row in nodes}
    for name, (x, y) in where.items():
        ax.text(x, y, f"${NODE_LABELS[name]}$", ha="center", va="center", fontsize=11,
                bbox=dict(boxstyle="round,pad=0.35", fc="white", ec=ORANGE if name in inputs else GREY))
    ax.set_xlim(-0.6, 9.6)
    ax.set_ylim(-1.5, 1.5)
    ax.set_axis_off()
    ax.set_title("forward: left to right; backward: right to left, multiplying the local derivatives "
                 "(blue) on each edge", fontsize=9)
    return fig


# Chapter 7's layouts: (title, pixels per cell, row label, which (example, channel, pixel) is shaded).
LAYOUT_PANELS = (
    ("batch norm, one feature\n(M = N)", 1, "d", lambda n, c, p: c == 1),
    ("spatial batch norm, one channel\n(M = N H W)", 4, "c", lambda n, c, p: c == 1),
    ("layer norm, one example\n(M = C H W)", 4, "c", lambda n, c, p: n == 2),
    ("group norm, G = 3, one group\n(M = (C/G) H W)", 4, "c", lambda n, c, p: n == 2 and c in (2, 3)),
)


def plot_layout_groups(examples=4, channels=6):
    """One group of each normalization layout shaded, on a grid of examples by channels.

    Two panels a row, so that each stays legible on a phone. In the image layouts every
    cell is a strip of four pixels (H x W).
    """
    fig, axs = plt.subplots(2, 2, figsize=(8.0, 6.4), facecolor="white")
    for ax, (title, pixels, row, shaded) in zip(axs.ravel(), LAYOUT_PANELS):
        w = 4.0 / pixels                      # every cell is 4 units wide, split into its pixels
        for n in range(examples):
            for c in range(channels):
                for p in range(pixels):
                    ax.add_patch(Rectangle((n * 5 + p * w, channels - 1 - c), w, 0.9, edgecolor="white",
                                           linewidth=1.5, facecolor=ORANGE if shaded(n, c, p) else "0.85"))
        ax.set_xlim(-0.5, examples * 5)
        ax.set_ylim(-0.3, channels + 0.2)
        ax.set_xticks([n * 5 + 2 for n in range(examples)], [f"n={n + 1}" for n in range(examples)])
        ax.set_yticks([channels - 1 - c + 0.45 for c in range(channels)],
                      [f"{row}={c + 1}" for c in range(channels)])
        ax.tick_params(length=0)
        ax.set_frame_on(False)
        ax.set_title(title, fontsize=11)
    fig.tight_layout()
    return fig
