"""The pure logic of ``benchmarks/bench_qm9.py``: per-group pooling, the distribution, targets."""

import math

import pytest

from benchmarks import bench_qm9
from ddviz.evaluate.metrics import Sums


def _row(index, elements, heavy, abs_err, abs_ref, electron_error=0.0):
    return {"index": index, "smiles": f"mol{index}", "elements": sorted(elements), "heavy": heavy,
            "natoms": 2 * heavy + 2,
            "sums": Sums(abs_err=abs_err, abs_ref=abs_ref, n=10),
            "rel_l1": abs_err / abs_ref, "electron_error": electron_error,
            "electrons_pred": 10 * (1 + electron_error), "electrons_valence": 10.0}


ROWS = [_row(1, {"C", "H"}, 7, 1.0, 100.0, 0.001),  # 16 atoms
        _row(2, {"C", "H", "N", "O"}, 9, 6.0, 100.0, -0.004),  # 20 atoms
        _row(3, {"C", "H", "F", "O"}, 9, 4.0, 50.0, 0.002)]


def test_group_table_pools_the_members_of_each_group():
    table = {label: (n, l1) for label, n, l1 in bench_qm9.group_table(ROWS)}
    assert table["contains N"] == (1, pytest.approx(0.06))
    assert table["contains O"] == (2, pytest.approx(10 / 150))  # pooled, not the mean 0.07
    assert table["contains F"] == (1, pytest.approx(0.08))
    assert table["CH only"] == (1, pytest.approx(0.01))
    assert table["7 heavy atoms"] == (1, pytest.approx(0.01))
    assert table["9 heavy atoms"] == (2, pytest.approx(10 / 150))
    assert table["15-19 atoms"] == (1, pytest.approx(0.01))
    assert table[">= 20 atoms"] == (2, pytest.approx(10 / 150))
    for empty in ("1-6 heavy atoms", "8 heavy atoms", "<= 14 atoms"):
        n, l1 = table[empty]
        assert n == 0 and math.isnan(l1)


def test_summary_and_targets():
    s = bench_qm9.summary(ROWS)
    assert s["n_test"] == 3
    assert s["pooled_rel_l1"] == pytest.approx(11 / 250)
    assert s["p50"] == pytest.approx(0.06)
    assert s["p90"] == pytest.approx(0.06 + 0.8 * 0.02)  # linear between 0.06 and 0.08
    assert s["worst"] == {"index": 3, "smiles": "mol3", "rel_l1": pytest.approx(0.08)}
    assert s["electron_error_max"] == pytest.approx(0.004)
    assert s["electron_worst"]["index"] == 2
    met = [ok for _, _, ok in bench_qm9.targets(s)]
    assert met == [False, False, True, False]  # 4.4 % pooled, 7.6 % p90, electrons 0.4 %
    good = bench_qm9.summary([_row(1, {"C", "H"}, 2, 0.4, 100.0, 0.001)])
    assert [ok for _, _, ok in bench_qm9.targets(good)] == [True, True, True, True]


def test_missing_model_or_data_is_one_line_and_status_2(tmp_path, capsys):
    assert bench_qm9.main(["--model", str(tmp_path / "none.safetensors")]) == 2
    err = capsys.readouterr().err
    assert "none.safetensors" in err and err.count("\n") == 1
    model = tmp_path / "m.safetensors"
    model.write_bytes(b"x")
    assert bench_qm9.main(["--model", str(model), "--data", str(tmp_path / "nodata")]) == 2
    err = capsys.readouterr().err
    assert "nodata" in err and err.count("\n") == 1
