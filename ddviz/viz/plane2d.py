"""HoloViews plots of one 2D Kohn–Sham system against EDNN and DCIGN (the app's 2D tab).

Drawn from a :class:`ddviz.evaluate.plane2d.Plane2DResult`: the reference and DCIGN densities
and their difference as linked images (one colour scale for both densities, a diverging one for
the difference), a bar chart of the energy terms per source, and an EDNN's tile grid with each
tile's contribution. Units in every label: bohr, electrons/bohr^2, Ha, mHa. Bokeh backend.
"""

from __future__ import annotations

import holoviews as hv
import holoviews.plotting.bokeh  # noqa: F401  (registers the backend)
import numpy as np
import pandas as pd

from ddviz.evaluate.plane2d import SOURCES, Plane2DResult
from ddviz.toys.plane2d.solver import ENERGY_KEYS

hv.Store.set_current_backend("bokeh")

RHO2D = "e/bohr^2"
XY = ["x (bohr)", "y (bohr)"]
IMAGE_SIZE = 240  # pixels of the frame of each image (three fit 1400 px beside the controls)
COLOURS = {"reference": "#444444", "ednn_rho": "#1f77b4", "ednn_v": "#ff7f0e",
           "dcign_exact": "#2ca02c"}
MODEL_NAMES = {"ednn_rho": "EDNN from ρ", "ednn_v": "EDNN from v_ext"}


def _image(values: np.ndarray, length: float, label: str, bounds=None) -> hv.Image:
    """An [ix, iy] array as an image with x to the right and y up (bohr)."""
    bounds = bounds or (0.0, 0.0, length, length)
    return hv.Image(np.asarray(values).T[::-1], bounds=bounds, kdims=XY, vdims=[label])


def density_images(result: Plane2DResult) -> hv.Layout:
    """Reference, DCIGN and DCIGN - reference densities, with linked axes.

    The two densities share one colour scale (0 to the larger maximum); the difference is drawn
    with a diverging map symmetric about zero.

    Returns
    -------
    holoviews.Layout
        Three images (x, y in bohr; values in e/bohr^2).
    """
    L = result.box.length
    top = float(max(result.reference.max(), result.dcign.max()))
    errors = result.density_errors()
    d = result.difference
    m = float(np.abs(d).max()) or 1e-12
    size = {"frame_width": IMAGE_SIZE, "frame_height": IMAGE_SIZE, "tools": ["hover"],
            "toolbar": "above"}
    # the axes are linked: only the first image labels y; the densities' shared scale has one
    # colour bar, on the DCIGN image
    ref = _image(result.reference, L, "ρ").opts(
        clim=(0.0, top), cmap="viridis", colorbar=False,
        title=f"reference ρ ({result.functional.upper()}, N = {result.electrons})", **size)
    pred = _image(result.dcign, L, "ρ").opts(
        clim=(0.0, top), cmap="viridis", colorbar=True, clabel=f"ρ ({RHO2D}), both",
        yaxis=None, title=f"DCIGN ρ (N = {errors['electrons_dcign']:.3f})", **size)
    diff = _image(d, L, "Δρ").opts(
        clim=(-m, m), cmap="RdBu_r", colorbar=True, clabel=f"Δρ ({RHO2D})", yaxis=None,
        title=f"DCIGN − reference (L1 {errors['rel_l1']:.1%})", **size)
    return (ref + pred + diff).opts(shared_axes=True).cols(3)


def energy_frame(result: Plane2DResult) -> pd.DataFrame:
    """Long-form energies: columns ``term``, ``source`` (a label of :data:`SOURCES`), ``Ha``.

    Every term and source, source by source (in the order of :data:`SOURCES`, each in the order
    of :data:`ENERGY_KEYS`: the order HoloViews draws grouped bars in, which its colour column
    keeps; see :func:`energy_bars`); NaN where a source has no value (E_kin, E_tot of the exact
    functionals).
    """
    rows = [(k, SOURCES[s], result.energies[s][k]) for s in SOURCES for k in ENERGY_KEYS]
    return pd.DataFrame(rows, columns=["term", "source", "Ha"])


