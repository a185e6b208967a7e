"""The app in a real browser on a periodic cell: a CHGCAR loads, the cell and surfaces are drawn."""

import shutil
import time

import ase
import numpy as np
import pytest

from ddviz import io
from ddviz.evaluate.predictor import Predictor
from ddviz.grid import Grid, Sample
from ddviz.methods.deep_density.files import load_model
from ddviz.units import ang_to_bohr
from tests.conftest import ROOT, app_server
from tests.test_app_browser import browser_type_launch_args, pixels, save  # noqa: F401

WATER_MODEL = ROOT / "models" / "water.safetensors"


@pytest.fixture(scope="module")
def periodic_server(tmp_path_factory):
    """A server whose data folder holds one CHGCAR of a water cell and the water model."""
    root = tmp_path_factory.mktemp("periodic-app")
    data, models = root / "data", root / "models"
    for d in (data, models):
        d.mkdir()
    atoms = ase.Atoms("OH2OH2", positions=[[0.5, 0.6, 0.4], [1.46, 0.6, 0.4], [0.26, 1.53, 0.4],
                                           [2.6, 2.5, 2.2], [3.3, 3.1, 2.4], [2.9, 1.7, 2.7]],
                      cell=[[4.2, 0, 0], [0.6, 4.0, 0], [0.3, -0.4, 3.6]], pbc=True)
    model, _ = load_model(WATER_MODEL)
    grid = Grid.periodic(ang_to_bohr(atoms.cell.array), (16, 16, 14))
    rho = Predictor(model, device="cpu").predict_grid(atoms, grid)
    io.write(Sample(atoms, grid, rho.astype(np.float64)), data / "CHGCAR")
    shutil.copy(WATER_MODEL, models / "water.safetensors")
    with app_server(root, data_dirs=data, dataset_dirs=data, models_dir=models,
                    runs_dir=root / "runs", cache_dir=root / "cache") as url:
        yield url


def test_a_chgcar_shows_its_cell_and_surfaces(page, periodic_server):
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.set_viewport_size({"width": 1600, "height": 1400})
    page.goto(periodic_server)
    page.locator(".ddviz-message").get_by_text("relative L1").wait_for(timeout=120_000)
    canvas = page.locator(".ddviz-3d canvas").first
    canvas.wait_for(timeout=30_000)
    time.sleep(1.5)  # vtk.js draws after the scene arrives
    shot = pixels(canvas)
    save(page, "explore-periodic")
    black = (shot.max(axis=-1) < 60).mean()  # the cell's edges (black lines; nothing else is)
    blue = ((shot[..., 2] > shot[..., 0] + 40) & (shot[..., 2] > 120)).mean()  # the surfaces
    assert black > 1e-4, "no cell drawn"
    assert blue > 1e-3, "no isosurface drawn"
    assert errors == [], "\n".join(errors)
