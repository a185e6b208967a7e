"""`ddviz generate` / `ddviz dataset`: real PySCF snapshots, checked against a plain PySCF run."""

import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from ase.build import molecule
from ase.io import write
from conftest import ROOT, run_ddviz

from ddviz import io
from ddviz.cli import main
from ddviz.grid import Grid
from ddviz.reference import dataset
from ddviz.reference.generate import Frame, Options, generate
from ddviz.reference.scf import SCFSettings
from ddviz.units import ang_to_bohr


def _ethane_frames(n):
    frames = []
    for k in range(n):
        atoms = molecule("C2H6")
        atoms.rattle(0.03 * k, seed=k)
        frames.append(atoms)
    return frames


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """Two ethane frames through the CLI with two worker processes, grid values stored."""
    root = tmp_path_factory.mktemp("gen")
    write(root / "ethane.xyz", _ethane_frames(2))

    proc = run_ddviz("generate", root / "ethane.xyz", "-o", root / "out", "--temperature", "300",
                     "--seed", "4", "--workers", "2")
    assert proc.returncode == 0, proc.stderr
    assert "2 computed, 0 already done, 0 failed" in proc.stderr
    return root


def test_density_matches_an_independent_plain_pyscf_run(generated):
    """RKS/PBE/gth-dzvp/gth-pbe with PySCF's defaults (grids level 3, conv_tol 1e-9, no density
    fitting), evaluated by cubegen from the density matrix: relative L1 < 1e-4 on the same grid."""
    from pyscf import dft, gto, lib
    from pyscf.tools import cubegen

    lib.num_threads(1)
    atoms = _ethane_frames(1)[0]
    mol = gto.M(atom=[(s, p) for s, p in zip(atoms.get_chemical_symbols(), atoms.positions)],
                basis="gth-dzvp", pseudo="gth-pbe", verbose=0)  # Å, as a user would write it
    mf = dft.RKS(mol, xc="pbe")
    mf.kernel()
    assert mf.converged
    plain = cubegen.density(mol, str(generated / "plain.cube"), mf.make_rdm1(), resolution=0.2,
                            margin=4.0)
    sample = io.read(generated / "out" / "ethane_0000.nc")
    assert sample.has_values and sample.density.shape == plain.shape
    cube = cubegen.Cube(mol, resolution=0.2, margin=4.0)
    np.testing.assert_allclose(sample.points(), cube.get_coords(), atol=1e-8)
    ours = sample.density.values
    assert np.abs(ours - plain).sum() / np.abs(plain).sum() < 1e-4
    assert sample.provenance["energy_Ha"] == pytest.approx(mf.e_tot, abs=1e-4)


def test_generated_samples_hold_the_valence_electrons_and_provenance(generated):
    manifest = json.loads((generated / "out" / "manifest.json").read_text())
    assert [e["file"] for e in manifest["snapshots"]] == ["ethane_0000.nc", "ethane_0001.nc"]
    for entry in manifest["snapshots"]:
        assert entry["converged"] is True and entry["energy_Ha"] < -14.9
        assert entry["split"] == "train" and entry["temperature_K"] == 300.0 and entry["seed"] == 4
        sample = io.read(generated / "out" / entry["file"])
        assert sample.electrons() == pytest.approx(14.0, rel=5e-3)
        assert sample.orbitals.electrons == pytest.approx(14.0)
        # exact orbitals and stored grid values agree at grid points
        idx = np.arange(0, sample.grid.size, 997)
        np.testing.assert_allclose(sample.values_at(sample.points()[idx]),
                                   sample.density.values.reshape(-1)[idx], atol=1e-10)
        p = sample.provenance
        assert p["converged"] and p["seed"] == 4 and p["frame"] == entry["frame"]
        assert p["grids_level"] == 1 and p["versions"]["pyscf"]
    assert manifest["settings"]["spacing_bohr"] == 0.2
    assert not (generated / "out" / "failed.json").exists()


def test_rerun_recomputes_only_the_missing_snapshot(generated, tmp_path, capsys):
    out = tmp_path / "out"
    shutil.copytree(generated / "out", out)
    kept, removed = out / "ethane_0000.nc", out / "ethane_0001.nc"
    before = kept.stat().st_mtime_ns
    removed.unlink()
    code = main(["generate", str(generated / "ethane.xyz"), "-o", str(out), "--workers", "1",
                 "--temperature", "300", "--seed", "4", "--no-progress"])
    assert code == 0
    assert "1 computed, 1 already done, 0 failed" in capsys.readouterr().err
    assert kept.stat().st_mtime_ns == before
    assert io.read(removed).electrons() == pytest.approx(14.0, rel=5e-3)
    assert len(json.loads((out / "manifest.json").read_text())["snapshots"]) == 2


