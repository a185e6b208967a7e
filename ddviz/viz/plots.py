"""HoloViews plots of a comparison: linked slices, predicted-vs-reference scatter, histograms, table.

Plots carry their units in the axis labels (bohr, e/bohr^3). They work with the Bokeh backend
(app, notebook) and the Matplotlib backend (PNG/SVG export without a browser).
"""

from __future__ import annotations

import holoviews as hv
import holoviews.plotting.bokeh  # registers the backends; Bokeh is the default
import holoviews.plotting.mpl
import numpy as np

from ddviz.grid import DIMS, Grid
from ddviz.units import DENSITY_UNIT, LINE_DENSITY_UNIT

hv.Store.set_current_backend("bokeh")

RHO = DENSITY_UNIT
PANELS = ("reference", "predicted", "error")
FRAME_WIDTH = 190  # pixels per slice panel in the browser (three fit 1400 px beside the inputs) (bohr scaled equally on both axes)
PAD_WIDTH, PAD_HEIGHT = 150, 70  # pixels around the image: axis labels, colour bar, title


def styled(el, **options):
    """Apply options valid in both backends to both (exports use Matplotlib, the app Bokeh)."""
    return el.opts(**options, backend="bokeh").opts(**options, backend="matplotlib")


def plane(grid: Grid, values, axis: int, index: int) -> tuple[np.ndarray, tuple, tuple[str, str]]:
    """The slice ``values[index]`` along ``axis`` as an image.

    Returns (image (rows, cols) with rows along the second in-plane axis, bounds
    (left, bottom, right, top) in bohr, axis labels). Straight grids use Cartesian coordinates;
    skewed grids the distance along each voxel vector from the origin.
    """
    u, v = [ax for ax in range(3) if ax != axis]
    img = np.take(np.asarray(values), index, axis=axis).T  # rows = v, cols = u
    h = grid.spacing
    start = grid.origin if grid.axis_aligned else np.zeros(3)
    bounds = (start[u] - h[u] / 2, start[v] - h[v] / 2,
              start[u] + (grid.shape[u] - 0.5) * h[u], start[v] + (grid.shape[v] - 0.5) * h[v])
    names = "xyz" if grid.axis_aligned else DIMS
    return img, bounds, (f"{names[u]} (bohr)", f"{names[v]} (bohr)")


def plane_name(grid: Grid, axis: int, index: int) -> str:
    """E.g. 'z = 1.20 bohr' (straight grids) or 'c = 1.20 bohr from the origin' (skewed)."""
    if grid.axis_aligned:
        return f"{'xyz'[axis]} = {grid.origin[axis] + index * grid.spacing[axis]:.2f} bohr"
    return f"{DIMS[axis]} = {index * grid.spacing[axis]:.2f} bohr from the origin"


def projected_atoms(atoms, grid: Grid, axis: int, index: int, within: float = 1.5) -> np.ndarray:
    """The atoms near a slice plane, for drawing on the slice.

    Parameters
    ----------
    atoms : ase.Atoms
        The structure (Å).
    grid : ddviz.grid.Grid
        The grid the slice is taken from.
    axis : int
        Axis normal to the slice (0, 1 or 2).
    index : int
        Grid index of the slice along ``axis``.
    within : float, bohr
        Distance from the plane up to which atoms are kept.

    Returns
    -------
    (n, 3) float array
        In-plane coordinates (bohr, as in :func:`plane`) and atomic number of each atom.
    """
    from ddviz.units import ang_to_bohr

    pos = ang_to_bohr(atoms.positions)
    frac = (pos - grid.origin) @ np.linalg.inv(grid.vectors)  # in grid steps
    u, v = [ax for ax in range(3) if ax != axis]
    dist = np.abs(frac[:, axis] - index) * grid.spacing[axis]
    keep = dist <= within
    start = grid.origin if grid.axis_aligned else np.zeros(3)
    cu = start[u] + frac[keep, u] * grid.spacing[u]
    cv = start[v] + frac[keep, v] * grid.spacing[v]
    return np.column_stack([cu, cv, atoms.numbers[keep]])


