"""QM9 molecules from qm9pack: parsing without evaluation, the fixed split rule, a real build."""

import importlib.util
import json

import pytest

from ddviz import io
from ddviz.errors import ConfigError, DdvizError
from ddviz.reference import qm9

pytestmark = pytest.mark.skipif(importlib.util.find_spec("qm9pack") is None,
                                reason="qm9pack (QM9 geometries) is not installed")


def test_split_rule_and_draw():
    train, test = qm9.select(300, 50, seed=4)
    assert len(train) == 300 and len(test) == 50
    assert all(i % 10 == 7 for i in test)
    assert not any(i % 10 == 7 for i in train)
    assert not set(train) & set(test)
    more_train, more_test = qm9.select(400, 60, seed=4)
    assert more_train[:300] == train and more_test[:50] == test  # a dataset can grow
    assert qm9.select(300, 50, seed=5)[0] != train
    assert set(train + test) <= set(qm9.available())  # only molecules the files hold
    assert len(qm9.available()) == 130831
    with pytest.raises(ConfigError):
        qm9.select(-1, 3)


def test_molecules_read_real_rows():
    methane, ethane, last = qm9.molecules([1, 7, 133885])
    assert methane.atoms.get_chemical_formula() == "CH4" and methane.smiles == "C"
    assert ethane.atoms.get_chemical_formula() == "C2H6" and qm9.is_test(ethane.index)
    assert last.index == 133885 and len(last.atoms) == 16
    assert 1.0 < ethane.atoms.get_distance(0, 1) < 1.7  # Å: a C-C bond
    with pytest.raises(ConfigError):
        qm9.molecules([0])


@pytest.mark.parametrize("field,text", [
    ("Elements", "__import__('os').system('touch /tmp/ddviz_pwned')"),
    ("Elements", "['C','U']"),
    ("XYZ_Ang", "[[0,0,0]]"),
    ("XYZ_Ang", "[[0,0,NaN],[1,1,1]]"),
    ("XYZ_Ang", "[[0,0,1e999],[1,1,1]]"),
    ("XYZ_Ang", "[[0,0],[1,1,1]]"),
])
def test_bad_rows_are_refused_not_evaluated(field, text, tmp_path):
    row = {"Index": "5", "SMILES": "CO", "Elements": "['C','O']",
           "XYZ_Ang": "[[0,0,0],[0,0,1.2]]", field: text}
    with pytest.raises(DdvizError, match="molecule '5'"):
        qm9.parse_row(row, "rows.csv")


def test_fortran_style_numbers_are_read():
    """QM9's CSV writes exact zeros and ones as "0." and "1." (acetylene, index 4): not JSON."""
    row = {"Index": "4", "SMILES": "C#C", "Elements": "['C','C','H','H']",
           "XYZ_Ang": "[[0.5995394918,0.,1.],[-0.5995394918,0.,1.],[-1.66e0,0.,1.],[1.66,0.,1.]]"}
    mol = qm9.parse_row(row)
    assert mol.atoms.positions[0].tolist() == [0.5995394918, 0.0, 1.0]
    assert mol.atoms.positions[2, 0] == -1.66
    assert [m.smiles for m in qm9.molecules([4, 23, 24])] == ["C#C", "C#CC#C", "C#CC#N"]


def test_build_follows_the_split_rule(tmp_path):
    with pytest.raises(ConfigError, match="split rule"):
        qm9.build(tmp_path / "bad", indices=([7], [1]), progress=False)
    report = qm9.build(tmp_path, indices=([1], [7]), workers=1, progress=False)
    assert sorted(report.computed) == ["qm9_0001.nc", "qm9_0007.nc"] and not report.failed
    manifest = {e["file"]: e for e in json.loads((tmp_path / "manifest.json").read_text())["snapshots"]}
    assert manifest["qm9_0007.nc"]["split"] == "test" and manifest["qm9_0007.nc"]["smiles"] == "CC"
    assert manifest["qm9_0001.nc"]["split"] == "train"
    ethane = io.read(tmp_path / "qm9_0007.nc")
    assert ethane.electrons() == pytest.approx(14, rel=5e-3)  # valence electrons, GTH
    again = qm9.build(tmp_path, indices=([1], [7]), workers=1, progress=False)
    assert not again.computed and len(again.skipped) == 2  # resumable
