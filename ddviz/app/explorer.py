"""The Explore tab: a structure, a model and optionally a reference density, compared in 3D,
on the worst-error slice and in a predicted-vs-reference scatter plot.

Usable in a served app and in Jupyter: ``Explorer(structure=..., model=..., reference=...)``
takes paths or objects (ASE atoms / Sample / loaded model). Every number shown comes from
:class:`ddviz.evaluate.comparison.Comparison`.

In a served app a large grid is first shown as a preview on every 2nd point along each axis
(8x fewer points), then replaced by the full grid; the message and the metrics table say which
grid they come from. Results are cached by content (:mod:`ddviz.cache`), so a reopened page or a
restarted server shows a seen comparison at once.
"""

from __future__ import annotations

import asyncio
import math
import tempfile
from concurrent.futures import ThreadPoolExecutor
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import panel as pn
import param

from ddviz import cache as field_cache
from ddviz.app import trace, warmup
from ddviz.app.settings import AppSettings
from ddviz.errors import DdvizError

# The page is made without the numerical modules (xarray, torch, VTK, HoloViews): they load in
# the workers, while the browser builds the page.
if TYPE_CHECKING:
    from ddviz.evaluate.comparison import Comparison

STRUCTURE_SUFFIXES = (".xyz", ".extxyz", ".cif", ".vasp", ".poscar", ".cube", ".cub", ".nc")
DENSITY_SUFFIXES = (".cube", ".cub", ".nc", ".chgcar")
NONE = "(the structure file's own, if it has one)"
_EXECUTOR = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ddviz-eval")
PREVIEW_STEP = 2  # the preview takes every 2nd grid point along each axis
PREVIEW_MIN_POINTS = 100_000  # smaller grids are shown at full resolution at once