def slice_panels(grid: Grid, fields: dict[str, np.ndarray], axis: int, index: int, atoms=None,
                 cmap: str = "viridis") -> hv.Layout:
    """Reference, prediction and error side by side on one grid plane, sharing axes.

    The density panels share one colour range; the error uses a symmetric diverging map over a
    robust range (:func:`error_range`), its title stating the largest |error| on the plane.

    Parameters
    ----------
    grid : ddviz.grid.Grid
        The grid of the fields.
    fields : dict
        Name ('reference', 'predicted', 'error') -> values of shape ``grid.shape`` (e/bohr^3).
    axis, index : int
        The plane: ``index`` along ``axis``.
    atoms : ase.Atoms, optional
        Atoms within 1.5 bohr of the plane are drawn as dots.
    cmap : str
        Colour map of the densities.

    Returns
    -------
    holoviews.Layout
        One panel per field (linked zoom).
    """
    images = {k: plane(grid, v, axis, index)[0] for k, v in fields.items()}
    _, bounds, labels = plane(grid, next(iter(fields.values())), axis, index)
    dots = projected_atoms(atoms, grid, axis, index)[:, :2] if atoms is not None else None
    return _panels(images, bounds, labels, plane_name(grid, axis, index), dots, cmap)


def plane_panels(grid: Grid, fields: dict[str, np.ndarray], where, atoms=None,
                 cmap: str = "viridis") -> hv.Layout:
    """As :func:`slice_panels`, on any plane (Miller indices, three atoms), interpolated.

    Parameters
    ----------
    grid : ddviz.grid.Grid
        The grid of the fields.
    fields : dict
        Name -> values of shape ``grid.shape`` (e/bohr^3).
    where : ddviz.viz.planes.Plane
        The plane (see :func:`ddviz.viz.planes.miller_plane`, :func:`~ddviz.viz.planes.atoms_plane`).
    atoms : ase.Atoms, optional
        Atoms within 1.5 bohr of the plane are drawn as dots.
    cmap : str
        Colour map of the densities.

    Returns
    -------
    holoviews.Layout
        One panel per field; coordinates in bohr along the plane's two axes.
    """
    from ddviz.viz.planes import sample_plane

    images = {k: sample_plane(grid, v, where).T for k, v in fields.items()}  # rows = v
    dots = None
    if atoms is not None:
        from ddviz.units import ang_to_bohr

        pos = ang_to_bohr(atoms.positions)
        dots = where.coordinates(pos[where.distance(pos) <= 1.5])
    return _panels(images, where.bounds(), ("s (bohr)", "t (bohr)"), where.name, dots, cmap)


def error_range(error, percentile: float = 99.5) -> tuple[float, float]:
    """(colour limit, largest |error|): the ``percentile`` of |error| and its maximum.

    One point at a nucleus can be far larger than the rest; a colour range set by it leaves the
    rest of the image blank.

    Parameters
    ----------
    error : array-like
        Errors (NaN ignored).
    percentile : float
        Of |error|, sets the colour limit.

    Returns
    -------
    (float, float)
        Both positive (1e-12 where the error is zero everywhere).
    """
    a = np.abs(np.asarray(error, dtype=float))
    a = a[np.isfinite(a)]
    if a.size == 0:
        return 1e-12, 1e-12
    top = float(a.max()) or 1e-12
    return (float(np.percentile(a, percentile)) or top), top


def _panels(images: dict, bounds, labels, where: str, dots, cmap: str) -> hv.Layout:
    """The panels of :func:`slice_panels` from images (rows along the second axis)."""
    xl, yl = labels
    tops = [np.nanmax(images[k]) for k in ("reference", "predicted")
            if k in images and np.isfinite(images[k]).any()]
    top = float(max(tops)) if tops else 1.0
    panels = []
    for name in PANELS:
        if name not in images:
            continue
        img = images[name]
        label = f"{name} ({RHO})" if name != "error" else f"predicted - reference ({RHO})"
        el = hv.Image(img[::-1], bounds=bounds, kdims=[xl, yl], vdims=[label]).relabel(name)
        title = f"{name}, {where}"
        if name == "error":
            m, largest = error_range(img)
            el = styled(el.redim.range(**{label: (-m, m)}), cmap="RdBu_r")
            title = f"error, {where}\n(colours to ±{m:.2g}: 99.5%; max {largest:.3g})"
        else:
            el = styled(el.redim.range(**{label: (0.0, top)}), cmap=cmap)
        el = styled(el, colorbar=True, title=title)
        height = round(FRAME_WIDTH * (bounds[3] - bounds[1]) / (bounds[2] - bounds[0]))
        el = el.opts(aspect="equal", backend="matplotlib").opts(  # room for axes and colour bar
            width=FRAME_WIDTH + PAD_WIDTH, height=max(height, 40) + PAD_HEIGHT, backend="bokeh")
        if dots is not None:
            pts = hv.Points(np.asarray(dots).reshape(-1, 2), kdims=[xl, yl])
            el = el * pts.opts(color="black", size=6, backend="bokeh").opts(
                color="black", s=30, backend="matplotlib")
        panels.append(el)
    return hv.Layout(panels).cols(len(panels)).opts(sublabel_format="", fig_inches=5,
                                                    hspace=0.7, backend="matplotlib")


