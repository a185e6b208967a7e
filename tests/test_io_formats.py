"""Reading real-world files: Fortran numbers, compression, content sniffing, VASP names, the one
POSCAR header parser (against ASE and pymatgen), structure checks, xyz labels."""

import bz2
import gzip
import json
import lzma
import shutil
import subprocess
import sys
import time

import ase.io
import numpy as np
import pytest
from ase.build import bulk, molecule
from conftest import ROOT

import ddviz.io as dio
from ddviz.errors import FileFormatError, TooLargeError, UnsupportedError
from ddviz.grid import Grid, Sample
from ddviz.io._common import parse_float
from ddviz.units import ang_to_bohr

FIELD = ROOT / "tests" / "data" / "field_cases"


@pytest.fixture
def cube(tmp_path):
    grid = Grid([-2.0, -2.0, -2.0], np.eye(3) * 0.4, (8, 9, 10))
    values = np.random.default_rng(3).random(grid.shape) * 10.0 ** np.arange(-4, 6)
    path = tmp_path / "w.cube"
    dio.write(Sample(molecule("H2O"), grid, values), path)
    return path


@pytest.mark.parametrize("text, value", [("8.61202D-09", 8.61202e-09), ("1.5d+02", 150.0),
                                         ("0.56606-111", 0.56606e-111), ("-0.5+100", -0.5e100),
                                         (".25-101", 0.25e-101), ("1.0E-5", 1e-5)])
def test_fortran_numbers(text, value):
    assert parse_float(text) == pytest.approx(value, rel=1e-12)


@pytest.mark.parametrize("text", ["x-111", "1-2", "1.0-11", "D", "1.0D", "--1"])
def test_not_numbers(text):
    with pytest.raises(ValueError):
        parse_float(text)


def test_cube_in_fortran_forms(tmp_path, cube):
    ref = dio.read(cube)
    text = cube.read_text()
    head, body = text.split("\n", 9)[:9], text.split("\n", 9)[9]
    (tmp_path / "d.cube").write_text("\n".join(head).replace(".", ".", 1) + "\n"
                                     + body.replace("E", "D"))
    np.testing.assert_array_equal(dio.read(tmp_path / "d.cube").density.values, ref.density.values)
    # a value below 1e-99 written without its E, among ordinary ones; a D in the header too
    lines = text.splitlines()
    lines[2] = lines[2].replace("-2.000000", "-0.2000000D+01", 1)
    first = lines[9].split()
    first[0] = "0.56606-111"
    lines[9] = " ".join(first)
    (tmp_path / "b.cube").write_text("\n".join(lines) + "\n")
    got = dio.read(tmp_path / "b.cube")
    assert got.density.values.ravel()[0] == pytest.approx(0.56606e-111, rel=1e-12)
    np.testing.assert_array_equal(got.density.values.ravel()[1:], ref.density.values.ravel()[1:])
    np.testing.assert_allclose(got.grid.origin, ref.grid.origin)


@pytest.mark.parametrize("opener, name", [(gzip.open, "w.cube.gz"), (bz2.open, "w.cube.bz2"),
                                          (lzma.open, "w.cube.xz"), (gzip.open, "z.cube"),
                                          (bz2.open, "density.dat")])
def test_compressed_by_magic_bytes(tmp_path, cube, opener, name):
    with opener(tmp_path / name, "wb") as f:
        f.write(cube.read_bytes())
    got = dio.read(tmp_path / name)
    np.testing.assert_array_equal(got.density.values, dio.read(cube).density.values)
    assert dio.read_structure(tmp_path / name).get_chemical_formula() == "H2O"


def test_compressed_structures_and_netcdf(tmp_path, cube):
    frames = [molecule("H2O"), molecule("CH4")]
    ase.io.write(tmp_path / "m.xyz", frames)
    ase.io.write(tmp_path / "POSCAR", bulk("Si", "diamond", a=5.43), format="vasp")
    dio.write(dio.read(cube), tmp_path / "w.nc")
    for name in ["m.xyz", "POSCAR", "w.nc"]:
        with gzip.open(tmp_path / f"{name}.gz", "wb") as f:
            f.write((tmp_path / name).read_bytes())
    assert [a.get_chemical_formula() for a in dio.read_structures(tmp_path / "m.xyz.gz")] == \
        ["H2O", "CH4"]
    assert dio.read_structure(tmp_path / "POSCAR.gz").get_chemical_formula() == "Si2"
    np.testing.assert_array_equal(dio.read(tmp_path / "w.nc.gz").density.values,
                                  dio.read(cube).density.values)