class Explorer(pn.viewable.Viewer):
    """Predicted vs reference density: 3D isosurfaces, worst-error slices, scatter and metrics."""

    structure = param.Selector(default=None, objects=[], doc="structure file or density file")
    model = param.Selector(default=None, objects=[], doc="model file (.safetensors)")
    reference = param.Selector(default=NONE, objects=[NONE], doc="reference density file")
    log_level = param.Number(default=-1.5, bounds=(-5, 1), step=0.05,
                             doc="log10 of the isosurface level (e/bohr^3)")
    log_error_level = param.Number(default=-2.5, bounds=(-6, 0), step=0.05,
                                   doc="log10 of the |error| isosurface level (e/bohr^3)")
    layers = param.ListSelector(default=["predicted", "reference", "error", "atoms"],
                                objects=["predicted", "reference", "error", "atoms", "bonds"])
    slice_axis = param.Selector(default="worst", objects=["worst", "a", "b", "c"])
    slice_index = param.Integer(default=0, bounds=(0, None))
    busy = param.Boolean(default=False)
    message = param.String(default="")
    comparison = param.Parameter(default=None, doc="the current Comparison (read-only)")

    def __init__(self, structure=None, model=None, reference=None, settings=None, **params):
        self.settings = settings or AppSettings()
        self._objects: dict[str, object] = {}  # names -> objects given directly (notebook)
        self._models: dict[str, object] = {}  # loaded model cache by path
        self.cache = field_cache.shared(self.settings.cache_dir)  # shared by all sessions
        self._generation = 0  # bumped per evaluation: results of superseded ones are dropped
        self._uploads = Path(tempfile.mkdtemp(prefix="ddviz-uploads-"))
        super().__init__(**params)
        # always shown (full when done): a hidden Progress has no element in the browser yet,
        # and a value update from the worker thread arriving then throws there (Panel 1.9)
        self.progress = pn.indicators.Progress(value=0, max=100, active=False, width=200)
        # the scene (server side: exports) is made with the first result and reused; the browser
        # view exists from the start (its code loads with the page); the camera is fitted again
        # only for other atoms
        from ddviz.app.view3d import SceneView

        self.scene = None
        self._scene_atoms = None
        self.vtk = SceneView(sizing_mode="stretch_width", height=450)
        self._waiting = pn.pane.Markdown("*3D view: waiting for a prediction*", height=30)
        self.view3d = pn.Column(self._waiting, self.vtk, sizing_mode="stretch_width", height=480,
                                css_classes=["ddviz-3d"])
        self.slices = pn.Row(css_classes=["ddviz-slices"])  # one pane per slice panel
        # the plot panes are made, and join the page, with the first result: an empty one on the
        # page makes its creation import HoloViews and its plotting classes (~0.8 s here)
        self._plots = pn.Row()
        self._density_box = pn.Column(sizing_mode="stretch_width")
        self.alert = pn.pane.Alert("", alert_type="danger", visible=False, css_classes=["ddviz-alert"])
        self._quiet = False
        self._quick_scatter = False  # the scatter shown is binned with NumPy (see _show)
        # served: set once the browser has built the page. Updates sent before that can reach
        # models the browser has no view for yet and throw there (Panel 1.9), so results are
        # computed at once but shown, and progress reported, only after it
        self._loaded: asyncio.Event | None = None
        self.refresh_files()
        for name, value in (("structure", structure), ("model", model), ("reference", reference)):
            if value is not None:
                self._give(name, value)
        self.param.watch(self._inputs_changed, ["structure", "model", "reference"])
        self.param.watch(self._levels_changed, ["log_level", "log_error_level"])
        self.param.watch(self._layers_changed, ["layers"])
        self.param.watch(self._slice_changed, ["slice_axis", "slice_index"])
        if self.structure and self.model:
            self._start()

    # --- choosing inputs -------------------------------------------------------------------------
    def refresh_files(self) -> None:
        """Re-list structures, references and models (e.g. after training saved a new model)."""
        s = self.settings
        given = {k: v for k, v in self._objects.items()}
        structures = list(s.files(STRUCTURE_SUFFIXES)) + [k for k in given if k.startswith("structure:")]
        refs = [NONE] + list(s.files(DENSITY_SUFFIXES)) + [k for k in given if k.startswith("reference:")]
        models = list(s.files((".safetensors",), [s.models_dir])) + [k for k in given if k.startswith("model:")]
        self.param.structure.objects = structures
        self.param.reference.objects = refs
        self.param.model.objects = models
        if self.structure is None and structures:  # prefer one with a reference to compare with
            with_ref = [k for k in structures if k.lower().endswith(DENSITY_SUFFIXES)]
            self.structure = (with_ref or structures)[0]
        if self.model is None and models:
            self.model = models[0]

    def _give(self, kind: str, value) -> None:
        """Select a listed file by its name, or an object or path given directly (notebook,
        upload; a path given by the programmer may lie outside the data folders)."""
        if isinstance(value, str) and value in self.param[kind].objects:
            with param.discard_events(self):
                setattr(self, kind, value)
            return
        if isinstance(value, (str, Path)):
            key = f"{kind}:{Path(value).name}"
            self._objects[key] = Path(value).resolve()
        else:
            key = f"{kind}:{type(value).__name__}"
            self._objects[key] = value
        self.refresh_files()
        with param.discard_events(self):
            setattr(self, kind, key)

    def upload(self, kind: str, name: str, data: bytes) -> None:
        """Take an uploaded file (size-limited) as structure, reference or model."""
        self.settings.check_upload(name, data)
        if kind == "model" and not name.endswith(".safetensors"):
            raise DdvizError("models load only from .safetensors files", path=name)
        path = self._uploads / Path(name).name
        path.write_bytes(data)
        self._give(kind, path)
        self._start()

    def _resolve(self, kind: str, key):
        """The object behind a selection: a file path inside the folders, or a given object."""
        if key in self._objects:
            return self._objects[key]
        roots = [self.settings.models_dir] if kind == "model" else self.settings.data_dirs
        for root in roots:
            prefix = root.name + "/"
            if key.startswith(prefix):
                return self.settings.safe_path(root / key[len(prefix):], roots)
        return self.settings.safe_path(key, roots)

    def _load_inputs(self):
        """(atoms, model, reference Sample or None) from the selections (runs in the worker)."""
        from ddviz import io
        from ddviz.grid import Sample
        from ddviz.methods.deep_density.files import load_model

        struct = self._resolve("structure", self.structure)
        if isinstance(struct, Sample):
            atoms, reference = struct.atoms, struct
        elif isinstance(struct, Path):
            atoms, reference = io.read_structure(struct), None
            if struct.suffix.lower() in DENSITY_SUFFIXES and self.reference == NONE:
                reference = io.read(struct)  # a density file is its own reference
        else:
            atoms, reference = struct, None
        if self.reference != NONE:
            ref = self._resolve("reference", self.reference)
            reference = ref if isinstance(ref, Sample) else io.read(ref)
        model = self._resolve("model", self.model)
        if isinstance(model, Path):
            key = (str(model), model.stat().st_mtime)
            if key not in self._models:
                self._models[key] = load_model(model)[0]
            model = self._models[key]
        return atoms, model, reference  # orbitals are evaluated on the grid by _compute

    # --- evaluation in the background ------------------------------------------------------------
    def _inputs_changed(self, *events) -> None:
        self._start()

    def _start(self) -> None:
        if not (self.structure and self.model):
            return
        if pn.state.curdoc is not None and pn.state.curdoc.session_context is not None:
            if self._loaded is None:
                self._loaded = asyncio.Event()
                pn.state.onload(self._loaded.set)
            pn.state.execute(self._evaluate_async)
        else:
            self.evaluate()

    def _report(self, done: int, total: int) -> None:
        if self._loaded is None or self._loaded.is_set():
            self.progress.value = int(100 * done / max(total, 1))

    def _compute(self, inputs, step: int = 1, coarse: Comparison | None = None) -> Comparison:
        """The comparison on every step-th point; ``coarse`` (the preview) lends its values."""
        from ddviz.evaluate.comparison import compute_comparison

        atoms, model, reference = inputs
        return compute_comparison(atoms, model, reference, progress=self._report, step=step,
                                  cache=self.cache, coarse=coarse)

    def _steps(self, inputs) -> list[int]:
        """[PREVIEW_STEP, 1] for a large grid not in the cache yet, else [1]."""
        from ddviz.evaluate.comparison import comparison_grid, is_cached

        atoms, model, reference = inputs
        if comparison_grid(atoms, reference).size < PREVIEW_MIN_POINTS or \
                is_cached(atoms, model, self.cache, reference):
            return [1]
        return [PREVIEW_STEP, 1]

    def evaluate(self) -> Comparison | None:
        """Evaluate now, in this thread, on the full grid (notebooks, tests); errors become a
        message on the page."""
        self._generation += 1
        self._begin()
        try:
            comparison = self._compute(self._load_inputs())
        except DdvizError as exc:
            self._fail(exc)
            return None
        self._show(comparison)
        return comparison

    async def _evaluate_async(self) -> None:
        """Preview (large grids not cached), then the full grid, in the worker thread."""
        self._generation += 1
        generation = self._generation

        async def work(fn, *args):
            return await asyncio.wrap_future(_EXECUTOR.submit(fn, *args))

        self._begin()
        # imports wait in the warm-up thread (started with the server), never on the event loop;
        # until datashader's kernels are compiled the scatter is binned with NumPy
        warm = {k: asyncio.wrap_future(f) for k, f in warmup.start().items()}
        trace.mark("evaluation started")
        try:
            await warm["computing"]
            inputs = await work(self._load_inputs)
            trace.mark("inputs loaded")
            comparison = None
            for step in await work(self._steps, inputs):
                comparison = await work(self._compute, inputs, step, comparison)
                trace.mark(f"computed step {step}")
                await warm["drawing"]
                if self._loaded is not None:
                    await self._loaded.wait()
                if generation != self._generation:
                    return  # newer inputs were chosen meanwhile
                self._show(comparison, quick_scatter=not warmup.datashader_ready())
                trace.mark(f"shown step {step}")
            if self._quick_scatter:
                await asyncio.wrap_future(warmup.datashader())
                if generation == self._generation:
                    self._draw_scatter(comparison)
        except Exception as exc:  # noqa: BLE001  (DdvizError or not: keep the session usable)
            if generation == self._generation:
                self._fail(exc)

    def _begin(self) -> None:
        self.busy = True
        self.alert.visible = False
        self.progress.value, self.progress.active = 0, True
        self.message = "evaluating..."

    def _fail(self, exc: Exception) -> None:
        self.busy = False
        self.progress.value, self.progress.active = 0, False
        self.message = ""
        self.alert.object = f"**Could not evaluate:** {exc}"
        self.alert.visible = True

    def _show(self, comparison: Comparison, quick_scatter: bool = False) -> None:
        """Draw a comparison. quick_scatter: bin the scatter plot with NumPy (datashader's
        kernels are still compiling; :meth:`_draw_scatter` redraws it). All in one go: panes
        added to the page and filled in a later tick lost the update in the browser."""
        from ddviz.viz import plots
        from ddviz.viz.scene import Scene

        self.comparison = comparison
        if plots.line_axis(comparison.grid) is not None:
            return self._show_line(comparison)
        values = comparison.reference if comparison.reference is not None else comparison.predicted
        top = float(values.max())
        if not (10 ** self.log_level < top):
            self.log_level = round(math.log10(max(top, 1e-6) * 0.1), 2)
        if comparison.error is not None:
            m = float(np.abs(comparison.error).max()) or 1e-6
            self.log_error_level = round(math.log10(0.25 * m), 2)
        args = (comparison.atoms, comparison.grid, comparison.fields(), 10 ** self.log_level,
                10 ** self.log_error_level)
        atoms = comparison.atoms
        same_atoms = self._scene_atoms is not None and len(atoms) == len(self._scene_atoms) \
            and np.array_equal(atoms.numbers, self._scene_atoms.numbers) \
            and np.allclose(atoms.positions, self._scene_atoms.positions)
        self._scene_atoms = atoms.copy()
        if self.scene is None:
            self.scene = Scene(*args, window_size=(640, 480))
            self._waiting.visible = False
        else:
            self.scene.show(*args)
        self._layers_changed()
        self.vtk.update(self.scene, reset_camera=not same_atoms)
        if self.vtk not in self.view3d.objects:  # after a 1D result
            self.view3d[:] = [self._waiting, self.vtk]
        self._place_plots()
        self.density_hist.object = plots.density_histogram(values)
        self.table.object = plots.metrics_table(comparison.metrics(), comparison.describe_grid())
        self._draw_scatter(comparison, quick_scatter)
        self.histograms.object = (None if comparison.reference is None
                                  else plots.error_histogram(comparison.error))
        axis, index = comparison.worst_slice()
        self.param.slice_index.bounds = (0, max(comparison.grid.shape) - 1)
        self._quiet = True  # one draw below, not one per parameter change
        try:
            self.slice_axis, self.slice_index = "worst", index
        finally:
            self._quiet = False
        self._draw_slice(axis, index)
        self.busy = False
        self.progress.value, self.progress.active = 100, False
        m = comparison.metrics()
        took = "from the cache" if comparison.cached else f"in {comparison.seconds:.2f} s"
        if comparison.step > 1:
            summary = (f"preview on every {comparison.step}nd point: {comparison.grid.size:,} "
                       f"points {took}")
        else:
            summary = f"full grid: {comparison.grid.size:,} points {took}"
        if "rel_l1" in m:
            summary += f"; relative L1 {m['rel_l1']:.3%}, L2 {m['rel_l2']:.3%}"
        if comparison.step > 1:  # the full grid follows: keep the progress bar going
            self.busy = True
            self.progress.value, self.progress.active = 0, True
            summary += "; computing every point..."
        self.message = summary

    def _show_line(self, comparison: Comparison) -> None:
        """A 1D sample (a chain): line plots of reference, prediction and error along it replace
        the 3D view and the slices; scatter, histogram and metrics as for 3D."""
        from ddviz.viz import plots

        line = plots.line_profiles(comparison.grid, comparison.fields(), comparison.atoms)
        self.view3d[:] = [pn.pane.HoloViews(line, sizing_mode="stretch_width",
                                            css_classes=["ddviz-line"])]
        self.slices[:] = []
        self._place_plots()
        self.density_hist.object = None
        self.table.object = plots.metrics_table(comparison.metrics(), comparison.describe_grid())
        has_ref = comparison.reference is not None
        self._draw_scatter(comparison)
        self.histograms.object = plots.error_histogram(comparison.error) if has_ref else None
        self.busy = False
        self.progress.value, self.progress.active = 100, False
        m = comparison.metrics()
        self.message = (f"{comparison.grid.size:,} points (1D) in {comparison.seconds:.2f} s" + (
            f"; relative L1 {m['rel_l1']:.3%}, L2 {m['rel_l2']:.3%}" if has_ref else ""))

    @cached_property
    def scatter(self):
        return pn.pane.HoloViews(None, height=380, width=420, css_classes=["ddviz-scatter"])

    @cached_property
    def histograms(self):
        return pn.pane.HoloViews(None, height=380, width=420)

    @cached_property
    def table(self):
        return pn.pane.HoloViews(None, height=300, width=380)

    @cached_property
    def density_hist(self):
        return pn.pane.HoloViews(None, height=220, sizing_mode="stretch_width")

    def _draw_scatter(self, comparison: Comparison, quick: bool = False) -> None:
        from ddviz.viz import plots

        self._quick_scatter = quick and comparison.reference is not None
        self.scatter.object = None if comparison.reference is None else plots.scatter(
            comparison.predicted, comparison.reference, quick=quick)

    def _place_plots(self) -> None:
        if not self._plots.objects:
            self._plots[:] = [self.scatter, self.histograms, self.table]
            self._density_box[:] = [self.density_hist]

    # --- interactive updates ---------------------------------------------------------------------
    def _levels_changed(self, *events) -> None:
        """Only the surfaces whose level moved are recomputed and sent to the browser."""
        if self.scene is None:
            return
        changed = self.scene.set_level(10 ** self.log_level, 10 ** self.log_error_level,
                                       render=False)
        self.vtk.update(self.scene, changed)

    def _layers_changed(self, *events) -> None:
        if self.scene is None:
            return
        for layer in self.param.layers.objects:
            self.scene.set_visible(layer, layer in self.layers)
        keys = [k for k in self.scene.actors if self.scene.actors[k].GetVisibility()]
        self.vtk.set_visible(keys)

    def _slice_changed(self, *events) -> None:
        c = self.comparison
        if c is None or self._quiet or not self.slices.objects:  # none, or a 1D view
            return
        if self.slice_axis == "worst":
            axis, index = c.worst_slice()
            if any(e.name == "slice_index" for e in events):
                index = min(self.slice_index, c.grid.shape[axis] - 1)
        else:
            axis = "abc".index(self.slice_axis)
            index = min(self.slice_index, c.grid.shape[axis] - 1)
        self._draw_slice(axis, index)

    def _draw_slice(self, axis: int, index: int) -> None:
        from ddviz.viz import plots

        c = self.comparison
        layout = plots.slice_panels(c.grid, c.fields(), axis, index, atoms=c.atoms)
        width, height = plots.layout_size(layout)
        # one pane per panel (Panel links their axes: shared zoom). A Bokeh grid of them, updated
        # after the first render, was squeezed to zero width inside Tabs (Panel 1.9, Bokeh 3.9).
        self.slices[:] = [pn.pane.HoloViews(panel, width=width // len(layout), height=height,
                                            linked_axes=True) for panel in layout]

    def reset_camera(self, *_) -> None:
        if self.scene is not None:
            self.scene.reset_camera()
            self.vtk.camera_resets += 1

    # --- exports ---------------------------------------------------------------------------------
    def export(self, what: str) -> Path:
        """Write an export into a temporary folder and return its path: 'slices.png',
        'slices.svg', 'scatter.png', 'view.png' or 'report.html'."""
        from ddviz.viz import export, plots

        c = self.comparison
        if c is None:
            raise DdvizError("nothing to export yet")
        out = Path(tempfile.mkdtemp(prefix="ddviz-export-")) / what
        if what.startswith("slices."):
            axis, index = c.worst_slice() if self.slice_axis == "worst" else \
                ("abc".index(self.slice_axis), self.slice_index)
            return export.save_figure(plots.slice_panels(c.grid, c.fields(), axis, index,
                                                         atoms=c.atoms), out)
        if what == "scatter.png" and c.reference is not None:
            return export.save_figure(plots.scatter(c.predicted, c.reference, dynamic=False), out)
        if what == "view.png":
            return export.save_scene(self.scene, out)
        if what == "report.html":
            return export.save_report(c, out, level=10 ** self.log_level)
        raise DdvizError(f"cannot export {what!r} for this comparison")

    # --- layout ----------------------------------------------------------------------------------
    def _upload_widget(self, kind: str, accept: str):
        w = pn.widgets.FileInput(accept=accept, multiple=False, width=220)

        def take(event):
            if w.value:
                try:
                    self.upload(kind, w.filename, w.value)
                except DdvizError as exc:
                    self._fail(exc)
        w.param.watch(take, "value")
        return w

    def _download(self, what: str, label: str):
        def make():
            try:
                return str(self.export(what))
            except DdvizError as exc:
                self._fail(exc)
                return None
        return pn.widgets.FileDownload(callback=make, filename=what, label=label,
                                       button_type="light", embed=False, width=150)

    def controls(self):
        w = pn.widgets
        return pn.Column(
            w.Select.from_param(self.param.structure, name="Structure"),
            self._upload_widget("structure", ".xyz,.extxyz,.cif,.vasp,.cube,.nc"),
            w.Select.from_param(self.param.model, name="Model"),
            self._upload_widget("model", ".safetensors"),
            w.Select.from_param(self.param.reference, name="Reference density"),
            self._upload_widget("reference", ".cube,.nc"),
            pn.Row(self.progress, pn.widgets.StaticText.from_param(
                self.param.message, name="", css_classes=["ddviz-message"])),
            self.alert, width=300)

    def view_controls(self):
        w = pn.widgets
        reset = w.Button(name="Reset camera", width=120)
        reset.on_click(self.reset_camera)
        return pn.Column(
            w.EditableFloatSlider.from_param(self.param.log_level, css_classes=["ddviz-level"],
                                             name="log10 iso level (e/bohr^3)"),
            w.EditableFloatSlider.from_param(self.param.log_error_level,
                                             name="log10 |error| level (e/bohr^3)"),
            w.CheckButtonGroup.from_param(self.param.layers, name="Layers"),
            reset, self._density_box, width=360)

    def __panel__(self):
        # built once: each pane must sit in one place only, however often Panel asks
        if getattr(self, "_layout", None) is None:
            self._layout = self._build_layout()
        return self._layout

    def _build_layout(self):
        w = pn.widgets
        exports = pn.Row(*(self._download(k, f"⬇ {k}") for k in
                           ("slices.png", "slices.svg", "scatter.png", "view.png", "report.html")))
        return pn.Row(
            self.controls(),
            pn.Column(
                pn.Row(self.view3d, self.view_controls(), sizing_mode="stretch_width"),
                pn.Row(w.RadioButtonGroup.from_param(self.param.slice_axis, name="Slice axis"),
                       w.IntSlider.from_param(self.param.slice_index, name="Plane index")),
                self.slices,
                self._plots,
                exports, sizing_mode="stretch_width"),
            sizing_mode="stretch_width")