def layout_size(layout: hv.Layout) -> tuple[int, int]:
    """(width, height) in pixels that a Bokeh rendering of :func:`slice_panels` needs."""
    heights = [el.opts.get("plot", backend="bokeh").kwargs.get("height", FRAME_WIDTH)
               for el in (p.get(0) if isinstance(p, hv.Overlay) else p for p in layout)]
    return len(heights) * (FRAME_WIDTH + PAD_WIDTH + 10), max(heights) + 40


def scatter(predicted, reference, max_points: int | None = None, dynamic: bool = True,
            quick: bool = False):
    """Predicted vs reference density of every grid point (datashaded), with the y = x line.

    ``dynamic`` re-rasterizes on zoom (needs a live server or notebook); exports use False.
    ``quick``: the points counted per pixel with NumPy (:func:`counts_image`) instead, for a
    process's first draw while datashader's kernels compile (no re-binning on zoom).
    """
    pred = np.asarray(predicted).ravel()
    ref = np.asarray(reference).ravel()
    if max_points and pred.size > max_points:
        keep = np.random.default_rng(0).choice(pred.size, max_points, replace=False)
        pred, ref = pred[keep], ref[keep]
    kx, ky = f"reference ({RHO})", f"predicted ({RHO})"
    top = float(max(ref.max(initial=0), pred.max(initial=0)))
    line = styled(hv.Curve([(0, 0), (top, top)], kdims=[kx], vdims=[ky]), color="red")
    if quick:
        shaded = styled(counts_image(ref, pred, [kx, ky]), cmap="fire", cnorm="eq_hist")
    else:
        from holoviews.operation.datashader import rasterize

        pts = hv.Points((ref, pred), kdims=[kx, ky])
        # ranges given: the first image is aggregated once (without, a live plot aggregates it
        # twice, and sends both); zooming still re-aggregates. Spread with NumPy: datashader's
        # dynspread costs 3 s more of numba compiling per process (1 s for rasterize)
        raster = rasterize(pts, dynamic=dynamic, x_range=_span(ref), y_range=_span(pred))
        shaded = styled(raster.apply(_spread_image) if dynamic else _spread_image(raster),
                        cmap="fire", cnorm="eq_hist")
    return styled(shaded * line, title="predicted vs reference")


def _span(values) -> tuple[float, float]:
    """(min, max) of values, widened to a non-empty range."""
    lo, hi = (float(np.min(values)), float(np.max(values))) if np.size(values) else (0.0, 1.0)
    return lo, hi if hi > lo else lo + 1.0


def _spread(counts: np.ndarray) -> np.ndarray:
    """Counts per pixel, spread into empty neighbouring pixels.

    Empty pixels (0 or NaN) next to counted ones get their largest neighbouring count, so that a
    point alone covers 3x3 pixels (as datashader's dynspread shows it); still-empty pixels become
    NaN (transparent).
    """
    counts = np.nan_to_num(np.asarray(counts, dtype=float))
    padded = np.pad(counts, 1)
    rows, cols = counts.shape
    around = np.max([padded[i:i + rows, j:j + cols] for i in range(3) for j in range(3)], axis=0)
    image = np.where(counts > 0, counts, around)
    image[image == 0] = np.nan
    return image


def _spread_image(image: hv.Image) -> hv.Image:
    """:func:`_spread` applied to an image of counts (e.g. datashader's)."""
    counts = image.dimension_values(2, flat=False)[::-1]  # top row first
    return hv.Image(_spread(counts), bounds=image.bounds.lbrt(), kdims=image.kdims,
                    vdims=["count"])


