"""netCDF (native format): round trips, orbitals-only files, hostile files."""

from pathlib import Path

import h5py
import numpy as np
import pytest
from ase.build import molecule

import ddviz.io as dio
from ddviz.errors import FileFormatError, TooLargeError, UnsupportedError
from ddviz.grid import Grid, Sample
from ddviz.orbitals import OrbitalDensity
from ddviz.units import ang_to_bohr

SKEW = np.array([[0.3, 0.0, 0.0], [0.1, 0.25, 0.0], [0.05, 0.02, 0.2]])


def _sample(dtype=np.float32):
    grid = Grid([-1.0, -2.0, 0.5], SKEW, (4, 5, 6))
    values = np.random.default_rng(0).random(grid.shape).astype(dtype)
    return Sample(molecule("H2O"), grid, values, {"code": "test", "seed": 3})


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_round_trip_keeps_everything(tmp_path, dtype):
    s = _sample(dtype)
    dio.write(s, tmp_path / "w.nc")
    t = dio.read(tmp_path / "w.nc")
    assert t.density.dtype == dtype
    np.testing.assert_array_equal(t.density.values, s.density.values)
    assert t.grid.is_close(s.grid, atol=0) and t.grid.pbc == s.grid.pbc
    np.testing.assert_allclose(t.atoms.positions, s.atoms.positions, atol=1e-12)
    assert list(t.atoms.numbers) == list(s.atoms.numbers)
    assert t.provenance == s.provenance
    assert (t.ndim, t.units) == (3, "e/bohr^3") and t.density.attrs["units"] == "e/bohr^3"
    with h5py.File(tmp_path / "w.nc") as f:
        assert np.ravel(f.attrs["ndim"]).tolist() == [3]
        assert np.ravel(f.attrs["ddviz_format_version"]).tolist() == [2]
        assert f["density"].attrs["units"] == "e/bohr^3"
        assert f["density"].compression == "gzip"
        for name in f:
            if isinstance(f[name], h5py.Dataset) and name not in "abc" and name not in ("axis", "xyz", "atom"):
                assert "units" in f[name].attrs, name
    atoms = dio.read_structure(tmp_path / "w.nc")
    assert atoms.get_chemical_formula() == "H2O"


def test_periodic_cell_round_trip(tmp_path):
    from ase.build import bulk

    atoms = bulk("Si", "diamond", a=5.43)
    grid = Grid.periodic(ang_to_bohr(atoms.cell), (6, 6, 6))
    s = Sample(atoms, grid, np.ones(grid.shape))
    dio.write(s, tmp_path / "si.nc")
    t = dio.read(tmp_path / "si.nc")
    assert t.grid.pbc == (True, True, True) and list(t.atoms.pbc) == [True] * 3
    np.testing.assert_allclose(np.asarray(t.atoms.cell), np.asarray(atoms.cell), atol=1e-12)


def _orbital_sample():
    from pyscf import dft, gto

    atoms = molecule("H2")
    mol = gto.M(atom=[(s, p) for s, p in zip(atoms.get_chemical_symbols(), atoms.positions)],
                basis="sto-3g", verbose=0)
    mf = dft.RKS(mol, xc="pbe")
    mf.grids.level = 1
    mf.kernel()
    occ = mf.mo_occ[mf.mo_occ > 0]
    orb = OrbitalDensity(mol.atom_charges(), ang_to_bohr(atoms.positions), "sto-3g", "",
                         mf.mo_coeff[:, mf.mo_occ > 0], occ)
    grid = Grid.around(mol.atom_coords(), spacing=0.4, margin=3.0)
    return Sample(atoms, grid, None, orbitals=orb)


def test_orbitals_only_file_reads_lazily(tmp_path):
    s = _orbital_sample()
    dio.write(s, tmp_path / "h2.nc")
    with h5py.File(tmp_path / "h2.nc") as f:
        assert "density" not in f
    from ddviz.io.summary import describe

    info = describe(tmp_path / "h2.nc")  # exact count from the occupations, no grid evaluated
    assert info["electrons"] == pytest.approx(2.0, abs=1e-12) and info["grid_shape"] == list(s.grid.shape)
    t = dio.read(tmp_path / "h2.nc")
    assert not t.has_values and t.orbitals is not None
    np.testing.assert_allclose(t.density.values, s.density.values, rtol=1e-12)
    assert t.electrons() == pytest.approx(2.0, rel=0.02)
    dio.write(t, tmp_path / "h2v.nc", values=True)
    assert dio.read(tmp_path / "h2v.nc").has_values


