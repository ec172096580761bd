"""The slider of chapter 10: the learning rate of the learning-rate sweep.

Every position is a result of :func:`lib.experiments.training.lr_sweep`, so
moving the slider (live or static) trains nothing: it shows the training
loss at one rate beside the accuracy at all of them.
"""
from __future__ import annotations

from lib import plots
from lib.experiments import training as tr
from lib.widgets.control import Control
from lib.widgets.figure import SliderFigure

__all__ = ["learning_rate_widget"]


def _describe(data, values):
    k = list(data["lr"]).index(values["lr"])
    bn, plain = data["bn"]["accuracy"][k], data["plain"]["accuracy"][k]
    return (f"after {data['settings']['steps']} steps at learning rate {values['lr']:g}, the network with "
            f"batch norm reaches a test accuracy of {bn:.3f} and the one without {plain:.3f} "
            f"(chance is 0.1).")


def learning_rate_widget(lr: float = 1.0) -> SliderFigure:
    """Slider over the learning rates of :data:`lib.experiments.training.LEARNING_RATES`."""
    return SliderFigure(
        name="learning-rate", title="Training with and without batch norm at one learning rate",
        controls=[Control("lr", "learning rate", tr.LEARNING_RATES, default=lr, fmt=lambda v: f"{v:g}")],
        compute=lambda lr: {**tr.lr_sweep(), "chosen": lr},
        plot=plots.plot_lr_widget, describe=_describe,
        panels=2, figsize=(8.4, 3.4))
