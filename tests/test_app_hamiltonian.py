"""The Explore tab with a Hamiltonian model, in Python (as in a notebook): numbers = the library's.

A real held-out hamiltonian-water sample (tests/data/hamiltonian/water1_test.nc), the shipped
hamiltonian-water and water (Deep Density) models, a real PySCF reference on request.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from ddviz.app import Explorer
from ddviz.app.settings import AppSettings
from ddviz.evaluate.evaluation import compute_comparison
from ddviz.evaluate.hamiltonian import compute, sample_atoms
from ddviz.methods import load_model
from ddviz.methods.hamiltonian.data import HamiltonianSample
from ddviz.methods.hamiltonian.evaluate import MEV

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "tests" / "data" / "hamiltonian" / "water1_test.nc"
HAM, DD = "models/hamiltonian-water.safetensors", "models/water.safetensors"


def hamiltonian_folders(root: Path) -> dict:
    """data/ (the water sample, the same water as .xyz, water8.xyz), models/ (two water models)."""
    data, models = root / "data", root / "models"
    for d in (data, models):
        d.mkdir(exist_ok=True)
    shutil.copy(SAMPLE, data / "water1_test.nc")
    sample_atoms(HamiltonianSample.read(SAMPLE)).write(data / "water1.xyz")
    shutil.copy(ROOT / "examples" / "water8.xyz", data / "water8.xyz")
    for name in (HAM, DD):
        shutil.copy(ROOT / name, models / Path(name).name)
    return {"root": root, "data": data, "models": models}


@pytest.fixture(scope="module")
def explorer(tmp_path_factory):
    """One Explorer for the module (a Hamiltonian model takes seconds to build), on the sample."""
    f = hamiltonian_folders(tmp_path_factory.mktemp("hamapp"))
    settings = AppSettings(data_dirs=[f["data"]], models_dir=f["models"],
                           runs_dir=f["root"] / "runs", cache_dir=None)
    return Explorer(structure="data/water1_test.nc", model=HAM, settings=settings)


def test_a_sample_with_the_hamiltonian_model(explorer):
    ex, sample = explorer, HamiltonianSample.read(SAMPLE)
    view = ex.hamiltonian_view
    assert view is not None and not ex.state.error
    model = ex.runner.inputs_loaded.model  # read from the file by the app (not read twice)
    assert type(model).__name__ == "HamiltonianModel"
    lib = compute(sample_atoms(sample), model, fock=sample)
    c = ex.comparison
    assert c is view.comparison and c.reference is not None
    assert np.allclose(c.predicted, lib.comparison.predicted)
    assert np.allclose(c.reference, lib.comparison.reference)
    assert f"relative L1 {lib.comparison.metrics()['rel_l1']:.3%}" in ex.state.message
    # the density views show the implied density beside the reference
    assert ex.scene.triangles("predicted") > 0 and ex.scene.triangles("reference") > 0
    assert ex.plots.scatter.object is not None
    assert ex.hamiltonian.layout.visible and not ex.hamiltonian.button.visible
    heat = ex.hamiltonian.blocks.object
    assert heat.data["error"].max() == pytest.approx(lib.block_error.max() * MEV)
    diagram = ex.hamiltonian.levels.object
    homos = max(lib.prediction.homo, lib.reference.homo)  # the highest occupied bar
    assert diagram.get(1).data["y0"].max() == pytest.approx(homos * 27.211386245988)
    assert "(eV)" in diagram.get(1).kdims[1].pprint_label
    ex.state.level_unit = "Ha"
    assert ex.hamiltonian.levels.object.get(1).data["y0"].max() == pytest.approx(homos)
    assert f"{lib.prediction.homo * MEV / 1000:.3f}" in ex.hamiltonian.numbers.object
    # against the Deep Density water model: valence densities on the same grid
    assert ex.state.param.compare_with.objects == ["the reference", DD]
    ex.state.compare_with = DD
    dd = compute_comparison(sample_atoms(sample), load_model(ROOT / DD)[0])
    assert np.array_equal(ex.comparison.reference, dd.predicted)
    assert ex.hamiltonian_view.valence == "gth-pbe" and "Deep Density" in ex.state.message
    assert "valence" in ex.hamiltonian.note.object
    # a density model hides the panel
    ex.state.model = DD
    assert ex.hamiltonian_view is None and not ex.hamiltonian.layout.visible


def test_a_pyscf_reference_on_request(explorer):
    ex = explorer
    ex.state.param.update(structure="data/water1.xyz", model=HAM, compare_with="the reference")
    levels = ex.hamiltonian_view.levels  # the prediction's levels alone, drawn
    assert levels.reference is None and ex.hamiltonian.button.visible
    assert not ex.hamiltonian.button.disabled and ex.hamiltonian.blocks.object is None
    diagram = ex.hamiltonian.levels.object
    assert diagram is not None and "reference" not in diagram.opts.get().kwargs["title"]
    assert "no reference" in ex.state.message
    ex.runner.compute_reference()
    view = ex.hamiltonian_view
    assert view.levels.reference is not None and not ex.hamiltonian.button.visible
    sample = HamiltonianSample.read(SAMPLE)  # the same water, grid level 3: F agrees closely
    assert np.abs(view.reference.hamiltonian - sample.fock).max() < 1e-4
    assert view.h_mae * MEV == pytest.approx(
        np.abs(view.prediction.hamiltonian - view.reference.hamiltonian).mean() * MEV)
    from ase.io import read

    from ddviz.errors import DdvizError
    from ddviz.evaluate.job import Inputs

    water8 = Inputs(read(ROOT / "examples" / "water8.xyz"), ex.runner.inputs_loaded.model)
    with pytest.raises(DdvizError, match="at most 12 atoms"):  # 24 atoms: refused at once
        ex.job.pyscf_reference(water8)
