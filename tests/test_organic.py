"""The shipped general organic model (QM9: H, C, N, O, F) on molecules of its own choosing."""

import json
from pathlib import Path

import pytest

from ddviz import io

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "models" / "organic.safetensors"
# the card's per-molecule figures for the shipped QM9 test molecules (python
# benchmarks/bench_qm9.py prints them): rel L1 on the molecule's standard grid
CARD = {"qm9_1417.nc": 0.0326, "qm9_21827.nc": 0.0382}


def test_predict_methanol_by_bare_model_name(ddviz_cli, tmp_path):
    """The issue's command: a molecule no other shipped model covers (C, H and O)."""
    out = tmp_path / "m.cube"
    done = ddviz_cli("predict", "organic", ROOT / "examples" / "methanol.xyz", "-o", out,
                     cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    sample = io.read(out)
    assert sample.atoms.get_chemical_formula() == "CH4O"
    assert sample.electrons() == pytest.approx(14.0, rel=5e-3)  # C 4 + O 6 + 4 H, GTH valence
    assert "outside the model's training data" not in done.stderr


@pytest.mark.parametrize("name", sorted(CARD))
def test_held_out_example_molecules_as_in_the_card(ddviz_cli, name):
    """Two QM9 test molecules (index ending in 7: never trained on) shipped with references."""
    done = ddviz_cli("evaluate", MODEL, ROOT / "examples" / name, "--json")
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout)["files"][0]
    assert abs(figures["electrons_pred"] / figures["electrons_ref"] - 1) < 1e-2  # card: -0.6 %
    assert 0.7 * CARD[name] < figures["rel_l1"] < 1.3 * CARD[name]
