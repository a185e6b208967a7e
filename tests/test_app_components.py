"""The app's components in Python (as in a notebook): every number matches the library's."""

import time

import numpy as np
import pytest

from ddviz import io
from ddviz.app import Explorer, TrainingPanel
from ddviz.app.settings import AppSettings
from ddviz.evaluate.comparison import compute_comparison
from ddviz.evaluate.metrics import metrics
from ddviz.methods.deep_density.files import load_model


def run_coroutine(coro):
    """asyncio.run in a thread of its own: the browser tests' Playwright (sync API) keeps an
    event loop running in the main thread for the whole session."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def test_explorer_with_objects_matches_the_library(app_files, app_settings):
    ref = io.read(app_files["data"] / "ethane_ref.nc")
    model, _ = load_model(app_files["models"] / "tiny-ethane.safetensors")
    ex = Explorer(structure=ref.atoms, model=model, reference=ref, settings=app_settings)
    c = ex.comparison
    assert c is not None and not ex.inputs.alert.visible
    direct = compute_comparison(ref.atoms, model, ref)
    assert c.metrics()["rel_l1"] == pytest.approx(metrics(direct.predicted, direct.reference)["rel_l1"])
    assert "relative L1" in ex.state.message
    before = ex.scene.triangles("predicted")
    ex.state.log_level = ex.state.log_level - 1.0  # a lower level encloses more: more triangles
    assert ex.scene.triangles("predicted") > before
    ex.state.layers = ["predicted"]
    assert not ex.scene.actors["reference"].GetVisibility()
    ex.state.slice_axis, ex.state.slice_index = "c", 10
    img = ex.slices.panes[0].object.get(0)
    assert "z = " in img.label or "z = " in str(img.opts.get().kwargs.get("title"))


def test_explorer_from_files_and_exports(app_settings):
    ex = Explorer(structure="data/ethane_ref.nc", model="models/tiny-ethane.safetensors",
                  settings=app_settings)
    assert ex.comparison is not None and ex.comparison.reference is not None  # its own reference
    for what in ("slices.png", "slices.svg", "scatter.png", "view.png", "report.html"):
        path = ex.export(what)
        assert path.stat().st_size > 1000, what


def test_prediction_alone_from_a_bare_structure(app_settings):
    ex = Explorer(structure="data/ethane.xyz", model="models/tiny-ethane.safetensors",
                  settings=app_settings)
    c = ex.comparison
    assert c.reference is None and set(c.fields()) == {"predicted"}
    assert c.grid.spacing.max() < 0.21  # the standard grid
    assert ex.plots.scatter.object is None and ex.scene.triangles("predicted") > 0


def test_bad_inputs_show_a_message_and_the_session_stays_usable(app_settings, tmp_path):
    ex = Explorer(structure="data/ethane_ref.nc", model="models/tiny-ethane.safetensors",
                  settings=app_settings)
    good = ex.comparison
    ex.upload("structure", "broken.cube", b"not a cube file\n" * 3)
    assert ex.inputs.alert.visible and "broken.cube" in ex.inputs.alert.object
    with pytest.raises(Exception, match="safetensors"):
        ex.upload("model", "model.pt", b"\x80\x04pickle")
    with pytest.raises(Exception, match="above the"):
        ex.upload("structure", "big.xyz", b"x" * (app_settings.max_upload_bytes + 1))
    ex.state.structure = "data/ethane_ref.nc"  # back to a good file: works again
    assert not ex.inputs.alert.visible and ex.comparison is not good
    with pytest.raises(Exception, match="configured folders"):
        ex.inputs.resolve("structure", "data/../../etc/passwd")


def test_training_form_is_generated_from_the_config(app_settings):
    from ddviz.config import describe
    from ddviz.train import TrainConfig

    panel = TrainingPanel(settings=app_settings)
    names = {r["name"] for r in describe(TrainConfig)} - {"train"}
    assert set(panel.widgets) == names
    panel.widgets["steps"].value = 7
    panel.widgets["model.fitting_widths"].value = "8, 8"
    cfg = panel.config()
    assert cfg.steps == 7 and cfg.model.fitting_widths == [8, 8]
    assert cfg.train == [panel.dataset]


def test_training_subprocess_finishes_and_reports_the_model(app_settings):
    seen = []
    panel = TrainingPanel(settings=app_settings, on_model=seen.append)
    panel.run_name = "from-tab"
    for name, value in {"steps": 6, "validate_every": 3, "points_per_snapshot": 64,
                        "validation_snapshots": 2, "validation_stride": 4, "model.m1": 8,
                        "model.m2": 4, "model.embedding_widths": "8",
                        "model.fitting_widths": "8"}.items():
        panel.widgets[name].value = value
    panel.start()
    deadline = time.time() + 180
    while panel.process is not None and time.time() < deadline:
        time.sleep(0.5)
        panel.poll()
    assert panel.state == "finished", (panel.run_dir / "train.log").read_text()[-2000:]
    assert seen and seen[0].name == "from-tab.safetensors" and seen[0].exists()
    assert panel.curves.object is not None
    ex = Explorer(settings=app_settings)
    assert "models/from-tab.safetensors" in ex.state.param.model.objects


def test_preview_then_full_grid_ends_with_the_full_grids_metrics(app_settings, tmp_path):

    from ddviz.cache import FieldCache

    ex = Explorer(structure="data/ethane_ref.nc", model="models/tiny-ethane.safetensors",
                  settings=app_settings)  # notebook path: the full grid at once
    full_shape = ex.comparison.grid.shape
    ex.job.cache = FieldCache(tmp_path)  # nothing cached: the served app shows a preview first
    seen, shown = [], []
    ex.state.param.watch(lambda e: seen.append((ex.comparison.step, ex.comparison.grid.shape,
                                                e.new)) if "points" in e.new else None, "message")
    ex.state.param.watch(lambda e: shown.append(e.new), "comparison")
    run_coroutine(ex.runner.run_async())
    assert [s[0] for s in seen] == [2, 1], seen  # preview first, then the full grid
    assert seen[0][1] == tuple((n + 1) // 2 for n in full_shape)
    preview, full = shown  # the full grid reuses the preview's points (1/8 of the work)
    assert full.seconds > 0 and not full.cached
    for name in ("predicted", "reference"):
        np.testing.assert_array_equal(getattr(full, name)[::2, ::2, ::2], getattr(preview, name))
    assert seen[0][2].startswith("preview on every 2nd point") and "computing" in seen[0][2]
    assert ex.state.message.startswith("full grid:") and ex.comparison.grid.shape == full_shape
    rows = {r[0]: r[1] for r in ex.plots.table.object.data.itertuples(index=False)}
    assert rows["grid"] == "×".join(map(str, full_shape)) + " points"
    assert rows["points"] == str(ex.comparison.grid.size)
    props = ex.comparison.properties()  # the library call; the table shows its numbers
    assert rows["|dipole| (pred / ref)"] == (f"{props['dipole_norm_debye']['predicted']:.4f} / "
                                             f"{props['dipole_norm_debye']['reference']:.4f} D")
    assert rows["Hartree energy (pred / ref)"].endswith(" Ha")
    assert rows["rel_l1_near_nuclei"] == f"{ex.comparison.metrics()['rel_l1_near_nuclei']:.3%}"
    progress = ex.inputs.progress
    assert not ex.state.busy and progress.value == 100 and not progress.active
    seen.clear()  # the same inputs again: straight from the cache, no preview
    run_coroutine(ex.runner.run_async())
    assert [s[0] for s in seen] == [1] and ex.comparison.cached
    assert "from the cache" in ex.state.message


def test_scatter_is_binned_with_numpy_until_datashader_is_compiled(app_settings, monkeypatch,
                                                                     tmp_path):
    import asyncio
    from concurrent.futures import Future

    from ddviz.app import warmup
    from ddviz.cache import FieldCache

    imported, compiling = Future(), Future()
    imported.set_result(None)
    monkeypatch.setattr(warmup, "start", lambda: {"computing": imported, "drawing": imported})
    monkeypatch.setattr(warmup, "datashader", lambda: compiling)
    monkeypatch.setattr(warmup, "datashader_ready", compiling.done)
    ex = Explorer(structure="data/ethane_ref.nc", model="models/tiny-ethane.safetensors",
                  settings=app_settings)
    ex.job.cache = FieldCache(tmp_path)  # nothing cached: preview, then full grid
    drawn = []
    ex.plots.scatter.param.watch(lambda e: drawn.append((ex.comparison.step, type(e.new).__name__)),
                           "object")

    async def session():
        task = asyncio.ensure_future(ex.runner.run_async())
        while len(drawn) < 2:  # preview and full grid drawn
            await asyncio.sleep(0.05)
        assert not task.done()  # waiting for datashader to redraw the scatter
        compiling.set_result(None)
        await task

    run_coroutine(session())
    assert drawn == [(2, "Overlay"), (1, "Overlay"), (1, "DynamicMap")], drawn
    assert not ex.state.busy and not ex.inputs.alert.visible


def test_level_change_sends_only_the_moved_surfaces(app_settings):
    ex = Explorer(structure="data/ethane_ref.nc", model="models/tiny-ethane.safetensors",
                  settings=app_settings)
    atoms_actor = ex.scene.actors["atoms"]
    atoms_mesh = atoms_actor.mapper.GetInput()
    vtk = ex.view.vtk
    sent = {name: getattr(vtk, name) for name in ("atoms", "bonds", "error_pos", "predicted")}
    ex.state.log_level = ex.state.log_level - 0.5
    assert ex.scene.actors["atoms"] is atoms_actor and atoms_actor.mapper.GetInput() is atoms_mesh
    for name in ("atoms", "bonds", "error_pos"):  # not resent: the very same objects
        assert getattr(vtk, name) is sent[name], name
    assert vtk.predicted is not sent["predicted"]
    assert vtk.predicted["cells"].size > sent["predicted"]["cells"].size  # lower: larger
    ex.state.layers = ["predicted", "atoms"]
    assert set(vtk.shown) == {"predicted", "atoms"}  # no cell: not periodic


def test_a_new_result_computes_each_isosurface_once_and_sends_the_scene_once(app_settings,
                                                                           monkeypatch):
    """A new result comes with its own levels: the scene is drawn once, at those levels (4
    isosurfaces: predicted, reference, error+ and error-), and sent to the browser in one
    message; the previous result's surfaces are not recomputed at the new levels first."""
    from ddviz.app.view3d import LAYER_PARAMS
    from ddviz.viz import scene as scene_module

    ex = Explorer(structure="data/ethane_ref.nc", model="models/tiny-ethane.safetensors",
                  settings=app_settings)
    chosen = {"log_level": ex.state.log_level, "log_error_level": ex.state.log_error_level}
    ex.state.param.update(log_level=0.5, log_error_level=chosen["log_error_level"] - 1.0)
    computed, sent = [], []
    real = scene_module.isosurface
    monkeypatch.setattr(scene_module, "isosurface",
                        lambda ds, name, level: computed.append((name, level)) or real(ds, name,
                                                                                      level))
    ex.view.vtk.param.watch(lambda *events: sent.append({e.name for e in events}),
                            [*LAYER_PARAMS.values(), "shown", "camera_resets"])
    assert ex.evaluate() is ex.comparison  # the same inputs again: a new result (cached)
    assert ex.state.log_error_level == chosen["log_error_level"]  # the result's own levels
    assert ex.state.log_level < 0.5  # 10^0.5 e/bohr^3: above the largest density
    assert sorted(name for name, _ in computed) == ["error", "error", "predicted", "reference"]
    level, error_level = 10 ** ex.state.log_level, 10 ** ex.state.log_error_level
    assert sorted(level for _, level in computed) == pytest.approx(
        sorted([-error_level, error_level, level, level]))
    assert len(sent) == 1, sent
    assert {"predicted", "reference", "error_pos", "error_neg", "atoms"} <= sent[0]


