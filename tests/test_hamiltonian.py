"""DeepH-E3 (method "hamiltonian"): equivariance, training, model files, eigenproblem, CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from ase.build import molecule

from ddviz.errors import ModelFileError
from ddviz.methods.hamiltonian.basis import AOLayout
from ddviz.methods.hamiltonian.config import ModelConfig
from ddviz.methods.hamiltonian.data import (
    HamiltonianSample,
    HamiltonianSCF,
    random_rotation,
    reference,
)
from ddviz.methods.hamiltonian.model import HamiltonianModel
from ddviz.units import ang_to_bohr

SMALL = {"channels": 4, "layers": 1, "radial_hidden": 8, "radial_basis": 6, "cutoff": 8.0}


def water_dimer():
    a = molecule("H2O")
    b = molecule("H2O")
    b.rotate(70, "x")
    b.translate([2.8, 0.4, -0.3])
    return a + b


def random_model(seed=0, **kw):
    torch.manual_seed(seed)
    return HamiltonianModel(ModelConfig(**{**SMALL, **kw}))


def test_equivariance_and_permutation():
    """Rotated structure's blocks = D H D^T to 1e-5 in float32; swapping waters permutes them."""
    atoms = water_dimer()
    model = random_model()
    z = torch.as_tensor(atoms.numbers)
    pos = ang_to_bohr(atoms.positions)
    with torch.no_grad():
        h = model(z, torch.as_tensor(pos, dtype=torch.float32)).numpy()
        rot = random_rotation(np.random.default_rng(0))
        h_rot = model(z, torch.as_tensor(pos @ rot.T + 1.3, dtype=torch.float32)).numpy()
        perm = [3, 4, 5, 0, 1, 2]
        h_perm = model(z[perm], torch.as_tensor(pos[perm], dtype=torch.float32)).numpy()
    assert h.dtype == np.float32 and np.abs(h).max() > 0.1
    d = AOLayout.from_symbols(atoms.get_chemical_symbols(), "def2-svp").rotation(rot)
    assert np.abs(d @ h @ d.T - h_rot).max() < 1e-5
    assert np.abs(h - h_rot).max() > 1e-2  # the check can fail
    ao = np.r_[24:48, 0:24]
    assert np.abs(h_perm - h[np.ix_(ao, ao)]).max() < 1e-5


def test_far_pairs_are_zero_and_unknown_elements_refused():
    atoms = water_dimer()
    atoms.positions[3:] += [20.0, 0, 0]
    model = random_model()
    with torch.no_grad():
        h = model(torch.as_tensor(atoms.numbers),
                  torch.as_tensor(ang_to_bohr(atoms.positions), dtype=torch.float32))
    assert float(h[:24, 24:].abs().max()) == 0.0
    from ddviz.errors import DdvizError

    with pytest.raises(DdvizError, match="outside this model's species"):
        model.check_species([6, 1])


@pytest.fixture(scope="module")
def water_data(tmp_path_factory):
    """Five rotated, rattled water monomers (PySCF PBE/def2-SVP, grid level 1) as a dataset."""
    out = tmp_path_factory.mktemp("hwater")
    rng = np.random.default_rng(0)
    entries = {}
    settings = HamiltonianSCF(grids_level=1, conv_tol=1e-8)
    for k in range(5):
        atoms = molecule("H2O")
        atoms.positions += rng.normal(scale=0.05, size=atoms.positions.shape)
        pos = ang_to_bohr(atoms.positions) @ random_rotation(rng).T
        ref = reference(atoms.numbers, pos, settings)
        HamiltonianSample(atoms.numbers, pos, ref["fock"], ref["overlap"],
                          ref["density_matrix"], ref["mo_energy"], ref["mo_occ"], "def2-svp",
                          {"energy_Ha": ref["energy"]}).write(out / f"w_{k:04d}.nc")
        entries[f"w_{k:04d}.nc"] = {"split": "train", "atoms": 3}
    (out / "manifest.json").write_text(json.dumps({"samples": entries}))
    return out


def test_training_learns_and_model_file_round_trip(water_data, tmp_path):
    from ddviz.methods import load_model
    from ddviz.train import Trainer
    from ddviz.train.config import TrainConfig

    cfg = TrainConfig(method="hamiltonian", train=[str(water_data)], validation_snapshots=1,
                      steps=40, snapshots_per_step=4, lr=1e-2, lr_final=3e-3,
                      validate_every=20, checkpoint_every=40, log_every=20, threads=1,
                      device="cpu", model=SMALL)
    trainer = Trainer(cfg, tmp_path / "run")
    first = trainer.validate()["mae_mev"]
    trainer.fit()
    last = trainer.validate()["mae_mev"]
    assert last < 0.8 * first, (first, last)
    path = tmp_path / "run" / "model.safetensors"
    model, meta = load_model(path)
    assert meta["format"] == "ddviz-hamiltonian" and model.config.species == [1, 8]
    sample = HamiltonianSample.read(water_data / "w_0004.nc")
    z, pos = torch.as_tensor(sample.numbers), torch.as_tensor(sample.positions_bohr,
                                                              dtype=torch.float32)
    with torch.no_grad():
        np.testing.assert_array_equal(model(z, pos).numpy(), trainer.model.eval()(z, pos).numpy())
    # the evaluation of ddviz evaluate / the benchmark: errors against the reference
    from ddviz.methods.hamiltonian.evaluate import evaluate

    r = evaluate(model, [("w", sample)], grid_step=4)
    assert r["equivariance_ha"] < 1e-5 and 0 < r["h_mae_cutoff_mev"] == r["h_mae_mev"]
    assert 0 < r["rel_l1"] < 1 and r["occ_mae_mev"] > 0
    # a corrupt file is refused with a ModelFileError
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(ModelFileError):
        load_model(bad)


