"""Periodic cells end to end: grids on the cell, supercell consistency, CHGCAR out, --pbc."""

from __future__ import annotations

import json

import ase
import ase.io
import numpy as np
import pytest
from conftest import ROOT

from ddviz import io
from ddviz.cli import main
from ddviz.errors import DdvizError
from ddviz.evaluate.comparison import compute_comparison
from ddviz.evaluate.evaluation import comparison_grid
from ddviz.evaluate.predictor import Predictor
from ddviz.grid import Grid, Sample, as_periodic, periodic_shape
from ddviz.methods.deep_density.files import load_model
from ddviz.units import ang_to_bohr

WATER_MODEL = ROOT / "models" / "water.safetensors"


def water_cell() -> ase.Atoms:
    """Two waters in a small triclinic cell (Å), smaller than the model's cutoff (3.2 Å)."""
    cell = [[4.2, 0.0, 0.0], [0.6, 4.0, 0.0], [0.3, -0.4, 3.6]]
    pos = [[0.5, 0.6, 0.4], [1.46, 0.6, 0.4], [0.26, 1.53, 0.4],
           [2.6, 2.5, 2.2], [3.3, 3.1, 2.4], [2.9, 1.7, 2.7]]
    return ase.Atoms("OH2OH2", positions=pos, cell=cell, pbc=True)


@pytest.fixture(scope="module")
def predictor():
    model, _ = load_model(WATER_MODEL)
    return Predictor(model, device="cpu", dtype="float64")


def test_cell_equals_supercell_point_for_point(predictor):
    atoms = water_cell()
    cell = ang_to_bohr(atoms.cell.array)
    shape = (10, 10, 9)
    on_cell = predictor.predict_grid(atoms, Grid.periodic(cell, shape))
    big = atoms.repeat((2, 2, 1))
    on_big = predictor.predict_grid(big, Grid.periodic(ang_to_bohr(big.cell.array),
                                                       (20, 20, 9)))
    assert on_cell.max() > 0.1  # a real density near the oxygens
    for i in range(2):
        for j in range(2):
            block = on_big[i * 10:(i + 1) * 10, j * 10:(j + 1) * 10]
            np.testing.assert_allclose(block, on_cell, rtol=1e-9, atol=1e-12)
    # and the periodic images matter: without them the cell's density is different
    open_atoms = atoms.copy()
    open_atoms.pbc = False
    alone = predictor.predict_points(open_atoms, Grid.periodic(cell, shape).points())
    assert np.abs(alone - on_cell.ravel()).max() > 1e-3


def test_grid_on_the_cell_divides_each_lattice_vector():
    atoms = water_cell()
    grid = comparison_grid(atoms, spacing=0.2)
    lengths = np.linalg.norm(ang_to_bohr(atoms.cell.array), axis=1)
    assert grid.pbc == (True, True, True)
    assert np.allclose(grid.cell, ang_to_bohr(atoms.cell.array))
    assert np.allclose(grid.origin, 0)
    assert np.all(np.abs(grid.spacing - 0.2) < 0.2 * 0.2)
    assert grid.shape == periodic_shape(ang_to_bohr(atoms.cell.array), 0.2)
    assert tuple(int(round(n)) for n in lengths / 0.2) == grid.shape
    slab = atoms.copy()
    slab.pbc = (True, True, False)
    mixed = comparison_grid(slab, spacing=0.2)  # the cell's a and b, a box along the normal
    assert mixed.pbc == (True, True, False)
    assert np.allclose(mixed.cell[:2], ang_to_bohr(atoms.cell.array[:2]))
    assert np.allclose(mixed.vectors[2] @ ang_to_bohr(atoms.cell.array[:2]).T, 0, atol=1e-12)


def test_predict_crystal_writes_chgcar_read_back_by_ase_and_pymatgen(tmp_path, capsys):
    from pymatgen.io.vasp.outputs import Chgcar

    structure = tmp_path / "cell.extxyz"
    ase.io.write(structure, water_cell(), format="extxyz")
    out = tmp_path / "water.CHGCAR"
    assert main(["predict", str(WATER_MODEL), str(structure), "-o", str(out), "--spacing",
                 "0.4"]) == 0
    stdout = capsys.readouterr().out
    sample = io.read(out)
    n = sample.electrons()
    assert sample.grid.pbc == (True, True, True)
    assert sample.grid.shape == periodic_shape(ang_to_bohr(water_cell().cell.array), 0.4)
    assert f"{n:.3f} electrons" in stdout
    assert 14.0 < n < 18.0  # 16 valence electrons, predicted
    # ASE: the grid holds rho x V / V (electrons per Å^3 times nothing: ASE divides by the volume)
    from ase.calculators.vasp import VaspChargeDensity

    vcd = VaspChargeDensity(str(out))
    atoms = vcd.atoms[0]
    assert atoms.get_chemical_symbols() == water_cell().get_chemical_symbols()
    rho_ang = vcd.chg[0]  # e/Å^3
    assert np.isclose(rho_ang.mean() * atoms.get_volume(), n, rtol=1e-5)
    chg = Chgcar.from_file(str(out))
    assert [str(s.specie) for s in chg.structure] == water_cell().get_chemical_symbols()
    assert np.isclose(chg.data["total"].sum() / chg.data["total"].size, n, rtol=1e-5)
    assert "O" in out.read_text().splitlines()[5].split()  # VASP 5 species line