def test_temporary_files_live_in_one_folder_per_server(app_files, app_settings):
    """Uploads and exports go into a session's folder inside the server's one folder; a session
    that ends leaves nothing behind, and the server's folder goes at exit."""
    from ddviz.app import tempfiles

    server = tempfiles.server_dir()
    ex = Explorer(structure="data/ethane_ref.nc", model="models/tiny-ethane.safetensors",
                  settings=app_settings)
    other = Explorer(structure="data/ethane_ref.nc", model="models/tiny-ethane.safetensors",
                     settings=app_settings)
    ex.upload("structure", "copy.nc", (app_files["data"] / "ethane_ref.nc").read_bytes())
    uploaded = ex.inputs.resolve("structure")
    written = [ex.export("slices.png"), ex.export("report.html"), other.export("scatter.png")]
    for path in (uploaded, *written):
        assert path.is_file() and path.is_relative_to(server), path
    mine, theirs = ex.folder(), other.folder()
    assert mine != theirs and mine.parent == theirs.parent == server
    ex.close()  # the session ended
    assert not mine.exists() and not uploaded.exists() and written[2].is_file()
    other.close()
    assert not theirs.exists() and server.is_dir()  # other sessions of the server keep theirs


def test_the_servers_temporary_folder_is_removed_at_exit(app_files, tmp_path):
    import os
    import subprocess
    import sys

    code = ("from ddviz.app import Explorer, tempfiles\n"
            "ex = Explorer(structure='data/ethane_ref.nc', model='models/tiny-ethane.safetensors')\n"
            "print(ex.export('slices.png'), tempfiles.server_dir())\n")
    env = {**os.environ, "TMPDIR": str(tmp_path), "DDVIZ_DATA_DIRS": str(app_files["data"]),
           "DDVIZ_MODELS_DIR": str(app_files["models"]), "DDVIZ_CACHE_DIR": "off"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         check=True, timeout=300)
    export, server = out.stdout.split()
    assert export.startswith(server) and server.startswith(str(tmp_path)), out.stdout
    assert not os.path.exists(server) and not list(tmp_path.glob("ddviz-*"))


