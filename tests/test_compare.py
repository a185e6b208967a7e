import numpy as np
import pytest

from ddviz.evaluate.metrics import error_sums, metrics, pooled, worst_slice
from ddviz.grid import Grid


def test_metrics_by_definition_and_worst_point_position():
    rng = np.random.default_rng(0)
    grid = Grid([1.0, 2.0, 3.0], np.eye(3) * 0.5, (4, 5, 6))
    ref = rng.random(grid.shape)
    pred = ref + 0.01 * rng.standard_normal(grid.shape)
    pred[2, 3, 4] = ref[2, 3, 4] + 0.5
    m = metrics(pred, ref, grid)
    assert m["rel_l1"] == pytest.approx(np.abs(pred - ref).sum() / np.abs(ref).sum())
    assert m["rel_l2"] == pytest.approx(np.linalg.norm(pred - ref) / np.linalg.norm(ref))
    assert m["mae"] == pytest.approx(np.abs(pred - ref).mean())
    assert m["max_abs_err"] == pytest.approx(0.5)
    np.testing.assert_allclose(m["max_abs_err_at_bohr"], [1.0 + 1.0, 2.0 + 1.5, 3.0 + 2.0])
    assert m["electrons_ref"] == pytest.approx(ref.sum() * 0.125)


def test_pooled_metrics_equal_metrics_of_concatenation():
    rng = np.random.default_rng(1)
    a_ref, b_ref = rng.random(100), 5 * rng.random(50)
    a_pred, b_pred = a_ref * 1.1, b_ref - 0.2
    whole = metrics(np.concatenate([a_pred, b_pred]), np.concatenate([a_ref, b_ref]))
    pool = pooled([error_sums(a_pred, a_ref), error_sums(b_pred, b_ref)])
    for key in ("rel_l1", "rel_l2", "mae", "max_abs_err"):
        assert pool[key] == pytest.approx(whole[key])
    assert pool["points"] == 150


def test_worst_slice_picks_the_plane_holding_most_error():
    err = np.zeros((10, 12, 14))
    err[3, 7, 9] = -2.0
    err[3, 2:10, 5] = 0.5  # a line of error in the a=3 plane only (crosses b=7 at one point)
    assert worst_slice(err) == (0, 3)
    assert worst_slice(err, axis=2) == (2, 9)
    with pytest.raises(Exception, match="3D"):
        worst_slice(np.zeros((3, 3)))


def test_comparison_fields_metrics_and_slice_with_and_without_reference():
    from ase.build import molecule

    from ddviz.evaluate.comparison import Comparison

    grid = Grid([0.0, 0.0, 0.0], np.eye(3) * 0.5, (6, 7, 8))
    ref = np.ones(grid.shape)
    pred = ref.copy()
    pred[1, 2, 3] = 1.5
    c = Comparison(molecule("H2O"), grid, pred, ref)
    assert set(c.fields()) == {"predicted", "reference", "error"}
    assert c.metrics()["max_abs_err"] == pytest.approx(0.5)
    assert c.worst_slice(axis=1) == (1, 2)
    alone = Comparison(molecule("H2O"), grid, pred)
    assert set(alone.fields()) == {"predicted"} and alone.error is None
    assert alone.metrics()["electrons_pred"] == pytest.approx(pred.sum() * 0.125)
    assert alone.worst_slice(axis=0) == (0, 1)
