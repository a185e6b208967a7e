"""Exports for slides and reports.

Figures as PNG/SVG, the 3D view as PNG, and a whole comparison as one standalone HTML file
(inline resources, opens without a server or network).

Every file is written atomically (temporary file, then rename).
"""

from __future__ import annotations

import base64
import re
from pathlib import Path

import holoviews as hv

from ddviz.errors import UnsupportedError
from ddviz.io.atomic import atomic_path

FIGURE_SUFFIXES = (".png", ".svg", ".html")


DEFAULT_DPI = 150  # dots per inch of PNG/SVG figures when none is given


def save_figure(obj, path, width: int | None = None, height: int | None = None,
                dpi: int | None = None) -> Path:
    """A HoloViews figure as .png or .svg (Matplotlib, no browser) or .html (Bokeh).

    Parameters
    ----------
    obj : holoviews element or layout
        The figure.
    path : str or pathlib.Path
        Where to write; the suffix chooses the format (:data:`FIGURE_SUFFIXES`).
    width, height : int, optional
        Size in pixels of a PNG (of an SVG: in pixels at ``dpi``). Without either, the
        figure's own size at ``dpi``; with one, the other follows the figure's aspect ratio.
        Ignored for .html.
    dpi : int, optional
        Dots per inch (default :data:`DEFAULT_DPI`): the size of text and lines relative to
        the image.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    ddviz.errors.UnsupportedError
        An unknown suffix, or a size below 50 pixels or a dpi outside 20-1200.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FIGURE_SUFFIXES:
        raise UnsupportedError(f"figures export as {', '.join(FIGURE_SUFFIXES)}", path=path)
    if suffix == ".html":
        with atomic_path(path) as tmp:
            target = tmp.with_suffix(suffix)  # HoloViews picks the format from the suffix
            hv.save(obj, target, backend="bokeh", fmt="html")
            target.replace(tmp)
        return path
    dpi = _check_size(path, width, height, dpi)
    fig = hv.render(obj, backend="matplotlib")
    try:
        if width or height:
            _fit(fig, width, height, dpi)
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=suffix[1:], dpi=dpi, bbox_inches="tight", pad_inches=PAD)
        if suffix == ".png" and (width or height):
            _exact_png(path, width, height)
    finally:
        import matplotlib.pyplot as plt

        plt.close(fig)
    return path


PAD = 0.05  # inches of margin around a figure's labels


def _tight(fig) -> tuple[float, float]:
    """(width, height) in inches of everything drawn in ``fig``, with the margin."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    if not hasattr(fig.canvas, "get_renderer"):
        FigureCanvasAgg(fig)  # a canvas that can measure text
    box = fig.get_tightbbox(fig.canvas.get_renderer())
    return box.width + 2 * PAD, box.height + 2 * PAD


def _fit(fig, width, height, dpi) -> None:
    """Resize ``fig`` so that its drawn part measures width x height pixels at ``dpi``.

    Text keeps its size in points, so the figure grows by what is missing (three rounds).
    """
    w0, h0 = _tight(fig)
    want_w = width / dpi if width else height / dpi * w0 / h0
    want_h = height / dpi if height else width / dpi * h0 / w0
    for _ in range(3):
        tw, th = _tight(fig)
        if abs(tw - want_w) * dpi < 1 and abs(th - want_h) * dpi < 1:
            break
        fw, fh = fig.get_size_inches()
        fig.set_size_inches(max(fw + want_w - tw, 0.5), max(fh + want_h - th, 0.5))


def _exact_png(path: Path, width, height) -> None:
    """Crop or pad (white) a PNG by the pixel or two rounding leaves, to the size asked for."""
    from PIL import Image

    with Image.open(path) as img:
        img.load()
    w = width or round(height * img.width / img.height)
    h = height or round(width * img.height / img.width)
    if img.size == (w, h):
        return
    canvas = Image.new(img.mode, (w, h), "white" if img.mode == "RGB" else (255, 255, 255, 255))
    canvas.paste(img.crop((0, 0, min(w, img.width), min(h, img.height))), (0, 0))
    with atomic_path(path) as tmp:
        canvas.save(tmp, format="PNG")


