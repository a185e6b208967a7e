"""The commands users reach for next, run as real subprocesses: compare, info on models and
datasets, generate with charge and spin, evaluate's table; and the checks made before computing."""

import json
import time

import numpy as np
import pytest
from conftest import ROOT

import ddviz.io as dio

MODEL = ROOT / "models" / "ethane.safetensors"
ETHANE = ROOT / "examples" / "ethane.xyz"
REFERENCE = ROOT / "examples" / "ethane_reference.nc"


def one_line_exit_2(proc, *words):
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr, proc.stderr
    for word in words:
        assert str(word) in proc.stderr, proc.stderr
    return proc.stderr


@pytest.fixture(scope="module")
def predicted(tmp_path_factory):
    """The shipped model's prediction on the shipped reference's grid."""
    from conftest import run_ddviz

    out = tmp_path_factory.mktemp("pred") / "pred.nc"
    proc = run_ddviz("predict", MODEL, ETHANE, "--like", REFERENCE, "-o", out, "--device", "cpu")
    assert proc.returncode == 0, proc.stderr
    assert "warning" not in proc.stderr  # 14.00 electrons of 14 valence electrons
    return out


def test_compare_gives_the_metrics_and_writes_the_difference(predicted, tmp_path, ddviz_cli):
    diff = tmp_path / "diff.cube"
    proc = ddviz_cli("compare", REFERENCE, predicted, "-o", diff, "--json")
    assert proc.returncode == 0, proc.stderr
    m = json.loads(proc.stdout)
    a, b = dio.read(REFERENCE), dio.read(predicted)
    ref, pred = np.asarray(a.density.values), np.asarray(b.density.values)
    assert m["rel_l1"] == pytest.approx(np.abs(pred - ref).sum() / np.abs(ref).sum(), rel=1e-6)
    assert 0 < m["rel_l1"] < 0.02 and m["same_atoms"]
    written = dio.read(diff)
    assert written.grid.shape == a.grid.shape
    assert np.allclose(written.density.values, pred - ref, atol=1e-9)
    assert m["max_abs_err"] == pytest.approx(np.abs(pred - ref).max(), rel=1e-5)
    near = np.zeros(a.grid.shape, bool)  # the points within 0.5 bohr of a nucleus
    points = a.grid.points().reshape(*a.grid.shape, 3)
    for nucleus in a.atoms.positions * 1.8897261246:
        near |= np.linalg.norm(points - nucleus, axis=-1) <= 0.5
    assert m["points_near_nuclei"] == near.sum() > 0
    assert m["rel_l1_near_nuclei"] == pytest.approx(
        np.abs(pred - ref)[near].sum() / np.abs(ref)[near].sum(), rel=1e-6)
    same = ddviz_cli("compare", predicted, predicted)
    assert same.returncode == 0 and "rel L1 0.0000%" in same.stdout


def test_compare_refuses_other_grids_and_bad_outputs_before_reading(predicted, tmp_path,
                                                                      ddviz_cli):
    other = tmp_path / "other.cube"
    proc = ddviz_cli("predict", MODEL, ETHANE, "-o", other, "--spacing", "0.5")
    assert proc.returncode == 0, proc.stderr
    one_line_exit_2(ddviz_cli("compare", REFERENCE, other), other, "another grid")
    one_line_exit_2(ddviz_cli("compare", REFERENCE, predicted, "-o", tmp_path), tmp_path,
                    "is a folder")


def test_info_on_a_model_file(ddviz_cli):
    proc = ddviz_cli("info", MODEL, "--json")
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout)
    assert info["kind"] == "model" and info["method"] == "deep_density"
    assert info["species"] == ["C", "H"] and info["cutoffs_bohr"]["rcut"] > 0
    assert info["training"]["train_snapshots"] > 0 and info["training"]["reference"]["basis"]
    assert 0 < info["validation"]["rel_l1"] < 0.05
    text = ddviz_cli("info", MODEL).stdout
    assert "deep_density" in text and "validation" in text and "rcut" in text


