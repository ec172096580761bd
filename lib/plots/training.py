"""Matplotlib figures for chapter 10, batch norm in training on the digits.

Each function takes the dict of the matching function of
:mod:`lib.experiments.training`; with batch norm in blue, without in orange.
"""
from __future__ import annotations

import numpy as np

from lib.claims import t_interval
from lib.plots.common import BLUE, GREEN, GREY, ORANGE, RED, axes_of, require

__all__ = ["plot_lr_sweep", "plot_lr_widget", "plot_gradient_norms", "plot_noisy_bn",
           "plot_covariate_shift", "plot_landscape", "plot_resnet_sweep"]

STYLE = {"bn": dict(color=BLUE, label="with batch norm"),
         "plain": dict(color=ORANGE, label="without")}


def _accuracy_panel(a, data, marker=None):
    for name in ("bn", "plain"):
        d = data[name]
        a.errorbar(data["lr"], d["accuracy"], yerr=d["accuracy_half"], fmt="o-", ms=4,
                   lw=1, capsize=2, **STYLE[name])
    a.axhline(0.1, color=GREY, lw=0.8, ls=":", label="chance (10 classes)")
    if marker is not None:
        a.axvline(marker, color=GREEN, lw=1.2, label="shown on the right")
    a.set_xscale("log")
    a.set_ylim(0, 1.02)
    a.set_xlabel("learning rate")
    a.set_ylabel("test accuracy")
    run = data["settings"]
    a.set_title(f"after {run['steps']} steps, {run['seeds']} seeds (95% interval)", fontsize=9)
    a.legend(fontsize=7, loc="lower left")


def plot_lr_sweep(data, ax=None):
    """Test accuracy (with error bars) and test loss against the learning rate."""
    require(data, ("lr", "bn", "plain", "settings"), "lr_sweep")
    fig, axes = axes_of(ax, 2)
    _accuracy_panel(axes[0], data)
    for name in ("bn", "plain"):
        axes[-1].plot(data["lr"], data[name]["loss"], "o-", ms=4, lw=1, **STYLE[name])
    axes[-1].set_xscale("log")
    axes[-1].set_yscale("log")
    axes[-1].set_xlabel("learning rate")
    axes[-1].set_ylabel("test loss (cross-entropy)")
    axes[-1].set_title("test loss", fontsize=9)
    axes[-1].legend(fontsize=7)
    return fig


def plot_lr_widget(data, ax=None):
    """The widget's frame: accuracy against the rate, and the training loss at one rate.

    ``data`` is :func:`~lib.experiments.training.lr_sweep`'s dict with the
    chosen rate under ``"chosen"``.
    """
    require(data, ("lr", "bn", "plain", "chosen"), "lr_sweep")
    fig, axes = axes_of(ax, 2)
    _accuracy_panel(axes[0], data, marker=data["chosen"])
    k = int(np.argmin(np.abs(np.log(data["lr"] / data["chosen"]))))
    for name in ("bn", "plain"):
        curve = np.minimum(data[name]["curves"][k], 10.0)
        axes[-1].plot(np.arange(curve.size), curve, lw=1, **STYLE[name])
    axes[-1].set_ylim(0, 3.0)
    axes[-1].set_xlabel("step")
    axes[-1].set_ylabel("training loss (mean over seeds)")
    axes[-1].set_title(f"learning rate {data['lr'][k]:g}", fontsize=9)
    axes[-1].legend(fontsize=7, loc="upper right")
    return fig


def plot_gradient_norms(data, ax=None):
    """||dJ/dW_l|| layer by layer at the first and last record (first seed), and first/last
    over training (each seed a thin line)."""
    require(data, ("step", "bn", "plain", "settings"), "gradient_norms")
    fig, axes = axes_of(ax, 2)
    layers = np.arange(1, data["settings"]["depth"] + 1)
    for name in ("bn", "plain"):
        norms = data[name]["norms"][0]
        axes[0].semilogy(layers, norms[0], "o-", ms=3, lw=1, **STYLE[name])
        axes[0].semilogy(layers, norms[-1], "s--", ms=3, lw=1, color=STYLE[name]["color"],
                         label=f"{STYLE[name]['label']}, step {data['step'][-1]}")
        for k, ratio in enumerate(data[name]["ratio"]):
            axes[-1].semilogy(data["step"], ratio, "-", lw=0.8, alpha=0.8,
                              **(STYLE[name] if k == 0 else {"color": STYLE[name]["color"]}))
    axes[0].set_xlabel("hidden layer (1 = input side)")
    axes[0].set_ylabel("‖∂J/∂W_l‖")
    axes[0].set_title("per layer: at step 0 (solid) and at the end (seed 0)", fontsize=9)
    axes[0].legend(fontsize=6)
    axes[-1].axhline(1.0, color=GREY, lw=0.8, ls=":")
    axes[-1].set_xlabel("step")
    axes[-1].set_ylabel("‖∂J/∂W_1‖ / ‖∂J/∂W_last‖")
    axes[-1].set_title("first over last hidden layer, one line a seed", fontsize=9)
    axes[-1].legend(fontsize=7)
    return fig


