"""CP2K references (real CP2K on a 4-atom Al cell at a low cutoff) and the periodic recipes."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from ase.build import bulk, molecule
from conftest import ROOT

from ddviz import io
from ddviz.errors import ConfigError, UnsupportedError
from ddviz.reference import cp2k, md
from ddviz.reference.cp2k import CP2KSettings
from ddviz.reference.dataset import build, recipe
from ddviz.reference.generate import Frame, Options, generate

needs_cp2k = pytest.mark.skipif(cp2k.available() is not None,
                                reason=f"CP2K is not installed: {cp2k.available()}")


def test_input_is_written_from_checked_values_only():
    al = bulk("Al", "fcc", a=4.05, cubic=True)
    text = cp2k.write_input(al, CP2KSettings(), data="/usr/share/cp2k")
    assert "CUTOFF 400" in text and "REL_CUTOFF 50" in text and "&SMEAR ON" in text
    assert "POTENTIAL GTH-PBE-q3" in text and "BASIS_SET DZVP-MOLOPT-SR-GTH" in text
    assert "BROYDEN_MIXING" in text and "ELECTRONIC_TEMPERATURE [K] 1000" in text
    water = molecule("H2O", cell=[6, 6, 6], pbc=True)
    text = cp2k.write_input(water, CP2KSettings(), data="/usr/share/cp2k")
    assert "&OT" not in text and "&SMEAR" not in text and "GTH-PBE-q6" in text
    assert "&DIAGONALIZATION" in text and "BROYDEN_MIXING" in text  # fixed occupations
    text = cp2k.write_input(water, CP2KSettings(occupation="ot"), data="/usr/share/cp2k")
    assert "&OT" in text and "&DIAGONALIZATION" not in text and "&SMEAR" not in text
    with pytest.raises(ConfigError, match="occupation") as err:
        CP2KSettings(occupation="OT ")
    assert err.value.field == "occupation"
    with pytest.raises(UnsupportedError, match="Fe"):
        cp2k.write_input(bulk("Fe"), CP2KSettings(), data="/usr/share/cp2k")
    with pytest.raises(UnsupportedError, match="periodic"):
        cp2k.write_input(molecule("H2O"), CP2KSettings(), data="/usr/share/cp2k")



def test_kpoints_section_and_its_refusals():
    al = bulk("Al", "fcc", a=4.05, cubic=True)
    gamma = cp2k.write_input(al, CP2KSettings(), data="/usr/share/cp2k")
    assert "KPOINTS" not in gamma and cp2k.method(CP2KSettings())["kpoints"] == "Gamma"
    # the Gamma point spelled out (as JSON gives it back) writes the standard input, byte for byte
    settings = CP2KSettings(**json.loads(json.dumps(CP2KSettings(kpoints=[1, 1, 1]).describe())))
    assert settings.kpoints == (1, 1, 1) and settings == CP2KSettings()
    assert cp2k.write_input(al, settings, data="/usr/share/cp2k") == gamma
    mp = CP2KSettings(kpoints=[2, 3, 4])
    assert mp.kpoints == (2, 3, 4) and CP2KSettings(**json.loads(json.dumps(mp.describe()))) == mp
    assert cp2k.method(mp)["kpoints"] == "Monkhorst-Pack 2x3x4"
    text = cp2k.write_input(al, mp, data="/usr/share/cp2k")
    section = text[text.index("&KPOINTS"):text.index("&END KPOINTS")]
    assert "SCHEME MONKHORST-PACK 2 3 4" in section and "SYMMETRY OFF" in section
    assert text.index("&KPOINTS") < text.index("&END DFT") and "&SMEAR ON" in text
    # an insulator with k-points: diagonalised with fixed occupations (OT is Gamma-only)
    water = molecule("H2O", cell=[6, 6, 6], pbc=True)
    text = cp2k.write_input(water, CP2KSettings(kpoints=(2, 2, 2)), data="/usr/share/cp2k")
    assert "&OT" not in text and "&SMEAR" not in text and "&DIAGONALIZATION" in text
    assert "BROYDEN_MIXING" in text and "MONKHORST-PACK 2 2 2" in text
    for bad in ((2, 2), (0, 1, 1), (2.0, 2, 2), (True, 1, 1), "222", 2, (1, 1, -1), (1000, 1, 1)):
        with pytest.raises(ConfigError, match="kpoints") as err:
            CP2KSettings(kpoints=bad)
        assert err.value.field == "kpoints"
    with pytest.raises(ConfigError, match="OT") as err:
        CP2KSettings(kpoints=(2, 2, 2), occupation="ot")
    assert err.value.field == "kpoints"
    rec = recipe("al32", kpoints=[2, 2, 2])
    assert rec["scf"]["kpoints"] == (2, 2, 2) and recipe("al32")["scf"]["kpoints"] == (1, 1, 1)
    with pytest.raises(ConfigError, match="CP2K datasets"):
        recipe("ethane", kpoints=(2, 2, 2))
    with pytest.raises(ConfigError, match="kpoints"):
        build("al32", "unused", kpoints=(2, 0, 2))  # refused before any MD


@pytest.mark.parametrize(("name", "kpoints", "said"), [
    ("plane2d", "2 2 2", "k-points apply to the periodic CP2K datasets (al32, "),  # no preset
    ("ethane", "2 2 2", "'ethane' is computed with PySCF"),  # a PySCF preset
    ("al32", "2 0 2", "kpoints must be three integers from 1 to 16"),  # CP2KSettings' check
])
def test_dataset_command_names_the_option_of_refused_kpoints(name, kpoints, said, ddviz_cli,
                                                              tmp_path):
    res = ddviz_cli("dataset", name, "-o", tmp_path / "out", "--kpoints", *kpoints.split())
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert res.stderr.startswith(f"ddviz dataset: error: --kpoints {kpoints}: ")
    assert said in res.stderr and "[kpoints]" not in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1 and not (tmp_path / "out").exists()


@needs_cp2k
def test_cp2k_snapshot_of_a_small_al_cell(tmp_path):
    al = bulk("Al", "fcc", a=4.05, cubic=True)
    al.rattle(0.05, seed=1)
    settings = CP2KSettings(cutoff_ry=80, rel_cutoff_ry=20, eps_scf=1e-6)
    options = Options(settings, fmt="nc", workers=1, progress=False)
    report = generate([Frame("al4", 0, al, "test")], tmp_path, options)
    assert report.computed == ["al4_0000.nc"] and not report.failed
    sample = io.read(tmp_path / "al4_0000.nc")
    assert sample.grid.pbc == (True, True, True) and all(sample.atoms.pbc)
    assert abs(sample.electrons() - 12) < 1e-3  # 4 Al x 3 valence electrons (GTH-PBE-q3)
    prov = sample.provenance
    assert prov["method"] == "CP2K Quickstep GPW" and prov["cutoff_ry"] == 80
    assert prov["converged"] and prov["scf_wall_s"] > 0 and prov["smearing"]
    assert np.allclose(sample.grid.cell, al.cell.array / 0.529177210903, atol=1e-3)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["snapshots"][0]["scf_wall_s"] == pytest.approx(prov["scf_wall_s"])
    again = generate([Frame("al4", 0, al, "test")], tmp_path, options)  # resumes: nothing to do
    assert again.skipped == ["al4_0000.nc"] and not again.computed


def test_periodic_recipes_and_geometries():
    al = md.build("al32")
    assert len(al) == 32 and np.allclose(al.cell.lengths(), 8.1) and all(al.pbc)
    water = md.build("water32-box", seed=3)
    grams = 32 * 18.01528 / 6.02214076e23
    assert grams / (water.get_volume() * 1e-24) == pytest.approx(0.997, rel=1e-6)
    d = water.get_all_distances(mic=True)[::3, ::3] + 10 * np.eye(32)
    assert d.min() >= md.MIN_OO_BOX
    rec = recipe("al32")
    assert rec["scf"]["cutoff_ry"] == 400 and rec["scf"]["stride"] == 2
    assert rec["method"].startswith("EMT") and rec["n_train"] > 0 and rec["n_test"] > 0
    frames = md.run_md(al, md.MDSettings(timestep_fs=2.0, equilibration_steps=20, interval=10,
                                         n_snapshots=2), system="al32")
    assert all(f.pbc.all() and np.allclose(f.cell.array, al.cell.array) for f in frames)
    assert not np.allclose(frames[0].positions, frames[1].positions)


def test_water_box_md_keeps_rigid_tip3p_molecules():
    from ase.calculators.tip3p import rOH

    water = md.build("water32-box", seed=1)
    frames = md.run_md(water, md.MDSettings(timestep_fs=1.0, equilibration_steps=20, interval=10,
                                            n_snapshots=1), system="water32-box")
    d = frames[0].get_all_distances(mic=True)
    oh = np.array([[d[3 * i, 3 * i + 1], d[3 * i, 3 * i + 2]] for i in range(32)])
    assert np.allclose(oh, rOH, atol=1e-6)
    assert not np.allclose(frames[0].positions, water.positions)
    assert np.allclose(frames[0].cell.array, water.cell.array) and frames[0].pbc.all()


@needs_cp2k
def test_cp2k_kpoints_of_a_small_al_cell(tmp_path):
    al = bulk("Al", "fcc", a=4.05, cubic=True)
    al.rattle(0.05, seed=1)
    settings = CP2KSettings(cutoff_ry=80, rel_cutoff_ry=20, eps_scf=1e-6)
    frame = Frame("al4", 0, al, "test")
    gamma = generate([frame], tmp_path, Options(settings, fmt="nc", workers=1, progress=False))
    assert gamma.computed == ["al4_0000.nc"]
    rho_gamma = io.read(tmp_path / "al4_0000.nc").density.values
    mp = Options(dataclasses.replace(settings, kpoints=(2, 2, 2)), fmt="nc", workers=1,
                 progress=False)
    report = generate([frame], tmp_path, mp)  # another sampling: recomputed, not resumed
    assert report.computed == ["al4_0000.nc"] and not report.failed and not report.skipped
    sample = io.read(tmp_path / "al4_0000.nc")
    assert abs(sample.electrons() - 12) < 1e-3  # 4 Al x 3 valence electrons
    prov = sample.provenance
    assert prov["kpoints"] == "Monkhorst-Pack 2x2x2" and prov["converged"] and prov["smearing"]
    rho = sample.density.values
    assert rho.shape == rho_gamma.shape
    # measured: 2.52 % rel L1 between the 2x2x2 and the Gamma-point density of this cell
    assert 0.015 < np.abs(rho - rho_gamma).sum() / np.abs(rho_gamma).sum() < 0.04
    assert generate([frame], tmp_path, mp).skipped == ["al4_0000.nc"]


@needs_cp2k
def test_cp2k_kpoints_of_an_insulator_diagonalise(tmp_path):
    h2 = molecule("H2", cell=[3.5, 3.5, 3.5], pbc=True)
    h2.center()
    settings = CP2KSettings(cutoff_ry=80, rel_cutoff_ry=20, eps_scf=1e-6)
    gamma = cp2k.compute(h2, dataclasses.replace(settings, occupation="ot"))
    sample = cp2k.compute(h2, dataclasses.replace(settings, kpoints=(2, 2, 2)), keep=tmp_path)
    assert "&OT" not in (tmp_path / "input.inp").read_text()
    assert gamma.provenance["scf_solver"] == "OT"
    assert sample.provenance["scf_solver"] == "diagonalisation"
    # the standard Gamma-point method diagonalises with fixed occupations: OT's density
    fixed = cp2k.compute(h2, settings).density.values
    ot = gamma.density.values
    assert np.abs(fixed - ot).sum() / np.abs(ot).sum() < 1e-4
    assert abs(sample.electrons() - 2) < 1e-3 and not sample.provenance["smearing"]
    assert sample.provenance["kpoints"] == "Monkhorst-Pack 2x2x2" and sample.provenance["converged"]
    rho, rho_gamma = sample.density.values, gamma.density.values
    # measured: 8.6 % rel L1 (H2 molecules 3.5 Å apart overlap: their bands disperse)
    assert 0.05 < np.abs(rho - rho_gamma).sum() / np.abs(rho_gamma).sum() < 0.12


def test_dataset_refuses_a_folder_of_another_recipe(ddviz_cli, tmp_path):
    """Rebuilding the shipped al32 folder with other counts would replace its trajectory and
    orphan its snapshots: refused before anything runs, the folder unchanged."""
    import shutil

    folder = tmp_path / "al32"
    shutil.copytree(ROOT / "assets" / "datasets" / "al32", folder)
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    done = ddviz_cli("dataset", "al32", "-o", folder, "--n-train", "0", "--no-progress")
    assert done.returncode == 2, done.stderr
    assert "another recipe" in done.stderr and "3 snapshot(s)" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
