"""Matplotlib figures for the experiments of chapter 8 (and chapter 1's batch).

Each function takes the dict returned by the matching function of
:mod:`lib.experiments` and returns a :class:`matplotlib.figure.Figure`.
Passing ``ax`` draws into an existing Axes (one panel); without it a new
figure is made (two panels where the experiment has two views). When the
data carry an ``"explanation"`` (a degenerate setting such as N = 1), the
text is shown in the plot instead of an empty panel.

Figures have a white face colour so that they stay legible on a dark page.
"""
from __future__ import annotations

import numpy as np

from lib import batchnorm as bn
from lib.experiments import RELU_RATE_LIMIT
from lib.plots.common import (BAND, BLUE, GREEN, GREY, ORANGE, RED, axes_of, explain,
                              new_figure, require)

__all__ = ["plot_normalization", "plot_batch_noise", "plot_scale_response", "plot_depth_profile",
           "plot_projection_energy", "plot_training", "plot_depth_rates"]


# --------------------------------------------------------------------------
# the three widget figures
# --------------------------------------------------------------------------

def plot_batch_noise(data, ax=None):
    """The gradient of one example across random batches (from ``batch_noise``).

    Without ``ax``: two panels, the cloud of dJ/dx_0 (first two features)
    over the batches, with the large-batch reference, and the relative
    spread against N on log-log axes with a 1/sqrt(N) guide. With one Axes:
    the spread panel only; with two Axes: both.
    """
    require(data, ("N", "n_batches", "grads", "reference", "spread", "N_grid", "spread_grid", "guide",
                    "explanation"), "batch_noise")
    fig, axes = axes_of(ax, 2)
    curve_ax = axes[-1]
    if len(axes) >= 2:
        cloud = axes[0]
        g, ref = data["grads"], data["reference"]
        r = 1.6 * float(np.linalg.norm(ref[:2])) + 1e-12
        if data["explanation"]:
            explain(cloud, data["explanation"])
        else:
            cloud.scatter(g[:, 0], g[:, 1], s=9, alpha=0.45, color=BLUE, label="one batch each")
            cloud.plot(*g[:, :2].mean(axis=0), "o", color=ORANGE, ms=7, label="mean over batches")
            cloud.plot(ref[0], ref[1], "X", color="black", ms=9, label="N → ∞ limit")
            cloud.set_xlim(ref[0] - r, ref[0] + r)
            cloud.set_ylim(ref[1] - r, ref[1] + r)
            cloud.set_xlabel("∂J/∂x₀, feature 1")
            cloud.set_ylabel("∂J/∂x₀, feature 2")
            cloud.legend(fontsize=7, loc="lower right")
        cloud.set_title(f"gradient of one example, {data['n_batches']} "
                        f"batches of N = {data['N']}", fontsize=9)
    Ns, sp = data["N_grid"], data["spread_grid"]
    curve_ax.loglog(Ns, sp, "o-", color=BLUE, ms=3, label="simulated")
    curve_ax.loglog(Ns, data["guide"], "--", color=GREY, label="∝ 1/√N")
    N = data["N"]
    if N >= 3:
        curve_ax.loglog([N], [data["spread"]], "o", color=ORANGE, ms=9, label=f"N = {N}")
    curve_ax.set_xlabel("batch size N")
    curve_ax.set_ylabel("spread / ‖limit‖")
    curve_ax.set_title("spread of the gradient across batches", fontsize=9)
    curve_ax.legend(fontsize=7, loc="lower left")
    if N < 3 and len(axes) == 1 and data["explanation"]:
        explain(curve_ax, data["explanation"], full=False)
    return fig


