"""Exports for slides and reports.

Figures as PNG/SVG, the 3D view as PNG, and a whole comparison as one standalone HTML file
(inline resources, opens without a server or network).

Every file is written atomically (temporary file, then rename).
"""

from __future__ import annotations

from pathlib import Path

import holoviews as hv

from ddviz.errors import UnsupportedError
from ddviz.io.atomic import atomic_path

FIGURE_SUFFIXES = (".png", ".svg", ".html")


def save_figure(obj, path) -> Path:
    """A HoloViews figure as .png or .svg (Matplotlib backend, no browser) or .html (Bokeh)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FIGURE_SUFFIXES:
        raise UnsupportedError(f"figures export as {', '.join(FIGURE_SUFFIXES)}", path=path)
    backend = "bokeh" if suffix == ".html" else "matplotlib"
    with atomic_path(path) as tmp:
        target = tmp.with_suffix(suffix)  # HoloViews picks the format from the suffix
        hv.save(obj, target, backend=backend, fmt=suffix[1:])
        target.replace(tmp)
    return path


def save_scene(scene, path) -> Path:
    """The 3D view of a :class:`ddviz.viz.scene.Scene` as PNG."""
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise UnsupportedError("the 3D view exports as .png", path=path)
    with atomic_path(path) as tmp:
        target = tmp.with_suffix(".png")
        scene.screenshot(target)
        target.replace(tmp)
    return path


def report_layout(comparison, level: float, title: str = "ddviz comparison"):
    """A Panel layout of a comparison: metrics, 3D view, worst-error slices, scatter, histogram."""
    import panel as pn

    from ddviz.viz import plots
    from ddviz.viz.scene import Scene

    fields = comparison.fields()
    axis, index = comparison.worst_slice()
    scene = Scene(comparison.atoms, comparison.grid, fields, level=level, window_size=(600, 450))
    parts = [pn.pane.Markdown(f"# {title}"),
             pn.pane.HoloViews(plots.metrics_table(comparison.metrics()), backend="bokeh"),
             pn.pane.VTK(scene.plotter.ren_win, width=600, height=450),
             pn.pane.HoloViews(plots.slice_panels(comparison.grid, fields, axis, index,
                                                  atoms=comparison.atoms), backend="bokeh")]
    if comparison.reference is not None:
        parts.append(pn.pane.HoloViews(
            plots.scatter(comparison.predicted, comparison.reference, max_points=200_000,
                          dynamic=False)
            + plots.error_histogram(comparison.error), backend="bokeh"))
    return pn.Column(*parts)


def save_report(comparison, path, level: float, title: str = "ddviz comparison") -> Path:
    """The whole comparison as one standalone HTML file (all JavaScript inline)."""
    from bokeh.resources import INLINE

    path = Path(path)
    if path.suffix.lower() != ".html":
        raise UnsupportedError("the comparison report exports as .html", path=path)
    layout = report_layout(comparison, level, title)
    with atomic_path(path) as tmp:
        target = tmp.with_suffix(".html")
        layout.save(str(target), resources=INLINE, title=title, embed=True)
        target.replace(tmp)
    return path