def test_eigenproblem_and_density_against_pyscf(water_data):
    """solve(F, S) of a stored reference gives PySCF's orbital energies and density."""
    from pyscf import dft

    from ddviz.methods.hamiltonian.predict import HamiltonianPrediction, solve

    s = HamiltonianSample.read(water_data / "w_0000.nc")
    e, c = solve(s.fock, s.overlap)
    np.testing.assert_allclose(e, s.mo_energy, atol=1e-5)
    pred = HamiltonianPrediction(s.numbers, s.positions_bohr, s.fock, s.overlap, e, c, 10,
                                 "def2-svp", 0.0)
    rho = pred.orbitals()
    points = np.random.default_rng(1).normal(scale=2.0, size=(500, 3)) + s.positions_bohr[0]
    ao = rho.mol.eval_gto("GTOval_sph", points)
    ref = dft.numint.eval_rho(rho.mol, ao, s.density_matrix)
    got = rho.evaluate(points)
    assert np.abs(got - ref).sum() / np.abs(ref).sum() < 1e-4
    assert pred.homo < pred.lumo


def test_cli(tmp_path, ddviz_cli):
    from ddviz.methods.hamiltonian.files import save_model

    model = random_model()
    save_model(model, tmp_path / "m.safetensors")
    import ase.io

    ase.io.write(tmp_path / "w.xyz", molecule("H2O"))
    ase.io.write(tmp_path / "oh.xyz", molecule("OH"))
    ase.io.write(tmp_path / "ch4.xyz", molecule("CH4"))
    done = ddviz_cli("hamiltonian", tmp_path / "m.safetensors", tmp_path / "w.xyz",
                     "--json", "-o", tmp_path / "rho.cube", "--spacing", "0.4")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # the positional form: no deprecation note
    summary = json.loads(done.stdout)
    assert set(summary) == {"eigenvalues_ha", "homo_ha", "lumo_ha", "gap_ha", "nelectron",
                            "charge", "basis", "seconds"}
    assert summary["nelectron"] == 10 and summary["charge"] == 0
    assert len(summary["eigenvalues_ha"]) == 24
    assert summary["eigenvalues_ha"] == sorted(summary["eigenvalues_ha"])
    assert summary["gap_ha"] == pytest.approx(summary["lumo_ha"] - summary["homo_ha"])
    from ddviz import io

    assert 9.0 < io.read(tmp_path / "rho.cube").electrons() < 11.0
    for name, message in (("oh", f"{tmp_path / 'oh.xyz'} [charge]: HO with charge +0 has 9 "
                                 "electrons"),
                          ("ch4", "outside this model's species")):
        bad = ddviz_cli("hamiltonian", tmp_path / "m.safetensors", tmp_path / f"{name}.xyz")
        assert bad.returncode == 2 and message in bad.stderr, bad.stderr
        assert len(bad.stderr.strip().splitlines()) == 1


def test_cli_charge(tmp_path, ddviz_cli):
    """--charge sets the electron count: OH- is closed-shell, H2O+ is refused naming the file."""
    from ddviz.methods.hamiltonian.files import save_model

    save_model(random_model(), tmp_path / "m.safetensors")
    import ase.io

    ase.io.write(tmp_path / "oh.xyz", molecule("OH"))
    ase.io.write(tmp_path / "w.xyz", molecule("H2O"))
    anion = ddviz_cli("hamiltonian", tmp_path / "m.safetensors", tmp_path / "oh.xyz",
                      "--charge=-1")
    assert anion.returncode == 0, anion.stderr
    assert "HO (charge -1): 10 electrons" in anion.stdout
    cation = ddviz_cli("hamiltonian", tmp_path / "m.safetensors", tmp_path / "w.xyz",
                       "--charge", "1", "--json")
    assert cation.returncode == 2 and cation.stdout == ""
    assert f"{tmp_path / 'w.xyz'} [charge]: H2O with charge +1 has 9 electrons" in cation.stderr
    assert len(cation.stderr.strip().splitlines()) == 1


def test_cli_model_argument_forms(tmp_path, ddviz_cli):
    """MODEL STRUCTURE, bare names as for ddviz predict, and the deprecated --model."""
    from ddviz.methods.hamiltonian.files import save_model

    (tmp_path / "models").mkdir()
    save_model(random_model(), tmp_path / "models" / "mine.safetensors")
    import ase.io

    ase.io.write(tmp_path / "w.xyz", molecule("H2O"))
    new = ddviz_cli("hamiltonian", "mine", "w.xyz", "--json", cwd=tmp_path)  # ./models/mine...
    assert new.returncode == 0, new.stderr
    old = ddviz_cli("hamiltonian", "w.xyz", "--model", "mine", "--json", cwd=tmp_path)
    assert old.returncode == 0, old.stderr
    assert "--model is deprecated" in old.stderr
    assert json.loads(old.stdout)["eigenvalues_ha"] == json.loads(new.stdout)["eigenvalues_ha"]
    both = ddviz_cli("hamiltonian", "mine", "w.xyz", "--model", "mine", cwd=tmp_path)
    neither = ddviz_cli("hamiltonian", "w.xyz", cwd=tmp_path)
    for bad, message in ((both, "two models given"), (neither, "no model given")):
        assert bad.returncode == 2 and message in bad.stderr, bad.stderr
        assert "[model]" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
