"""Planes in any direction through a density grid: trilinear sampling, Miller and atom planes."""

import numpy as np
import pytest

from ddviz.errors import DdvizError
from ddviz.grid import Grid
from ddviz.viz import planes


@pytest.fixture(scope="module")
def skewed():
    vectors = np.array([[0.3, 0.0, 0.0], [0.1, 0.25, 0.0], [0.05, 0.02, 0.2]])
    grid = Grid(np.array([-1.0, 0.5, 2.0]), vectors, (9, 11, 13))
    values = np.random.default_rng(3).random(grid.shape)
    return grid, values


@pytest.mark.parametrize("axis", [0, 1, 2])
def test_an_axis_plane_equals_the_grid_slice(skewed, axis):
    grid, values = skewed
    index = 4
    got = planes.sample_plane(grid, values, planes.grid_plane(grid, axis, index))
    np.testing.assert_allclose(got, np.take(values, index, axis=axis), rtol=0, atol=1e-12)


def test_trilinear_interpolation_is_exact_for_a_linear_field(skewed):
    grid, _ = skewed
    g = np.array([0.7, -1.3, 2.1])
    linear = (grid.points() @ g).reshape(grid.shape)
    centre = grid.origin + grid.cell.sum(axis=0) * 0.4
    plane = planes.Plane(centre, np.array([0.11, 0.03, 0.0]), np.array([0.0, 0.07, 0.09]),
                         (6, 7))
    got = planes.sample_plane(grid, linear, plane)
    np.testing.assert_allclose(got, plane.points() @ g, atol=1e-10)
    far = planes.Plane(grid.origin - 10.0, np.array([0.1, 0, 0]), np.array([0, 0.1, 0]), (3, 3))
    assert np.isnan(planes.sample_plane(grid, linear, far)).all()  # outside, not periodic


def test_miller_plane_of_a_cubic_cell_is_the_grid_plane_and_wraps():
    grid = Grid.periodic(np.eye(3) * 4.0, (8, 8, 8))
    values = np.random.default_rng(0).random(grid.shape)
    plane = planes.miller_plane(grid, (0, 0, 1))  # through the cell centre: z = 2 bohr, index 4
    normal = np.cross(plane.u, plane.v)
    assert abs(abs(normal[2]) / np.linalg.norm(normal) - 1) < 1e-12
    assert np.allclose(plane.points()[..., 2], 2.0)
    got = planes.sample_plane(grid, values, plane)
    assert np.isfinite(got).all()  # periodic: every point has a value
    # every sample point that is a grid point carries the grid's value
    pts = plane.points().reshape(-1, 3)
    ijk = pts / 0.5
    on = np.all(np.abs(ijk - np.round(ijk)) < 1e-9, axis=1)
    assert on.sum() > 20
    idx = np.mod(np.round(ijk[on]).astype(int), 8)
    np.testing.assert_allclose(got.ravel()[on], values[idx[:, 0], idx[:, 1], idx[:, 2]])
    d110 = planes.miller_plane(grid, (1, 1, 0), offset=0.5)
    n = np.cross(d110.u, d110.v)
    assert np.allclose(np.abs(n / np.linalg.norm(n)), [2 ** -0.5, 2 ** -0.5, 0])
    assert d110.name == "(1 1 0) plane"
    with pytest.raises(DdvizError, match="zero"):
        planes.miller_plane(grid, (0, 0, 0))
    with pytest.raises(DdvizError, match="periodic"):
        planes.miller_plane(Grid(np.zeros(3), np.eye(3), (4, 4, 4)), (1, 0, 0))


def test_plane_through_three_atoms_contains_them():
    grid = Grid(np.zeros(3), np.eye(3) * 0.25, (21, 21, 21))
    pos = np.array([[1.0, 1.2, 1.4], [4.0, 2.0, 1.0], [2.0, 4.0, 3.0], [2.5, 2.5, 2.5]])
    plane = planes.atoms_plane(grid, pos, (0, 1, 2))
    assert np.allclose(plane.distance(pos[:3]), 0, atol=1e-12) and plane.distance(pos[3:])[0] > 0.1
    linear = (grid.points() @ np.array([1.0, 2.0, -0.5])).reshape(grid.shape)
    got = planes.sample_plane(grid, linear, plane)
    inside = np.isfinite(got)
    assert inside.sum() > 100
    np.testing.assert_allclose(got[inside], (plane.points() @ [1.0, 2.0, -0.5])[inside],
                               atol=1e-10)
    with pytest.raises(DdvizError, match="one line"):
        planes.atoms_plane(grid, np.array([[0, 0, 0], [1, 1, 1], [2, 2, 2.0]]), (0, 1, 2))
    with pytest.raises(DdvizError, match="three different"):
        planes.atoms_plane(grid, pos, (0, 0, 1))
