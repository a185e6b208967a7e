"""Gaussian cube: round trips, ASE and PySCF conventions, unit signs, DSET_IDS, malformed files."""

import ase.io
import numpy as np
import pytest
from ase.build import molecule

import ddviz.io as dio
from ddviz.errors import FileFormatError, TooLargeError, UnsupportedError
from ddviz.grid import Grid, Sample
from ddviz.units import BOHR_PER_ANGSTROM, ang_to_bohr

SKEW = np.array([[0.3, 0.0, 0.0], [0.1, 0.25, 0.0], [0.05, 0.02, 0.2]])


@pytest.fixture
def sample():
    grid = Grid([-1.5, -2.0, 0.5], SKEW, (5, 6, 7))  # 7 values per z-row: lines of 6 + 1
    values = np.random.default_rng(1).random(grid.shape) * 10.0 ** np.arange(-4, 3)
    return Sample(molecule("H2O"), grid, values, {"code": "test"})


def test_round_trip_non_orthogonal(tmp_path, sample):
    dio.write(sample, tmp_path / "w.cube")
    t = dio.read(tmp_path / "w.cube")
    assert t.grid.is_close(sample.grid, atol=1e-6) and t.grid.pbc == (False,) * 3
    np.testing.assert_allclose(t.density.values, sample.density.values, rtol=6e-6)
    np.testing.assert_allclose(t.atoms.positions, sample.atoms.positions, atol=1e-6)
    assert t.provenance["code"] == "test"
    lines = (tmp_path / "w.cube").read_text().splitlines()
    assert [len(x.split()) for x in lines[9:11]] == [6, 1]  # 6 per line, each z-row on new lines
    assert "E" in lines[9]


def test_pyscf_reads_our_cube(tmp_path, sample):
    from pyscf import gto
    from pyscf.tools import cubegen

    dio.write(sample, tmp_path / "w.cube")
    mol = gto.M(atom="H 0 0 0; H 0 0 0.74", basis="sto-3g", verbose=0)
    data = cubegen.Cube(mol).read(str(tmp_path / "w.cube"))
    np.testing.assert_allclose(data, sample.density.values, rtol=6e-6)


def test_ase_cube_read_by_ours_and_ours_by_ase(tmp_path):
    atoms = molecule("CH4")
    atoms.cell = [[6.0, 0, 0], [0.5, 5.0, 0], [0, 0.3, 5.5]]
    data = np.random.default_rng(2).random((8, 9, 10))
    origin = np.array([-3.0, -2.5, -2.75])  # Å
    ase.io.write(tmp_path / "ase.cube", atoms, data=data, origin=origin)
    t = dio.read(tmp_path / "ase.cube")
    np.testing.assert_allclose(t.grid.origin, ang_to_bohr(origin), atol=1e-5)
    np.testing.assert_allclose(t.grid.vectors, ang_to_bohr(atoms.cell) / [[8], [9], [10]], atol=1e-5)
    np.testing.assert_allclose(t.density.values, data, rtol=1e-5)
    np.testing.assert_allclose(t.atoms.positions, atoms.positions, atol=1e-5)

    dio.write(t, tmp_path / "ours.cube")
    with open(tmp_path / "ours.cube") as f:
        back = ase.io.cube.read_cube(f)
    np.testing.assert_allclose(back["data"], data, rtol=1e-5)
    np.testing.assert_allclose(back["origin"], origin, atol=1e-5)
    np.testing.assert_allclose(back["atoms"].positions, atoms.positions, atol=1e-5)


def _cube(natoms="2", axes=("3 0.5 0 0", "2 0 0.5 0", "2 0 0 0.5"), atoms=None, extra="",
          values=None):
    atoms = atoms if atoms is not None else ["1 1.0 0.0 0.0 0.0", "8 8.0 1.0 0.0 0.0"]
    values = values if values is not None else " ".join(str(i + 1) for i in range(12))
    return "\n".join(["c1", "c2", f"{natoms} 0.1 0.2 0.3", *axes, *atoms, *([extra] if extra else []),
                      values]) + "\n"


