"""Plots of a predicted Kohn–Sham Hamiltonian: an orbital level diagram and a block-error map.

The numbers come from :mod:`ddviz.methods.hamiltonian.evaluate` (``OrbitalLevels.window``,
``block_errors``); here they are only drawn, with their units on the axes (eV or Ha, meV).
Both work with the Bokeh backend (app, notebook) and the Matplotlib backend (PNG/SVG export).
"""

from __future__ import annotations

import holoviews as hv
import numpy as np

from ddviz.viz.plots import styled

EV_PER_HA = 27.211386245988
UNITS = {"eV": EV_PER_HA, "Ha": 1.0}
COLOURS = {"occupied": "#1f77b4", "virtual": "#ff7f0e"}


def level_diagram(levels, unit: str = "eV") -> hv.Overlay:
    """Predicted (left) and reference (right) orbital energies as horizontal bars.

    Without reference energies (None in ``levels``) only the predicted column is drawn.

    Occupied levels blue, virtual orange; a thin grey line joins each level to its partner.

    Parameters
    ----------
    levels : list of (int, str, float, float)
        ``(index, 'occupied' or 'virtual', predicted, reference or None)``, energies in Ha, as
        :meth:`ddviz.methods.hamiltonian.evaluate.OrbitalLevels.window` returns them.
    unit : str
        ``"eV"`` or ``"Ha"``: the energy axis.

    Returns
    -------
    holoviews.Overlay

    Raises
    ------
    ValueError
        An unknown ``unit``.
    """
    if unit not in UNITS:
        raise ValueError(f"unit must be one of {', '.join(UNITS)}, got {unit!r}")
    f = UNITS[unit]
    label = f"orbital energy ({unit})"
    rows = {k: [] for k in COLOURS}
    links = []
    for index, kind, pred, ref in levels:
        rows[kind].append((0.1, pred * f, 0.9, pred * f, index))
        if ref is not None:
            rows[kind].append((1.1, ref * f, 1.9, ref * f, index))
            links.append((0.9, pred * f, 1.1, ref * f))
    with_reference = any(ref is not None for *_, ref in levels)
    kdims = ["x0", hv.Dimension("y0", label=label), "x1", "y1"]
    parts = [_lines(hv.Segments(links, kdims=kdims), "lightgrey", 1)]
    for kind, colour in COLOURS.items():
        seg = hv.Segments(rows[kind], kdims=kdims, vdims=["orbital"], label=kind)
        parts.append(_lines(seg, colour, 3))
    overlay = hv.Overlay(parts)
    energies = [e * f for _, _, p, r in levels for e in (p, r) if e is not None] or [0.0]
    pad = 0.05 * (max(energies) - min(energies) or 1.0)
    title = f"orbital energies ({unit}): predicted" + (" | reference" if with_reference else "")
    ticks = [(0.5, "predicted")] + ([(1.5, "reference")] if with_reference else [])
    return styled(overlay, title=title,
                  xlim=(0, 2 if with_reference else 1),
                  ylim=(min(energies) - pad, max(energies) + pad), xticks=ticks, xlabel="",
                  ylabel=label).opts(legend_position="right", backend="bokeh")


def _lines(el, colour: str, width: float):
    """Colour and line width in both backends (their names for the width differ)."""
    return el.opts(color=colour, line_width=width, backend="bokeh").opts(
        color=colour, linewidth=width, backend="matplotlib")


def block_error_map(errors_mev, symbols) -> hv.HeatMap:
    """Mean |H_pred - H_ref| of each atom-pair block as a heat map (meV).

    Parameters
    ----------
    errors_mev : array_like, shape (natoms, natoms)
        Block errors in meV (:func:`ddviz.methods.hamiltonian.evaluate.block_errors` x ``MEV``).
    symbols : list of str
        The atoms' chemical symbols; the axes read ``"0 O"``, ``"1 H"``, ... (numbers from 0,
        zero-padded so that the axes keep the atoms' order).

    Returns
    -------
    holoviews.HeatMap

    Raises
    ------
    ValueError
        ``errors_mev`` is not square, or does not match ``symbols``.
    """
    e = np.asarray(errors_mev, dtype=float)
    if e.ndim != 2 or e.shape[0] != e.shape[1] or e.shape[0] != len(symbols):
        raise ValueError(f"block errors of shape {e.shape} do not match {len(symbols)} atoms")
    width = len(str(max(len(symbols) - 1, 0)))
    names = [f"{i:0{width}d} {s}" for i, s in enumerate(symbols)]
    data = [(names[j], names[i], e[i, j]) for i in range(len(names)) for j in range(len(names))]
    heat = hv.HeatMap(data, kdims=["atom J", "atom I"], vdims=[hv.Dimension(
        "error", label="mean |ΔH| of block (meV)")])
    heat = styled(heat, cmap="viridis", colorbar=True,
                  title="H block error, mean |ΔH| (meV)")
    return heat.opts(tools=["hover"], invert_yaxis=True, backend="bokeh")