def plot_scale_response(data, ax=None):
    """Output change and gradient norm against the scale a (from ``scale_response``).

    Without ``ax``: two panels (output change, gradient norm); with one
    Axes: the gradient panel only. The shaded band is where a^2 sigma^2 is
    within a factor 100 of eps, the marker the current a.
    """
    require(data, ("a", "eps", "a_grid", "y_change_grid", "grad_norm_grid", "theory_grid",
                    "grad_cap", "a_break", "y_change", "grad_norm", "explanation"), "scale_response")
    fig, axes = axes_of(ax, 2)
    a, grid = data["a"], data["a_grid"]
    band = (data["a_break"] / 10, data["a_break"] * 10) if data["eps"] > 0 else None
    grad_ax = axes[-1]
    if len(axes) >= 2:
        out = axes[0]
        out.loglog(grid, np.maximum(data["y_change_grid"], 1e-17), color=BLUE,
                   label=f"ε = {data['eps']:g}")
        if a > 0 and np.isfinite(data["y_change"]):
            out.loglog([a], [max(data["y_change"], 1e-17)], "o", color=ORANGE, ms=8, label=f"a = {a:.3g}")
        out.set_xlabel("scale a  (x → a·x)")
        out.set_ylabel("‖BN(a·x) − x̂‖ / ‖x̂‖")
        out.set_title("output: invariant until a²σ² ~ ε", fontsize=9)
        if band:
            out.axvspan(*band, color=BAND, lw=0, zorder=0)
        if not data["explanation"]:      # the explanation takes the top of this panel
            out.legend(fontsize=7, loc="upper right")
    grad_ax.loglog(grid, data["grad_norm_grid"], color=BLUE, label="‖∂J/∂x‖, simulated")
    grad_ax.loglog(grid, data["theory_grid"], "--", color=GREY, label="1/a law (ε = 0)")
    if np.isfinite(data["grad_cap"]):
        grad_ax.axhline(data["grad_cap"], ls=":", color=GREEN, label="cap ‖g − ḡ‖/√ε")
    if band:
        grad_ax.axvspan(*band, color=BAND, lw=0, zorder=0, label="a²σ² within 100× of ε")
    if a > 0 and np.isfinite(data["grad_norm"]):
        grad_ax.loglog([a], [data["grad_norm"]], "o", color=ORANGE, ms=8, label=f"a = {a:.3g}")
    grad_ax.set_xlabel("scale a  (x → a·x)")
    grad_ax.set_ylabel("‖∂J/∂x‖")
    grad_ax.set_title("input gradient: 1/a until ε caps it", fontsize=9)
    grad_ax.legend(fontsize=7, loc="lower left")
    if data["explanation"]:
        explain(axes[0], data["explanation"], full=False)
    return fig


def plot_depth_profile(data, ax=None):
    """||dJ/dW_l||^2 layer by layer (from ``depth_profile``), with the theory's slope."""
    require(data, ("layer", "grad_sq", "rate", "rate_theory", "rate_limit", "batch_size",
                    "activation", "batchnorm", "explanation"), "depth_profile")
    fig, axes = axes_of(ax, 1, width=5.0)
    ax0 = axes[0]
    layer, gsq = data["layer"], data["grad_sq"]
    bn_txt = "with BN" if data["batchnorm"] else "no BN"
    title = f"{data['activation']}, {bn_txt}, batch size {data['batch_size']}, depth {layer.size}"
    positive = gsq > 0
    if not np.any(positive):
        explain(ax0, data["explanation"] or "All gradients are zero.")
        ax0.set_title(title, fontsize=9)
        return fig
    ax0.semilogy(layer[positive], gsq[positive], "o-", color=BLUE, ms=3, label="simulated")
    rate = data["rate_theory"] if data["rate_theory"] is not None else data["rate_limit"]
    if layer.size > 1 and rate is not None:
        which = "theory" if data["rate_theory"] is not None else "large-N limit"
        anchor = gsq[-1] if gsq[-1] > 0 else gsq[positive][-1]
        line = anchor * float(rate) ** (layer[-1] - layer)
        ax0.semilogy(layer, line, "--", color=GREY, label=f"{which}: ×{rate:.3f} per layer")
    if data["rate"] is not None:
        ax0.plot([], [], " ", label=f"fitted: ×{data['rate']:.3f} per layer")
    ax0.xaxis.get_major_locator().set_params(integer=True)
    ax0.set_xlabel("layer l (1 = input side)")
    ax0.set_ylabel("‖∂J/∂W_l‖²")
    ax0.set_title(title, fontsize=9)
    if data["explanation"]:
        # the explanation takes the top; the legend goes in the lower corner
        # the profile leaves free (left if it falls from layer 1 onwards)
        falling = gsq[positive][0] >= gsq[positive][-1]
        ax0.legend(fontsize=7, loc="lower left" if falling else "lower right")
        explain(ax0, data["explanation"], full=False)
    else:
        ax0.legend(fontsize=7, loc="best")
    return fig


# --------------------------------------------------------------------------
# figures used only on the page
# --------------------------------------------------------------------------

def plot_projection_energy(data, ax=None):
    """Simulated E||P g||^2 / E||g||^2 against N, with (N - 2)/N."""
    require(data, ("N", "simulated", "theory", "stderr"), "projection_energy")
    fig, axes = axes_of(ax, 1)
    a = axes[0]
    Ns = data["N"]
    fine = np.linspace(Ns.min(), Ns.max(), 200)
    a.plot(fine, (fine - 2) / fine, color=GREY, label="theory (N − 2)/N")
    a.errorbar(Ns, data["simulated"], yerr=2 * data["stderr"], fmt="o", color=ORANGE, ms=4,
               label="simulated (±2 s.e.)")
    a.set_xscale("log")
    a.set_xlabel("batch size N")
    a.set_ylabel("E‖P g‖² / E‖g‖²")
    a.set_title("energy of the gradient kept by batch norm", fontsize=9)
    a.legend(fontsize=8, loc="lower right")
    return fig


