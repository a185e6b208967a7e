"""The app's OF-DFT tab without a browser: the tab object runs its jobs in the calling thread.

Real PySCF, the shipped kinetic model, a tiny real dataset; every number the tab shows is
compared with the library's.
"""

from __future__ import annotations

import shutil

import pytest

from ddviz.app.ofdft.state import PRESETS
from ddviz.app.ofdft.tab import OFDFTTab
from ddviz.app.settings import AppSettings
from ddviz.methods.kinetic import analysis, data, ofdft
from ddviz.units import BOHR_PER_ANGSTROM
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def folders(tmp_path_factory, kinetic_dataset):
    root = tmp_path_factory.mktemp("ofdft-app")
    models, structures, datasets = root / "models", root / "data", root / "datasets"
    for d in (models, structures, datasets):
        d.mkdir()
    shutil.copy(ROOT / "models" / "kinetic-2e.safetensors", models)
    shutil.copy(ROOT / "models" / "ethane.safetensors", models)  # not a kinetic model
    (structures / "heh.xyz").write_text("2\nHeH+\nHe 0 0 0\nH 0 0 0.8\n")
    shutil.copy(ROOT / "examples" / "ethane.xyz", structures)
    shutil.copytree(kinetic_dataset, datasets / "k2e")
    return AppSettings(data_dirs=[structures], dataset_dirs=[datasets], models_dir=models,
                       runs_dir=root / "runs", cache_dir=root / "cache")


def test_presets_agree_with_the_library():
    assert PRESETS == {name: charge for name, (_, charge, _) in data.SYSTEMS.items()}


def test_the_tab_lists_presets_files_kinetic_models_and_datasets(folders):
    tab = OFDFTTab(settings=folders)
    p = tab.state.param
    assert p.structure.objects == ["H2", "HeH+", "H3+", "data/ethane.xyz", "data/heh.xyz"]
    assert p.model.objects == ["models/kinetic-2e.safetensors"]  # ethane's is Deep Density
    assert tab.state.model == "models/kinetic-2e.safetensors"
    assert p.dataset.objects == ["datasets/k2e"] and tab.state.dataset == "datasets/k2e"
    tab.state.structure = "HeH+"
    assert tab.state.charge == 1


def test_the_tab_runs_ofdft_with_the_library_numbers(folders):
    tab = OFDFTTab(settings=folders, functional="vw", structure="data/heh.xyz", charge=1)
    tab.runner.run()
    s = tab.state
    assert s.error == "" and not s.busy
    mol = data.molecule([2, 1], [[0, 0, 0], [0, 0, 0.8 * BOHR_PER_ANGSTROM]], 1)
    expected = ofdft.run(mol, functional="vw")
    e_ks, _ = ofdft.kohn_sham(mol)
    assert s.energies == pytest.approx(expected.history, abs=1e-10)
    assert s.watched.result.energy_ha == pytest.approx(expected.energy_ha, abs=1e-10)
    assert s.reference.energy_ha == pytest.approx(e_ks, abs=1e-10)
    assert f"E_OF-DFT = {expected.energy_ha:.6f} Ha" in tab.readout.object
    assert f"E_KS = {e_ks:.6f} Ha" in tab.readout.object
    assert f"converged, {expected.iterations} iterations" in tab.readout.object
    assert s.message.startswith(f"converged after {expected.iterations} iterations")
    assert len(tab.run_plots) == 2  # the density line with the readout; the energy traces


def test_the_tab_stops_a_run_and_refuses_bad_input(folders):
    tab = OFDFTTab(settings=folders, functional="vw", structure="H3+")
    tab.state.param.watch(lambda e: e.new == 2 and tab.runner.stop(), "iteration")
    tab.runner.run()  # in this thread: the stop comes from the frame of iteration 2
    assert tab.state.watched.result.stopped and tab.state.watched.result.iterations == 2
    assert "stopped, 2 iterations" in tab.readout.object
    assert tab.state.energies == tab.state.watched.result.history and not tab.state.busy
    tab = OFDFTTab(settings=folders, functional="vw", structure="data/ethane.xyz")
    tab.runner.run()
    assert "this model covers 2-electron systems" in tab.state.error
    assert tab.state.watched is None and not tab.state.busy
    empty = AppSettings(data_dirs=folders.data_dirs, dataset_dirs=[], cache_dir=None,
                        models_dir=folders.runs_dir.parent / "data", runs_dir=folders.runs_dir)
    tab = OFDFTTab(settings=empty, functional="model")
    tab.runner.run()
    assert "no kinetic model file" in tab.state.error and "von Weizsäcker" in tab.state.error
    tab.runner.evaluate()
    assert "no kinetic-2e dataset folder" in tab.state.parity_error


def test_the_tab_shows_parity_and_a_kinetic_slice(folders, kinetic_dataset):
    from ddviz.methods import load_model

    tab = OFDFTTab(settings=folders)
    tab.runner.evaluate()
    model = load_model(folders.models_dir / "kinetic-2e.safetensors")[0].double()
    paths = data.samples([kinetic_dataset], "test")
    rows = analysis.parity(model, paths)
    s = tab.state
    assert s.parity_error == "" and [r["file"] for r in s.rows] == [r["file"] for r in rows]
    assert s.rows[0]["Ts_ml_Ha"] == pytest.approx(rows[0]["Ts_ml_Ha"], rel=1e-12)
    assert s.summary == pytest.approx(analysis.parity_summary(rows))
    assert s.parity_message == f"1 test sample, T_s MAE {s.summary['ts_mae_mha']:.2f} mHa"
    assert s.sample == "kinetic_00004.nc"
    sl = s.kinetic_slice
    assert sl.system == "HeH+" and sl.Ts_ml_Ha == pytest.approx(rows[0]["Ts_ml_Ha"], rel=1e-10)
    assert list(tab.parity_plots) == [tab.parity, tab.slices]


def test_the_tab_is_made_without_the_numerical_libraries():
    """Made (and its page built) with the app's page: no torch, PySCF, SciPy or HoloViews yet."""
    import subprocess
    import sys

    code = ("import sys; import panel as pn; from ddviz.app.ofdft.tab import OFDFTTab; "
            "pn.panel(OFDFTTab()).get_root(); print(sorted(m for m in ('torch', 'pyscf', "
            "'holoviews', 'scipy', 'xarray', 'ddviz.methods.kinetic.analysis') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=ROOT)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
