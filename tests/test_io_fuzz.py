"""Property tests: malformed files thrown at every reader may only raise DdvizError subclasses.

Each reader gets a small valid file, then truncations, random byte and line mutations, garbage
tokens, NaN/Inf and huge declared sizes. A reader either returns finite data or raises DdvizError.
"""

import ase.io
import numpy as np
import pytest
from ase.build import bulk, molecule
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ddviz.io as dio
from ddviz.errors import DdvizError
from ddviz.grid import Grid, Sample
from ddviz.units import ang_to_bohr

FUZZ = settings(max_examples=120, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])
TOKENS = [b"nan", b"NaN", b"inf", b"-Infinity", b"1e999", b"x", b"1.2.3", b"--", b"\x00\xff",
          b"1000000000000", b"-1000000000000", b"99999", b"0", b"-3", b"1e-400", b"", b"Direct",
          b"augmentation", b"\xe9\xe8", b"1,5", b"2147483648"]


def _seeds(tmp):
    """name -> bytes of a small valid file of each format."""
    water = molecule("H2O")
    grid = Grid([-2.0, -2.0, -2.0], [[0.5, 0, 0], [0.1, 0.5, 0], [0, 0.05, 0.5]], (4, 3, 7))
    cube = Sample(water, grid, np.random.default_rng(0).random(grid.shape))
    dio.write(cube, tmp / "s.cube")
    si = bulk("Si", "diamond", a=5.43)
    pgrid = Grid.periodic(ang_to_bohr(si.cell), (3, 4, 3))
    dio.write(Sample(si, pgrid, np.random.default_rng(1).random(pgrid.shape)), tmp / "CHGCAR")
    with open(tmp / "CHGCAR", "a") as f:
        f.write("augmentation occupancies 1 2\n 0.1 0.2\n")
    dio.write(cube, tmp / "s.nc")
    ase.io.write(tmp / "s.xyz", [water, molecule("CH4")])
    ase.io.write(tmp / "POSCAR", si, format="vasp")
    ase.io.write(tmp / "s.cif", si, format="cif")
    return {p: (tmp / p).read_bytes() for p in ["s.cube", "CHGCAR", "s.nc", "s.xyz", "POSCAR",
                                                "s.cif"]}


@st.composite
def mutations(draw, data: bytes):
    kind = draw(st.sampled_from(["truncate", "bytes", "line", "token", "insert", "delete"]))
    if kind == "truncate":
        return data[:draw(st.integers(0, len(data) - 1))]
    if kind == "bytes":
        out = bytearray(data)
        for _ in range(draw(st.integers(1, 8))):
            out[draw(st.integers(0, len(out) - 1))] = draw(st.integers(0, 255))
        return bytes(out)
    lines = data.split(b"\n")
    i = draw(st.integers(0, min(len(lines) - 1, 40)))  # headers are where the parsing varies
    if kind == "line":
        lines[i] = draw(st.binary(max_size=30))
    elif kind == "token":
        words = lines[i].split() or [b""]
        words[draw(st.integers(0, len(words) - 1))] = draw(st.sampled_from(TOKENS))
        lines[i] = b" ".join(words)
    elif kind == "insert":
        lines.insert(i, b" ".join(draw(st.lists(st.sampled_from(TOKENS), max_size=5))))
    else:
        del lines[i]
    return b"\n".join(lines)


def _check_reads(path, density: bool):
    try:
        if density:
            sample = dio.read(path, max_points=10**13)
            assert np.all(np.isfinite(sample.density.values))
        atoms = dio.read_structure(path)
        assert np.all(np.isfinite(atoms.positions))
    except DdvizError as exc:
        assert path.name in str(exc) and "\n" not in str(exc).strip()


@pytest.fixture(scope="module")
def seeds(tmp_path_factory):
    return _seeds(tmp_path_factory.mktemp("seeds"))


def _fuzz(name, density):
    @FUZZ
    @given(data=st.data())
    def test(tmp_path, seeds, data):
        path = tmp_path / name
        path.write_bytes(data.draw(mutations(seeds[name])))
        _check_reads(path, density)
    return test


test_fuzz_cube = _fuzz("s.cube", True)
test_fuzz_chgcar = _fuzz("CHGCAR", True)
test_fuzz_netcdf = _fuzz("s.nc", True)
test_fuzz_xyz = _fuzz("s.xyz", False)
test_fuzz_poscar = _fuzz("POSCAR", False)
test_fuzz_cif = _fuzz("s.cif", False)


@FUZZ
@given(st.binary(max_size=300), st.sampled_from(["g.cube", "CHGCAR", "g.nc", "g.xyz", "g.cif"]))
def test_pure_garbage(tmp_path, data, name):
    (tmp_path / name).write_bytes(data)
    _check_reads(tmp_path / name, not name.endswith((".xyz", ".cif")))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(-10**13, 10**13), min_size=3, max_size=3))
def test_huge_declared_sizes_cube_and_chgcar(tmp_path_factory, dims):
    tmp = tmp_path_factory.mktemp("huge")
    axes = "\n".join(f"{n} 0.2 0 0".replace("0.2 0 0", v) for n, v in
                     zip(dims, ["0.2 0 0", "0 0.2 0", "0 0 0.2"]))
    (tmp / "h.cube").write_text(f"c\nc\n1 0 0 0\n{axes}\n1 1 0 0 0\n1 2 3\n")
    (tmp / "CHGCAR").write_text("Si\n1\n5 0 0\n0 5 0\n0 0 5\nSi\n1\nDirect\n0 0 0\n\n"
                                + " ".join(map(str, dims)) + "\n1 2 3\n")
    for name in ("h.cube", "CHGCAR"):
        _check_reads(tmp / name, True)