def test_size_limit_checked_before_reading(tmp_path, monkeypatch):
    dio.write(_sample(), tmp_path / "w.nc")
    with pytest.raises(TooLargeError, match="w.nc.*120"):
        dio.read(tmp_path / "w.nc", max_points=100)
    monkeypatch.setenv("DDVIZ_MAX_POINTS", "50")
    with pytest.raises(TooLargeError):
        dio.read(tmp_path / "w.nc")


def test_nan_density_rejected(tmp_path):
    s = _sample(np.float64)
    values = s.density.values.copy()
    values[1, 2, 3] = np.nan
    dio.write(Sample(s.atoms, s.grid, values), tmp_path / "nan.nc")
    with pytest.raises(FileFormatError, match="nan.nc.*density.*finite"):
        dio.read(tmp_path / "nan.nc")


def test_garbage_and_foreign_files(tmp_path):
    (tmp_path / "g.nc").write_bytes(b"hello world" * 10)
    with pytest.raises(FileFormatError, match="g.nc"):
        dio.read(tmp_path / "g.nc")
    (tmp_path / "c3.nc").write_bytes(b"CDF\x01" + bytes(100))
    with pytest.raises(UnsupportedError, match="c3.nc"):
        dio.read(tmp_path / "c3.nc")
    with h5py.File(tmp_path / "other.nc", "w") as f:
        f["x"] = np.arange(3)
    with pytest.raises(FileFormatError, match="other.nc"):
        dio.read(tmp_path / "other.nc")


ETHANE_V1 = Path(__file__).parent.parent / "assets" / "datasets" / "ethane" / "ethane_0000.nc"


def test_shipped_version_1_file_reads_as_3d():
    with h5py.File(ETHANE_V1) as f:  # a file written before ndim was stored
        assert np.ravel(f.attrs["ddviz_format_version"]).tolist() == [1] and "ndim" not in f.attrs
    s = dio.read(ETHANE_V1)
    assert (s.ndim, s.units) == (3, "e/bohr^3")
    assert s.electrons() == pytest.approx(14.0, rel=0.02)  # ethane's valence electrons (GTH)


def _as_version_1(path):
    """Rewrite a file's attributes as format version 1 wrote them (no ndim, e/bohr^3 always)."""
    with h5py.File(path, "r+") as f:
        f.attrs["ddviz_format_version"] = np.int64(1)
        del f.attrs["ndim"]
        f["density"].attrs["units"] = "e/bohr^3"


def test_version_1_line_grid_reads_as_a_chain(tmp_path):
    grid = Grid(np.zeros(3), np.diag([0.25, 1.0, 1.0]), (40, 1, 1), (True, False, False))
    line = Sample(molecule("H2"), grid, np.full(grid.shape, 0.2), ndim=1)
    dio.write(line, tmp_path / "line.nc")
    _as_version_1(tmp_path / "line.nc")
    back = dio.read(tmp_path / "line.nc")
    assert (back.ndim, back.units) == (1, "electrons/bohr")
    assert back.electrons() == pytest.approx(2.0)
    dio.write(_sample(), tmp_path / "w.nc")
    _as_version_1(tmp_path / "w.nc")
    assert dio.read(tmp_path / "w.nc").ndim == 3


@pytest.mark.parametrize("attr, value, field", [
    ("ndim", np.int64(4), "ndim"),  # no such dimension
    ("ndim", np.int64(1), "ndim"),  # a 3D grid cannot hold a line density
    ("units", "e/Angstrom^3", "units"),  # ddviz stores e/bohr^3 only
    ("version", np.int64(3), "ddviz_format_version"),
])
def test_inconsistent_ndim_units_or_version_rejected(tmp_path, attr, value, field):
    dio.write(_sample(), tmp_path / "w.nc")
    with h5py.File(tmp_path / "w.nc", "r+") as f:
        if attr == "units":
            f["density"].attrs["units"] = value
        else:
            f.attrs["ddviz_format_version" if attr == "version" else attr] = value
    with pytest.raises(FileFormatError, match=rf"w.nc \[{field}\]"):
        dio.read(tmp_path / "w.nc")
