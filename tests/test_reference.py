"""Reference data: PySCF SCF with its fall-backs, xTB MD, starting geometries (real codes)."""

import numpy as np
import pytest
from ase.build import molecule

from ddviz.errors import ConfigError, ConvergenceError
from ddviz.reference import md
from ddviz.reference.scf import SCFSettings, compute


def test_scf_gives_valence_orbitals_energy_and_provenance():
    result = compute(molecule("C2H6"), provenance={"seed": 7, "converged": False})
    assert result.converged and result.strategy == "diis"
    assert result.energy == pytest.approx(-14.9343, abs=1e-3)  # Ha, GTH-PBE valence
    assert result.orbitals.electrons == pytest.approx(14.0)  # 2 x 4 + 6 x 1 valence electrons
    assert result.orbitals.coeff.shape == (56, 7)
    p = result.provenance
    assert (p["functional"], p["basis"], p["pseudopotential"]) == ("pbe", "gth-dzvp", "gth-pbe")
    assert p["converged"] is True and p["seed"] == 7 and p["energy_Ha"] == result.energy
    assert set(p["versions"]) >= {"ddviz", "pyscf", "tblite", "ase"}


def test_non_converged_scf_raises_without_fallbacks_and_recovers_with_them():
    water = molecule("H2O")
    with pytest.raises(ConvergenceError, match="did not converge"):
        compute(water, SCFSettings(max_cycle=1, fallbacks=False))
    result = compute(water, SCFSettings(max_cycle=1))
    assert result.converged and result.strategy == "damping+level_shift"
    plain = compute(water)
    assert result.energy == pytest.approx(plain.energy, abs=1e-7)


def test_open_shell_structure_is_a_config_error():
    with pytest.raises(ConfigError, match="CH3"):
        compute(molecule("CH3"))


@pytest.mark.parametrize("name, formula", [("ethane", "C2H6"), ("n-butane", "C4H10"),
                                           ("isobutane", "C4H10")])
def test_molecule_builders(name, formula):
    atoms = md.build(name)
    assert atoms.get_chemical_formula() == formula
    carbons = atoms.positions[atoms.numbers == 6]
    cc = np.linalg.norm(carbons[:, None] - carbons[None], axis=-1)
    bonded = np.sum((cc > 1.4) & (cc < 1.7), axis=1)  # C–C bonds per carbon
    if name == "isobutane":
        assert sorted(bonded) == [1, 1, 1, 3]
    elif name == "n-butane":
        assert sorted(bonded) == [1, 1, 2, 2]


def test_unknown_system_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown system"):
        md.build("benzene")


@pytest.mark.parametrize("n", [1, 8, 32])
def test_water_cluster_is_reproducible_dense_and_without_overlaps(n):
    atoms = md.water_cluster(n, seed=3)
    np.testing.assert_array_equal(atoms.positions, md.water_cluster(n, seed=3).positions)
    assert not np.allclose(atoms.positions, md.water_cluster(n, seed=4).positions)
    assert atoms.numbers.tolist() == [8, 1, 1] * n
    oxygens = atoms.positions[atoms.numbers == 8]
    d = np.linalg.norm(atoms.positions[:, None] - atoms.positions[None], axis=-1)
    molecule_of = np.arange(len(atoms)) // 3
    inter = molecule_of[:, None] != molecule_of[None]
    if n > 1:
        assert d[inter].min() >= md.MIN_INTER
        doo = np.linalg.norm(oxygens[:, None] - oxygens[None], axis=-1)
        assert doo[~np.eye(n, dtype=bool)].min() >= md.MIN_OO
    # at about liquid density: all oxygens within the sphere of n molecules (grown at most a bit)
    radius = (3 * n / (4 * np.pi * md.WATER_DENSITY)) ** (1 / 3)
    centre = oxygens.mean(axis=0)
    assert np.linalg.norm(oxygens - centre, axis=1).max() <= 2 * 1.3 * radius


def _positions(frames):
    return np.array([a.positions for a in frames])


def test_md_is_reproducible_from_its_seed():
    start = md.build("ethane")
    settings = md.MDSettings(seed=5, equilibration_steps=20, interval=10, n_snapshots=3)
    first = md.run_md(start, settings)
    again = md.run_md(start, settings)
    other = md.run_md(start, md.MDSettings(seed=6, equilibration_steps=20, interval=10,
                                           n_snapshots=3))
    np.testing.assert_array_equal(_positions(first), _positions(again))
    assert np.abs(_positions(first) - _positions(other)).max() > 1e-3
    assert [a.info["step"] for a in first] == [30, 40, 50]
    assert first[-1].info["time_fs"] == pytest.approx(15.0)  # after equilibration, 0.5 fs steps
    assert first[0].info["seed"] == 5 and first[0].info["temperature_K"] == 300.0
    np.testing.assert_array_equal(start.positions, md.build("ethane").positions)  # input untouched


def test_md_thermalises_to_its_temperature_and_keeps_bonds():
    settings = md.MDSettings(temperature_K=300.0, seed=1, friction_per_fs=0.05,
                             equilibration_steps=400, interval=10, n_snapshots=100)
    frames = md.run_md(md.build("ethane"), settings)
    mean_t = np.mean([a.info["kinetic_temperature_K"] for a in frames])
    assert 240 < mean_t < 360
    for atoms in frames[::10]:  # still ethane: every H within 1.3 Å of a carbon
        d = atoms.get_all_distances()
        assert np.all(d[atoms.numbers == 1][:, atoms.numbers == 6].min(axis=1) < 1.3)


def test_density_fitting_is_recorded_and_close_to_exact_coulomb():
    water = molecule("H2O")
    fitted = compute(water, SCFSettings(density_fit=True))
    assert fitted.provenance["density_fit"] and fitted.provenance["auxbasis"] == "pyscf-default"
    assert fitted.energy == pytest.approx(compute(water).energy, abs=1e-4)


def test_every_dataset_preset_has_a_valid_recipe():
    from ddviz.reference import dataset

    for name, preset in dataset.PRESETS.items():
        rec = dataset.recipe(name)
        assert rec["md"]["n_snapshots"] == preset.n_train + preset.n_test >= 2
        if preset.reference == "cp2k":  # periodic cells: CP2K's standard method
            from ddviz.reference.cp2k import CP2KSettings

            assert CP2KSettings(**rec["scf"]).basis == "DZVP-MOLOPT-SR-GTH"
        else:
            assert SCFSettings(**rec["scf"]).basis == "gth-dzvp"
        md.build(preset.system, seed=0)
    assert dataset.recipe("ethane", n_train=3, n_test=1, seed=9)["md"]["seed"] == 9
    with pytest.raises(ConfigError, match="unknown dataset"):
        dataset.recipe("benzene")


def test_example_structures_are_readable_closed_shell_molecules():
    from conftest import ROOT

    from ddviz import io
    from ddviz.reference.scf import build_mol

    paths = sorted((ROOT / "examples").glob("*.xyz"))
    assert {p.stem for p in paths} >= {"ethane", "n-butane", "isobutane", "water8"}
    for path in paths:
        for atoms in io.read_structures(path):
            assert build_mol(atoms, SCFSettings()).nelectron % 2 == 0
