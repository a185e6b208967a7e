"""VASP CHGCAR/PARCHG: triclinic round trips, ASE's VaspChargeDensity both ways, header variants."""

import numpy as np
import pytest
from ase.build import bulk
from ase.calculators.vasp import VaspChargeDensity

import ddviz.io as dio
from ddviz.errors import FileFormatError, TooLargeError, UnsupportedError
from ddviz.grid import Grid, Sample
from ddviz.units import ANGSTROM_PER_BOHR, ang_to_bohr

TRICLINIC = [[5.6, 0.0, 0.0], [1.0, 5.0, 0.0], [0.5, 0.7, 6.0]]


@pytest.fixture
def sample():
    atoms = bulk("NaCl", "rocksalt", a=5.6) * (1, 1, 2)
    atoms.set_cell(TRICLINIC, scale_atoms=True)
    atoms.rattle(0.05, seed=3)
    grid = Grid.periodic(ang_to_bohr(atoms.cell), (6, 7, 9))
    return Sample(atoms, grid, np.random.default_rng(4).random(grid.shape))


def test_round_trip_triclinic(tmp_path, sample):
    dio.write(sample, tmp_path / "CHGCAR")
    t = dio.read(tmp_path / "CHGCAR")
    assert t.grid.is_close(sample.grid, atol=1e-10) and t.grid.pbc == (True,) * 3
    np.testing.assert_allclose(t.density.values, sample.density.values, rtol=1e-10)
    np.testing.assert_allclose(t.atoms.positions, sample.atoms.positions, atol=1e-10)
    np.testing.assert_allclose(np.asarray(t.atoms.cell), TRICLINIC, atol=1e-12)
    assert t.atoms.get_chemical_symbols() == sample.atoms.get_chemical_symbols()
    assert list(t.atoms.pbc) == [True] * 3
    assert dio.read_structure(tmp_path / "CHGCAR").get_chemical_formula() == "Cl2Na2"
    dio.write(t, tmp_path / "x.chgcar")  # suffix form, and PARCHG by name
    (tmp_path / "PARCHG.0001").write_bytes((tmp_path / "x.chgcar").read_bytes())
    assert dio.read(tmp_path / "PARCHG.0001").grid.shape == (6, 7, 9)


def test_ase_writer_read_by_ours_and_ours_by_ase(tmp_path, sample):
    """ASE keeps chg in e/Å^3 (x, y, z index order); both directions must agree."""
    chg_ang = sample.density.values / ANGSTROM_PER_BOHR**3
    vcd = VaspChargeDensity(None)
    vcd.atoms, vcd.chg = [sample.atoms], [chg_ang]
    vcd.write(str(tmp_path / "CHGCAR"), format="chgcar")
    t = dio.read(tmp_path / "CHGCAR")
    np.testing.assert_allclose(t.density.values, sample.density.values, rtol=1e-8)
    np.testing.assert_allclose(t.atoms.positions, sample.atoms.positions, atol=1e-6)
    electrons = sample.electrons()
    assert t.electrons() == pytest.approx(electrons, rel=1e-8)

    dio.write(sample, tmp_path / "ours" / "CHGCAR")
    back = VaspChargeDensity(str(tmp_path / "ours" / "CHGCAR"))
    np.testing.assert_allclose(back.chg[-1], chg_ang, rtol=1e-10)
    np.testing.assert_allclose(back.atoms[-1].positions, sample.atoms.positions, atol=1e-10)


def _chgcar(header_species="Si", counts="2", mode="Direct", coords=("0 0 0", "0.25 0.25 0.25"),
            scale="1.0", shape="2 2 3", values=None, tail=""):
    values = values if values is not None else "\n".join(
        ["1 2 3 4 5", "6 7 8 9 10", "11 12"])
    lines = ["Si comment", scale, "5.4 0 0", "0 5.4 0", "0 0 5.4"]
    lines += [header_species] if header_species else []
    lines += [counts, mode, *coords, "", shape, values]
    return "\n".join(lines) + "\n" + tail


