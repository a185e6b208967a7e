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
    from PIL import Image

    scene = Scene(comparison.atoms, comparison.grid, comparison.fields(), level=0.3,
                  window_size=(320, 240))
    out = save_scene(scene, tmp_path / "view.png")
    assert out.stat().st_size > 2000
    assert Image.open(out).size == (320, 240)
    big = save_scene(scene, tmp_path / "big.png", width=1200)
    assert Image.open(big).size == (1200, 900) and tuple(scene.plotter.window_size) == (320, 240)


def test_figures_export_at_the_size_asked_for(comparison, tmp_path):
    from PIL import Image

    fig = plots.slice_panels(comparison.grid, comparison.fields(), *comparison.worst_slice(),
                             atoms=comparison.atoms)
    out = save_figure(fig, tmp_path / "slices.png", width=1800, height=600, dpi=200)
    assert Image.open(out).size == (1800, 600)
    wide = save_figure(fig, tmp_path / "wide.png", width=2400, dpi=100)
    w, h = Image.open(wide).size
    assert w == 2400 and 300 < h < 1200  # the figure's aspect ratio
    scatter = save_figure(plots.scatter(comparison.predicted, comparison.reference,
                                        dynamic=False), tmp_path / "scatter.png", width=1000,
                          height=1000, dpi=150)
    assert Image.open(scatter).size == (1000, 1000)
    with pytest.raises(UnsupportedError, match="dpi"):
        save_figure(fig, tmp_path / "x.png", dpi=5)


def test_standalone_report_has_everything_inline(comparison, tmp_path):
    out = save_report(comparison, tmp_path / "report.html", level=0.3)
    text = out.read_text()
    assert len(text) > 500_000  # bokeh + vtk.js inline
    assert not re.search(r'<script[^>]+src="https?://', text)  # no network needed
    assert not re.search(r'<link[^>]+href="https?://', text)
    assert "cdn.holoviz.org" not in text  # Panel's style sheets and icons inline
    assert "rel_l1" in text and "VTK" in text.upper()
