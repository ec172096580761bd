"""The live view: ipywidgets controls and an image the kernel redraws.

JupyterLab, Notebook, Binder and Colab show this view. Moving a control
calls the figure's ``update`` (compute, draw one frame, encode it, send it);
nothing else is drawn in a reader's kernel.
"""
from __future__ import annotations

__all__ = ["LiveView"]


class LiveView:
    """Controls and image for one slider figure.

    Parameters
    ----------
    controls : sequence of :class:`~lib.widgets.control.Control`
    values : dict
        The starting value of each control.
    on_move : callable
        ``on_move(key, value)``, called when the reader moves control ``key``.
    width : int
        Width of the image in pixels (it shrinks to fit a narrow screen).

    Attributes
    ----------
    box : ipywidgets.VBox
        The view itself (what a notebook displays).
    widgets : dict
        The ipywidgets control of each key.
    image : ipywidgets.Image
        The frame.
    """

    def __init__(self, controls, values, on_move, width):
        import ipywidgets as w

        self._on_move = on_move
        self._syncing = False
        self._grids = {c.key: c.values for c in controls}
        self.widgets = {c.key: self._control(w, c, values[c.key]) for c in controls}
        self.image = w.Image(format="png", width=width,
                             layout=w.Layout(max_width="100%", height="auto"))
        self.box = w.VBox([*self.widgets.values(), self.image])
        self.box.add_class("bn-live-widget")

    def _control(self, w, c, value):
        """A selection slider for a numeric grid, toggle buttons otherwise."""
        options = [(c.fmt(v), v) for v in c.values]
        if c.numeric:
            ctl = w.SelectionSlider(options=options, value=value, description=c.label,
                                    continuous_update=True,
                                    style={"description_width": "initial"},
                                    layout=w.Layout(width="26em"))
        else:
            ctl = w.ToggleButtons(options=options, value=value, description=c.label,
                                  style={"button_width": "5em", "description_width": "initial"})
        ctl.observe(self._changed, names="value")
        return ctl

    def _changed(self, change):
        if self._syncing:
            return
        key = next(k for k, ctl in self.widgets.items() if ctl is change["owner"])
        self._on_move(key, change["new"])

    def show(self, png, tooltip, values):
        """Show a new frame and move the controls to ``values`` (where on their grid)."""
        self.image.value = png
        self.image.tooltip = tooltip          # the image's title text
        self._syncing = True                  # a direct call moves the controls too
        try:
            for key, ctl in self.widgets.items():
                if values[key] in self._grids[key]:
                    ctl.value = values[key]
        finally:
            self._syncing = False
