"""Structure files through ase.io, the format table, and errors for unknown/missing files."""

import ase.io
import numpy as np
import pytest
from ase.build import bulk, molecule

import ddviz.io as dio
from ddviz.errors import DdvizError, FileFormatError, UnsupportedError


def test_multi_frame_xyz(tmp_path):
    frames = [molecule("H2O"), molecule("CH4"), molecule("NH3")]
    ase.io.write(tmp_path / "md.xyz", frames)
    got = dio.read_structures(tmp_path / "md.xyz")
    assert [a.get_chemical_formula() for a in got] == ["H2O", "CH4", "H3N"]
    np.testing.assert_allclose(got[1].positions, frames[1].positions, atol=1e-6)
    assert dio.read_structure(tmp_path / "md.xyz").get_chemical_formula() == "H3N"
    assert dio.read_structure(tmp_path / "md.xyz", index=0).get_chemical_formula() == "H2O"


@pytest.mark.parametrize("name, fmt", [("POSCAR", "vasp"), ("Si_CONTCAR", "vasp"),
                                       ("si.vasp", "vasp"), ("si.cif", "cif"),
                                       ("si.extxyz", "extxyz")])
def test_periodic_structures(tmp_path, name, fmt):
    si = bulk("Si", "diamond", a=5.43) * (2, 1, 1)
    ase.io.write(tmp_path / name, si, format=fmt)
    got = dio.read_structure(tmp_path / name)
    assert got.get_chemical_formula() == "Si4"
    np.testing.assert_allclose(got.cell.cellpar(), si.cell.cellpar(), atol=1e-4)


def test_format_table(tmp_path):
    assert dio.format_of("a/b/water.CUBE").name == "cube"
    assert dio.format_of("CHGCAR_sum").name == "chgcar"
    assert dio.format_of("run1/PARCHG").name == "chgcar"
    assert dio.format_of("x.nc").name == "netcdf"
    with pytest.raises(UnsupportedError, match=r"data.h5: unknown file type \.h5; known: .*\.cube"):
        dio.read(tmp_path / "data.h5")
    with pytest.raises(UnsupportedError, match="holds a structure"):
        (tmp_path / "m.xyz").write_text("1\n\nH 0 0 0\n")
        dio.read(tmp_path / "m.xyz")
    with pytest.raises(DdvizError, match="missing.cube: no such file"):
        dio.read(tmp_path / "missing.cube")
    with pytest.raises(DdvizError, match="missing.xyz: no such file"):
        dio.read_structure(tmp_path / "missing.xyz")
    (tmp_path / "dir.cube").mkdir()
    with pytest.raises(DdvizError, match="dir.cube: not a regular file"):
        dio.read(tmp_path / "dir.cube")


@pytest.mark.parametrize("name, text", [
    ("bad.xyz", "3\n\nH 0 0 0\n"),
    ("bad.xyz", "two\n\nH 0 0 0\nH 0 0 1\n"),
    ("bad.xyz", "1\n\nH 0 zero 0\n"),
    ("bad.xyz", "1\n\nH 0 nan 0\n"),
    ("POSCAR", "Si\n1.0\n5 0 0\n0 5 0\n"),
    ("bad.cif", "data_x\n_cell_length_a 5\nloop_\n_atom_site_label\n"),
    ("empty.xyz", ""),
])
def test_malformed_structures(tmp_path, name, text):
    (tmp_path / name).write_text(text)
    with pytest.raises(FileFormatError, match=name):
        dio.read_structure(tmp_path / name)
