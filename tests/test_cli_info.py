"""`ddviz info`: a PySCF cubegen valence density, structure files, and hostile files in a subprocess
with a limited address space (a large allocation would fail the test)."""

import json
import resource
import subprocess
import sys
import time

import ase.io
import numpy as np
import pytest
from ase.build import molecule
from conftest import ROOT

import ddviz.io as dio
from ddviz.grid import Grid, Sample

KEYS = {"natoms", "species", "grid_shape", "spacing_bohr", "cell_bohr", "pbc", "ndim", "units",
        "electrons", "electrons_from", "frames"}
AS_LIMIT = 1536 << 20  # bytes; a plain `ddviz info` needs ~300-400 MB of address space


def _limit_memory():
    resource.setrlimit(resource.RLIMIT_AS, (AS_LIMIT, AS_LIMIT))


def run_limited(*args, env=None):
    """`python -m ddviz ARGS` under RLIMIT_AS = 1.5 GB; (process, wall seconds)."""
    import os

    full_env = dict(os.environ, PYTHONPATH=str(ROOT), OPENBLAS_NUM_THREADS="1", **(env or {}))
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "ddviz", *map(str, args)], capture_output=True,
                          text=True, timeout=60, env=full_env, preexec_fn=_limit_memory)
    return proc, time.perf_counter() - t0


@pytest.fixture(scope="module")
def water_cube(tmp_path_factory):
    from pyscf import dft, gto
    from pyscf.tools import cubegen

    atoms = molecule("H2O")
    mol = gto.M(atom=[(s, tuple(p)) for s, p in zip(atoms.get_chemical_symbols(), atoms.positions)],
                basis="gth-dzvp", pseudo="gth-pbe", verbose=0)
    mf = dft.RKS(mol, xc="pbe")
    mf.grids.level = 1
    mf.kernel()
    assert mf.converged
    path = tmp_path_factory.mktemp("cube") / "water.cube"
    cubegen.density(mol, str(path), mf.make_rdm1(), resolution=0.2, margin=4.0)
    return path


def test_info_json_on_pyscf_cubegen_valence_density(water_cube, ddviz_cli):
    proc = ddviz_cli("info", water_cube, "--json")
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout)
    assert set(info) == KEYS
    assert info["natoms"] == 3 and info["species"] == ["H", "O"] and info["pbc"] == [False] * 3
    assert all(0.2 < h < 0.21 for h in info["spacing_bohr"])
    assert info["ndim"] == 3 and info["units"] == "e/bohr^3"  # a cube holds a density in space
    assert info["electrons"] == pytest.approx(8.0, rel=5e-3)  # GTH valence: O 6 + 2 H
    text = ddviz_cli("info", water_cube)
    assert text.returncode == 0 and "electrons" in text.stdout and "H O" in text.stdout
    assert "e/bohr^3 (3D)" in text.stdout


def test_info_structure_and_orbital_free_values(tmp_path, ddviz_cli):
    ase.io.write(tmp_path / "w.xyz", molecule("H2O"))
    info = json.loads(ddviz_cli("info", tmp_path / "w.xyz", "--json").stdout)
    assert info == {"natoms": 3, "species": ["H", "O"], "grid_shape": None, "spacing_bohr": None,
                    "cell_bohr": None, "pbc": [False] * 3, "ndim": None, "units": None,
                    "electrons": None, "electrons_from": None, "frames": 1}
    grid = Grid([0, 0, 0], np.eye(3) * 0.5, (4, 4, 4))
    dio.write(Sample(molecule("H2O"), grid, np.ones(grid.shape)), tmp_path / "w.nc")
    info = json.loads(ddviz_cli("info", tmp_path / "w.nc", "--json").stdout)
    assert info["grid_shape"] == [4, 4, 4] and info["electrons"] == pytest.approx(8.0)
    assert info["electrons_from"] == "grid"
    line = Grid([0, 0, 0], np.diag([0.5, 1.0, 1.0]), (8, 1, 1), (True, False, False))
    dio.write(Sample(molecule("H2"), line, np.full(line.shape, 0.5), ndim=1), tmp_path / "c.nc")
    text = ddviz_cli("info", tmp_path / "c.nc").stdout  # a chain's line density says so
    assert "electrons/bohr (1D)" in text and "electrons   2.000000" in text


def _hostile(tmp_path):
    good = tmp_path / "good.cube"
    grid = Grid([0, 0, 0], np.eye(3) * 0.3, (10, 10, 10))
    dio.write(Sample(molecule("H2O"), grid, np.ones(grid.shape)), good)
    text = good.read_text()
    lines = text.splitlines()
    files = {"truncated.cube": text[: len(text) // 2],
             "garbage.cube": "\x89PNG\r\n\x1a\n" + "\x00\xff garbage" * 200,
             "garbage.nc": "\x89HDF\r\n\x1a\n" + "junk" * 300}
    # headers lying about 10^12 points, and about 1.9e8 points (under the default limit of 2e8,
    # 1.5 GB as float64: only the truncation check keeps it from being allocated)
    for name, dims in [("lie12.cube", (10000, 10000, 10000)), ("lie8.cube", (1000, 1000, 190))]:
        lines_ = list(lines)
        for i, n in enumerate(dims):
            lines_[3 + i] = f"{n:5d}" + lines[3 + i][5:]
        files[name] = "\n".join(lines_) + "\n"
    files["CHGCAR"] = "Si\n1\n5 0 0\n0 5 0\n0 0 5\nSi\n1\nDirect\n0 0 0\n\n10000 10000 10000\n1 2\n"
    for name, content in files.items():
        (tmp_path / name).write_text(content, encoding="latin-1")
    return files


def test_limit_really_limits():
    """Control: under the same limit a 1.5 GB allocation fails, a plain info does not."""
    code = "import numpy; numpy.empty(190_000_000)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          preexec_fn=_limit_memory, timeout=60)
    assert proc.returncode != 0 and "MemoryError" in proc.stderr


@pytest.mark.parametrize("name, extra", [
    ("truncated.cube", []), ("garbage.cube", []), ("garbage.nc", []),
    ("lie12.cube", []), ("lie12.cube", ["--max-points", "1e13"]), ("lie8.cube", []),
    ("CHGCAR", ["--max-points", "1e13"]), ("missing.cube", []), ("notes.txt", []),
])
def test_bad_files_exit_2_with_one_line(tmp_path, name, extra):
    _hostile(tmp_path)
    proc, _ = run_limited("info", tmp_path / name, "--json", *extra)
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    err = proc.stderr.strip().splitlines()
    assert len(err) == 1 and name in err[0] and err[0].startswith("ddviz info: error:"), err


def test_good_file_fits_in_the_limit(tmp_path):
    _hostile(tmp_path)
    proc, _ = run_limited("info", tmp_path / "good.cube", "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["grid_shape"] == [10, 10, 10]