def test_corrupt_and_bomb_refused(tmp_path, cube):
    data = gzip.compress(cube.read_bytes())
    (tmp_path / "cut.cube.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(FileFormatError, match="cut.cube.gz"):
        dio.read(tmp_path / "cut.cube.gz")
    # a 12-point grid whose values are padded with 200 MB of blanks: refused after ~1 kB per point
    text = cube.read_text().splitlines()
    for i, n in enumerate((2, 2, 3)):
        text[3 + i] = f"{n:5d}" + text[3 + i][5:]
    header = "\n".join(text[:9]) + "\n"
    pad = b" " * (1 << 20)
    with gzip.open(tmp_path / "bomb.cube.gz", "wb", compresslevel=1) as f:
        f.write(header.encode())
        for _ in range(200):
            f.write(pad)
        f.write(b"1 " * 12 + b"\n")
    assert (tmp_path / "bomb.cube.gz").stat().st_size < 1 << 20
    t0 = time.perf_counter()
    with pytest.raises(TooLargeError, match="bomb.cube.gz: gzip data decompresses to more than"):
        dio.read(tmp_path / "bomb.cube.gz", max_points=1000)
    assert time.perf_counter() - t0 < 5


def test_sniffing_and_format_option(tmp_path, cube):
    shutil.copy(cube, tmp_path / "density.dat")
    si = bulk("Si", "diamond", a=5.43)
    grid = Grid.periodic(ang_to_bohr(si.cell), (4, 4, 4))
    dio.write(Sample(si, grid, np.ones(grid.shape)), tmp_path / "CHGCAR")
    shutil.copy(tmp_path / "CHGCAR", tmp_path / "volume.dat")
    ase.io.write(tmp_path / "struct.txt", si, format="vasp")
    ase.io.write(tmp_path / "frames.txt", [molecule("H2O")] * 2, format="xyz")
    dio.write(dio.read(cube), tmp_path / "w.nc")
    shutil.copy(tmp_path / "w.nc", tmp_path / "w.h5")
    assert {n: dio.format_of(tmp_path / n).name for n in
            ["density.dat", "volume.dat", "struct.txt", "frames.txt", "w.h5"]} == \
        {"density.dat": "cube", "volume.dat": "chgcar", "struct.txt": "vasp", "frames.txt": "xyz",
         "w.h5": "netcdf"}
    assert dio.read(tmp_path / "volume.dat").electrons() == pytest.approx(
        dio.read(tmp_path / "CHGCAR").electrons())
    (tmp_path / "notes.txt").write_text("nothing to see\n")
    with pytest.raises(UnsupportedError, match="notes.txt: unknown file type"):
        dio.read(tmp_path / "notes.txt")
    shutil.copy(cube, tmp_path / "w.xyz")  # a misleading name: --format says what it is
    assert dio.read(tmp_path / "w.xyz", format="cube").grid.shape == (8, 9, 10)
    assert dio.format_of("x", "POSCAR").name == "vasp"


@pytest.mark.parametrize("name", ["AECCAR0", "AECCAR1", "AECCAR2", "CHG", "LOCPOT", "ELFCAR",
                                  "run/CHGCAR_spin", "PARCHG.0012", "CONTCAR", "AECCAR2.gz"])
def test_vasp_names(name):
    assert dio.format_of(name).name == ("vasp" if name == "CONTCAR" else "chgcar")


def test_locpot_is_not_divided_by_the_volume(tmp_path):
    si = bulk("Si", "diamond", a=5.43)
    grid = Grid.periodic(ang_to_bohr(si.cell), (4, 4, 4))
    dio.write(Sample(si, grid, np.full(grid.shape, 2.0)), tmp_path / "CHGCAR")
    shutil.copy(tmp_path / "CHGCAR", tmp_path / "LOCPOT")
    loc = dio.read(tmp_path / "LOCPOT")
    np.testing.assert_allclose(loc.density.values, 2.0 * abs(np.linalg.det(grid.cell)))
    assert loc.provenance["quantity"] == "potential" and loc.provenance["unit"] == "eV"


POSCARS = {
    "one": "s\n1.1\n 3 0 0\n 1 4 0\n 0.5 0.2 5\nSi C\n1 1\nDirect\n0 0 0\n0.3 0.4 0.45\n",
    "three": "s\n1.0 1.1 1.2\n 3 0 0\n 1 4 0\n 0.5 0.2 5\nSi C\n1 1\nDirect\n0 0 0\n0.3 0.4 0.45\n",
    "three_cartesian": "s\n1.0 1.1 1.2\n 3 0 0\n 1 4 0\n 0.5 0.2 5\nSi C\n1 1\nCartesian\n"
                       "0 0 0\n1.0 1.5 2.0\n",
    "volume": "s\n-70.0\n 3 0 0\n 1 4 0\n 0.5 0.2 5\nSi C\n1 1\nSelective dynamics\nDirect\n"
              "0 0 0 T T F\n0.3 0.4 0.45 F F F\n",
    "fortran": "s\n0.11D+01\n 3 0 0\n 1 4 0\n 0.5 0.2 5\nSi C\n1 1\nDirect\n0 0 0\n0.3D0 0.4 0.45\n",
}


@pytest.mark.parametrize("form", sorted(POSCARS))
def test_poscar_header_agrees_with_ase_and_pymatgen(tmp_path, form):
    path = tmp_path / "POSCAR"
    path.write_text(POSCARS[form])
    ours = dio.read_structure(path)
    text = POSCARS[form].replace("D+01", "E+01").replace("D0", "E0")  # the others read no D
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "POSCAR").write_text(text)
    theirs = ase.io.read(tmp_path / "plain" / "POSCAR", format="vasp")
    np.testing.assert_allclose(ours.cell, theirs.cell, atol=1e-10)
    np.testing.assert_allclose(ours.positions, theirs.positions, atol=1e-10)
    pymatgen = pytest.importorskip("pymatgen.io.vasp")
    if form.startswith("three"):  # pymatgen (2026.10) refuses three scaling factors
        with pytest.raises(ValueError, match="could not convert"):
            pymatgen.Poscar.from_file(tmp_path / "plain" / "POSCAR")
    else:
        pmg = pymatgen.Poscar.from_file(tmp_path / "plain" / "POSCAR").structure
        np.testing.assert_allclose(ours.cell, pmg.lattice.matrix, atol=1e-8)
        np.testing.assert_allclose(ours.positions, pmg.cart_coords, atol=1e-8)
    if form == "volume":
        assert ours.get_volume() == pytest.approx(70.0)
    # the CHGCAR reader shares the header: the same cell under a grid
    chg = tmp_path / "CHGCAR"
    chg.write_text(POSCARS[form] + "\n 2 2 2\n" + " 1.0" * 8 + "\n")
    np.testing.assert_allclose(dio.read_structure(chg).cell, ours.cell, atol=1e-10)


