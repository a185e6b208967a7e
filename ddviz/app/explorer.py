"""The Explore tab: a structure, a model and optionally a reference density, compared.

Compared in 3D, on the worst-error slice (or any plane) and in a predicted-vs-reference
scatter plot. A Hamiltonian model (DeepH-E3) is compared through the density its predicted
Kohn–Sham matrix implies, with its orbital levels and block errors beside
(:mod:`ddviz.app.explore.hamiltonian`).

Usable in a served app and in Jupyter: ``Explorer(structure=..., model=..., reference=...)``
takes paths or objects (ASE atoms / Sample / loaded model). Every number shown comes from
:class:`ddviz.evaluate.comparison.Comparison`, computed by :class:`ddviz.evaluate.job.ComparisonJob`.

The parts (:mod:`ddviz.app.explore`) share one :class:`~ddviz.app.explore.state.ExploreState`
and react to its parameters. In a served app a large grid is first shown as a preview on every
2nd point along each axis (8x fewer points), then replaced by the full grid; the message and the
metrics table say which grid they come from. Results are cached by content (:mod:`ddviz.cache`),
so a reopened page or a restarted server shows a seen comparison at once. Uploads and exports
are written into the session's temporary folder (:mod:`ddviz.app.tempfiles`), removed when the
session ends.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import panel as pn

from ddviz.app import tempfiles
from ddviz.app.explore.exports import ExportsPanel
from ddviz.app.explore.hamiltonian import HamiltonianPanel
from ddviz.app.explore.inputs import InputsPanel
from ddviz.app.explore.plots import PlotsPanel
from ddviz.app.explore.runner import Runner, served
from ddviz.app.explore.slices import SlicePanel
from ddviz.app.explore.state import ExploreState
from ddviz.app.explore.view import ScenePanel
from ddviz.app.settings import AppSettings

# The page is made without the numerical modules (xarray, torch, VTK, HoloViews): they load in
# the workers, while the browser builds the page.
if TYPE_CHECKING:
    from ddviz.evaluate.comparison import Comparison


class Explorer(pn.viewable.Viewer):
    """Predicted vs reference density: 3D isosurfaces, worst-error slices, scatter and metrics.

    Parameters
    ----------
    structure, model, reference : str, pathlib.Path or object, optional
        A listed file name (e.g. ``"data/ethane.xyz"``), a path, or an object: ``ase.Atoms`` or
        :class:`~ddviz.grid.Sample` (structure, reference), a loaded model. Given a structure
        and a model, the comparison is computed at once (in a served app: in the background).
    settings : AppSettings, optional
        Folders and limits (default: from the environment).
    **params
        Initial values of :class:`~ddviz.app.explore.state.ExploreState` parameters
        (e.g. ``log_level``, ``layers``).
    """

    def __init__(self, structure=None, model=None, reference=None,
                 settings: AppSettings | None = None, **params):
        super().__init__()
        from ddviz import cache as field_cache
        from ddviz.evaluate.job import ComparisonJob

        self.settings = settings or AppSettings()
        self._folder: Path | None = None  # the session's temporary files, made on first use
        self.state = ExploreState(**params)
        self.job = ComparisonJob(field_cache.shared(self.settings.cache_dir))  # shared cache
        self.inputs = InputsPanel(self.state, self.settings, self.folder)
        for kind, value in (("structure", structure), ("model", model), ("reference", reference)):
            if value is not None:
                self.inputs.give(kind, value)
        self.view = ScenePanel(self.state)
        self.slices = SlicePanel(self.state)
        self.plots = PlotsPanel(self.state)
        self.exports = ExportsPanel(self.state, self.view, self.slices, self.folder)
        self.runner = Runner(self.state, self.inputs, self.job)
        self.hamiltonian = HamiltonianPanel(self.state, self.runner.compute_reference)
        if served():
            pn.state.on_session_destroyed(lambda session_context: self.close())
        self.runner.start()

    @property
    def comparison(self) -> Comparison | None:
        """The current comparison (None before the first result)."""
        return self.state.comparison

    @property
    def hamiltonian_view(self):
        """A Hamiltonian model's current result (a ``HamiltonianView``), else None."""
        return self.state.hamiltonian

    @property
    def scene(self):
        """The server-side :class:`ddviz.viz.scene.Scene` of the 3D view (None before 3D)."""
        return self.view.scene

    def folder(self) -> Path:
        """The session's folder of temporary files (uploads, exports), made on first use."""
        if self._folder is None:
            self._folder = tempfiles.session_dir()
        return self._folder

    def close(self) -> None:
        """Remove this session's temporary files (the session ended)."""
        if self._folder is not None:
            tempfiles.remove(self._folder)
            self._folder = None

    def refresh_files(self) -> None:
        """Re-list structures, references and models (e.g. after training saved a new model)."""
        self.inputs.refresh()

    def upload(self, kind: str, name: str, data: bytes) -> None:
        """Take an uploaded file as structure, reference or model and evaluate.

        See :meth:`~ddviz.app.explore.inputs.InputsPanel.upload`.
        """
        self.inputs.upload(kind, name, data)

    def evaluate(self) -> Comparison | None:
        """Evaluate now, in this thread, on the full grid (notebooks, tests).

        Errors become a message on the page.
        """
        return self.runner.evaluate()

    def export(self, what: str, width: int | None = None, height: int | None = None,
               dpi: int | None = None) -> Path:
        """Write an export into the session's temporary folder and return its path.

        ``what``: 'slices.png', 'slices.svg', 'scatter.png', 'view.png' or 'report.html';
        ``width``, ``height`` (pixels) and ``dpi`` as in
        :meth:`~ddviz.app.explore.exports.ExportsPanel.export`.
        """
        return self.exports.export(what, width, height, dpi)

    def __panel__(self):
        # built once: each pane must sit in one place only, however often Panel asks
        if getattr(self, "_layout", None) is None:
            # fits 1400 pixels without scrolling sideways: the inputs column and the controls
            # have fixed widths, the rest stretches; the rows of plots are sized to fit
            self._layout = pn.Row(
                self.inputs,
                pn.Column(
                    pn.Row(self.view.view, pn.Column(self.view.controls, self.plots.density_box,
                                                     width=340),
                           sizing_mode="stretch_width"),
                    self.slices, self.hamiltonian, self.plots.row, self.exports,
                    sizing_mode="stretch_width",
                    styles={"min-width": "0"}),
                sizing_mode="stretch_width")
        return self._layout