def plot_training(runs, ax=None):
    """Weight norm and effective learning rate over training, one line per run.

    ``runs`` is a list of dicts from ``train_scale_invariant``.
    """
    if not isinstance(runs, (list, tuple)) or not runs:
        raise TypeError("runs must be a non-empty list of dicts from experiments.train_scale_invariant()")
    for r in runs:
        require(r, ("step", "w_norm", "eff_lr", "weight_decay"), "train_scale_invariant")
    fig, axes = axes_of(ax, 2)
    colors = [BLUE, ORANGE, GREEN, RED]
    for k, r in enumerate(runs):
        lab = f"weight decay {r['weight_decay']:g}"
        axes[0].plot(r["step"], r["w_norm"], color=colors[k % 4], label=lab)
        axes[-1].semilogy(r["step"], r["eff_lr"], color=colors[k % 4], label=lab)
    axes[0].set_xlabel("step")
    axes[0].set_ylabel("mean ‖w_j‖ (first layer)")
    axes[0].set_title("weight norm", fontsize=9)
    axes[-1].set_xlabel("step")
    axes[-1].set_ylabel("η / ‖w_j‖²")
    axes[-1].set_title("effective learning rate", fontsize=9)
    for a in axes:
        a.legend(fontsize=7)
    return fig


def plot_depth_rates(datasets, ax=None):
    """Simulated per-layer growth against batch size, with (N-2)/(N-3) and pi/(pi-1).

    ``datasets`` is a list of dicts from ``depth_rates`` (e.g. linear and ReLU).
    """
    if isinstance(datasets, dict):
        datasets = [datasets]
    for d in datasets:
        require(d, ("N", "simulated", "stderr", "theory", "activation"), "depth_rates")
    fig, axes = axes_of(ax, 1)
    a = axes[0]
    colors = {"linear": BLUE, "relu": ORANGE}
    Nmax = max(int(d["N"].max()) for d in datasets)
    fine = np.linspace(4.2, Nmax, 300)
    a.plot(fine, (fine - 2) / (fine - 3), color=BLUE, lw=1, label="(N − 2)/(N − 3), linear")
    a.axhline(RELU_RATE_LIMIT, color=ORANGE, lw=1, ls="--", label="π/(π − 1), ReLU limit")
    for d in datasets:
        a.errorbar(d["N"], d["simulated"], yerr=2 * np.nan_to_num(d["stderr"]), fmt="o",
                   color=colors.get(d["activation"], GREY), ms=4,
                   label=f"simulated, {d['activation']}")
    a.set_xscale("log")
    a.set_xlabel("batch size N")
    a.set_ylabel("growth of ‖∂J/∂W‖² per layer")
    a.set_title("gradient explosion with batch norm at initialization", fontsize=9)
    a.legend(fontsize=7)
    return fig


# --------------------------------------------------------------------------
# chapter 1: a batch before and after normalization
# --------------------------------------------------------------------------

def plot_normalization(x, gamma=(1.0, 1.0), beta=(0.0, 0.0), eps=1e-5):
    """Three scatter plots of a two-feature batch: raw, normalized, scaled.

    Parameters
    ----------
    x : array_like, shape (N, 2)
        The batch; only two features can be drawn.
    gamma, beta : array_like, shape (2,)
        Scale and shift for the third panel.

    Returns
    -------
    matplotlib.figure.Figure
    """
    x = np.asarray(x, dtype=float)
    if x.ndim != 2 or x.shape[1] != 2:
        raise ValueError(f"x must have shape (N, 2) to be drawn, got shape {x.shape}")
    y, cache = bn.forward(x, gamma, beta, eps=eps)     # cache.x_hat does not depend on gamma, beta
    panels = [(x, "raw batch $X$"), (cache.x_hat, r"normalized $\hat X$"),
              (y, r"$Y = \gamma \odot \hat X + \beta$")]
    fig, axes = new_figure(3, width=11)
    lim = np.abs(np.concatenate([p for p, _ in panels])).max() * 1.05
    for ax, (points, title) in zip(axes, panels):
        ax.axhline(0, color=GREY, lw=0.6)
        ax.axvline(0, color=GREY, lw=0.6)
        ax.scatter(points[:, 0], points[:, 1], s=8, color=BLUE, alpha=0.6)
        ax.scatter(*points.mean(axis=0), s=60, color=ORANGE, marker="x", label="column means")
        ax.set(title=title, xlim=(-lim, lim), ylim=(-lim, lim), xlabel="feature 1", aspect="equal")
    axes[0].set_ylabel("feature 2")
    axes[0].legend(loc="lower left", fontsize=8)
    return fig
