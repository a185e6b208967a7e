"""The Explore tab's main view.

The 3D scene (isosurfaces, atoms, bonds, cell) of a 3D result, or line plots of density and error
along a chain (``comparison.ndim == 1``).

The scene (server side: exports) is made with the first 3D result and reused; the browser view
exists from the start (its code loads with the page). A new result is drawn once, at the levels
that come with it (one batch of the state), and sent in one message; a level change recomputes
and sends only the surfaces whose level moved. The camera is fitted again only for other atoms.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np
import panel as pn

from ddviz.app.explore.state import ExploreState
from ddviz.app.view3d import SceneView

LEVELS = ("log_level", "log_error_level")


class ScenePanel(pn.viewable.Viewer):
    """The 3D view (or a chain's line plot) of ``state.comparison`` and its controls."""

    def __init__(self, state: ExploreState, **params):
        super().__init__(**params)
        self.state = state
        self.scene = None  # ddviz.viz.scene.Scene, made with the first 3D result
        self._atoms = None  # the atoms the camera was last fitted to
        self.vtk = SceneView(sizing_mode="stretch_width", height=450)
        self._waiting = pn.pane.Markdown("*3D view: waiting for a prediction*", height=30,
                                         css_classes=["ddviz-3d-note"])
        self.view = pn.Column(self._waiting, self.vtk, sizing_mode="stretch_width", height=480,
                              css_classes=["ddviz-3d"])
        state.param.watch(self._update, ["comparison", *LEVELS, "layers"])

    def _update(self, *events) -> None:
        names = {e.name for e in events}
        c = self.state.comparison
        if c is None:
            if "comparison" in names:
                self._clear()
            return
        if "comparison" in names:
            self._show(c)
        elif self.scene is not None and c.ndim == 3:
            changed = self.scene.set_level(10 ** self.state.log_level,
                                           10 ** self.state.log_error_level, render=False) \
                if names & set(LEVELS) else []
            self._apply_layers()
            self.vtk.update(self.scene, changed, shown=self._shown())

    def _clear(self) -> None:
        """No current result (the last evaluation failed): show nothing, and say so."""
        self._waiting.object = "*3D view: no result for these inputs*"
        self._waiting.visible = True
        if self.vtk not in self.view.objects:  # a chain's line plot was shown
            self.view[:] = [self._waiting, self.vtk]
        elif self.scene is not None:
            self.vtk.shown = []  # every layer hidden; the next result shows them again

    def _show(self, c) -> None:
        if c.ndim == 1:
            from ddviz.viz import plots

            line = plots.line_profiles(c.grid, c.fields(), c.atoms)
            self.view[:] = [pn.pane.HoloViews(line, sizing_mode="stretch_width",
                                              css_classes=["ddviz-line"])]
            return
        from ddviz.viz.scene import Scene

        args = (c.atoms, c.grid, c.fields(), 10 ** self.state.log_level,
                10 ** self.state.log_error_level)
        old = self._atoms
        same_atoms = old is not None and len(c.atoms) == len(old) \
            and np.array_equal(c.atoms.numbers, old.numbers) \
            and np.allclose(c.atoms.positions, old.positions)
        self._atoms = c.atoms.copy()
        if self.scene is None:
            self.scene = Scene(*args, window_size=(640, 480))
        else:
            self.scene.show(*args)
        self._waiting.visible = False
        self._apply_layers()
        self.vtk.update(self.scene, reset_camera=not same_atoms, shown=self._shown())
        if self.vtk not in self.view.objects:  # after a 1D result
            self.view[:] = [self._waiting, self.vtk]

    def _apply_layers(self) -> None:
        for layer in self.state.param.layers.objects:
            self.scene.set_visible(layer, layer in self.state.layers)

    def _shown(self) -> list[str]:
        return [k for k, actor in self.scene.actors.items() if actor.GetVisibility()]

    def reset_camera(self, *_) -> None:
        """Fit the camera to the scene again (server side and in the browser)."""
        if self.scene is not None:
            self.scene.reset_camera()
            self.vtk.camera_resets += 1

    @cached_property
    def controls(self) -> pn.Column:
        """Level sliders, layer buttons and the camera reset (made once)."""
        w, p = pn.widgets, self.state.param
        reset = w.Button(name="Reset camera", width=120)
        reset.on_click(self.reset_camera)
        has_ref = p.has_reference.rx()
        return pn.Column(
            w.EditableFloatSlider.from_param(p.log_level, css_classes=["ddviz-level"],
                                             name="log10 iso level (e/bohr^3)", width=320),
            pn.pane.Markdown(p.log_level.rx.pipe(lambda v: f"iso level = {10 ** v:.3g} e/bohr^3"),
                             css_classes=["ddviz-level-value"], margin=(0, 10)),
            w.EditableFloatSlider.from_param(p.log_error_level, disabled=has_ref.rx.not_(), width=320,
                                             name="log10 |error| level (e/bohr^3)"),
            pn.pane.Markdown(p.log_error_level.rx.pipe(
                lambda v: f"|error| level = {10 ** v:.3g} e/bohr^3"), margin=(0, 10),
                visible=has_ref),
            self.layer_buttons, reset, width=340)

    @cached_property
    def layer_buttons(self):
        """Layer toggles; without a reference only the layers a prediction has are offered."""
        state = self.state
        every = list(state.param.layers.objects)
        buttons = pn.widgets.CheckButtonGroup(options=every, value=list(state.layers),
                                              css_classes=["ddviz-layers"])

        def offer(*_):
            options = every if state.has_reference else [k for k in every
                                                         if k not in ("reference", "error")]
            buttons.param.update(options=options,
                                 value=[k for k in state.layers if k in options])

        def chosen(event):
            kept = [k for k in state.layers if k not in buttons.options]  # not offered now
            state.layers = [k for k in every if k in event.new or k in kept]

        state.param.watch(offer, "has_reference")
        buttons.param.watch(chosen, "value")
        offer()
        return buttons

    def __panel__(self):
        return pn.Row(self.view, self.controls, sizing_mode="stretch_width")
