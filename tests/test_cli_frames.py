"""Multi-frame input: `ddviz predict` writes one numbered output per frame (or --frame N),
`ddviz info` counts frames, `ddviz evaluate` takes a dataset folder and --split."""

import json
import shutil

import ase.io
import pytest
from ase.build import molecule
from conftest import ROOT

import ddviz.io as dio

MODEL = ROOT / "models" / "water.safetensors"
FIELD_CUBE = ROOT / "tests" / "data" / "field_cases" / "fortran-d-exponent" / "water_dexp.cube.gz"


@pytest.fixture
def trajectory(tmp_path):
    frames = []
    for i in range(3):
        atoms = molecule("H2O")
        atoms.rattle(0.05, seed=i)
        frames.append(atoms)
    ase.io.write(tmp_path / "md.xyz", frames)
    return tmp_path / "md.xyz", frames


def test_predict_every_frame_and_one_frame(trajectory, tmp_path, ddviz_cli):
    path, frames = trajectory
    assert json.loads(ddviz_cli("info", path, "--json").stdout)["frames"] == 3
    proc = ddviz_cli("predict", MODEL, path, "-o", tmp_path / "p.cube", "--spacing", "0.5",
                     "--device", "cpu")
    assert proc.returncode == 0, proc.stderr
    outs = [tmp_path / f"p_{i:04d}.cube" for i in range(3)]
    assert all(p.exists() for p in outs) and not (tmp_path / "p.cube").exists()
    for out, atoms in zip(outs, frames):
        got = dio.read(out)
        assert got.atoms.positions == pytest.approx(atoms.positions, abs=1e-5)
        assert 7.0 < got.electrons() < 9.0
    proc = ddviz_cli("predict", MODEL, path, "-o", tmp_path / "one.cube", "--spacing", "0.5",
                     "--frame", "1", "--device", "cpu")
    assert proc.returncode == 0, proc.stderr
    assert dio.read(tmp_path / "one.cube").atoms.positions == pytest.approx(frames[1].positions,
                                                                            abs=1e-5)
    proc = ddviz_cli("predict", MODEL, path, "-o", tmp_path / "x.cube", "--frame", "7")
    assert proc.returncode == 2 and "no frame 7" in proc.stderr and "md.xyz" in proc.stderr


def test_evaluate_dataset_folder_with_split(tmp_path, ddviz_cli):
    data = tmp_path / "data"
    data.mkdir()
    sample = dio.read(FIELD_CUBE)
    dio.write(sample, data / "a.cube")
    shutil.copy(data / "a.cube", data / "b.cube")
    (data / "manifest.json").write_text(json.dumps({"snapshots": [
        {"file": "a.cube", "split": "train"}, {"file": "b.cube", "split": "test"}]}))
    proc = ddviz_cli("evaluate", MODEL, data, "--split", "test", "--json", "--device", "cpu")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert [f["path"] for f in result["files"]] == [str(data / "b.cube")]
    assert result["files"][0]["electrons_ref"] == pytest.approx(7.996808, abs=1e-4)
    proc = ddviz_cli("evaluate", MODEL, data, "--split", "nope")
    assert proc.returncode == 2 and "no snapshot files of split 'nope'" in proc.stderr
    assert "ddviz dataset" not in proc.stderr  # no recipe, no hint
    (data / "dataset.json").write_text(json.dumps({"name": "qm9", "n_train": 3, "n_test": 2,
                                                   "seed": 4}))  # a shipped test-only folder
    proc = ddviz_cli("evaluate", MODEL, data, "--split", "nope")
    assert proc.returncode == 2, proc.stderr
    assert f"build them with: ddviz dataset qm9 -o {data} --count 3 --n-test 2 --seed 4" in proc.stderr
    proc = ddviz_cli("dataset", "qm9", "-o", tmp_path / "q", "--n-train", "3")
    assert proc.returncode == 2 and "--count, not --n-train" in proc.stderr
    assert not (tmp_path / "q").exists()
