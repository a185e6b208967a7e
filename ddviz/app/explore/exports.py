"""Exports of the current result for slides and reports: the slices shown (PNG, SVG), the
scatter plot (PNG), the 3D view (PNG) and a standalone HTML report, as download buttons.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from pathlib import Path

import panel as pn

from ddviz.app.explore.slices import SlicePanel
from ddviz.app.explore.state import ExploreState
from ddviz.app.explore.view import ScenePanel
from ddviz.errors import DdvizError

EXPORTS = ("slices.png", "slices.svg", "scatter.png", "view.png", "report.html")


class ExportsPanel(pn.viewable.Viewer):
    """Download buttons for :data:`EXPORTS`; files are written into ``folder()/exports``."""

    def __init__(self, state: ExploreState, view: ScenePanel, slices: SlicePanel,
                 folder: Callable[[], Path], **params):
        super().__init__(**params)
        self.state, self.view, self.slices, self._folder = state, view, slices, folder

    def export(self, what: str) -> Path:
        """Write the export ``what`` (one of :data:`EXPORTS`) and return its path.

        Raises
        ------
        ddviz.errors.DdvizError
            Nothing to export yet, or ``what`` does not exist for this result (a scatter plot
            without a reference, the 3D view or slices of a 1D result).
        """
        from ddviz.viz import export, plots

        c = self.state.comparison
        if c is None:
            raise DdvizError("nothing to export yet")
        folder = self._folder() / "exports"
        folder.mkdir(exist_ok=True)
        out = folder / what
        if what.startswith("slices.") and c.ndim == 3:
            axis, index = self.slices.drawn or self.slices.plane()
            return export.save_figure(plots.slice_panels(c.grid, c.fields(), axis, index,
                                                         atoms=c.atoms), out)
        if what == "scatter.png" and c.reference is not None:
            return export.save_figure(plots.scatter(c.predicted, c.reference, dynamic=False), out)
        if what == "view.png" and c.ndim == 3 and self.view.scene is not None:
            return export.save_scene(self.view.scene, out)
        if what == "report.html" and c.ndim == 3:
            return export.save_report(c, out, level=10 ** self.state.log_level)
        raise DdvizError(f"cannot export {what!r} for this comparison")

    def _download(self, what: str):
        def make():
            try:
                return str(self.export(what))
            except DdvizError as exc:
                self.state.fail(exc)
                return None
        return pn.widgets.FileDownload(callback=make, filename=what, label=f"⬇ {what}",
                                       button_type="light", embed=False, width=150)

    @cached_property
    def buttons(self) -> pn.Row:
        """One download button per export (made once)."""
        return pn.Row(*(self._download(what) for what in EXPORTS))

    def __panel__(self):
        return self.buttons
