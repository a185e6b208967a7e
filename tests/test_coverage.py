"""Coverage: atoms outside a Deep Density model's training data are named, in the library and CLI."""

import json

import pytest
from ase.build import molecule
from conftest import ROOT

from ddviz import io
from ddviz.errors import ModelFileError
from ddviz.io.snapshots import load_snapshots
from ddviz.methods.deep_density import coverage
from ddviz.methods.deep_density.files import load_model, save_model

ETHANE = ROOT / "models" / "ethane.safetensors"


@pytest.fixture(scope="module")
def ethane_model():
    return load_model(ETHANE)


def test_held_out_snapshots_are_covered_other_molecules_are_not(ethane_model):
    model, _ = ethane_model
    assert model.coverage is not None and list(model.coverage.atoms) == [200, 600]
    for sample in load_snapshots([ROOT / "assets" / "datasets" / "ethane"], split="test")[:5]:
        assert coverage.check(model, sample.atoms) == []
    butane = io.read_structure(ROOT / "examples" / "n-butane.xyz")
    outliers = coverage.check(model, butane)
    assert outliers and {o.symbol for o in outliers} >= {"C"}
    assert "training ranges outside" in coverage.describe(outliers)


def test_a_pair_closer_than_any_in_training_is_named(ethane_model):
    model, _ = ethane_model
    squeezed = molecule("C2H6")
    squeezed.set_distance(0, 1, 1.1, fix=0.5)  # Å: a C-C bond far shorter than ethane's 1.53
    names = coverage.describe(coverage.check(model, squeezed))
    assert "C neighbour at" in names and "closest in training" in names


def test_the_record_round_trips_and_a_damaged_one_is_refused(ethane_model, tmp_path):
    model, meta = ethane_model
    path = tmp_path / "m.safetensors"
    record = meta["user"]["coverage"]
    save_model(model, path, {**meta["user"], "coverage": record})
    again, _ = load_model(path)
    assert (again.coverage.high == model.coverage.high).all()
    bad = json.loads(json.dumps(record))
    bad["low"] = bad["low"][:1]
    save_model(model, path, {**meta["user"], "coverage": bad})
    with pytest.raises(ModelFileError, match="coverage"):
        load_model(path)
    save_model(model, path, {k: v for k, v in meta["user"].items() if k != "coverage"})
    assert load_model(path)[0].coverage is None  # older files: no record, no check


def test_trained_models_carry_their_record(app_files):
    model, meta = load_model(app_files["models"] / "tiny-ethane.safetensors")
    assert meta["user"]["coverage"]["species"] == ["C", "H"]
    assert sum(model.coverage.atoms) == 6 * 8  # 6 training snapshots (2 held out) x 8 atoms


def test_predict_warns_by_atom(ddviz_cli, tmp_path):
    out = tmp_path / "butane.cube"
    r = ddviz_cli("predict", ETHANE, ROOT / "examples" / "n-butane.xyz", "-o", out,
                  "--spacing", "0.6", "--margin", "2")
    assert r.returncode == 0, r.stderr
    assert out.is_file()
    assert "outside the model's training data: atom" in r.stderr