def test_info_on_a_dataset_folder(ethane_dataset, ddviz_cli):
    proc = ddviz_cli("info", ethane_dataset, "--json")
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout)
    assert info["kind"] == "dataset" and info["snapshots"] == {"train": 8} and info["total"] == 8
    assert info["species"] == ["C", "H"]
    assert info["reference"]["basis"] == "gth-dzvp" and info["reference"]["spin"] == 0


def test_generate_an_odd_electron_radical_with_spin_1(tmp_path, ddviz_cli):
    xyz = tmp_path / "ch3.xyz"
    xyz.write_text("4\nmethyl\nC 0 0 0\nH 1.08 0 0\nH -0.54 0.935 0\nH -0.54 -0.935 0\n")
    refused = ddviz_cli("generate", xyz, "-o", tmp_path / "closed", "--no-progress")
    one_line_exit_2(refused, "7 valence electrons", "--spin 1")
    assert not (tmp_path / "closed").exists() or not any((tmp_path / "closed").iterdir())
    proc = ddviz_cli("generate", xyz, "-o", tmp_path / "out", "--spin", "1", "--compact",
                     "--workers", "1", "--no-progress")
    assert proc.returncode == 0, proc.stderr
    sample = dio.read(tmp_path / "out" / "ch3_0000.nc")
    assert sample.orbitals.electrons == pytest.approx(7.0)  # 4 alpha + 3 beta: the total density
    assert sample.provenance["method"] == "UKS" and sample.provenance["spin"] == 1
    cation = ddviz_cli("generate", xyz, "-o", tmp_path / "cation", "--charge", "1", "--compact",
                       "--workers", "1", "--no-progress")
    assert cation.returncode == 0, cation.stderr
    assert dio.read(tmp_path / "cation" / "ch3_0000.nc").orbitals.electrons == pytest.approx(6.0)


@pytest.fixture(scope="module")
def evaluated():
    """``ddviz evaluate --json`` of the shipped model on the shipped reference."""
    from conftest import run_ddviz

    proc = run_ddviz("evaluate", MODEL, REFERENCE, "--json", "--device", "cpu")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_evaluate_table_has_where_and_progress(predicted, evaluated, ddviz_cli):
    proc = ddviz_cli("evaluate", MODEL, REFERENCE, predicted, "--device", "cpu")
    assert proc.returncode == 0, proc.stderr
    header, first = proc.stdout.splitlines()[:2]
    assert "where (bohr)" in header
    where = evaluated["files"][0]["max_abs_err_at_bohr"]
    assert "(" + ",".join(f"{x:.2f}" for x in where) + ")" in first
    assert "2/2" in proc.stderr  # the progress bar, on stderr


def test_valence_warning_when_the_prediction_misses_electrons(tmp_path, ddviz_cli):
    proc = ddviz_cli("predict", MODEL, ETHANE, "-o", tmp_path / "tight.cube", "--margin", "0.3")
    assert proc.returncode == 0, proc.stderr
    assert "warning" in proc.stderr and "14 valence electrons" in proc.stderr


@pytest.mark.parametrize("output, words", [
    ("DIR", ["is a folder"]),
    ("out.txt", ["unknown output suffix .txt"]),
    ("out.cube.gz", ["compressed output"]),
    ("FILE/out.cube", ["is a file, not a folder"]),
])
def test_predict_refuses_bad_outputs_before_loading_the_model(tmp_path, ddviz_cli, output,
                                                              words):
    (tmp_path / "DIR").mkdir()
    (tmp_path / "FILE").write_text("mine")
    t0 = time.perf_counter()
    proc = ddviz_cli("predict", MODEL, ETHANE, "-o", tmp_path / output)
    one_line_exit_2(proc, *words)
    assert time.perf_counter() - t0 < 15  # no prediction was made (it takes longer here)
    assert (tmp_path / "FILE").read_text() == "mine"