def counts_image(x, y, kdims, size: tuple[int, int] = (400, 400)) -> hv.Image:
    """Points counted per pixel of an image spanning their range.

    Counted as datashader's rasterize counts them, spread as :func:`_spread` says.

    Parameters
    ----------
    x, y : (M,) array-like
        Point coordinates.
    kdims : list
        The image's two key dimensions (names and labels of x and y).
    size : (int, int)
        Width and height in pixels.

    Returns
    -------
    holoviews.Image
        The counts (NaN where no point falls).
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    (x0, x1), (y0, y1) = _span(x), _span(y)
    counts, _, _ = np.histogram2d(y, x, bins=(size[1], size[0]), range=[[y0, y1], [x0, x1]])
    return hv.Image(_spread(counts)[::-1], bounds=(x0, y0, x1, y1), kdims=kdims,
                    vdims=["count"])


def examples() -> list:
    """Tiny figures of each kind drawn for a comparison.

    Slices, quick scatter, histograms and table, e.g. to pay the first-use costs of drawing them
    (see :func:`warm_up`).
    """
    rng = np.random.default_rng(0)
    a, b = rng.random(64), rng.random(64)
    grid = Grid(np.zeros(3), np.eye(3), (4, 4, 4), (False, False, False))
    field = rng.random(grid.shape)
    return [*slice_panels(grid, {"reference": field, "predicted": field, "error": field}, 2, 1),
            scatter(a, b, quick=True), error_histogram(a - b), density_histogram(a),
            metrics_table({"rel_l1": 0.1, "points": 64}, "4×4×4 points")]


def warm_up(datashader: bool = True) -> None:
    """Pay the first-use costs of drawing once per process.

    With ``datashader``, compile datashader's kernels for :func:`scatter` (numba: 1-4 s here);
    without, draw the :func:`examples` with Bokeh (HoloViews' plot classes and Bokeh's models
    have first-use costs too). Call it e.g. in a worker thread before the first draw, so that
    these costs do not stall an app's event loop.
    """
    if datashader:
        rng = np.random.default_rng(0)
        hv.render(scatter(rng.random(64), rng.random(64)), backend="bokeh")
        return
    for figure in examples():
        hv.render(figure, backend="bokeh")


def error_histogram(error, bins: int = 100) -> hv.Histogram:
    """Histogram of predicted - reference over all grid points, counts on a log axis.

    Most points have an error near zero and a few near nuclei a large one: on a linear axis the
    histogram is one spike. Empty bins are left out of the log axis (drawn at 0.5).

    Parameters
    ----------
    error : array-like
        Errors (e/bohr^3).
    bins : int
        Number of bins.

    Returns
    -------
    holoviews.Histogram
    """
    e = np.asarray(error, dtype=float).ravel()
    counts, edges = np.histogram(e[np.isfinite(e)], bins=bins)
    hist = hv.Histogram((edges, np.maximum(counts, 0.5)), kdims=[f"error ({RHO})"],
                        vdims=["points"])
    return styled(hist, title="error distribution (log counts)", logy=True,
                  ylim=(0.5, 2.0 * max(int(counts.max(initial=1)), 1)))


def density_histogram(values, bins: int = 80, level: float | None = None):
    """Grid points per bin of log10 density (where > 1e-8), log scale, to choose an iso level.

    Parameters
    ----------
    values : array-like
        Densities (e/bohr^3).
    bins : int
        Number of bins.
    level : float, optional
        The current iso level (e/bohr^3): marked by a vertical line (:func:`level_marker`).

    Returns
    -------
    holoviews.Curve or holoviews.Overlay
        The histogram, with the marker when a level is given.
    """
    v = np.asarray(values).ravel()
    v = v[v > 1e-8]
    counts, edges = np.histogram(np.log10(v), bins=bins)
    centres = 0.5 * (edges[1:] + edges[:-1])
    curve = hv.Curve((centres, np.maximum(counts, 1)), kdims=[f"log10 density ({RHO})"],
                     vdims=["grid points"])
    curve = styled(curve, title="density histogram", logy=True).opts(
        interpolation="steps-mid", backend="bokeh")
    return curve if level is None else curve * level_marker(level)


def level_marker(level: float) -> hv.VLine:
    """A vertical line at log10 of an iso level (e/bohr^3), for :func:`density_histogram`.

    Parameters
    ----------
    level : float
        The level, e/bohr^3 (> 0).

    Returns
    -------
    holoviews.VLine
        Labelled with the level in e/bohr^3.
    """
    line = hv.VLine(float(np.log10(max(level, 1e-30))), label=f"iso level {level:.3g} {RHO}")
    return styled(line, color="#d62728")


PROPERTY_ROWS = {  # property of ddviz.evaluate.properties -> (row name, unit, format)
    "electrons": ("electrons", "e", "{:.4f}"),
    "dipole_norm_debye": ("|dipole|", "D", "{:.4f}"),
    "dipole_debye": ("dipole", "D", "({:.3f}, {:.3f}, {:.3f})"),
    "hartree_ha": ("Hartree energy", "Ha", "{:.5f}"),
}


def _property_rows(properties: dict) -> list[tuple[str, str]]:
    """Rows 'name (pred / ref)' of :func:`ddviz.evaluate.properties.compare_properties`."""
    rows = []
    for key, (name, unit, fmt) in PROPERTY_ROWS.items():
        entry = properties.get(key) or {}
        shown = []
        for side in ("predicted", "reference"):
            value = entry.get(side)
            if value is not None:
                shown.append(fmt.format(*value) if isinstance(value, list) else fmt.format(value))
        if shown:
            label = name + (" (pred / ref)" if len(shown) == 2 else " (pred)")
            rows.append((label, " / ".join(shown) + f" {unit}"))
    return rows


def metrics_table(metrics: dict, grid: str | None = None,
                  properties: dict | None = None) -> hv.Table:
    """The metrics of :func:`ddviz.evaluate.metrics.metrics` as a two-column table with units.

    Parameters
    ----------
    metrics : dict
        Name -> value (densities in e/bohr^3, lengths in bohr, counts in electrons).
    grid : str, optional
        Names the grid they come from (e.g.
        :meth:`ddviz.evaluate.comparison.Comparison.describe_grid`).
    properties : dict, optional
        :meth:`ddviz.evaluate.comparison.Comparison.properties`: electrons, dipole and Hartree
        energy of the predicted and reference densities, one row each.

    Returns
    -------
    holoviews.Table
        One row per metric.
    """
    units = {"rel_l1": "", "rel_l2": "", "rel_l1_near_nuclei": "", "mae": RHO,
             "max_abs_err": RHO, "max_abs_err_at_bohr": "bohr", "electrons_ref": "e",
             "electrons_pred": "e", "points": ""}
    rows = [] if grid is None else [("grid", grid)]
    for key, unit in units.items():
        if key not in metrics or metrics[key] is None:
            continue
        val = metrics[key]
        if key.startswith("rel_"):
            text = f"{val:.3%}"
        elif isinstance(val, (list, tuple)):
            text = "(" + ", ".join(f"{x:.2f}" for x in val) + ")"
        elif isinstance(val, int):
            text = str(val)
        else:
            text = f"{val:.4g}"
        rows.append((key, f"{text} {unit}".strip()))
    rows += _property_rows(properties or {})
    return hv.Table(rows, kdims=["metric"], vdims=["value"])


def line_axis(grid: Grid) -> int | None:
    """The one axis with more than one point of a 1D (line) grid, such as a chain's (n, 1, 1).

    Returns
    -------
    int or None
        The axis; None for a 2D or 3D grid.
    """
    long = [ax for ax, n in enumerate(grid.shape) if n > 1]
    return long[0] if len(long) == 1 else None


def line_profiles(grid: Grid, fields: dict[str, np.ndarray], atoms=None,
                  units: str = LINE_DENSITY_UNIT) -> hv.Layout:
    """Reference, prediction (one panel) and error (below, linked x) along a 1D grid.

    x: bohr along the line from the grid origin (Cartesian x for an x-aligned chain); density in
    ``units``, the Sample's or the Comparison's (:attr:`Comparison.units
    <ddviz.evaluate.comparison.Comparison.units>`; a chain's electrons/bohr). Atoms on the line
    are drawn as black dots at density 0.
    """
    axis = line_axis(grid)
    if axis is None:
        raise ValueError(f"not a 1D grid: shape {grid.shape}")
    x = grid.origin[axis] * grid.axis_aligned + np.arange(grid.shape[axis]) * grid.spacing[axis]
    xdim = f"{'xyz'[axis] if grid.axis_aligned else DIMS[axis]} (bohr)"
    ydim = f"density ({units})"
    colours = {"reference": "black", "predicted": "#d62728"}
    curves = [styled(hv.Curve((x, np.ravel(fields[name])), kdims=[xdim], vdims=[ydim],
                              label=name), color=colours[name])
              for name in ("reference", "predicted") if name in fields]
    if atoms is not None:
        from ddviz.units import ang_to_bohr

        frac = (ang_to_bohr(atoms.positions) - grid.origin) @ np.linalg.inv(grid.vectors)
        on_line = grid.origin[axis] * grid.axis_aligned + frac[:, axis] * grid.spacing[axis]
        curves.append(styled(hv.Scatter((on_line, np.zeros(len(on_line))), kdims=[xdim],
                                        vdims=[ydim], label="atoms"), color="black"))
    top = styled(hv.Overlay(curves), title="density along the chain", show_legend=True)
    top = top.opts(width=700, height=300, backend="bokeh").opts(aspect=2.5, backend="matplotlib")
    panels = [top]
    if "error" in fields:
        error = hv.Curve((x, np.ravel(fields["error"])), kdims=[xdim],
                         vdims=[f"predicted - reference ({units})"], label="error")
        panels.append(styled(error, color="#1f77b4", title="error along the chain").opts(
            width=700, height=220, backend="bokeh").opts(aspect=2.5, backend="matplotlib"))
    return hv.Layout(panels).cols(1).opts(sublabel_format="", backend="matplotlib")