def test_changed_geometry_or_storage_is_recomputed(generated, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(generated / "out", out)
    frames = [Frame("ethane", k, a) for k, a in enumerate(_ethane_frames(2))]
    frames[1].atoms.positions[0, 0] += 0.01  # Å
    report = generate(frames, out, Options(workers=1, progress=False))
    assert report.computed == ["ethane_0001.nc"] and report.skipped == ["ethane_0000.nc"]
    report = generate(frames[:1], out, Options(workers=1, compact=True, progress=False))
    assert report.computed == ["ethane_0000.nc"]
    assert not io.read(out / "ethane_0000.nc").has_values


def test_non_converged_frame_is_listed_in_failed_json_and_not_written(tmp_path):
    frames = [Frame("water", 0, molecule("H2O"), "water.xyz")]
    options = Options(SCFSettings(max_cycle=1, fallbacks=False), workers=1, progress=False)
    report = generate(frames, tmp_path, options)
    assert list(report.failed) == ["water_0000.nc"] and not report.computed
    failed = json.loads((tmp_path / "failed.json").read_text())
    assert failed[0]["file"] == "water_0000.nc" and "ConvergenceError" in failed[0]["reason"]
    assert not (tmp_path / "water_0000.nc").exists()
    assert json.loads((tmp_path / "manifest.json").read_text())["snapshots"] == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["failed.json", "manifest.json"]


@pytest.mark.parametrize("content", ["3\nnot a number\nC 0 0\n", ""])
def test_bad_structure_file_exits_2_with_one_line(tmp_path, capsys, content):
    bad = tmp_path / "bad.xyz"
    bad.write_text(content)
    assert main(["generate", str(bad), "-o", str(tmp_path / "out")]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "bad.xyz" in lines[0]
    assert lines[0].startswith("ddviz generate: error")


def test_compact_with_cube_is_refused(tmp_path, capsys):
    write(tmp_path / "e.xyz", molecule("C2H6"))
    code = main(["generate", str(tmp_path / "e.xyz"), "-o", str(tmp_path / "out"), "--format",
                 "cube", "--compact"])
    assert code == 2 and "compact" in capsys.readouterr().err


def test_sigterm_leaves_only_complete_files(tmp_path):
    write(tmp_path / "eth.xyz", _ethane_frames(4))
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "ddviz", "generate", str(tmp_path / "eth.xyz"),
                             "-o", str(tmp_path / "out"), "--workers", "1", "--no-progress"],
                            env=env, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while not (tmp_path / "out" / "eth_0000.nc").exists() and time.time() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == 130, proc.stderr.read()
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    snapshots = [n for n in names if n.endswith(".nc")]
    assert names == snapshots + ["manifest.json"]  # no temporary files left
    assert 1 <= len(snapshots) < 4  # stopped before all 4 frames
    for name in snapshots:
        assert io.read(tmp_path / "out" / name).has_values
    listed = [e["file"] for e in json.loads((tmp_path / "out" / "manifest.json").read_text())
              ["snapshots"]]
    assert listed == snapshots


def test_dataset_runs_md_then_compact_snapshots_and_resumes(tmp_path, monkeypatch):
    short = dataclasses.replace(dataset.PRESETS["ethane"],
                                md={"equilibration_steps": 20, "interval": 10})
    monkeypatch.setitem(dataset.PRESETS, "ethane", short)
    report = dataset.build("ethane", tmp_path, n_train=2, n_test=1, seed=3, workers=1,
                           progress=False)
    assert len(report.computed) == 3 and not report.failed
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert [e["split"] for e in manifest["snapshots"]] == ["train", "train", "test"]
    assert [e["step"] for e in manifest["snapshots"]] == [30, 40, 50]
    assert all(e["seed"] == 3 and e["temperature_K"] == 300.0 for e in manifest["snapshots"])
    sample = io.read(tmp_path / "ethane_0002.nc")
    assert not sample.has_values and sample.orbitals.electrons == pytest.approx(14.0)
    assert sample.provenance["dataset"] == "ethane" and sample.provenance["split"] == "test"
    assert (tmp_path / "ethane_0002.nc").stat().st_size < 100_000
    frames = io.read_structures(tmp_path / "trajectory.xyz")
    np.testing.assert_array_equal(ang_to_bohr(frames[2].positions), sample.orbitals.positions_bohr)
    assert sample.grid.is_close(Grid.around(ang_to_bohr(frames[2].positions)))
    traj_mtime = (tmp_path / "trajectory.xyz").stat().st_mtime_ns
    again = dataset.build("ethane", tmp_path, n_train=2, n_test=1, seed=3, workers=1,
                          progress=False)
    assert len(again.skipped) == 3 and not again.computed
    assert (tmp_path / "trajectory.xyz").stat().st_mtime_ns == traj_mtime


def test_cube_output_has_the_grid_values_and_resumes(tmp_path):
    frames = [Frame("water", 0, molecule("H2O"), "water.xyz")]
    options = Options(fmt="cube", workers=1, progress=False)
    assert generate(frames, tmp_path, options).computed == ["water_0000.cube"]
    sample = io.read(tmp_path / "water_0000.cube")
    assert sample.electrons() == pytest.approx(8.0, rel=5e-3)
    assert sample.grid.is_close(Grid.around(ang_to_bohr(molecule("H2O").positions)), atol=1e-5)
    assert generate(frames, tmp_path, options).skipped == ["water_0000.cube"]
