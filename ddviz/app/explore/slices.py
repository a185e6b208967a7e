"""Slices through a 3D result: predicted, reference and error on one plane.

By default the grid plane through the largest error; also any grid plane, a plane given by
Miller indices (periodic cells) or the plane through three atoms, interpolated
(:mod:`ddviz.viz.planes`). Nothing for a chain's 1D result.
"""

from __future__ import annotations

from functools import cached_property

import panel as pn

from ddviz.app.explore.state import PLANES, ExploreState
from ddviz.errors import DdvizError

GRID_AXES = ("worst", "a", "b", "c")


class SlicePanel(pn.viewable.Viewer):
    """The slice panels of ``state.comparison`` on the plane ``state.slice_axis`` says.

    'worst': the grid axis through the largest error; 'a', 'b', 'c': the grid plane
    ``state.slice_index``; 'hkl': the Miller plane ``state.plane_hkl`` moved by
    ``state.plane_offset``; 'atoms': the plane through ``state.plane_atoms``.
    """

    def __init__(self, state: ExploreState, **params):
        super().__init__(**params)
        self.state = state
        self.panes = pn.Row(css_classes=["ddviz-slices"])  # one pane per slice panel
        self.drawn: tuple[int, int] | None = None  # (axis, index) of the grid plane shown
        self.figure = None  # the HoloViews layout shown (exports draw it again)
        self.note = pn.pane.Markdown("", visible=False, css_classes=["ddviz-slice-note"])
        state.param.watch(self._update, ["comparison", "slice_axis", "slice_index", "plane_hkl",
                                         "plane_atoms", "plane_offset"])

    def plane(self, worst_index: bool = False) -> tuple[int, int]:
        """(axis, index) of the grid plane shown.

        ``worst_index``: the index through the largest error on the 'worst' axis, not
        ``state.slice_index``.
        """
        c, axis_name = self.state.comparison, self.state.slice_axis
        if axis_name not in ("a", "b", "c"):
            axis, index = c.worst_slice()
            if worst_index or axis_name != "worst":
                return axis, index
        else:
            axis = "abc".index(axis_name)
        return axis, min(self.state.slice_index, c.grid.shape[axis] - 1)

    def make_figure(self):
        """The HoloViews layout of the chosen plane.

        Raises
        ------
        ddviz.errors.DdvizError
            Miller indices or atom numbers that are not three integers, or that give no plane
            (see :mod:`ddviz.viz.planes`).
        """
        from ddviz.units import ang_to_bohr
        from ddviz.viz import planes, plots

        c, mode = self.state.comparison, self.state.slice_axis
        if mode in GRID_AXES:
            axis, index = self.plane()
            return plots.slice_panels(c.grid, c.fields(), axis, index, atoms=c.atoms)
        text = self.state.plane_hkl if mode == "hkl" else self.state.plane_atoms
        try:
            numbers = [int(x) for x in text.replace(",", " ").split()]
        except ValueError:
            numbers = []
        if len(numbers) != 3:
            raise DdvizError(f"{PLANES[mode]}: give three integers, got {text!r}")
        if mode == "hkl":
            where = planes.miller_plane(c.grid, numbers, offset=self.state.plane_offset)
        else:
            where = planes.atoms_plane(c.grid, ang_to_bohr(c.atoms.positions), numbers)
        return plots.plane_panels(c.grid, c.fields(), where, atoms=c.atoms)

    def _update(self, *events) -> None:
        c = self.state.comparison
        self.note.visible = False
        if c is None or c.ndim == 1:
            self.panes[:], self.drawn, self.figure = [], None, None
            return
        names = {e.name for e in events}
        mode = self.state.slice_axis
        if mode not in GRID_AXES and names <= {"slice_index"}:
            return  # the grid index does not move these planes
        if mode in GRID_AXES:
            # back to 'worst' by hand: the plane through the largest error again
            self.drawn = self.plane(worst_index=names == {"slice_axis"})
        from ddviz.viz import plots

        try:
            layout = self.make_figure()
        except DdvizError as exc:
            self.note.object, self.note.visible = f"**No plane:** {exc}", True
            return
        self.figure = layout
        width, height = plots.layout_size(layout)
        # one pane per panel (Panel links their axes: shared zoom). A Bokeh grid of them, updated
        # after the first render, was squeezed to zero width inside Tabs (Panel 1.9, Bokeh 3.9).
        self.panes[:] = [pn.pane.HoloViews(panel, width=width // len(layout), height=height,
                                           linked_axes=True) for panel in layout]

    @cached_property
    def controls(self) -> pn.Row:
        """The plane choice, the grid plane slider and the plane fields (made once)."""
        p, w = self.state.param, pn.widgets
        mode = p.slice_axis.rx()
        return pn.FlexBox(
            w.RadioButtonGroup.from_param(p.slice_axis, name="Slice plane"),
            w.IntSlider.from_param(p.slice_index, name="Plane index", width=220,
                                   visible=mode.rx.pipe(lambda m: m in GRID_AXES)),
            w.TextInput.from_param(p.plane_hkl, name="h k l", width=90,
                                   visible=mode.rx.pipe(lambda m: m == "hkl")),
            w.FloatSlider.from_param(p.plane_offset, name="offset (bohr)", width=200,
                                     visible=mode.rx.pipe(lambda m: m == "hkl")),
            w.TextInput.from_param(p.plane_atoms, name="atoms (from 0)", width=110,
                                   visible=mode.rx.pipe(lambda m: m == "atoms")),
            sizing_mode="stretch_width")

    def __panel__(self):
        return pn.Column(self.controls, self.note, self.panes, sizing_mode="stretch_width")
