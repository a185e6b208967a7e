import numpy as np
import pytest
from ase.build import molecule

from ddviz.grid import Grid
from ddviz.viz.scene import Scene, cell_box, grid_dataset, isosurface


def gaussian(grid, centre, alpha=0.5):
    r2 = np.sum((grid.points() - centre) ** 2, axis=1)
    return np.exp(-alpha * r2).reshape(grid.shape)


@pytest.mark.parametrize("vectors", [np.eye(3) * 0.25, [[0.25, 0, 0], [0.1, 0.25, 0], [0, 0.05, 0.25]]])
def test_isosurface_sits_where_the_field_has_that_value(vectors):
    """A Gaussian's level-l surface is the sphere r = sqrt(-ln(l)/alpha), on straight and skewed grids."""
    grid = Grid([-4.0, -4.0, -4.0], vectors, (33, 33, 33))
    centre = grid.index_to_point((16, 16, 16))
    ds = grid_dataset(grid, {"predicted": gaussian(grid, centre)})
    surf = isosurface(ds, "predicted", 0.3)
    radius = np.linalg.norm(surf.points - centre, axis=1)
    expected = np.sqrt(-np.log(0.3) / 0.5)
    assert surf.n_cells > 100
    np.testing.assert_allclose(radius, expected, rtol=0.03)
    assert isosurface(ds, "predicted", 2.0).n_cells == 0  # above the maximum: nothing, no error


def test_scene_levels_update_in_place_and_render_non_blank(tmp_path):
    atoms = molecule("H2O")
    atoms.center()
    grid = Grid([0.0, 0.0, 0.0], np.eye(3) * 0.3, (30, 30, 30))
    ref = gaussian(grid, grid.index_to_point((15, 15, 15)))
    pred = gaussian(grid, grid.index_to_point((15, 15, 16)))
    scene = Scene(atoms, grid, {"predicted": pred, "reference": ref, "error": pred - ref},
                  level=0.5, window_size=(300, 200))
    actor = scene.actors["predicted"]
    before = scene.triangles("predicted")
    img1 = scene.screenshot(tmp_path / "a.png")
    scene.set_level(0.1)
    assert scene.actors["predicted"] is actor  # same actor, new surface
    assert scene.triangles("predicted") > before  # a lower level encloses a bigger sphere
    assert scene.triangles("error+") > 0 and scene.triangles("error-") > 0
    img2 = scene.screenshot()
    assert img1.std() > 5 and np.abs(img1.astype(int) - img2).mean() > 0.5
    scene.set_visible("error", False)
    assert not scene.actors["error+"].GetVisibility()
    assert (tmp_path / "a.png").stat().st_size > 1000
    assert "atoms" in scene.actors and "bonds" in scene.actors


def test_cell_box_has_twelve_edges_of_the_cell():
    cell = np.array([[4.0, 0, 0], [1.0, 3.0, 0], [0, 0, 2.0]])
    box = cell_box(cell)
    lines = box.lines.reshape(-1, 3)[:, 1:]
    lengths = sorted(np.round(np.linalg.norm(box.points[lines[:, 0]] - box.points[lines[:, 1]], axis=1), 6))
    assert len(lengths) == 12
    np.testing.assert_allclose(lengths, [2.0] * 4 + [np.sqrt(10.0)] * 4 + [4.0] * 4, rtol=1e-5)


def test_show_replaces_the_content_in_the_same_render_window():
    grid = Grid([0.0, 0.0, 0.0], np.eye(3) * 0.3, (30, 30, 30))
    field = gaussian(grid, grid.index_to_point((15, 15, 15)))
    scene = Scene(molecule("H2O"), grid, {"predicted": field, "reference": field}, level=0.3,
                  window_size=(200, 150))
    window = scene.plotter.ren_win
    scene.show(molecule("CH4"), grid, {"predicted": field}, level=0.3)
    assert scene.plotter.ren_win is window
    assert "reference" not in scene.actors and scene.triangles("predicted") > 0
    renderer = scene.plotter.renderer
    assert renderer.GetActors().GetNumberOfItems() == len(scene.actors)  # old actors gone
