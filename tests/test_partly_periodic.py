"""Partly periodic structures (a slab: pbc T T F; a wire: T F F) on the mixed grid.

The periodic lattice vectors are divided evenly, as for a cell; the open axes get a box around
the atoms. The shipped aluminium model is local (rcut 6 bohr), so a slab in a cell with more
vacuum than that between its images must give the same density as the slab alone.
"""

from __future__ import annotations

import json

import ase
import ase.io
import numpy as np
import pytest
from ase.build import fcc111
from conftest import ROOT

from ddviz import io
from ddviz.cli import main
from ddviz.errors import DdvizError
from ddviz.evaluate.comparison import compute_comparison
from ddviz.evaluate.evaluation import comparison_grid
from ddviz.evaluate.predictor import Predictor
from ddviz.grid import Grid, Sample, as_periodic, lattice_frame
from ddviz.methods.deep_density.files import load_model
from ddviz.units import ang_to_bohr

AL_MODEL = ROOT / "models" / "aluminium.safetensors"
SPACING, MARGIN = 0.5, 3.0  # bohr: coarse, to keep the tests fast


def al_slab(vacuum=8.0) -> ase.Atoms:
    """A 2x2x3 fcc(111) Al slab (a = 4.05 Å), pbc T T F, ``vacuum`` Å on each side."""
    slab = fcc111("Al", (2, 2, 3), a=4.05, vacuum=vacuum)
    assert list(slab.pbc) == [True, True, False]
    return slab


def al_wire() -> ase.Atoms:
    """A zigzag Al wire along x (pbc T F F), two atoms per 4.6 Å period, no vacuum vectors."""
    return ase.Atoms("Al2", positions=[[0.0, 0.0, 0.0], [2.3, 1.2, 0.4]],
                     cell=[[4.6, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]],
                     pbc=(True, False, False))


@pytest.fixture(scope="module")
def predictor():
    model, _ = load_model(AL_MODEL)
    assert model.config.rcut == 6.0
    return Predictor(model, device="cpu", dtype="float64")


def in_vacuum_cell(atoms: ase.Atoms, vacuum_ang: float = 12.0) -> ase.Atoms:
    """The same atoms at the same places in a fully periodic cell: each open axis gets a lattice
    vector along :func:`lattice_frame`'s unit vector, ``vacuum_ang`` Å longer than the atoms'
    extent (the images' gap, far above the cutoff plus the grid's margin)."""
    frame = lattice_frame(atoms.cell.array, atoms.pbc)
    for axis in np.flatnonzero(~atoms.pbc):
        along = atoms.positions @ frame[axis]
        frame[axis] *= along.max() - along.min() + vacuum_ang
    full = atoms.copy()
    full.cell, full.pbc = frame, True
    return full


@pytest.mark.parametrize("make", [al_slab, al_wire], ids=["slab", "wire"])
def test_mixed_grid_prediction_equals_the_structure_in_a_vacuum_cell(make, predictor):
    atoms = make()
    c = compute_comparison(atoms, predictor, spacing=SPACING, margin=MARGIN)
    assert c.grid.pbc == tuple(atoms.pbc)
    points = c.grid.points()
    full = in_vacuum_cell(atoms)
    assert all(full.pbc) and full.cell.rank == 3
    in_cell = predictor.predict_points(full, points)
    assert c.predicted.max() > 0.01  # a real density
    np.testing.assert_allclose(c.predicted.ravel(), in_cell, rtol=1e-9, atol=1e-12)
    # the periodic images along the periodic axes matter: without them the density differs
    alone = atoms.copy()
    alone.pbc = False
    isolated = predictor.predict_points(alone, points)
    assert np.abs(isolated - in_cell).max() > 0.1 * in_cell.max()


