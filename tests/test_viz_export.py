import re

import pytest

from ddviz.errors import UnsupportedError
from ddviz.viz import plots
from ddviz.viz.export import save_figure, save_report, save_scene
from ddviz.viz.scene import Scene


@pytest.fixture(scope="module")
def comparison(water_comparison):
    return water_comparison


def test_figures_export_as_png_svg_html(comparison, tmp_path):
    fig = plots.slice_panels(comparison.grid, comparison.fields(), *comparison.worst_slice())
    png = save_figure(fig, tmp_path / "slice.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = save_figure(plots.error_histogram(comparison.error), tmp_path / "hist.svg")
    assert "<svg" in svg.read_text()[:500]
    html = save_figure(fig, tmp_path / "slice.html")
    assert "bokeh" in html.read_text().lower()
    sc = save_figure(plots.scatter(comparison.predicted, comparison.reference, dynamic=False),
                     tmp_path / "scatter.png")
    assert sc.stat().st_size > 5000
    with pytest.raises(UnsupportedError, match="export as"):
        save_figure(fig, tmp_path / "slice.jpg")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hist.svg", "scatter.png", "slice.html", "slice.png"]


def test_scene_png(comparison, tmp_path):
    scene = Scene(comparison.atoms, comparison.grid, comparison.fields(), level=0.3,
                  window_size=(320, 240))
    out = save_scene(scene, tmp_path / "view.png")
    assert out.stat().st_size > 2000


def test_standalone_report_has_everything_inline(comparison, tmp_path):
    out = save_report(comparison, tmp_path / "report.html", level=0.3)
    text = out.read_text()
    assert len(text) > 500_000  # bokeh + vtk.js inline
    assert not re.search(r'<script[^>]+src="https?://', text)  # no network needed
    assert "rel_l1" in text and "VTK" in text.upper()
