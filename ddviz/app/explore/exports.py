"""Exports of the current result for slides and reports, as download buttons.

The slices shown (PNG, SVG), the scatter plot (PNG), the 3D view (PNG) and a standalone HTML
report, images at the size and resolution chosen beside the buttons.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from pathlib import Path

import panel as pn
import param

from ddviz.app.explore.slices import SlicePanel
from ddviz.app.explore.state import ExploreState
from ddviz.app.explore.view import ScenePanel
from ddviz.errors import DdvizError

EXPORTS = ("slices.png", "slices.svg", "scatter.png", "view.png", "report.html")


class _Download(pn.widgets.FileDownload):
    """A FileDownload whose callback may return None.

    Nothing is sent (the reason is shown elsewhere), instead of Panel's error in the server.
    """

    def _sync_data(self, fileobj):
        if fileobj is not None:
            super()._sync_data(fileobj)


class ExportsPanel(pn.viewable.Viewer):
    """Download buttons for :data:`EXPORTS`; files are written into ``folder()/exports``.

    Buttons of exports that do not exist for the current result (none before a result, no
    scatter plot without a reference, no 3D view or slices of a 1D result) are disabled.
    """

    width = param.Integer(default=1600, bounds=(50, 10_000), doc="image width (pixels)")
    height = param.Integer(default=0, bounds=(0, 10_000),
                           doc="image height (pixels; 0: the figure's own aspect ratio)")
    dpi = param.Integer(default=150, bounds=(20, 1200), doc="dots per inch (text size)")

    def __init__(self, state: ExploreState, view: ScenePanel, slices: SlicePanel,
                 folder: Callable[[], Path], **params):
        super().__init__(**params)
        self.state, self.view, self.slices, self._folder = state, view, slices, folder
        state.param.watch(self._enable, "comparison")

    def available(self) -> list[str]:
        """The exports that exist for the current result."""
        c = self.state.comparison
        if c is None or c.ndim != 3:
            return []
        return [w for w in EXPORTS if w != "scatter.png" or c.reference is not None]

    def export(self, what: str, width: int | None = None, height: int | None = None,
               dpi: int | None = None) -> Path:
        """Write the export ``what`` (one of :data:`EXPORTS`) and return its path.

        Parameters
        ----------
        what : str
            One of :data:`EXPORTS`.
        width, height : int, optional
            Image size in pixels (default: this panel's ``width`` and ``height``; 0 or None:
            from the figure's aspect ratio). Not used for the HTML report.
        dpi : int, optional
            Dots per inch of figures (default: this panel's ``dpi``).

        Returns
        -------
        pathlib.Path
            The file written.

        Raises
        ------
        ddviz.errors.DdvizError
            Nothing to export yet, or ``what`` does not exist for this result (a scatter plot
            without a reference, the 3D view or slices of a 1D result), or a size out of range.
        """
        from ddviz.viz import export, plots

        c = self.state.comparison
        if c is None:
            raise DdvizError("nothing to export yet")
        width = (width if width is not None else self.width) or None
        height = (height if height is not None else self.height) or None
        dpi = dpi or self.dpi
        folder = self._folder() / "exports"
        folder.mkdir(exist_ok=True)
        out = folder / what
        if what not in self.available():
            raise DdvizError(f"cannot export {what!r} for this comparison")
        if what.startswith("slices."):
            figure = self.slices.figure or self.slices.make_figure()
            return export.save_figure(figure, out, width, height, dpi)
        if what == "scatter.png":
            return export.save_figure(plots.scatter(c.predicted, c.reference, dynamic=False),
                                      out, width, height, dpi)
        if what == "view.png" and self.view.scene is not None:
            return export.save_scene(self.view.scene, out, width, height)
        if what == "report.html":
            return export.save_report(c, out, level=10 ** self.state.log_level)
        raise DdvizError(f"cannot export {what!r} for this comparison")

    def _download(self, what: str):
        def make():
            try:
                return str(self.export(what))
            except DdvizError as exc:
                self.state.fail(exc, clear=False)
                return None
        return _Download(callback=make, filename=what, label=f"⬇ {what}", disabled=True,
                         embed=False, width=140)

    def _enable(self, *_) -> None:
        ok = self.available()
        for what, button in zip(EXPORTS, self.buttons):
            button.disabled = what not in ok

    @cached_property
    def buttons(self) -> list:
        """One download button per export (made once)."""
        return [self._download(what) for what in EXPORTS]

    @cached_property
    def layout(self) -> pn.FlexBox:
        """The size fields and the buttons (made once)."""
        w, p = pn.widgets, self.param
        size = [w.IntInput.from_param(p.width, name="width (px)", width=100),
                w.IntInput.from_param(p.height, name="height (px, 0: auto)", width=130),
                w.IntInput.from_param(p.dpi, name="dpi", width=80)]
        self._enable()
        return pn.FlexBox(*size, *self.buttons, align_items="end",
                          css_classes=["ddviz-exports"], sizing_mode="stretch_width")

    def __panel__(self):
        return self.layout
