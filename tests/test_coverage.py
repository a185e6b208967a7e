"""Coverage: atoms outside a Deep Density model's training data are named, in the library and CLI."""

import json

import pytest
from ase.build import molecule
from conftest import ROOT

from ddviz import io
from ddviz.errors import ModelFileError
from ddviz.evaluate.predictor import structure_from_atoms
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
    assert "bohr from C, closer than any C-C pair in training" in names


def test_atoms_with_the_same_kind_of_reason_are_named_together():
    from ase import Atoms

    model, _ = load_model(ROOT / "models" / "water.safetensors")
    waters = Atoms()
    for k, oh in enumerate((0.70, 0.72, 0.74)):  # Å: one O-H bond of each far below 0.96
        water = molecule("H2O")  # O, H, H
        water.set_distance(0, 1, oh, fix=0)
        water.translate((12.0 * k, 0, 0))  # Å: far apart, each alone within the cutoff
        waters += water
    waters.center(vacuum=4.0)
    outliers = coverage.check(model, waters)
    assert [o.index for o in outliers] == [0, 1, 3, 4, 6, 7]
    closest = model.coverage.pair_min[1, 0]  # O-H, bohr
    low, high = 0.70 / 0.529177, 0.74 / 0.529177
    names = coverage.describe(outliers)
    assert names.startswith("6 atoms outside the model's training data (atoms numbered from 1")
    assert (f"atoms 1, 4, 7 (O) are {low:.2f}-{high:.2f} bohr from H, closer than any O-H pair "
            f"in training ({closest:.2f} bohr); atoms 2, 5, 8 (H) are") in names
    assert names.count("closer than any") == 2  # one phrase per group, not per atom
    assert coverage.describe(outliers, limit=1).endswith("; and 3 more atoms")


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
    assert len(meta["user"]["coverage"]["neighbours_min"]) == 2  # (species, species)
    assert sum(model.coverage.atoms) == 6 * 8  # 6 training snapshots (2 held out) x 8 atoms


def test_predict_warns_by_atom(ddviz_cli, tmp_path):
    out = tmp_path / "butane.cube"
    r = ddviz_cli("predict", ETHANE, ROOT / "examples" / "n-butane.xyz", "-o", out,
                  "--spacing", "0.6", "--margin", "2")
    assert r.returncode == 0, r.stderr
    assert out.is_file()
    assert "outside the model's training data (atoms numbered from 1" in r.stderr


ALUMINIUM = ROOT / "models" / "aluminium.safetensors"
DATA = ROOT / "assets" / "datasets"


@pytest.fixture(scope="module")
def aluminium():
    return load_model(ALUMINIUM)[0]


def test_an_expanded_cell_and_a_cluster_in_vacuum_are_named(aluminium):
    from ase.build import bulk
    from ase.cluster import Icosahedron

    expanded = bulk("Al", "fcc", a=5.0, cubic=True)  # no neighbour within rcut: descriptor 0
    outliers = coverage.check(aluminium, expanded)
    assert [o.index for o in outliers] == [0, 1, 2, 3]
    fewest = aluminium.coverage.count_low[0, 0]
    assert (f"atoms 1-4 (Al) have no Al neighbour within the cutoff (switched count 0.00; the "
            f"fewest in training {fewest:.2f})") in coverage.describe(outliers)
    cluster = Icosahedron("Al", 2)
    cluster.center(vacuum=6.0)
    names = coverage.describe(coverage.check(aluminium, cluster))
    assert names.startswith("12 atoms") and "atoms 2-13 (Al) see fewer" in names  # the surface
    # the descriptor box alone misses both (the module docstring): every excess below tolerance
    for atoms in (expanded, cluster):
        env = aluminium.prepare(*structure_from_atoms(atoms))
        assert aluminium.coverage.margins(aluminium, env).excess.max() < coverage.TOLERANCE


@pytest.mark.parametrize(("model", "datasets", "split"), [
    ("aluminium", ["al32", "al108"], None),  # held-out cells and the 108-atom transfer
    ("water", ["water8"], "test"),
    ("water", ["water16", "water32"], None),  # transfer to larger clusters
    ("ethane", ["ethane"], "test"),
])
def test_held_out_and_transfer_snapshots_stay_silent(model, datasets, split):
    loaded, _ = load_model(ROOT / "models" / f"{model}.safetensors")
    assert loaded.coverage.count_low is not None  # the shipped records carry the counts
    samples = load_snapshots([DATA / d for d in datasets], split=split)
    assert samples
    for sample in samples:
        assert coverage.check(loaded, sample.atoms) == [], sample.atoms.get_chemical_formula()


def test_a_record_without_neighbour_counts_is_read_and_checked_without_them(aluminium, tmp_path):
    from ase.build import bulk

    model, meta = load_model(ALUMINIUM)
    old = {k: v for k, v in meta["user"]["coverage"].items()
           if k not in ("neighbours_min", "neighbours_max")}
    path = tmp_path / "old.safetensors"
    save_model(model, path, {**meta["user"], "coverage": old})
    again, _ = load_model(path)
    assert again.coverage.count_low is None
    assert coverage.check(again, bulk("Al", "fcc", a=5.0, cubic=True)) == []  # the old blind spot
    bad = {**meta["user"]["coverage"], "neighbours_min": [[1.0, 2.0]]}
    save_model(model, path, {**meta["user"], "coverage": bad})
    with pytest.raises(ModelFileError, match="neighbours_min"):
        load_model(path)


def test_the_shipped_record_is_what_add_coverage_makes_from_the_training_frames(tmp_path):
    import shutil
    import sys

    sys.path.insert(0, str(ROOT / "models"))
    try:
        import add_coverage
    finally:
        sys.path.remove(str(ROOT / "models"))
    path = tmp_path / "aluminium.safetensors"
    shutil.copy(ALUMINIUM, path)
    add_coverage.main([str(path), str(DATA / "al32"), "--held-out", "2"])
    shipped, meta = load_model(ALUMINIUM)
    again, meta_again = load_model(path)
    assert meta_again["user"]["coverage"] == meta["user"]["coverage"]
    assert all((a == b).all() for a, b in zip(shipped.state_dict().values(),
                                              again.state_dict().values()))