def energy_bars(result: Plane2DResult) -> hv.Bars:
    """Grouped bars of E_kin, E_ext, E_H, E_x, E_c, E_tot (Ha) per source (none for NaN).

    HoloViews 1.2x computes the bars' colour column in the order of the data given while it
    sorts the bars by source: :func:`energy_frame` gives them sorted already, so each bar keeps
    its source's colour (a test renders the plot and checks).
    """
    frame = energy_frame(result).rename(columns={"Ha": "energy (Ha)"})
    term = hv.Dimension("term", values=list(ENERGY_KEYS))
    source = hv.Dimension("source", values=list(SOURCES.values()))
    cmap = {SOURCES[s]: c for s, c in COLOURS.items()}
    return hv.Bars(frame, kdims=[term, source], vdims=["energy (Ha)"]).opts(
        multi_level=False, color="source", cmap=cmap, legend_position="bottom",
        show_legend=True, frame_width=460, frame_height=240, tools=["hover"],
        title=f"Energy terms (Ha); models trained on {result.model_functional.upper()}",
        xlabel="term", ylabel="energy (Ha)", toolbar="above")


def energy_table(result: Plane2DResult) -> pd.DataFrame:
    """The table beside the bar chart: reference (Ha) and each prediction's error (mHa).

    Values as text with fixed decimals ("—" where a source has no value).
    """
    def fmt(value, digits):
        return "—" if not np.isfinite(value) else f"{value:.{digits}f}"

    out = []
    for row in result.table():
        line = {"term": row["term"], "reference (Ha)": fmt(row["reference_Ha"], 4)}
        for s, label in SOURCES.items():
            if s != "reference":
                line[f"{label}: error (mHa)"] = fmt(row[f"{s}_error_mHa"], 1)
        out.append(line)
    return pd.DataFrame(out)


def tile_map(result: Plane2DResult, role: str = "ednn_rho", term: str = "E_tot"):
    """An EDNN's tile grid: each tile's contribution to ``term`` (mHa) as a heat map.

    Parameters
    ----------
    result : Plane2DResult
    role : {"ednn_rho", "ednn_v"}
    term : str
        One of :data:`ENERGY_KEYS`.

    Returns
    -------
    holoviews.Overlay
        The heat map (diverging colours about zero, x and y in bohr) with each tile's value.
    """
    tiles = 1e3 * result.tiles[role][ENERGY_KEYS.index(term)]  # (tx, ty) mHa
    side = result.tile_bohr[role]
    tx, ty = tiles.shape
    label = f"{term} per tile (mHa)"
    m = float(np.abs(tiles).max()) or 1e-12
    img = _image(tiles, None, label, bounds=(0.0, 0.0, tx * side, ty * side)).opts(
        cmap="RdBu_r", clim=(-m, m), colorbar=True, clabel=label, frame_width=IMAGE_SIZE,
        frame_height=IMAGE_SIZE, tools=["hover"], toolbar="above",
        title=f"{MODEL_NAMES[role]}: {term} per tile (mHa)\n{tx} x {ty} tiles of "
              f"{side:.2f} bohr, sum {tiles.sum():.1f} mHa")
    centres = (np.arange(tx) + 0.5) * side, (np.arange(ty) + 0.5) * side
    xs, ys = np.meshgrid(*centres, indexing="ij")
    values = tiles.ravel()
    dark = np.abs(values) > 0.6 * m  # white text on the strongest colours
    labels = [hv.Labels((xs.ravel()[pick], ys.ravel()[pick], [f"{v:.0f}" for v in values[pick]]),
                        kdims=XY, vdims=["mHa"]).opts(text_font_size="8pt", text_color=colour)
              for pick, colour in ((~dark, "black"), (dark, "white"))]
    return img * labels[0] * labels[1]
