"""The 3D view in the browser: a :class:`ddviz.viz.scene.Scene` drawn by vtk.js.

Each layer (isosurfaces, atoms, bonds, cell) is its own parameter holding plain arrays
(:meth:`Scene.mesh_arrays`), so a level change sends only the surfaces that moved, and the
browser swaps the input of the existing actors: camera, render window and the other actors stay.
(Panel's ``pn.pane.VTK`` re-sends every array and rebuilds its whole render window on each
``synchronize()``: about 1.5 s per level change here.)
"""

from __future__ import annotations

import json

import panel as pn
import param
from panel.custom import JSComponent

# Scene actor key -> parameter name
LAYER_PARAMS = {"predicted": "predicted", "reference": "reference", "error+": "error_pos",
                "error-": "error_neg", "atoms": "atoms", "bonds": "bonds", "cell": "cell"}

_ESM = """
function rgbOf(c) { return [c[0], c[1], c[2]]; }

export function render({ model, el }) {
  const vtk = window.vtk;
  const container = document.createElement("div");
  container.style.width = "100%";
  container.style.height = "100%";
  container.style.position = "relative";
  el.appendChild(container);
  const view = vtk.Rendering.Misc.vtkGenericRenderWindow.newInstance({ background: [1, 1, 1] });
  view.setContainer(container);
  const renderer = view.getRenderer();
  const win = view.getRenderWindow();
  const actors = {};
  const names = __NAMES__;

  function polydata(m) {
    const pd = vtk.Common.DataModel.vtkPolyData.newInstance();
    pd.getPoints().setData(Float32Array.from(m.points), 3);
    const cells = Uint32Array.from(m.cells);
    if (m.kind === "lines") { pd.getLines().setData(cells); } else { pd.getPolys().setData(cells); }
    const arr = (values, name, type) => vtk.Common.Core.vtkDataArray.newInstance(
      { numberOfComponents: 3, values: type.from(values), name });
    if (m.normals) { pd.getPointData().setNormals(arr(m.normals, "Normals", Float32Array)); }
    if (m.rgb) { pd.getPointData().setScalars(arr(m.rgb, "rgb", Uint8Array)); }
    return pd;
  }

  function show(name) {
    const m = model[name];
    let actor = actors[name];
    if (!m || !m.points || m.points.length === 0) {
      if (actor) { actor.setVisibility(false); }
      return;
    }
    if (!actor) {
      actor = vtk.Rendering.Core.vtkActor.newInstance();
      actor.setMapper(vtk.Rendering.Core.vtkMapper.newInstance());
      renderer.addActor(actor);
      actors[name] = actor;
    }
    const mapper = actor.getMapper();
    mapper.setInputData(polydata(m));
    mapper.setScalarVisibility(Boolean(m.rgb));
    const prop = actor.getProperty();
    prop.setColor(...rgbOf(m.colour));
    prop.setOpacity(m.opacity);
    if (m.kind === "lines") { prop.setLineWidth(2); }
    actor.setVisibility(model.shown.includes(name));
  }

  function resetCamera() {
    const cam = renderer.getActiveCamera();
    cam.setFocalPoint(0, 0, 0);
    cam.setPosition(1, 1, 1);
    cam.setViewUp(0, 0, 1);
    renderer.resetCamera();
  }

  function draw() { view.resize(); win.render(); }

  for (const name of names) {
    show(name);
    model.on(name, () => { show(name); win.render(); });
  }
  model.on("shown", () => {
    for (const name of names) { if (actors[name]) { actors[name].setVisibility(
      model.shown.includes(name) && model[name] && model[name].points.length > 0); } }
    win.render();
  });
  model.on("camera_resets", () => { resetCamera(); win.render(); });
  resetCamera();
  new ResizeObserver(() => draw()).observe(container);
  requestAnimationFrame(() => draw());
}
"""


class SceneView(JSComponent):
    """A vtk.js view of a Scene's layers; call :meth:`update` after the scene changed."""

    predicted = param.Dict(default=None, allow_None=True)
    reference = param.Dict(default=None, allow_None=True)
    error_pos = param.Dict(default=None, allow_None=True)
    error_neg = param.Dict(default=None, allow_None=True)
    atoms = param.Dict(default=None, allow_None=True)
    bonds = param.Dict(default=None, allow_None=True)
    cell = param.Dict(default=None, allow_None=True)
    shown = param.List(default=list(LAYER_PARAMS.values()), doc="names of the layers shown")
    camera_resets = param.Integer(default=0, doc="bumped to fit the camera to the scene")

    _esm = _ESM.replace("__NAMES__", json.dumps(list(LAYER_PARAMS.values())))

    def update(self, scene, keys=None, reset_camera: bool = False, shown=None) -> None:
        """Send the layers ``keys`` of ``scene`` (default.

        All of them; layers the scene lacks are cleared) in one message; ``reset_camera`` fits the
        camera to them; ``shown``: the scene layers to show (default: unchanged).
        """
        keys = list(LAYER_PARAMS) if keys is None else keys
        values = {LAYER_PARAMS[k]: scene.mesh_arrays(k) if k in scene.actors else None
                  for k in keys}
        if reset_camera:
            values["camera_resets"] = self.camera_resets + 1
        if shown is not None:
            values["shown"] = [LAYER_PARAMS[k] for k in shown if k in LAYER_PARAMS]
        with pn.io.hold():
            self.param.update(values)

    def set_visible(self, keys) -> None:
        """Show only the scene layers ``keys`` (e.g. 'predicted', 'error+', 'atoms')."""
        self.shown = [LAYER_PARAMS[k] for k in keys if k in LAYER_PARAMS]
