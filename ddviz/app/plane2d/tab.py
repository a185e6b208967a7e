"""The 2D tab: a 2D Kohn–Sham system in a box, solved, and predicted by DCIGN and EDNN.

A user picks a potential (a harmonic oscillator: stiffness and centre; or a Mills-style random
potential: a seed), the electron count N and the functional; the tab solves the reference
(about a second, in the background, with a busy indicator) and shows the reference and DCIGN
densities and their difference as linked images, a bar chart and a table of the energy terms
(reference, EDNN from rho, EDNN from v_ext, the exact functionals of the DCIGN density) and an
EDNN's tile grid with each tile's contribution. The models are the first files of each role in
the models folder (:func:`ddviz.evaluate.plane2d.find_models`: the shipped ``ednn-rho``,
``ednn-v`` and ``dcign`` first).

Usable in Jupyter: ``from ddviz.app import Plane2DTab; tab = Plane2DTab(); tab.start()`` computes at once, in the calling thread.
"""

from __future__ import annotations

from functools import cached_property

import panel as pn

from ddviz.app.plane2d.runner import Runner
from ddviz.app.plane2d.state import TERMS, TILE_MODELS, Plane2DState
from ddviz.app.settings import AppSettings
from ddviz.app.status import busy_message, error_alert

WIDTH = 280  # pixels of the controls column


class Plane2DTab(pn.viewable.Viewer):
    """The 2D tab (see the module docstring).

    Parameters
    ----------
    settings : AppSettings, optional
        The models folder (default: from the environment).
    **params
        Initial values of :class:`~ddviz.app.plane2d.state.Plane2DState` parameters (e.g.
        ``kind="random"``, ``seed=3``, ``electrons=4``).

    Nothing is computed until :meth:`start` (the app calls it when the tab is first opened).
    """

    def __init__(self, settings: AppSettings | None = None, **params):
        super().__init__()
        self.settings = settings or AppSettings()
        self.state = Plane2DState(**params)
        self.runner = Runner(self.state, self.settings)
        # the plots join the page with the first result: an empty HoloViews pane on the page
        # makes its creation import HoloViews (the app's page is made without it)
        self.plots = pn.Column(sizing_mode="stretch_width", styles={"min-width": "0"})
        self.state.param.watch(self._draw, ["result"])
        self.state.param.watch(self._draw_tiles, ["tile_model", "tile_term"])

    @property
    def result(self):
        """The current :class:`~ddviz.evaluate.plane2d.Plane2DResult` (None before one)."""
        return self.state.result

    def start(self) -> None:
        """Compute the chosen system (served: in the background), and again on every change."""
        self.runner.start()

    # ------------------------------------------------------------------ panes

    @cached_property
    def densities(self) -> pn.Row:
        """Reference, DCIGN and difference images, one pane each.

        Panel links the axes of HoloViews panes in one layout (``linked_axes``): one Bokeh
        grid of the three, in a pane, was drawn out of place here when the plots beside it
        arrived (Panel 1.9, Bokeh 3.9).
        """
        return pn.Row(*(pn.pane.HoloViews(None, linked_axes=True, sizing_mode="fixed")
                        for _ in range(3)), css_classes=["ddviz-2d-densities"])

    @cached_property
    def bars(self) -> pn.pane.HoloViews:
        """The bar chart of the energy terms."""
        return pn.pane.HoloViews(None, css_classes=["ddviz-2d-bars"], sizing_mode="fixed")

    @cached_property
    def table(self) -> pn.pane.DataFrame:
        """The energies: reference (Ha) and each prediction's error (mHa)."""
        return pn.pane.DataFrame(None, index=False, css_classes=["ddviz-2d-table"],
                                 sizing_mode="stretch_width")

    @cached_property
    def tiles(self) -> pn.pane.HoloViews:
        """An EDNN's tile contributions as a heat map."""
        return pn.pane.HoloViews(None, css_classes=["ddviz-2d-tiles"],
                                 sizing_mode="fixed")

    def _draw(self, *_) -> None:
        from ddviz.viz import plane2d as plots

        r = self.state.result
        if r is None:  # the last job failed: nothing of the previous result stays
            self.plots[:] = []
            return
        for pane, image in zip(self.densities, plots.density_images(r)):
            pane.object = image
        self.bars.object = plots.energy_bars(r)
        self.table.object = plots.energy_table(r)
        self._draw_tiles()
        if not self.plots.objects:  # the first result, or the first after a failure
            self.plots[:] = [self.densities, pn.Row(self.bars, self.tiles), self.table]

    def _draw_tiles(self, *_) -> None:
        from ddviz.viz import plane2d as plots

        r = self.state.result
        if r is not None:
            self.tiles.object = plots.tile_map(r, self.state.tile_model, self.state.tile_term)

    # ------------------------------------------------------------------ controls

    @cached_property
    def controls(self) -> pn.Column:
        """The system's inputs, the busy indicator, the message and the error."""
        w, p = pn.widgets, self.state.param
        sho = p.kind.rx().rx.pipe(lambda k: k == "sho")
        slider = {"width": WIDTH - 30, "visible": sho}
        return pn.Column(
            pn.pane.Markdown("### Potential"),
            w.RadioButtonGroup.from_param(p.kind, options={"oscillator": "sho",
                                                           "random": "random"},
                                          css_classes=["ddviz-2d-kind"]),
            w.EditableFloatSlider.from_param(p.kx, name="stiffness kx (Ha/bohr^2)",
                                             css_classes=["ddviz-2d-kx"], **slider),
            w.EditableFloatSlider.from_param(p.ky, name="stiffness ky (Ha/bohr^2)",
                                             css_classes=["ddviz-2d-ky"], **slider),
            w.EditableFloatSlider.from_param(p.cx, name="centre x (bohr)", **slider),
            w.EditableFloatSlider.from_param(p.cy, name="centre y (bohr)", **slider),
            w.IntInput.from_param(p.seed, name="seed of the random potential", width=WIDTH - 30,
                                  visible=sho.rx.not_(), css_classes=["ddviz-2d-seed"]),
            pn.pane.Markdown("### Electrons and functional"),
            w.RadioButtonGroup.from_param(p.electrons, name="N"),
            w.RadioButtonGroup.from_param(p.functional, options={"LDA": "lda", "GGA": "gga"}),
            pn.pane.Markdown("### Tile map"),
            w.RadioButtonGroup.from_param(p.tile_model, options=TILE_MODELS),
            w.Select.from_param(p.tile_term, options=list(TERMS), name="term", width=120),
            busy_message(p.busy, p.message, "ddviz-2d", WIDTH),
            error_alert(p.error, "ddviz-2d-alert"),
            pn.pane.Markdown("Box 16 x 16 bohr, 48 x 48 points, hard walls; densities in "
                             "e/bohr^2, energies in Ha (errors in mHa). The models were trained "
                             "on LDA densities and energies of 2, 4 and 6 electrons "
                             "(`models/README.md`).", styles={"font-size": "small"}),
            width=WIDTH)

    def __panel__(self):
        # built once: each pane must sit in one place only, however often Panel asks
        if getattr(self, "_layout", None) is None:
            self._layout = pn.Row(self.controls, self.plots, sizing_mode="stretch_width")
        return self._layout
