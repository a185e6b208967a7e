"""1D chains: Verlet energy conservation, Samples and their files, resumable generation, CLI."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from ddviz import io
from ddviz.toys.chain1d.data import to_sample
from ddviz.toys.chain1d.md import (
    displaced_chain,
    energy_drift,
    generate_cells,
    generate_trajectory,
    generate_transfer,
    verlet,
)
from ddviz.toys.chain1d.solver import ChainSettings, solve
from ddviz.units import ANGSTROM_PER_BOHR

SMALL = ChainSettings(nk=2)


def test_verlet_conserves_energy():
    state = verlet(displaced_chain("insulating", 8, 0.2, 3), SMALL, 20.0, 30)
    kinetic_max = state.log[:, 3].max()
    assert kinetic_max > 1e-3  # it moves
    assert energy_drift(state.log) < 0.02 * kinetic_max
    # halving the step cuts the error ~4x (second order)
    fine = verlet(displaced_chain("insulating", 8, 0.2, 3), SMALL, 10.0, 60)
    assert energy_drift(fine.log) < 0.4 * energy_drift(state.log)


def test_sample_layout_and_netcdf_roundtrip(tmp_path):
    res = solve(displaced_chain("mixed", 8, 0.2, 0), SMALL)
    sample = to_sample(res, {"seed": 0})
    n = res.x.size
    assert sample.grid.shape == (n, 1, 1) and sample.grid.pbc == (True, False, False)
    assert sample.electrons() == pytest.approx(10.0, abs=1e-9)  # 2 Ne x 2 + 6 Li x 1
    assert sample.atoms.get_chemical_symbols().count("Ne") == 2
    assert tuple(sample.atoms.pbc) == (True, False, False)
    np.testing.assert_allclose(np.diag(sample.atoms.cell)[0], 32.0 * ANGSTROM_PER_BOHR)
    np.testing.assert_allclose(sample.cell_bohr, np.diag([32.0, 1.0, 1.0]), atol=1e-12)
    assert sample.provenance["species"]["Ne"]["sigma"] == 0.5
    assert "insulating" in sample.provenance["species_meaning"]["Ne"]
    assert sample.provenance["settings"]["nk"] == 2  # the solver settings, to recompute it
    assert (sample.ndim, sample.units) == (1, "electrons/bohr")
    assert sample.density.attrs["units"] == "electrons/bohr"
    io.write(sample, tmp_path / "s.nc")
    with h5py.File(tmp_path / "s.nc") as f:  # the file says what the values are
        assert np.ravel(f.attrs["ndim"]).tolist() == [1]
        assert np.ravel(f.attrs["ddviz_format_version"]).tolist() == [2]
        assert f["density"].attrs["units"] == "electrons/bohr"
    back = io.read(tmp_path / "s.nc")
    assert (back.ndim, back.units) == (1, "electrons/bohr")
    assert back.density.attrs["units"] == "electrons/bohr"
    np.testing.assert_array_equal(back.density.values, sample.density.values)
    np.testing.assert_allclose(back.atoms.positions, sample.atoms.positions, atol=1e-12)
    assert back.grid.is_close(sample.grid) and back.provenance == sample.provenance


def test_generator_resumes_bit_identically(tmp_path):
    kw = {"character": "metallic", "natoms": 8, "steps": 10, "stride": 2, "seed": 5,
          "settings": SMALL}
    full = generate_trajectory(tmp_path / "full", **kw)
    assert full["written"] == 5  # 0, 2 train; 4 validation; 6 skipped (gap); 8, 10 test
    part = generate_trajectory(tmp_path / "part", stop_after=3, **kw)
    assert part["step"] == 3
    rest = generate_trajectory(tmp_path / "part", **kw)
    assert rest["step"] == 10 and rest["written"] == 3 and rest["skipped"] == 0
    again = generate_trajectory(tmp_path / "part", **kw)
    assert again["written"] == 0
    for split, name in (("train", "step_000002.nc"), ("test", "step_000010.nc")):
        a = io.read(tmp_path / "full" / split / name)
        b = io.read(tmp_path / "part" / split / name)
        np.testing.assert_array_equal(a.density.values, b.density.values)
    assert not list(tmp_path.rglob("*.tmp"))


def test_cells_skip_finished_files(tmp_path):
    first = generate_cells(tmp_path, "insulating", natoms=8, count=2, seed=1, settings=SMALL)
    assert first["written"] == 2
    (tmp_path / "transfer" / "cell_0001.nc").unlink()
    second = generate_cells(tmp_path, "insulating", natoms=8, count=2, seed=1, settings=SMALL)
    assert (second["written"], second["skipped"]) == (1, 1)


def test_transfer_cells_are_the_second_half_of_a_trajectory(tmp_path):
    out = generate_transfer(tmp_path, "insulating", natoms=8, count=2, stride=2, seed=4,
                            settings=SMALL)
    assert out["step"] == 8 and out["written"] == 2
    files = sorted(p.name for p in tmp_path.rglob("*.nc"))
    assert files == ["step_000006.nc", "step_000008.nc"]
    sample = io.read(tmp_path / "transfer" / "step_000008.nc")
    assert sample.provenance["split"] == "transfer" and sample.provenance["step"] == 8
    # consecutive cells differ: the atoms move (MD, not one displaced cell written twice)
    earlier = io.read(tmp_path / "transfer" / "step_000006.nc")
    assert np.abs(sample.atoms.positions - earlier.atoms.positions).max() > 1e-4


def test_cli_generate_and_errors(tmp_path, ddviz_cli):
    from ddviz.errors import ConfigError, DdvizError

    proc = ddviz_cli("chain", "generate", "--character", "insulating", "--natoms", "4",
                     "--cells", "1", "-o", tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "transfer" / "cell_0000.nc").exists()
    assert io.read(tmp_path / "transfer" / "cell_0000.nc").ndim == 1
    proc = ddviz_cli("chain", "generate", "--character", "mixed", "--natoms", "6", "--steps", "2",
                     "-o", tmp_path / "m")
    assert proc.returncode == 2 and "multiple of 4" in proc.stderr
    proc = ddviz_cli("chain", "generate", "--character", "mixed", "--stride", "0", "-o",
                     tmp_path / "s")
    assert proc.returncode == 2 and "[stride]" in proc.stderr and "got 0" in proc.stderr
    with pytest.raises(DdvizError, match="multiple of 4"):
        generate_trajectory(tmp_path / "m", "mixed", natoms=6, steps=2)
    with pytest.raises(ConfigError, match=r"\[count\].*>= 0, got -1"):
        generate_cells(tmp_path / "c", "insulating", natoms=4, count=-1)
    with pytest.raises(ConfigError, match=r"\[natoms\].*>= 1, got 0"):
        generate_trajectory(tmp_path / "n", "metallic", natoms=0)
    assert not (tmp_path / "n").exists()  # checked before anything is written
