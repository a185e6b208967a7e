import numpy as np
import pytest
from ase.build import molecule

from ddviz.errors import DdvizError
from ddviz.grid import Grid, Refinement, Sample
from ddviz.units import ang_to_bohr, bohr_to_ang


def test_standard_grid_matches_pyscf_cubegen():
    from pyscf import gto
    from pyscf.tools import cubegen

    atoms = molecule("C2H6")
    mol = gto.M(atom=[(s, p) for s, p in zip(atoms.get_chemical_symbols(), atoms.positions)],
                basis="sto-3g", unit="Angstrom", verbose=0)
    cube = cubegen.Cube(mol, resolution=0.2, margin=4.0)
    grid = Grid.around(ang_to_bohr(atoms.positions))
    assert grid.shape == (cube.nx, cube.ny, cube.nz)
    np.testing.assert_allclose(grid.points(), cube.get_coords(), atol=1e-10)
    # cubegen's "0.2 bohr" is a bit more than 0.2 and differs per axis
    assert np.all(grid.spacing > 0.2) and np.all(grid.spacing < 0.21)


def test_points_chunks_concatenate_to_full_grid_on_skewed_grid():
    vectors = np.array([[0.3, 0.0, 0.0], [0.1, 0.25, 0.0], [0.05, 0.02, 0.2]])
    grid = Grid([1.0, -2.0, 0.5], vectors, (4, 5, 6))
    full = grid.points()
    chunks = np.concatenate([grid.points(s, s + 7) for s in range(0, grid.size, 7)])
    np.testing.assert_array_equal(full, chunks)
    # flat index -> (i, j, k) in C order, a slowest
    i, j, k = 2, 3, 4
    np.testing.assert_allclose(full[(i * 5 + j) * 6 + k], grid.index_to_point((i, j, k)))
    assert grid.voxel_volume == pytest.approx(abs(np.linalg.det(vectors)))
    assert not grid.axis_aligned


def test_electron_count_of_a_gaussian_by_quadrature():
    grid = Grid([-6, -6, -6], np.eye(3) * 0.2, (61, 61, 61))
    r2 = np.sum(grid.points() ** 2, axis=1)
    alpha, n = 1.3, 8.0
    values = n * (alpha / np.pi) ** 1.5 * np.exp(-alpha * r2)
    sample = Sample(molecule("CH4"), grid, values)
    assert sample.electrons() == pytest.approx(n, rel=1e-6)
    assert sample.density.dims == ("a", "b", "c")
    assert sample.density.attrs["units"] == "e/bohr^3"
    info = sample.summary()
    assert info["natoms"] == 5 and info["species"] == ["C", "H"]
    assert info["grid_shape"] == [61, 61, 61]


def test_periodic_grid_has_no_duplicate_endpoint():
    cell = np.array([[5.0, 0, 0], [1.0, 4.0, 0], [0, 0, 3.0]])
    grid = Grid.periodic(cell, (10, 8, 6))
    np.testing.assert_allclose(grid.cell, cell)
    assert grid.voxel_volume * grid.size == pytest.approx(abs(np.linalg.det(cell)))


def test_bad_grids_raise_ddviz_errors():
    with pytest.raises(DdvizError, match="linearly dependent"):
        Grid(np.zeros(3), [[1, 0, 0], [2, 0, 0], [0, 0, 1]], (2, 2, 2))
    with pytest.raises(DdvizError, match="shape"):
        Grid(np.zeros(3), np.eye(3), (0, 2, 2))
    with pytest.raises(DdvizError, match="does not match"):
        Sample(molecule("H2O"), Grid(np.zeros(3), np.eye(3), (2, 2, 2)),
               Sample.make_density(Grid(np.zeros(3), np.eye(3), (2, 2, 3)), np.zeros((2, 2, 3))))


