"""Matplotlib figures of the book, one module a chapter's experiments.

Each function takes the dict returned by the matching function of
:mod:`lib.experiments` and returns a :class:`matplotlib.figure.Figure`.
Passing ``ax`` draws into an existing Axes (one panel, or a list of them);
without it a new figure is made.

:mod:`~lib.plots.common`
    colours, figure set-up and the explanation boxes every figure shares;
:mod:`~lib.plots.gradient`
    chapter 8 (and chapter 1's batch before and after normalization);
:mod:`~lib.plots.training`
    chapter 10, batch norm in training.
"""
from lib.plots.gradient import (plot_batch_noise, plot_depth_profile, plot_depth_rates,
                                plot_normalization, plot_projection_energy, plot_scale_response,
                                plot_training)
from lib.plots.training import (plot_covariate_shift, plot_gradient_norms, plot_landscape,
                                plot_lr_sweep, plot_lr_widget, plot_noisy_bn, plot_resnet_sweep)

__all__ = ["plot_normalization", "plot_batch_noise", "plot_scale_response", "plot_depth_profile",
           "plot_projection_energy", "plot_training", "plot_depth_rates", "plot_lr_sweep",
           "plot_lr_widget", "plot_gradient_norms", "plot_noisy_bn", "plot_covariate_shift",
           "plot_landscape", "plot_resnet_sweep"]