def test_the_page_is_made_without_the_numerical_libraries(app_settings):
    """The page's HTML waits for what its creation imports: torch, xarray, HoloViews, VTK and
    datashader load in the workers (and at server start), not before the page is sent."""
    import subprocess
    import sys

    code = ("import sys; from ddviz.app import TrainingPanel, create_app; TrainingPanel(); "
            "print(sorted(m for m in ('torch', 'xarray', 'holoviews', 'vtk', 'pyvista', "
            "'datashader') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_server_start_warms_up_the_libraries_and_does_no_user_work(tmp_path):
    """`ddviz serve` pays the warm-up (imports, first plots, datashader) before it serves; it
    computes nothing for any structure: the cache stays empty and no page is made."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from ddviz.app.server import panel_command

    cmd = panel_command(port=5006)
    setup = Path(cmd[cmd.index("--setup") + 1])
    code = (f"import runpy, sys; runpy.run_path({str(setup)!r}); from ddviz.app import warmup; "
            "print(all(f.done() for f in warmup.start().values()), warmup.datashader_ready(), "
            "sorted(m for m in ('torch', 'xarray', 'pyscf', 'holoviews', 'pyvista', "
            "'ddviz.app.explorer', 'datashader') if m in sys.modules))")
    env = {**os.environ, "DDVIZ_CACHE_DIR": str(tmp_path / "cache")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         check=True, timeout=300)
    assert out.stdout.strip() == ("True True ['datashader', 'holoviews', 'pyscf', 'pyvista', "
                                  "'torch', 'xarray']"), out
    assert not (tmp_path / "cache").exists()


def test_a_failing_warm_up_stage_is_logged_not_raised(caplog):
    from ddviz.app import warmup

    def broken():
        raise ImportError("no such library")

    warmup._best_effort(broken)  # the work it prepares for raises its own errors
    assert "warm-up stage broken failed" in caplog.text


def test_an_error_clears_the_previous_result_and_names_the_users_file(app_files, app_settings):
    from ase import Atoms

    ex = Explorer(structure="data/ethane_ref.nc", model="models/tiny-ethane.safetensors",
                  settings=app_settings)
    assert ex.comparison is not None and ex.slices.panes.objects and ex.plots.row.objects
    # an element the model lacks (gold): the evaluation fails
    Atoms("Au2", positions=[[0, 0, 0], [0, 0, 2.5]]).write(app_files["root"] / "gold.xyz")
    ex.upload("structure", "my gold.xyz", (app_files["root"] / "gold.xyz").read_bytes())
    assert ex.state.structure == "structure:my gold.xyz"  # the selector names the upload
    assert ex.comparison is None, "the previous result is still shown"
    assert ex.slices.panes.objects == [] and ex.plots.row.objects == []
    assert ex.view.vtk.shown == [] and ex.view._waiting.visible
    text = ex.inputs.alert.object
    assert ex.inputs.alert.visible and "cleared" in text
    assert str(ex.folder()) not in text  # not the server's temporary path
    assert all(b.disabled for b in ex.exports.buttons)
    with pytest.raises(Exception, match="nothing to export"):
        ex.export("slices.png")
    ex.state.structure = "data/ethane_ref.nc"  # a good file again: everything comes back
    assert ex.comparison is not None and ex.slices.panes.objects and ex.plots.row.objects
    assert "atoms" in ex.view.vtk.shown and not ex.inputs.alert.visible


def test_without_a_reference_the_reference_layers_and_scatter_export_are_off(app_settings):
    ex = Explorer(structure="data/ethane.xyz", model="models/tiny-ethane.safetensors",
                  settings=app_settings)
    assert not ex.state.has_reference
    import panel as pn
    from bokeh.document import Document

    pn.panel(ex).get_root(Document())  # the whole page builds
    error_level = ex.view.controls[2]
    assert error_level.disabled
    assert ex.view.layer_buttons.options == ["predicted", "atoms", "bonds"]
    buttons = dict(zip(("slices.png", "slices.svg", "scatter.png", "view.png", "report.html"),
                       ex.exports.buttons))
    assert buttons["scatter.png"].disabled and not buttons["slices.png"].disabled
    buttons["scatter.png"]._transfer()  # as a click does: no error in the server
    assert buttons["scatter.png"].data is None
    ex.state.structure = "data/ethane_ref.nc"
    assert ex.state.has_reference and "reference" in ex.view.layer_buttons.options
    assert not buttons["scatter.png"].disabled and not error_level.disabled
    assert "reference" in ex.state.layers  # kept while it was not offered


def test_slices_on_miller_and_atom_planes_and_exports_at_a_size(app_settings):
    from PIL import Image

    ex = Explorer(structure="data/ethane_ref.nc", model="models/tiny-ethane.safetensors",
                  settings=app_settings)
    ex.state.param.update(slice_axis="atoms", plane_atoms="0 1 2")
    assert len(ex.slices.panes.objects) == 3 and "atoms 0 1 2" in str(
        ex.slices.figure[0].get(0).opts.get().kwargs["title"])
    ex.state.plane_atoms = "0 1"
    assert ex.slices.note.visible and "three integers" in ex.slices.note.object
    ex.state.slice_axis = "hkl"  # ethane's grid is not periodic: said, nothing breaks
    assert ex.slices.note.visible and "periodic" in ex.slices.note.object
    ex.state.param.update(slice_axis="atoms", plane_atoms="0 1 2")
    path = ex.export("slices.png", width=1500, height=500, dpi=120)
    assert Image.open(path).size == (1500, 500)
    assert Image.open(ex.export("view.png", width=800, height=600)).size == (800, 600)
    ex.state.log_level = -2.0
    marker = ex.plots.density_hist.object.get(1)
    assert marker.data == pytest.approx(-2.0)


def test_training_buttons_follow_the_run(app_settings):
    panel = TrainingPanel(settings=app_settings)
    panel.run_name = "buttons"
    panel.__panel__()
    b = panel._buttons
    assert b["stop"].disabled and b["resume"].disabled and not b["start"].disabled
    for name, value in {"steps": 200, "validate_every": 100, "points_per_snapshot": 64,
                        "validation_snapshots": 2, "validation_stride": 4, "model.m1": 8,
                        "model.m2": 4, "model.embedding_widths": "8",
                        "model.fitting_widths": "8"}.items():
        panel.widgets[name].value = value
    panel.start()
    assert "starting" in panel.status.object  # at once, before the process reports
    assert not b["stop"].disabled and b["start"].disabled and b["resume"].disabled
    panel.stop()
    deadline = time.time() + 180
    while panel.process is not None and time.time() < deadline:
        time.sleep(0.5)
        panel.poll()
    assert b["stop"].disabled and not b["start"].disabled
    assert b["resume"].disabled == (not (panel.run_dir / "checkpoint.safetensors").exists())


def test_default_isosurface_level_shows_a_metal_and_a_molecule():
    """A metal's valence density fills its cell: a tenth of its largest value encloses 99 % of a
    CP2K al32 cell (small spheres around the cores); a molecule keeps a tenth of its largest."""
    from ddviz.app.explore.state import default_levels
    from ddviz.evaluate.comparison import Comparison
    from tests.conftest import ROOT

    for path in (ROOT / "assets/datasets/al32/al32_0012.nc", ROOT / "examples/ethane_reference.nc"):
        ref = io.read(path)
        rho = np.asarray(ref.density.values, dtype=float)
        c = Comparison(ref.atoms, ref.grid, rho * 1.01, rho)
        levels = default_levels(c, 3.0)  # 1000 e/bohr^3: above any density
        level = 10 ** levels["log_level"]
        assert rho.min() < level < rho.max(), path.name
        assert 0.01 < (rho > level).mean() < 0.6, path.name  # a surface around part of the cell
        assert levels["log_error_level"] == pytest.approx(np.log10(0.25 * 0.01 * rho.max()), abs=0.01)
    assert "log_level" not in default_levels(c, np.log10(0.5 * rho.max()))  # a level in range stays


def test_a_structure_the_model_cannot_do_switches_to_one_that_can():
    """The shipped examples and models: from ethane (ethane's model) to methanol, which only the
    organic model covers: the model follows, and one evaluation runs, not two; back to ethane
    the organic model (which covers it) is kept, the user's choice."""
    from ddviz.shipped import shipped_dir

    settings = AppSettings(data_dirs=[shipped_dir("examples")], models_dir=shipped_dir("models"),
                           cache_dir=None)
    ex = Explorer(settings=settings)
    assert ex.state.model == "models/ethane.safetensors"
    runs = []
    evaluate = ex.runner.evaluate
    ex.runner.evaluate = lambda: runs.append(ex.state.model) or evaluate()
    ex.state.structure = "examples/methanol.xyz"
    assert ex.state.model == "models/organic.safetensors" and not ex.state.error
    assert runs == ["models/organic.safetensors"]
    c = ex.comparison
    assert c.atoms.get_chemical_formula() == "CH4O"
    assert c.predicted.sum() * c.grid.voxel_volume * c.step ** 3 == pytest.approx(14.0, rel=0.01)
    ex.state.structure = "examples/ethane.xyz"
    assert ex.state.model == "models/organic.safetensors" and len(runs) == 2