def test_cif_and_poscar_get_the_grid_of_their_cell(tmp_path):
    cell = ang_to_bohr(water_cell().cell.array)
    for name, fmt in (("ice.cif", "cif"), ("POSCAR", "vasp")):
        ase.io.write(tmp_path / name, water_cell(), format=fmt)
        grid = comparison_grid(io.read_structure(tmp_path / name), spacing=0.5)
        assert np.allclose(grid.cell, cell, atol=1e-4)  # the cell, not a box around the atoms
        assert grid.pbc == (True, True, True)


PARTIAL_CIF = """data_partial
_cell_length_a 4.0
_cell_length_b 4.0
_cell_length_c 4.0
_cell_angle_alpha 90
_cell_angle_beta 90
_cell_angle_gamma 90
_symmetry_space_group_name_H-M 'P 1'
loop_
_atom_site_label
_atom_site_type_symbol
_atom_site_fract_x
_atom_site_fract_y
_atom_site_fract_z
_atom_site_occupancy
O1 O 0.0 0.0 0.0 1.0
H1 H 0.25 0.0 0.0 0.5
H2 H 0.0 0.25 0.0 0.5
"""


def test_partial_occupancy_and_overlaps_refused(tmp_path, capsys):
    partial = tmp_path / "partial.cif"
    partial.write_text(PARTIAL_CIF)
    assert main(["predict", str(WATER_MODEL), str(partial), "-o", str(tmp_path / "p.cube")]) == 2
    err = capsys.readouterr().err
    assert "partial.cif" in err and "partially occupied" in err
    assert not (tmp_path / "p.cube").exists()
    overlap = tmp_path / "overlap.cif"
    overlap.write_text(PARTIAL_CIF.replace(" 0.5\n", " 1.0\n")
                       .replace("0.25 0.0 0.0", "0.02 0.0 0.0"))
    with pytest.raises(DdvizError, match="overlap.cif.*closer than"):
        io.read_structure(overlap)


