"""Slices through a 3D result: predicted, reference and error on one grid plane, by default the
plane through the largest error (nothing for a chain's 1D result).
"""

from __future__ import annotations

from functools import cached_property

import panel as pn

from ddviz.app.explore.state import ExploreState


class SlicePanel(pn.viewable.Viewer):
    """The slice panels of ``state.comparison`` on the plane ``state.slice_axis`` /
    ``state.slice_index`` ('worst': the axis through the largest error).
    """

    def __init__(self, state: ExploreState, **params):
        super().__init__(**params)
        self.state = state
        self.panes = pn.Row(css_classes=["ddviz-slices"])  # one pane per slice panel
        self.drawn: tuple[int, int] | None = None  # (axis, index) of the plane shown
        state.param.watch(self._update, ["comparison", "slice_axis", "slice_index"])

    def plane(self, worst_index: bool = False) -> tuple[int, int]:
        """(axis, index) of the plane shown; ``worst_index``: the index through the largest
        error on the 'worst' axis, not ``state.slice_index``.
        """
        c, axis_name = self.state.comparison, self.state.slice_axis
        if axis_name == "worst":
            axis, index = c.worst_slice()
            if worst_index:
                return axis, index
        else:
            axis = "abc".index(axis_name)
        return axis, min(self.state.slice_index, c.grid.shape[axis] - 1)

    def _update(self, *events) -> None:
        c = self.state.comparison
        if c is None or c.ndim == 1:
            self.panes[:], self.drawn = [], None
            return
        names = {e.name for e in events}
        # back to 'worst' by hand: the plane through the largest error again
        axis, index = self.drawn = self.plane(worst_index=names == {"slice_axis"})
        from ddviz.viz import plots

        layout = plots.slice_panels(c.grid, c.fields(), axis, index, atoms=c.atoms)
        width, height = plots.layout_size(layout)
        # one pane per panel (Panel links their axes: shared zoom). A Bokeh grid of them, updated
        # after the first render, was squeezed to zero width inside Tabs (Panel 1.9, Bokeh 3.9).
        self.panes[:] = [pn.pane.HoloViews(panel, width=width // len(layout), height=height,
                                           linked_axes=True) for panel in layout]

    @cached_property
    def controls(self) -> pn.Row:
        """The axis buttons and the plane slider (made once)."""
        p = self.state.param
        return pn.Row(pn.widgets.RadioButtonGroup.from_param(p.slice_axis, name="Slice axis"),
                      pn.widgets.IntSlider.from_param(p.slice_index, name="Plane index"))

    def __panel__(self):
        return pn.Column(self.controls, self.panes, sizing_mode="stretch_width")
