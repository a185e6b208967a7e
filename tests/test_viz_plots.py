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


def test_metrics_table_shows_the_properties_of_both_densities(water_comparison):
    c = water_comparison
    props = c.properties()
    table = plots.metrics_table(c.metrics(), c.describe_grid(), props)
    rows = dict(zip(table["metric"], table["value"]))
    hartree = props["hartree_ha"]
    assert rows["Hartree energy (pred / ref)"] == (f"{hartree['predicted']:.5f} / "
                                                   f"{hartree['reference']:.5f} Ha")
    assert abs(hartree["predicted"] - hartree["reference"]) > 1e-3 and hartree["reference"] > 0
    assert rows["dipole (pred / ref)"].count("(") == 2
    assert rows["rel_l1_near_nuclei"].endswith("%")


def test_error_colour_range_is_robust_and_states_the_maximum(comparison):
    _, grid, f = comparison
    error = f["error"].copy()
    axis, index = 2, grid.shape[2] // 2
    error[5, 5, index] = 100.0  # one point at a "nucleus"
    layout = plots.slice_panels(grid, {**f, "error": error}, axis, index)
    err = image_of(layout[2])
    plane_values = np.abs(np.take(error, index, axis=axis))
    lo, hi = err.range(2)
    assert hi == pytest.approx(np.percentile(plane_values, 99.5)) and lo == -hi and hi < 1
    assert "max 100" in err.opts.get().kwargs["title"]


def test_error_histogram_counts_on_a_log_axis_and_density_histogram_marks_the_level(comparison):
    _, _, f = comparison
    hist = plots.error_histogram(f["error"])
    assert hist.opts.get("plot", backend="bokeh").kwargs["logy"]
    assert hist.dimension_values(1).sum() >= f["error"].size
    marked = plots.density_histogram(f["reference"], level=0.05)
    line = marked.get(1)
    assert isinstance(line, hv.VLine) and line.data == pytest.approx(np.log10(0.05))
    assert hv.render(marked, backend="bokeh") is not None


def test_plane_panels_on_a_grid_plane_equal_the_slice_panels(comparison):
    from ddviz.viz.planes import grid_plane

    atoms, grid, f = comparison
    axis, index = 1, grid.shape[1] // 2
    a = plots.slice_panels(grid, f, axis, index, atoms=atoms)
    b = plots.plane_panels(grid, f, grid_plane(grid, axis, index), atoms=atoms)
    for name in (0, 1, 2):
        np.testing.assert_allclose(image_of(b[name]).dimension_values(2),
                                   image_of(a[name]).dimension_values(2), atol=1e-12)
    assert hv.render(b, backend="bokeh") is not None