def test_mixed_grid_tiles_along_the_periodic_axes_and_boxes_the_open_one(predictor):
    slab = al_slab()
    grid = comparison_grid(slab, spacing=SPACING, margin=MARGIN)
    cell = ang_to_bohr(slab.cell.array)
    assert grid.pbc == (True, True, False)
    assert np.allclose(grid.cell[:2], cell[:2])  # whole lattice vectors, evenly divided
    assert grid.shape[:2] == tuple(round(n) for n in np.linalg.norm(cell[:2], axis=1) / SPACING)
    # first and last planes: one voxel apart across the boundary
    index = np.indices(grid.shape).reshape(3, -1).T  # (i, j, k) of each flat index
    for axis in (0, 1):
        first = grid.points_at(np.flatnonzero(index[:, axis] == 0))
        last = grid.points_at(np.flatnonzero(index[:, axis] == grid.shape[axis] - 1))
        np.testing.assert_allclose(last + grid.vectors[axis], first + cell[axis], atol=1e-10)
        # and the density one voxel past the last plane is the first plane's: periodic
        values = predictor.predict_points(slab, last[::7] + grid.vectors[axis])
        np.testing.assert_allclose(values, predictor.predict_points(slab, first[::7]),
                                   rtol=1e-9, atol=1e-12)
    # the open axis: a box with the margin around the atoms, along the surface normal
    z = ang_to_bohr(slab.positions[:, 2])
    assert np.allclose(grid.vectors[2][:2], 0) and grid.vectors[2][2] > 0
    assert grid.origin[2] == pytest.approx(z.min() - MARGIN)
    assert grid.origin[2] + (grid.shape[2] - 1) * grid.vectors[2][2] == pytest.approx(z.max() + MARGIN)
    assert grid.spacing[2] == pytest.approx(SPACING, rel=0.1)


def test_open_cell_vector_may_be_zero_or_oblique():
    slab = al_slab()
    grid = comparison_grid(slab, spacing=SPACING, margin=MARGIN)
    bare = al_slab(vacuum=None)  # ASE leaves the third vector zero: a rank-2 cell
    assert bare.cell.rank == 2
    bare.positions = slab.positions
    oblique = slab.copy()
    oblique.cell[2] = slab.cell[2] + 0.4 * slab.cell[0] - 0.3 * slab.cell[1]
    for other in (bare, oblique):
        assert comparison_grid(other, spacing=SPACING, margin=MARGIN).is_close(grid, atol=1e-9)
    model, _ = load_model(AL_MODEL)
    points = grid.points()[::53]
    p = Predictor(model, device="cpu", dtype="float64")
    expected = p.predict_points(slab, points)
    for other in (bare, oblique):
        np.testing.assert_allclose(p.predict_points(other, points), expected, rtol=1e-9,
                                   atol=1e-12)
    flat = slab.copy()
    flat.cell[1] = 2 * slab.cell[0]  # periodic vectors linearly dependent: no lattice
    with pytest.raises(DdvizError, match="linearly dependent"):
        comparison_grid(flat)