def test_predict_applies_the_points_limit_before_allocating(tmp_path, ddviz_cli):
    proc = ddviz_cli("predict", MODEL, ETHANE, "-o", tmp_path / "x.cube", "--spacing", "0.001")
    one_line_exit_2(proc, ETHANE, "exceeds the limit")
    small = ddviz_cli("predict", MODEL, ETHANE, "-o", tmp_path / "x.cube",
                      env={"DDVIZ_MAX_POINTS": "1000"})
    one_line_exit_2(small, "exceeds the limit of 1000")
    assert not (tmp_path / "x.cube").exists()


def test_missing_output_folders_are_created_and_named_once(predicted, tmp_path, ddviz_cli):
    nested = tmp_path / "some" / "missing" / "dir"
    refused = ddviz_cli("predict", MODEL, ETHANE, "-o", nested / "x.cube", "--spacing", "0.001")
    one_line_exit_2(refused, "exceeds the limit")
    assert not (tmp_path / "some").exists()  # created only when the output is written
    first = ddviz_cli("predict", MODEL, ETHANE, "-o", nested / "out.cube", "--spacing", "0.6")
    assert first.returncode == 0, first.stderr
    assert (nested / "out.cube").is_file()
    assert first.stderr.splitlines() == [f"created folder {nested}"]
    diff = nested / "d.cube"  # another command, the same helper; the folder exists now
    compared = ddviz_cli("compare", REFERENCE, predicted, "-o", diff, "--json")
    assert compared.returncode == 0 and compared.stderr == "", compared.stderr  # nothing said
    assert json.loads(compared.stdout)["difference_file"] == str(diff) and diff.is_file()


def test_train_output_is_checked_before_training(tmp_path, ddviz_cli):
    cfg = tmp_path / "c.toml"
    cfg.write_text('train = ["nowhere"]\n')
    one_line_exit_2(ddviz_cli("train", cfg, "--output", tmp_path / "m.txt"), "m.txt",
                    ".safetensors")


def test_serve_refuses_a_missing_data_folder(tmp_path, ddviz_cli):
    one_line_exit_2(ddviz_cli("serve", "--data", tmp_path / "nope"), "nope", "no such folder")


def test_info_on_an_energy_model_shows_its_own_fields(ddviz_cli):
    r = ddviz_cli("info", ROOT / "models" / "ednn-rho.safetensors")
    assert r.returncode == 0, r.stderr
    assert "method      ednn" in r.stdout and "mae_E_tot" in r.stdout
    assert "species" not in r.stdout and "cutoffs" not in r.stdout  # no empty Deep Density lines
    assert "None" not in r.stdout


def test_evaluate_json_has_properties_and_the_near_nucleus_error(predicted, evaluated):
    from ddviz.evaluate.properties import sample_properties
    from ddviz.units import ang_to_bohr

    result = evaluated
    row = result["files"][0]
    ref, pred = dio.read(REFERENCE), dio.read(predicted)
    # the near-nucleus error by brute force: every point's distance to every nucleus
    pts = ref.grid.points()
    dist = np.linalg.norm(pts[:, None] - ang_to_bohr(ref.atoms.positions)[None], axis=-1)
    near = dist.min(axis=1) <= 0.5
    p, r = pred.density.values.ravel()[near], ref.density.values.ravel()[near]
    assert row["points_near_nuclei"] == near.sum() > 0
    assert row["rel_l1_near_nuclei"] == pytest.approx(np.abs(p - r).sum() / np.abs(r).sum(),
                                                      rel=1e-4)  # the file stores float32
    props = row["properties"]
    ref_props, pred_props = sample_properties(ref), sample_properties(pred)
    for key in ("electrons", "dipole_norm_debye", "hartree_ha"):
        assert props[key]["reference"] == pytest.approx(ref_props[key], rel=1e-9, abs=1e-9)
        assert props[key]["predicted"] == pytest.approx(pred_props[key], rel=1e-5, abs=1e-5)
    np.testing.assert_allclose(props["dipole_debye"]["difference"],
                               np.subtract(pred_props["dipole_debye"], ref_props["dipole_debye"]),
                               atol=1e-4)
    assert result["properties"]["dipole_err_debye_max"] == pytest.approx(
        np.linalg.norm(props["dipole_debye"]["difference"]))