def _check_size(path, width, height, dpi) -> int:
    """The dpi to use (default :data:`DEFAULT_DPI`), after checking the requested size."""
    dpi = DEFAULT_DPI if dpi is None else int(dpi)
    if not 20 <= dpi <= 1200:
        raise UnsupportedError(f"dpi must lie between 20 and 1200, got {dpi}", path=path)
    for name, value in (("width", width), ("height", height)):
        if value is not None and not 50 <= int(value) <= 10_000:
            raise UnsupportedError(f"{name} must lie between 50 and 10000 pixels, got {value}",
                                   path=path)
    return dpi


def save_scene(scene, path, width: int | None = None, height: int | None = None) -> Path:
    """The 3D view of a :class:`ddviz.viz.scene.Scene` as PNG.

    Parameters
    ----------
    scene : ddviz.viz.scene.Scene
        The scene, drawn off screen.
    path : str or pathlib.Path
        A .png file.
    width, height : int, optional
        Size in pixels (default: the scene's window; with one given, the other keeps its
        aspect ratio).

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    ddviz.errors.UnsupportedError
        Not a .png path, or a size below 50 pixels.
    """
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise UnsupportedError("the 3D view exports as .png", path=path)
    _check_size(path, width, height, None)
    size = None
    if width or height:
        w0, h0 = scene.plotter.window_size
        size = (int(width or round(height * w0 / h0)), int(height or round(width * h0 / w0)))
    with atomic_path(path) as tmp:
        target = tmp.with_suffix(".png")
        scene.screenshot(target, window_size=size)
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
    """The whole comparison as one standalone HTML file that opens without a network.

    JavaScript (BokehJS, Panel, vtk.js) is inline, and so are Panel's style sheets and icons,
    which Panel refers to on its CDN (:func:`inline_panel_resources`).

    Parameters
    ----------
    comparison : ddviz.evaluate.comparison.Comparison
        A 3D comparison.
    path : str or pathlib.Path
        A .html file.
    level : float
        Isosurface level of the 3D view (e/bohr^3).
    title : str
        The page's title and heading.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    ddviz.errors.UnsupportedError
        Not a .html path.
    """
    from bokeh.resources import INLINE

    path = Path(path)
    if path.suffix.lower() != ".html":
        raise UnsupportedError("the comparison report exports as .html", path=path)
    layout = report_layout(comparison, level, title)
    with atomic_path(path) as tmp:
        target = tmp.with_suffix(".html")
        layout.save(str(target), resources=INLINE, title=title, embed=True)
        target.write_text(inline_panel_resources(target.read_text(encoding="utf-8")),
                          encoding="utf-8")
        target.replace(tmp)
    return path


_PANEL_CDN = re.compile(r"https://cdn\.holoviz\.org/panel/[^/\"']+/dist/([^\"'?\s)]+)(\?v=[^\"'\s)]*)?")
_MIME = {".css": "text/css", ".svg": "image/svg+xml", ".png": "image/png",
         ".ico": "image/x-icon", ".js": "text/javascript"}


def inline_panel_resources(html: str) -> str:
    """``html`` with every file of Panel's CDN that Panel ships replaced by a data: URL.

    Panel's saved pages load their style sheets (``ImportedStyleSheet``) and icons from
    ``cdn.holoviz.org`` even with inline resources; the same files are in the installed
    package. URLs inside those style sheets (spinner images) are inlined too.

    Parameters
    ----------
    html : str
        A page written by Panel's ``save``.

    Returns
    -------
    str
        The page; URLs of files Panel does not ship are left as they are.
    """
    import panel

    dist = Path(panel.__file__).parent / "dist"

    def data_url(file: Path) -> str | None:
        if not file.is_file() or file.suffix not in _MIME:
            return None
        data = file.read_bytes()
        if file.suffix == ".css":
            data = re.sub(rb"url\(['\"]?(?!data:)([^'\")]+)['\"]?\)",
                          lambda m: b"url('" + (data_url((file.parent / m[1].decode()).resolve())
                                                or m[1].decode()).encode() + b"')", data)
        return f"data:{_MIME[file.suffix]};base64,{base64.b64encode(data).decode()}"

    return _PANEL_CDN.sub(lambda m: data_url(dist / m[1]) or m[0], html)