def test_cube_with_pbc_is_periodic_and_evaluated_with_images(tmp_path, predictor, capsys):
    atoms = water_cell()
    grid = Grid.periodic(ang_to_bohr(atoms.cell.array), (12, 12, 11))
    values = predictor.predict_grid(atoms, grid)
    cube = tmp_path / "cell.cube"
    io.write(Sample(atoms, grid, values), cube)
    assert io.read(cube).grid.pbc == (True, True, True)  # ddviz's own cube says it is periodic
    lines = cube.read_text().splitlines(keepends=True)  # as CP2K writes one: no ddviz token
    cube.write_text("".join(lines[:1] + ["OUTER LOOP: X, MIDDLE LOOP: Y, INNER LOOP: Z\n"]
                            + lines[2:]))
    plain = io.read(cube)
    assert plain.grid.pbc == (False, False, False) and not any(plain.atoms.pbc)
    periodic = as_periodic(plain, cube)
    assert periodic.grid.pbc == (True, True, True) and all(periodic.atoms.pbc)
    assert np.allclose(ang_to_bohr(periodic.atoms.cell.array), grid.cell, atol=1e-5)
    assert main(["evaluate", str(WATER_MODEL), str(cube), "--pbc", "--json"]) == 0
    with_pbc = json.loads(capsys.readouterr().out)
    without = compute_comparison(plain.atoms, predictor, plain).metrics()
    assert with_pbc["pooled"]["rel_l1"] < 1e-4  # the cube is this model's own periodic prediction
    assert without["rel_l1"] > 10 * with_pbc["pooled"]["rel_l1"]
    assert main(["info", str(cube), "--pbc", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["pbc"] == [True, True, True]
    assert np.allclose(info["cell_bohr"], grid.cell, atol=1e-5)
    wrong = Sample(atoms, Grid(grid.origin, grid.vectors, (12, 12, 10)),
                   values[:, :, :10])  # the atoms' cell is longer than the grid
    with pytest.raises(DdvizError, match="does not span"):
        as_periodic(wrong, "wrong.cube")


def test_periodic_isosurface_reaches_the_cell_faces(predictor):
    from ddviz.viz.scene import Scene, closed

    atoms = water_cell()
    grid = Grid.periodic(ang_to_bohr(atoms.cell.array), (12, 12, 11))
    values = predictor.predict_grid(atoms, grid)
    padded, fields = closed(grid, {"predicted": values})
    assert padded.shape == (13, 13, 12) and padded.pbc == (False, False, False)
    inner = fields["predicted"][:12, :12, :11]
    np.testing.assert_array_equal(inner, values)
    np.testing.assert_array_equal(fields["predicted"][-1, :12, :11], values[0])  # first again
    np.testing.assert_array_equal(fields["predicted"][:12, :12, -1], values[:, :, 0])
    scene = Scene(atoms, grid, {"predicted": values}, level=0.02)
    assert "cell" in scene.actors and scene.triangles("predicted") > 0
    surface = scene._surface("predicted")
    frac = surface.points @ np.linalg.inv(grid.cell)
    # the surface crosses the far faces (frac 1), which the unpadded grid stops short of
    assert frac.max() > 1 - 0.5 / 12
    assert np.all(frac > -1e-6) and np.all(frac < 1 + 1e-6)


def test_training_on_periodic_snapshots_uses_the_periodic_neighbour_search(tmp_path, predictor):
    from ddviz.methods.deep_density.config import ModelConfig
    from ddviz.train import TrainConfig, Trainer

    files = []
    for k in range(3):  # periodic references: the water model's own densities of rattled cells
        atoms = water_cell()
        atoms.rattle(0.05, seed=k)
        grid = Grid.periodic(ang_to_bohr(atoms.cell.array), (12, 12, 11))
        files.append(tmp_path / f"cell_{k:04d}.nc")
        io.write(Sample(atoms, grid, predictor.predict_grid(atoms, grid)), files[-1])
    cfg = TrainConfig(train=[str(f) for f in files], validation_snapshots=1, validation_stride=2,
                      steps=4, points_per_snapshot=256, snapshots_per_step=2, validate_every=4,
                      model=ModelConfig(m1=4, m2=2, embedding_widths=[4], fitting_widths=[8],
                                        rcut=6.0, rcut_smooth=3.0))
    trainer = Trainer(cfg, tmp_path / "run")
    trainer.fit()
    envs = trainer.method._environments
    assert envs and all(env.pbc == (True, True, True) for env in envs.values())
    sampler = trainer.method.samplers[0]
    assert sampler.sample.grid.pbc == (True, True, True)  # probe points span the whole cell
    from ddviz.app.explore.inputs import model_periodic
    from ddviz.train import MODEL

    assert model_periodic(tmp_path / "run" / MODEL)  # recorded: the app's default for cells


def test_chgcar_of_a_molecule_is_refused_before_predicting(tmp_path, capsys):
    structure = tmp_path / "water.xyz"
    ase.io.write(structure, ase.Atoms("OH2", positions=[[0, 0, 0], [0.96, 0, 0], [-0.24, 0.93, 0]]))
    assert main(["predict", str(WATER_MODEL), str(structure), "-o", str(tmp_path / "CHGCAR")]) == 2
    err = capsys.readouterr().err
    assert "CHGCAR" in err and "periodic" in err and "electrons" not in err
    assert not (tmp_path / "CHGCAR").exists()


AL_MODEL = ROOT / "models" / "aluminium.safetensors"
AL32 = ROOT / "assets" / "datasets" / "al32"


@pytest.mark.parametrize("model, folder, valence, card", [
    ("aluminium", "al32", 96.0, 0.0207),   # 32 Al x 3 (GTH q3); card: 2.07 % over 3 test cells
    ("water-box", "water32-box", 256.0, 0.00814),  # 32 x (6 + 2 x 1); card: 0.814 %
])
def test_shipped_periodic_model_on_its_cp2k_test_cell(ddviz_cli, model, folder, valence, card):
    """A shipped periodic model on a shipped CP2K test snapshot, through the CLI: periodic
    images used (the cell's electrons come out right only with them), figures as in the card."""
    model_path = ROOT / "models" / f"{model}.safetensors"
    snapshot = sorted((ROOT / "assets" / "datasets" / folder).glob(f"{folder}_*.nc"))[0]
    done = ddviz_cli("evaluate", model_path, snapshot, "--json")
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout)
    figures = figures["files"][0]
    assert figures["electrons_ref"] == pytest.approx(valence, abs=0.02)
    assert abs(figures["electrons_pred"] / valence - 1) < 0.004
    assert 0.3 * card < figures["rel_l1"] < 1.5 * card
    # without the periodic images the same model misses the density its images give
    sample = io.read(snapshot)
    model, _ = load_model(model_path)
    open_atoms = sample.atoms.copy()
    open_atoms.pbc = False
    alone = Predictor(model, device="cpu").predict_points(open_atoms, sample.grid.points()[::97])
    ref = np.asarray(sample.density).ravel()[::97]
    assert np.abs(alone - ref).sum() / np.abs(ref).sum() > 3 * figures["rel_l1"]