def test_an_output_folder_that_cannot_be_written_is_refused_first(ddviz_cli):
    # /proc refuses new files whatever the permissions say: the probe finds it before predicting
    r = ddviz_cli("predict", ROOT / "models" / "ethane.safetensors", ROOT / "examples" / "ethane.xyz",
                  "-o", "/proc/ddviz-out.cube")
    one_line_exit_2(r, "/proc/ddviz-out.cube", "cannot write in the folder /proc")


def test_evaluate_refuses_a_model_without_a_density_evaluation(ddviz_cli):
    r = ddviz_cli("evaluate", ROOT / "models" / "kinetic-2e.safetensors",
                  ROOT / "examples" / "ethane_reference.nc")
    one_line_exit_2(r, "kinetic-2e.safetensors", "ddviz ofdft")


def test_predict_names_the_structure_whose_elements_the_model_lacks(ddviz_cli, tmp_path):
    methanol = tmp_path / "methanol.xyz"
    methanol.write_text("6\nmethanol\nC 0 0 0\nO 1.42 0 0\nH -0.36 1.03 0\nH -0.36 -0.51 0.89\n"
                        "H -0.36 -0.51 -0.89\nH 1.75 -0.9 0\n")
    r = ddviz_cli("predict", ROOT / "models" / "ethane.safetensors", methanol,
                  "-o", tmp_path / "m.cube")
    one_line_exit_2(r, "methanol.xyz", "['O']", "ethane.safetensors")
    assert not (tmp_path / "m.cube").exists()


def test_info_on_a_missing_file_says_so(ddviz_cli, tmp_path):
    one_line_exit_2(ddviz_cli("info", tmp_path / "nothing"), "nothing", "no such file")


def test_predict_with_another_methods_model_names_its_command(ddviz_cli, tmp_path):
    r = ddviz_cli("predict", ROOT / "models" / "hamiltonian-water.safetensors",
                  ROOT / "examples" / "ethane.xyz", "-o", tmp_path / "x.cube")
    one_line_exit_2(r, "hamiltonian-water.safetensors", "ddviz hamiltonian")
    assert not (tmp_path / "x.cube").exists()


@pytest.mark.parametrize("command", [("ofdft", "--functional", "vw"),
                                     ("hamiltonian", "MODELS/hamiltonian-water"),
                                     ("scf-guess", "MODELS/water")])
def test_molecule_commands_refuse_a_periodic_cell(command, tmp_path, ddviz_cli):
    from ase import Atoms
    from ase.io import write

    path = tmp_path / "cell.extxyz"
    write(path, Atoms("H2", positions=[[0, 0, 0], [0, 0, 0.74]], cell=[3, 3, 3], pbc=True))
    models = ROOT / "models"
    args = [a.replace("MODELS/", f"{models}/") + (".safetensors" if "MODELS" in a else "")
            for a in command]
    if args[0] in ("scf-guess", "hamiltonian"):  # MODEL STRUCTURE
        args.append(str(path))
    else:
        args.insert(1, str(path))
    res = ddviz_cli(*args)
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert f"{path}: a periodic cell" in res.stderr and len(res.stderr.strip().splitlines()) == 1


def test_a_mistyped_bare_model_name_says_where_it_was_looked_for(ddviz_cli, tmp_path):
    out = tmp_path / "m.cube"
    err = one_line_exit_2(ddviz_cli("predict", "ethan", ETHANE, "-o", out, cwd=tmp_path),
                          "ethan: no such model file", "./models/NAME.safetensors",
                          "shipped models: ")
    assert "ethane, " in err and not out.exists()
    err = one_line_exit_2(ddviz_cli("predict", tmp_path / "gone.safetensors", ETHANE, "-o", out))
    assert "shipped" not in err  # a path, not a bare name