@pytest.mark.parametrize("name, text, match", [
    ("empty.xyz", "0\n\n", "no atoms"),
    ("two.xyz", "2\n\nO 0 0 0\nH 0 0 0.3\n", r"atoms 1 \(O\) and 2 \(H\) are 0.30 Å apart"),
    ("frames.xyz", "1\n\nO 0 0 0\n2\n\nH 0 0 0\nH 0 0 0.1\n", "frame 1: atoms 1 .* 0.10 Å"),
    ("POSCAR", "s\n1\n0.3 0 0\n0 5 0\n0 0 5\nH\n1\nDirect\n0 0 0\n", "periodic image"),
    ("bad.xyz", "2\n\nO1 0 0 0\nQx 0 0 1\n", "bad.xyz:4: atom label 'Qx'"),
    ("occ.cif", ("data_x\n_cell_length_a 5\n_cell_length_b 5\n_cell_length_c 5\n"
     "_cell_angle_alpha 90\n_cell_angle_beta 90\n_cell_angle_gamma 90\nloop_\n_atom_site_label\n"
     "_atom_site_type_symbol\n_atom_site_fract_x\n_atom_site_fract_y\n_atom_site_fract_z\n"
     "_atom_site_occupancy\nFe1 Fe 0 0 0 0.50(2)\nNi1 Ni 0 0 0 0.5\n"), "partially occupied"),
])
def test_structures_refused(tmp_path, name, text, match):
    (tmp_path / name).write_text(text)
    with pytest.raises(FileFormatError, match=f"{name}.*{match}|{match}"):
        dio.read_structure(tmp_path / name)


def test_xyz_labels_and_fortran_numbers(tmp_path):
    (tmp_path / "l.xyz").write_text("5\nlabels\nO1 0 0 0\nHW1 0.0 0.757 0.587D+00\nh2 0 -0.757 "
                                    "0.587\nCa2 5 5 5\nCL 0 0 3.0\n")
    atoms = dio.read_structure(tmp_path / "l.xyz")
    assert atoms.get_chemical_symbols() == ["O", "H", "H", "Ca", "Cl"]
    assert atoms.positions[1, 2] == pytest.approx(0.587)


def test_cli_format_and_broken_pipe(tmp_path, cube, ddviz_cli):
    shutil.copy(cube, tmp_path / "w.xyz")
    proc = ddviz_cli("info", tmp_path / "w.xyz", "--json", "--format", "cube")
    assert proc.returncode == 0 and json.loads(proc.stdout)["grid_shape"] == [8, 9, 10]
    proc = ddviz_cli("info", FIELD / "vasp-aeccar-name" / "AECCAR2.gz", "--json")
    assert json.loads(proc.stdout)["electrons"] == pytest.approx(7.995633, abs=1e-4)
    for args in (["info", cube], ["info", cube, "--json"], ["--help"]):
        shell = subprocess.run(f"{sys.executable} -m ddviz {' '.join(map(str, args))} | head -1",
                               shell=True, capture_output=True, text=True, cwd=ROOT, check=False,
                               env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
        assert shell.stdout.strip() and shell.stderr == "", shell.stderr
