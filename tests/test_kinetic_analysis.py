"""OF-DFT streamed and stopped, T_s parity and kinetic-energy slices (ddviz.methods.kinetic).

Real PySCF, the shipped model, a tiny real dataset built through the CLI.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from ddviz.errors import ConfigError, DdvizError
from ddviz.methods.kinetic import analysis, data, ofdft

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "models" / "kinetic-2e.safetensors"


@pytest.fixture(scope="module")
def model():
    from ddviz.methods import load_model

    m, _ = load_model(SHIPPED)
    return m.double()


def test_callback_streams_every_iteration_and_stop_ends_the_run():
    mol = ofdft.preset("H2")
    seen = []
    full = ofdft.run(mol, functional="vw", level=0,
                     callback=lambda i, e, c: seen.append((i, e, c.copy())))
    assert full.converged and not full.stopped
    assert [i for i, _, _ in seen] == list(range(1, full.iterations + 1))
    assert [e for _, e, _ in seen] == full.history
    S = mol.intor("int1e_ovlp")
    assert all(abs(c @ S @ c - 1) < 1e-12 for _, _, c in seen)  # normalised orbitals
    assert seen[-1][1] == pytest.approx(full.energy_ha, abs=1e-9)
    # stopped from "another thread" (the event is set in the callback) after iteration 3
    stop = threading.Event()
    halted = ofdft.run(mol, functional="vw", level=0, stop=stop,
                       callback=lambda i, e, c: i == 3 and stop.set())
    assert halted.stopped and not halted.converged
    assert halted.iterations == 3 and len(halted.history) == 3
    assert halted.history == full.history[:3]  # the same path up to there
    assert halted.energy_ha > full.energy_ha + 1e-6  # stopped before the minimum
    # a stop already set: one iteration, then out
    stop = threading.Event()
    stop.set()
    assert ofdft.run(mol, functional="vw", level=0, stop=stop).iterations == 1


def test_presets_are_two_electron_equilibrium_geometries():
    for name, (symbols, charge, r0) in data.SYSTEMS.items():
        mol = ofdft.preset(name)
        assert mol.nelectron == 2 and mol.charge == charge and mol.natm == len(symbols)
        xyz = mol.atom_coords()
        d = np.linalg.norm(xyz[:, None] - xyz[None], axis=2)
        assert d[np.triu_indices(len(xyz), 1)] == pytest.approx(r0)
    with pytest.raises(ConfigError, match="presets: H2, HeH\\+, H3\\+"):
        ofdft.preset("He2")


def test_watch_streams_frames_against_kohn_sham():
    mol = ofdft.preset("HeH+")
    refs, frames = [], []
    w = analysis.watch(mol, functional="vw", on_reference=refs.append, on_frame=frames.append,
                       points=101)
    (ref,) = refs
    e_ks, c_ks = ofdft.kohn_sham(mol)
    assert ref.energy_ha == pytest.approx(e_ks, abs=1e-9)
    assert len(frames) == w.result.iterations and frames[-1].iteration == w.result.iterations
    assert [f.energy_ha for f in frames] == w.result.history
    assert ref.s.shape == ref.density.shape == frames[0].density.shape == (101,)
    # the line runs along the bond through both nuclei: the density peaks at the helium
    assert sorted(np.round(np.abs(ref.atoms_s), 6)) == pytest.approx([0.73, 0.73])
    assert abs(ref.s[np.argmax(ref.density)] - ref.atoms_s[0]) < 0.2  # He first
    np.testing.assert_allclose(ref.density, analysis.orbital_density(
        mol, c_ks, analysis.line(mol.atom_coords(), 101)[1]), rtol=1e-9)
    # the first frame is far from Kohn–Sham, the last one on it (exact functional)
    first = np.abs(frames[0].density - ref.density).max() / ref.density.max()
    last = np.abs(frames[-1].density - ref.density).max() / ref.density.max()
    assert first > 1e-2 and last < 1e-4
    assert abs(w.error_mha) < 1e-2 and w.density_rel_l1 < 1e-4
    assert w.summary()["error_mha"] == w.error_mha and w.summary()["stopped"] is False


def test_watch_refuses_before_any_work():
    with pytest.raises(ConfigError, match="needs a model"):
        analysis.watch(ofdft.preset("H2"), None, "model")
    from pyscf import gto

    heh = gto.M(atom="He 0 0 0; H 0 0 1.5", unit="Bohr", basis="def2-tzvp", spin=1, verbose=0)
    with pytest.raises(DdvizError, match="2-electron systems.*3 electrons"):
        analysis.watch(heh, functional="vw")


def test_parity_and_kinetic_slice_come_from_the_model(model, kinetic_dataset):
    from ddviz.methods.kinetic.training import Sample

    paths = data.samples([kinetic_dataset], "test")
    assert [p.name for p in paths] == ["kinetic_00004.nc"]
    calls = []
    (row,) = analysis.parity(model, paths, progress=lambda d, t: calls.append((d, t)))
    assert calls == [(1, 1)]
    _, attrs = data.load(paths[0])
    sample = Sample(paths[0], model.config.min_density, model.dtype)
    assert row["index"] == 4 and row["system"] == attrs["system"] == "HeH+"
    assert row["Ts_Ha"] == attrs["Ts_Ha"]
    assert row["Ts_ml_Ha"] == pytest.approx(float(sample.kinetic(model).detach()), rel=1e-12)
    assert row["error_mHa"] == pytest.approx(1e3 * (row["Ts_ml_Ha"] - row["Ts_Ha"]))
    two = [row, {**row, "system": "H2", "error_mHa": -3.0}]
    assert analysis.parity_summary(two) == pytest.approx({
        "samples": 2, "ts_mae_mha": (abs(row["error_mHa"]) + 3) / 2,
        "ts_mae_mha_HeH+": abs(row["error_mHa"]), "ts_mae_mha_H2": 3.0})
    sl = analysis.kinetic_density_slice(model, paths[0], points=41)
    assert sl.tau_ml.shape == sl.tau_vw.shape == sl.rho.shape == (41, 41)
    # the slice's points do not change the atoms' features: the same T_s as the parity row
    assert sl.Ts_ml_Ha == pytest.approx(row["Ts_ml_Ha"], rel=1e-10)
    assert sl.tau_vw.min() >= 0 and sl.rho.max() > 1.0  # near the helium nucleus
    # the plane holds the nuclei; the densities peak there
    i, j = np.unravel_index(np.argmax(sl.rho), sl.rho.shape)
    assert np.min(np.hypot(sl.atoms_uv[:, 0] - sl.u[i], sl.atoms_uv[:, 1] - sl.v[j])) < 0.3
    assert np.isfinite(sl.tau_ml).all() and np.abs(sl.tau_ml).max() > 0.1