def test_sample_ndim_and_units():
    line = Grid(np.zeros(3), np.diag([0.5, 1.0, 1.0]), (8, 1, 1), (True, False, False))
    chain = Sample(molecule("H2"), line, np.full(line.shape, 0.5), ndim=1)
    assert (chain.ndim, chain.units) == (1, "electrons/bohr")
    assert chain.density.attrs["units"] == "electrons/bohr"
    assert chain.electrons() == pytest.approx(2.0)  # 8 points x 0.5 bohr x 0.5 electrons/bohr
    assert chain.summary()["ndim"] == 1 and chain.summary()["units"] == "electrons/bohr"
    space = Sample(molecule("H2"), line, np.ones(line.shape))
    assert (space.ndim, space.units) == (3, "e/bohr^3")  # the default: a density in space
    cube = Grid(np.zeros(3), np.eye(3), (2, 2, 2))
    with pytest.raises(DdvizError, match=r"\[ndim\].*at most 1 axes.*\(2, 2, 2\)"):
        Sample(molecule("H2"), cube, np.ones(cube.shape), ndim=1)
    with pytest.raises(DdvizError, match=r"\[ndim\].*1, 2 or 3"):
        Sample(molecule("H2"), line, np.ones(line.shape), ndim=4)
    with pytest.raises(DdvizError, match=r"\[units\].*electrons/bohr.*e/bohr\^3"):
        Sample(molecule("H2"), line, np.ones(line.shape), ndim=1, units="e/bohr^3")


def test_unit_round_trip():
    x = np.array([1.0, 2.5])
    np.testing.assert_allclose(ang_to_bohr(bohr_to_ang(x)), x)
    assert ang_to_bohr(1.0) == pytest.approx(1.8897261, rel=1e-6)


def test_sample_from_orbitals_matches_density_matrix_and_counts_electrons():
    """Orbitals give the same density as PySCF's own density-matrix evaluation, on any point."""
    from pyscf import dft, gto

    from ddviz.orbitals import OrbitalDensity

    atoms = molecule("H2O")
    pos = ang_to_bohr(atoms.positions)
    mol = gto.M(atom=[(s, tuple(p)) for s, p in zip(atoms.get_chemical_symbols(), pos)],
                basis="gth-dzvp", pseudo="gth-pbe", unit="Bohr", verbose=0)
    mf = dft.RKS(mol, xc="pbe")
    mf.grids.level = 1
    mf.kernel()
    occ = mf.mo_occ[mf.mo_occ > 0]
    orbitals = OrbitalDensity(atoms.numbers, pos, "gth-dzvp", "gth-pbe",
                              mf.mo_coeff[:, mf.mo_occ > 0], occ)
    grid = Grid.around(pos, spacing=0.25)
    sample = Sample(atoms, grid, orbitals=orbitals)
    assert not sample.has_values
    pts = grid.points(1000, 3000)
    ao = mol.eval_gto("GTOval", pts)
    expected = dft.numint.eval_rho(mol, ao, mf.make_rdm1())
    np.testing.assert_allclose(sample.values_at(pts), expected, rtol=1e-10, atol=1e-14)
    assert sample.electrons() == pytest.approx(8.0, rel=5e-3)  # 8 valence electrons
    assert sample.has_values


@pytest.mark.parametrize("shape, step", [((7, 6, 9), 2), ((5, 8, 4), 3), ((9, 1, 1), 2)])
def test_refinement_covers_exactly_the_points_off_the_coarse_grid(shape, step):
    grid = Grid(np.array([0.5, -1.0, 2.0]), np.array([[0.3, 0, 0], [0.1, 0.25, 0], [0, 0.05, 0.2]]),
                shape, (False, False, False))
    rest = Refinement(grid, step)
    off = np.ones(shape, dtype=bool)
    off[::step, ::step, ::step] = False
    chunks = [rest.flat(a, a + 5) for a in range(0, rest.size, 5)]
    np.testing.assert_array_equal(np.concatenate(chunks), np.flatnonzero(off))
    np.testing.assert_allclose(rest.points(3, 11), grid.points()[np.flatnonzero(off)[3:11]])
    field = np.full(shape, np.nan)
    rest.put_coarse(field, np.ones(grid.every(step).shape))
    assert np.array_equal(np.isnan(field), off)
    with pytest.raises(DdvizError, match="do not lie on"):
        rest.put_coarse(field, np.ones(shape))