def test_units_sign_angstrom(tmp_path):
    (tmp_path / "a.cube").write_text(_cube(axes=("-3 0.5 0 0", "-2 0 0.5 0", "-2 0 0 0.5")))
    t = dio.read(tmp_path / "a.cube")
    np.testing.assert_allclose(t.grid.spacing, 0.5 * BOHR_PER_ANGSTROM)
    np.testing.assert_allclose(t.grid.origin, np.array([0.1, 0.2, 0.3]) * BOHR_PER_ANGSTROM)
    np.testing.assert_allclose(t.atoms.positions[1], [1.0, 0, 0])  # given in Å
    np.testing.assert_array_equal(t.density.values.ravel(), np.arange(1, 13))  # values unchanged
    (tmp_path / "b.cube").write_text(_cube())
    t = dio.read(tmp_path / "b.cube")
    np.testing.assert_allclose(t.grid.spacing, 0.5)
    np.testing.assert_allclose(ang_to_bohr(t.atoms.positions[1]), [1.0, 0, 0])
    assert t.electrons() == pytest.approx(78 * 0.125)


def test_dset_ids(tmp_path):
    (tmp_path / "one.cube").write_text(_cube(natoms="-2", extra="1 7"))
    assert dio.read(tmp_path / "one.cube").grid.shape == (3, 2, 2)
    (tmp_path / "two.cube").write_text(_cube(natoms="-2", extra="2 7 8"))
    with pytest.raises(UnsupportedError, match="two.cube:9: multi-volume cube with 2 volumes"):
        dio.read(tmp_path / "two.cube")


@pytest.mark.parametrize("text, match", [
    (_cube(values="1 2 3 x 5 6\n7 8 9 10 11 12"), r"bad.cube:9: expected a number, got 'x'"),
    (_cube(values="1 2 3 4 5 6\n7 8 nan 10 11 12"), r"bad.cube:10: .*finite, got 'nan'"),
    (_cube(values="1 2 3 4 5 6\n7 8 9 10 11 inf"), r"bad.cube:10: .*finite"),
    (_cube(values="1 2 3 4 5 6\n7 8 9 10 11"), r"bad.cube:\d+: truncated.*11 of 12"),
    (_cube(values="1 2 3 4 5 6\n7 8 9 10 11 12 13"), r"bad.cube:10: expected 12 grid values"),
    (_cube(values="1 2 3 4 5 6\n7 8 9 10 11 12\n13"), r"bad.cube:11: unexpected data"),
    (_cube(natoms="3"), r"bad.cube:9: expected 5 numbers \(Z, charge, x, y, z\) for atom 3 of 3"),
    (_cube(atoms=["1 1.0 0.0 0.0", "8 8 1 0 0"]), r"bad.cube:7: expected 5 numbers"),
    (_cube(axes=("3 0.5 0 0", "2 0 0.5 0", "2 0 0.5 0")), r"bad.cube:6: bad voxel vectors"),
    (_cube(axes=("3 0.5 0 0", "2 0 zz 0", "2 0 0 0.5")), r"bad.cube:5: .*'zz' is not a number"),
    ("c1\nc2\n", r"bad.cube:3: file ends here, expected 4 numbers"),
    ("", r"bad.cube:1: file ends here"),
    (_cube(axes=("1000 0.5 0 0", "1000 0 0.5 0", "100 0 0 0.5")), r"bad.cube:\d+: truncated: "
     r"100000000 grid values declared"),
])
def test_malformed(tmp_path, text, match):
    (tmp_path / "bad.cube").write_text(text)
    with pytest.raises(FileFormatError, match=match):
        dio.read(tmp_path / "bad.cube")


def test_size_limit_before_allocation(tmp_path):
    (tmp_path / "big.cube").write_text(_cube(axes=("100000 1 0 0", "100000 0 1 0", "100000 0 0 1")))
    with pytest.raises(TooLargeError, match=r"big.cube:4: grid 100000 x 100000 x 100000 = 1e\+15"):
        dio.read(tmp_path / "big.cube")
    (tmp_path / "ok.cube").write_text(_cube())
    with pytest.raises(TooLargeError, match="12 points exceeds the limit of 10"):
        dio.read(tmp_path / "ok.cube", max_points=10)
    assert dio.read_structure(tmp_path / "big.cube").get_chemical_formula() == "HO"