def plot_noisy_bn(data, ax=None):
    """Test accuracy of standard, noisy and no batch norm, and their training loss."""
    require(data, ("configs",), "noisy_bn")
    fig, axes = axes_of(ax, 2)
    colors = [BLUE, GREEN, ORANGE]
    for k, name in enumerate(data["configs"]):
        d = data[name]
        axes[0].bar(k, d["mean"], yerr=d["half"], color=colors[k], capsize=3)
        axes[0].plot(np.full(d["accuracy"].size, k), d["accuracy"], "k.", ms=4)
        axes[-1].plot(np.arange(d["curve"].size), d["curve"], lw=1, color=colors[k], label=name)
    axes[0].set_xticks(range(len(data["configs"])), data["configs"], fontsize=8)
    lo = min(data[n]["accuracy"].min() for n in data["configs"])
    axes[0].set_ylim(max(0.0, lo - 0.05), 1.0)
    axes[0].set_ylabel("test accuracy")
    axes[0].set_title("mean and 95% interval, dots: seeds", fontsize=9)
    axes[-1].set_yscale("log")
    axes[-1].set_xlabel("step")
    axes[-1].set_ylabel("training loss")
    axes[-1].set_title("training loss, noise on (mean over seeds)", fontsize=9)
    axes[-1].legend(fontsize=7)
    return fig


def plot_covariate_shift(data, ax=None):
    """Santurkar et al.'s ICS over training: ||G - G'|| (absolute) and cos(G, G')."""
    require(data, ("step", "bn", "plain"), "covariate_shift")
    fig, axes = axes_of(ax, 2)
    for name in ("bn", "plain"):
        axes[0].plot(data["step"], data[name]["distance"].mean(axis=1), "o-", ms=3, lw=1,
                     **STYLE[name])
        axes[-1].plot(data["step"], data[name]["cosine"].mean(axis=1), "o-", ms=3, lw=1,
                      **STYLE[name])
    axes[0].set_xlabel("step")
    axes[0].set_ylabel("‖G − G′‖")
    axes[0].set_title("change of a layer's gradient (mean over layers)", fontsize=9)
    axes[-1].set_xlabel("step")
    axes[-1].set_ylabel("cos(G, G′)")
    axes[-1].set_ylim(-0.2, 1.05)
    axes[-1].set_title("its direction (1 = unchanged)", fontsize=9)
    for a in axes:
        a.legend(fontsize=7)
    return fig


def plot_landscape(data, ax=None):
    """Loss variation, gradient change and effective beta-smoothness along the gradient,
    over training (log scale, median over seeds)."""
    require(data, ("step", "bn", "plain", "etas"), "landscape")
    fig, axes = axes_of(ax, 3)
    keys = ("loss_variation", "gradient_change", "beta_smoothness")
    for name in ("bn", "plain"):
        for a, key in zip(axes, keys):
            a.semilogy(data["step"], data[name][key], "o-", ms=3, lw=1, **STYLE[name])
    etas = data["etas"]
    labels = ("max − min of the loss", "max ‖∇J(θ − ηg) − ∇J(θ)‖", "max of that / ‖ηg‖")
    titles = (f"loss variation, η {etas.min():g}–{etas.max():g}", "gradient change",
              "effective β-smoothness")
    for a, label, title in zip(axes, labels, titles):
        a.set_xlabel("step")
        a.set_ylabel(label)
        a.set_title(title, fontsize=9)
        a.legend(fontsize=7)
    return fig


RESNET_STYLE = {"plain+bn": dict(color=ORANGE, marker="s", label="plain, batch norm"),
                "residual+bn": dict(color=BLUE, marker="o", label="residual, batch norm"),
                "residual": dict(color=RED, marker="x", label="residual, no normalization"),
                "skipinit": dict(color=GREEN, marker="^", label="SkipInit (α from 0)")}


def plot_resnet_sweep(data, ax=None):
    """Test accuracy against the learning rate for each deep network (95 % interval over
    seeds; a diverged run counts as 0.1), and the first-over-last ratio of the weight-gradient
    norms during training for the two networks with batch norm (one line a seed)."""
    require(data, ("lr", "step", "plain+bn", "residual+bn", "settings"), "resnet_sweep")
    fig, axes = axes_of(ax, 2)
    for name, style in RESNET_STYLE.items():
        per_seed = data[name]["per_seed"]
        half = [m - lo for m, lo, _ in map(t_interval, per_seed)]
        axes[0].errorbar(data["lr"], per_seed.mean(axis=1), yerr=half, ms=4, lw=1, capsize=2, **style)
    axes[0].axhline(0.1, color=GREY, lw=0.8, ls=":", label="chance")
    axes[0].set_xscale("log")
    axes[0].set_ylim(0, 1.02)
    axes[0].set_xlabel("learning rate")
    axes[0].set_ylabel("test accuracy")
    run = data["settings"]
    axes[0].set_title(f"{run['depth']} blocks, {run['steps']} steps, {run['seeds']} seeds", fontsize=9)
    axes[0].legend(fontsize=6, loc="lower left")
    for name in ("plain+bn", "residual+bn"):    # SkipInit's branches have no gradient at step 0
        style = RESNET_STYLE[name]
        for k, ratio in enumerate(data[name]["ratio"]):
            axes[-1].semilogy(data["step"], ratio, "-", lw=0.8, alpha=0.8, color=style["color"],
                              label=style["label"] if k == 0 else None)
    axes[-1].axhline(1.0, color=GREY, lw=0.8, ls=":")
    axes[-1].set_xlabel("step")
    axes[-1].set_ylabel("‖∂J/∂W‖, first block / last block")
    axes[-1].set_title(f"weight-gradient norms, learning rate {run['ratio_lr']:g}", fontsize=9)
    axes[-1].legend(fontsize=6)
    return fig
