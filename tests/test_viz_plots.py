import holoviews as hv
import numpy as np
import pytest

from ddviz.evaluate.metrics import metrics
from ddviz.units import ang_to_bohr
from ddviz.viz import plots


def image_of(el):
    """The Image of a panel (an Image, or an Overlay of an Image and atom Points)."""
    return el.get(0) if isinstance(el, hv.Overlay) else el


@pytest.fixture(scope="module")
def comparison(water_comparison):
    c = water_comparison
    return c.atoms, c.grid, c.fields()


def test_slice_image_values_sit_at_their_bohr_coordinates(comparison):
    atoms, grid, fields = comparison
    axis, index = 2, grid.shape[2] // 2
    layout = plots.slice_panels(grid, fields, axis, index, atoms=atoms)
    ref_panel, err_panel = (image_of(layout[n]) for n in (0, 2))
    i, j = 7, 11
    x, y, _ = grid.index_to_point((i, j, index))
    xl, yl = (d.name for d in ref_panel.kdims)
    assert (xl, yl) == ("x (bohr)", "y (bohr)")
    assert ref_panel[x, y] == pytest.approx(fields["reference"][i, j, index])
    lo, hi = err_panel.range(2)
    assert lo == pytest.approx(-hi) and hi > 0  # symmetric error range


def test_projected_atoms_land_on_their_positions(comparison):
    atoms, grid, _ = comparison
    pos = ang_to_bohr(atoms.positions)
    index = round((pos[0, 2] - grid.origin[2]) / grid.spacing[2])
    pa = plots.projected_atoms(atoms, grid, 2, index, within=0.5)
    assert 8 in pa[:, 2]  # the oxygen lies in its own plane
    o = pa[pa[:, 2] == 8][0]
    np.testing.assert_allclose(o[:2], pos[0, :2], atol=1e-9)


def test_plots_render_with_bokeh_and_matplotlib(comparison, tmp_path):
    _, grid, f = comparison
    figs = [plots.slice_panels(grid, f, 0, 5), plots.scatter(f["predicted"], f["reference"]),
            plots.error_histogram(f["error"]), plots.density_histogram(f["reference"]),
            plots.metrics_table(metrics(f["predicted"], f["reference"], grid))]
    for fig in figs:
        assert hv.render(fig, backend="bokeh") is not None
    hv.save(figs[0], tmp_path / "slice.png", backend="matplotlib")
    assert (tmp_path / "slice.png").stat().st_size > 5000


def test_quick_scatter_counts_every_point_like_datashader(comparison):
    from holoviews.operation.datashader import rasterize

    _, _, f = comparison
    pred, ref = f["predicted"].ravel(), f["reference"].ravel()
    quick = plots.scatter(pred, ref, quick=True)
    image = quick.get(0)
    assert isinstance(image, hv.Image) and quick.get(1).kdims == image.kdims[:1]
    counts = image.dimension_values(2, flat=False)  # rows from the bottom (y ascending)
    exact, _, _ = np.histogram2d(pred, ref, bins=counts.shape,
                                 range=[(pred.min(), pred.max()), (ref.min(), ref.max())])
    hit = exact > 0
    assert np.array_equal(counts[hit], exact[hit]) and counts[hit].sum() == pred.size
    assert np.all(np.isnan(counts[~hit]) | (counts[~hit] > 0))  # empty, or a spread neighbour
    shaded = rasterize(hv.Points((ref, pred), kdims=image.kdims), dynamic=False, width=400,
                       height=400, x_range=image.range(0), y_range=image.range(1))
    assert np.nansum(shaded.dimension_values(2)) == pred.size  # the same points as datashader
    assert hv.render(quick, backend="bokeh") is not None


def test_datashaded_scatter_is_aggregated_once_per_view(comparison, monkeypatch):
    import datashader
    import panel as pn
    from bokeh.document import Document

    _, _, f = comparison
    ranges = []
    points = datashader.Canvas.points
    monkeypatch.setattr(datashader.Canvas, "points", lambda self, *a, **k: (
        ranges.append((self.x_range, self.y_range)), points(self, *a, **k))[1])
    pane = pn.pane.HoloViews(plots.scatter(f["predicted"], f["reference"]))
    pane.get_root(Document())
    assert ranges == [((f["reference"].min(), f["reference"].max()),
                       (f["predicted"].min(), f["predicted"].max()))]


def test_metrics_table_shows_units(comparison):
    _, grid, f = comparison
    table = plots.metrics_table(metrics(f["predicted"], f["reference"], grid))
    rows = dict(zip(table["metric"], table["value"]))
    assert rows["mae"].endswith("e/bohr^3") and rows["rel_l1"].endswith("%")
    assert rows["max_abs_err_at_bohr"].endswith("bohr")