def test_predict_a_slab_from_extxyz_writes_a_periodic_cube(tmp_path, capsys):
    slab = al_slab(vacuum=5.0)
    path = tmp_path / "slab.extxyz"
    ase.io.write(path, slab)
    out = tmp_path / "slab.cube"
    assert main(["predict", str(AL_MODEL), str(path), "-o", str(out), "--spacing",
                 str(SPACING)]) == 0
    captured = capsys.readouterr()
    assert f"wrote {out}" in captured.out and "warning" not in captured.err
    written = io.read(out)
    assert written.grid.pbc == (True, True, False)  # ddviz's cube token
    assert written.grid.is_close(comparison_grid(slab, spacing=SPACING), atol=1e-5)
    assert written.electrons() == pytest.approx(36, rel=0.01)  # 12 Al x 3 (GTH q3)
    # evaluated as a reference: the model's own prediction, with the in-plane images again
    assert main(["evaluate", str(AL_MODEL), str(out), "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)["files"][0]
    assert figures["rel_l1"] < 1e-4 and figures["electrons_pred"] == pytest.approx(36, rel=0.01)
    assert as_periodic(written, out) is written  # --pbc keeps the axes the file declares
    # properties: electrons yes; in-plane multipoles and an isolated Hartree energy would be wrong
    assert main(["properties", str(out), "--json"]) == 0
    props = json.loads(capsys.readouterr().out)
    assert props["partly_periodic"] and props["electrons"] == pytest.approx(36, rel=0.01)
    assert props["dipole_debye"] is None and props["hartree_ha"] is None
    assert main(["properties", str(out)]) == 0
    text = capsys.readouterr().out
    assert "not defined for a partly periodic structure" in text and "(isolated)" not in text
    # the cube as a structure: the same slab, the same grid, the same density
    again = tmp_path / "again.nc"
    assert main(["predict", str(AL_MODEL), str(out), "-o", str(again), "--spacing",
                 str(SPACING)]) == 0
    second = io.read(again)
    assert second.grid.is_close(written.grid, atol=1e-4)
    np.testing.assert_allclose(second.density.values, written.density.values, atol=1e-4)
    # a CHGCAR needs a whole cell: refused in one line before anything is computed
    chgcar = tmp_path / "CHGCAR"
    capsys.readouterr()
    assert main(["predict", str(AL_MODEL), str(path), "-o", str(chgcar)]) == 2
    err = capsys.readouterr().err
    assert "pbc T T F" in err and "T T T" in err and len(err.strip().splitlines()) == 1
    assert not chgcar.exists()


def test_degenerate_periodic_axes_refused_before_predicting(tmp_path, capsys):
    wire = al_wire()
    wire.pbc = (True, True, False)  # the second lattice vector is zero
    path = tmp_path / "bad.extxyz"
    ase.io.write(path, wire)
    out = tmp_path / "bad.cube"
    assert main(["predict", str(AL_MODEL), str(path), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "bad.extxyz" in err and "pbc T T F" in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_slab_on_a_dask_cluster_equals_the_serial_prediction(tmp_path, predictor):
    import xarray as xr

    from ddviz.evaluate import dask_grid

    slab = al_slab()
    grid = comparison_grid(slab, spacing=1.0, margin=MARGIN)
    dask_grid.predict_zarr(AL_MODEL, slab, grid, tmp_path / "s.zarr", workers=1,
                           block_points=grid.size // 2, processes=False)
    values = xr.open_zarr(tmp_path / "s.zarr").density.values
    serial = Predictor(predictor.model, device="cpu").predict_grid(slab, grid)
    np.testing.assert_allclose(values, serial, rtol=1e-5, atol=1e-6 * serial.max())


def test_cube_records_ddviz_pbc_and_reads_it_back(tmp_path):
    from ddviz.io.cube import pbc_of

    slab = al_slab()
    grid = comparison_grid(slab, spacing=1.0, margin=MARGIN)
    values = np.random.default_rng(0).random(grid.shape)
    path = tmp_path / "slab.cube"
    io.write(Sample(slab, grid, values), path)
    line = path.read_text().splitlines()[1]
    assert line == "ddviz pbc=T T F"
    back = io.read(path)
    assert back.grid.is_close(grid, atol=1e-5) and back.grid.pbc == (True, True, False)
    assert list(back.atoms.pbc) == [True, True, False]
    assert np.allclose(ang_to_bohr(back.atoms.cell.array[:2]), grid.cell[:2], atol=1e-4)
    np.testing.assert_allclose(back.density.values, values, rtol=1e-5)
    assert ase.io.read(path).get_chemical_symbols() == slab.get_chemical_symbols()  # ASE too
    full = Grid.periodic(ang_to_bohr(slab.cell.array), (6, 6, 20))
    io.write(Sample(slab, full, np.ones(full.shape)), tmp_path / "cell.cube")
    assert io.read(tmp_path / "cell.cube").grid.pbc == (True, True, True)
    molecule = Grid.around(ang_to_bohr(slab.positions), 1.0, 2.0)
    io.write(Sample(slab, molecule, np.ones(molecule.shape)), tmp_path / "box.cube")
    assert "pbc" not in (tmp_path / "box.cube").read_text().splitlines()[1]
    # foreign second lines, malformed tokens included, are comments: nothing periodic
    lines = path.read_text().splitlines(keepends=True)
    for comment in ("OUTER LOOP: X, MIDDLE LOOP: Y, INNER LOOP: Z", "", "ddviz pbc=T T",
                    "ddviz pbc=T T X", "ddviz pbc=T T T extra", "ddviz pbc=TTT",
                    "DDVIZ PBC=T T T", "ddviz pbc=T  T T", "xddviz pbc=T T T",
                    "ddviz pbc=__import__('os') T T", "ddviz pbc=(1,1,1)"):
        assert pbc_of(comment) == (False, False, False), comment
        foreign = tmp_path / "foreign.cube"
        foreign.write_text("".join(lines[:1] + [comment + "\n"] + lines[2:]))
        sample = io.read(foreign)
        assert sample.grid.pbc == (False, False, False) and not any(sample.atoms.pbc)
        assert not sample.atoms.cell.any()
        np.testing.assert_array_equal(sample.density.values, back.density.values)
    assert pbc_of("ddviz pbc=T T F\x00") == (False, False, False)
    assert pbc_of("CP2K cube; ddviz pbc=T F F") == (True, False, False)