def test_fortran_order_units_and_ignored_tail(tmp_path):
    tail = "augmentation occupancies 1 3\n 0.1 0.2 0.3\n\n 2 2 3\n" + " 9" * 12 + "\n"
    (tmp_path / "CHGCAR").write_text(_chgcar(tail=tail))
    t = dio.read(tmp_path / "CHGCAR")
    volume_bohr = (5.4 / ANGSTROM_PER_BOHR) ** 3
    flat = np.arange(1, 13) / volume_bohr
    np.testing.assert_allclose(t.density.values[1, 0, 0], flat[1])  # x fastest in the file
    np.testing.assert_allclose(t.density.values[0, 1, 0], flat[2])
    np.testing.assert_allclose(t.density.values[0, 0, 1], flat[4])
    assert t.electrons() == pytest.approx(78 / 12)


@pytest.mark.parametrize("kwargs", [
    dict(header_species=None),  # VASP 4: species from the comment line
    dict(mode="Selective dynamics\nDirect", coords=("0 0 0 T T T", "0.25 0.25 0.25 F F F")),
    dict(mode="Cartesian", coords=("0 0 0", "1.35 1.35 1.35")),
    dict(scale=str(-(5.4**3))),  # negative scale: the cell volume
    dict(header_species="Si_pv"),
])
def test_header_variants(tmp_path, kwargs):
    (tmp_path / "CHGCAR").write_text(_chgcar(**kwargs))
    t = dio.read(tmp_path / "CHGCAR")
    np.testing.assert_allclose(t.atoms.positions[1], [1.35, 1.35, 1.35], atol=1e-9)
    np.testing.assert_allclose(t.atoms.cell.lengths(), [5.4] * 3)
    assert t.atoms.get_chemical_symbols() == ["Si", "Si"]


@pytest.mark.parametrize("kwargs, match", [
    (dict(counts="3"), r"CHGCAR:1[01]: "),
    (dict(counts="two"), r"CHGCAR:7: .*'two' is not an integer"),
    (dict(header_species="Qq"), r"CHGCAR:6: expected element symbols"),
    (dict(scale="0"), r"CHGCAR:5: degenerate cell"),
    (dict(shape="2 2"), r"CHGCAR:12: expected 3 grid dimensions"),
    (dict(shape="2 2 3", values="1 2 3 4 5\n6 7 8 9 10\n11"), r"CHGCAR:\d+: truncated"),
    (dict(values="1 2 3 4 5\n6 7 NaN 9 10\n11 12"), r"CHGCAR:14: .*finite"),
    (dict(values="1 2 3 4 5\n6 7 8 9 10\n11 12 13"), r"CHGCAR:15: expected 12 grid values"),
    (dict(shape="100000 100000 100"), r"CHGCAR:12: truncated: 1000000000000 grid"),
    (dict(header_species=None, counts="2"), None),
])
def test_malformed(tmp_path, kwargs, match):
    text = _chgcar(**kwargs)
    if match is None:  # VASP 4 without species in the comment
        text = text.replace("Si comment", "no species here")
        match = r"CHGCAR:6: VASP 4 file without species names"
    (tmp_path / "CHGCAR").write_text(text)
    with pytest.raises(FileFormatError, match=match):
        dio.read(tmp_path / "CHGCAR", max_points=10**13)


def test_size_limit_and_non_periodic_write(tmp_path, sample):
    (tmp_path / "CHGCAR").write_text(_chgcar(shape="100000 100000 100000"))
    with pytest.raises(TooLargeError, match="CHGCAR:12: grid 100000 x 100000 x 100000"):
        dio.read(tmp_path / "CHGCAR")
    cube_like = Sample(sample.atoms, Grid([0, 0, 0], np.eye(3) * 0.3, (3, 3, 3)), np.ones((3, 3, 3)))
    with pytest.raises(UnsupportedError, match="periodic"):
        dio.write(cube_like, tmp_path / "out" / "CHGCAR")
    assert not (tmp_path / "out" / "CHGCAR").exists()
