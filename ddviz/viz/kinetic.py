"""HoloViews plots of OF-DFT runs and KineticNet's T_s (the app's OF-DFT tab; Bokeh backend).

Drawn from :mod:`ddviz.methods.kinetic.analysis` results: the energy per iteration against the
Kohn–Sham energy, the density on a line against the Kohn–Sham density, T_s^ML against T_s per
sample, and a sample's kinetic-energy densities on a plane. Units in every label: bohr, Ha, mHa,
e/bohr^3, Ha/bohr^3.
"""

from __future__ import annotations

import holoviews as hv
import holoviews.plotting.bokeh  # noqa: F401  (registers the backend)
import numpy as np

hv.Store.set_current_backend("bokeh")

COLOURS = {"H2": "#1f77b4", "HeH+": "#ff7f0e", "H3+": "#2ca02c"}
ITER = hv.Dimension("iteration")
SIZE = {"frame_width": 330, "frame_height": 230, "toolbar": "above"}
FLOOR_MHA = 1e-9  # |E - E_KS| below this is drawn at it (a log axis has no zero)


def energy_plot(energies, ks_energy_ha: float) -> hv.Overlay:
    """The OF-DFT energy per iteration (Ha) against the Kohn–Sham energy (dashed).

    Parameters
    ----------
    energies : sequence of float
        Energy after each iteration (Ha), iteration 1 first.
    ks_energy_ha : float
        The Kohn–Sham energy (Ha).

    Returns
    -------
    holoviews.Overlay
        Titled "energy per iteration"; the same structure for any data (streamable).
    """
    it = np.arange(1, len(energies) + 1)
    e = np.asarray(energies, dtype=float)
    return (hv.Curve((it, e), ITER, "E (Ha)").opts(color="#d62728", tools=["hover"],
                                                    framewise=True)
            * hv.Scatter((it, e), ITER, "E (Ha)").opts(color="#d62728", size=4, framewise=True)
            * hv.HLine(ks_energy_ha).opts(color="black", line_dash="dashed")).opts(
        title="energy per iteration (dashed: Kohn–Sham)", xlabel="iteration", ylabel="E (Ha)",
        show_legend=False, **SIZE)


def energy_gap_plot(energies, ks_energy_ha: float) -> hv.Overlay:
    """|E − E_KS| (mHa, log scale) per iteration; values below 1e-9 mHa drawn at 1e-9.

    Parameters
    ----------
    energies : sequence of float
        Energy after each iteration (Ha).
    ks_energy_ha : float
        The Kohn–Sham energy (Ha).

    Returns
    -------
    holoviews.Overlay
        Titled "|E − E_KS| per iteration (mHa)"; the same structure for any data.
    """
    it = np.arange(1, len(energies) + 1)
    gap = np.maximum(1e3 * np.abs(np.asarray(energies, dtype=float) - ks_energy_ha), FLOOR_MHA)
    label = "|E − E_KS| (mHa)"
    return (hv.Curve((it, gap), ITER, label).opts(color="#9467bd", logy=True, tools=["hover"],
                                                   framewise=True)
            * hv.Scatter((it, gap), ITER, label).opts(color="#9467bd", size=4, logy=True,
                                                      framewise=True)).opts(
        title="|E − E_KS| per iteration (mHa)", xlabel="iteration", ylabel=label, logy=True,
        **SIZE)


def density_profile(reference, density=None, iteration: int | None = None) -> hv.Overlay:
    """The density on the line through the molecule: OF-DFT's against Kohn–Sham's.

    Parameters
    ----------
    reference : ddviz.methods.kinetic.analysis.Reference
        Its line ``s`` (bohr), Kohn–Sham ``density`` (e/bohr^3) and nuclei ``atoms_s``.
    density : array (points,), optional
        The OF-DFT density on the same line (e/bohr^3); none yet: an empty curve.
    iteration : int, optional
        The iteration it is from (in the title).

    Returns
    -------
    holoviews.Overlay
        Kohn–Sham (dashed), OF-DFT and the nuclei; the same structure for any data.
    """
    dims = (hv.Dimension("s", label="distance along the molecular axis (bohr)"),
            hv.Dimension("rho", label="ρ (e/bohr^3)"))
    ks = hv.Curve((reference.s, reference.density), *dims, label="Kohn–Sham").opts(
        color="black", line_dash="dashed", line_width=2, framewise=True)
    of = hv.Curve((reference.s, density) if density is not None else ([], []), *dims,
                  label="OF-DFT").opts(color="#d62728", line_width=2, tools=["hover"],
                                       framewise=True)
    nuclei = hv.Scatter((reference.atoms_s, np.zeros(len(reference.atoms_s))), *dims,
                        label="nuclei").opts(color="grey", marker="triangle", size=9,
                                             framewise=True)
    title = "density on the molecular axis" + (f", iteration {iteration}" if iteration else "")
    return (ks * of * nuclei).opts(title=title, legend_position="top_right", **SIZE)


def streamed(plot, *data) -> tuple[hv.DynamicMap, hv.streams.Pipe]:
    """A plot that new data redraws in place: ``(dynamic map, pipe)``.

    ``pipe.send(data_tuple)`` redraws ``plot(*data_tuple)`` into the same Bokeh figure (its
    data sources updated, not the figure replaced), as streaming frames needs.

    Parameters
    ----------
    plot : callable
        One of this module's plot functions whose structure does not change with its data.
    *data
        Its first arguments.
    """
    pipe = hv.streams.Pipe(data=data)
    return hv.DynamicMap(lambda data: plot(*data), streams=[pipe]), pipe


def parity_plot(rows: list[dict], summary: dict | None = None,
                selected: str | None = None) -> hv.Overlay:
    """T_s^ML against the Kohn–Sham T_s (Ha), one point per sample, coloured by system.

    Parameters
    ----------
    rows : list of dict
        From :func:`ddviz.methods.kinetic.analysis.parity`.
    summary : dict, optional
        From :func:`~ddviz.methods.kinetic.analysis.parity_summary` (the MAE in the title).
    selected : str, optional
        A sample's ``file``: drawn ringed.

    Returns
    -------
    holoviews.Overlay
        Hover shows sample, system and error (mHa).
    """
    ts = hv.Dimension("Ts_Ha", label="T_s Kohn–Sham (Ha)")
    ml = hv.Dimension("Ts_ml_Ha", label="T_s^ML (Ha)")
    vdims = [ml, hv.Dimension("error_mHa", label="error (mHa)"), "system", "file"]
    values = [r[k] for r in rows for k in ("Ts_Ha", "Ts_ml_Ha")]
    lo, hi = (min(values), max(values)) if values else (0.0, 1.0)
    pad = 0.1 * (hi - lo or 1.0)
    plot = hv.Curve([(lo - pad, lo - pad), (hi + pad, hi + pad)], ts, ml).opts(
        color="grey", line_dash="dotted")
    for system in dict.fromkeys(r["system"] for r in rows):
        data = [tuple(r[k] for k in ("Ts_Ha", "Ts_ml_Ha", "error_mHa", "system", "file"))
                for r in rows if r["system"] == system]
        plot = plot * hv.Scatter(data, ts, vdims, label=system).opts(
            color=COLOURS.get(system, "#7f7f7f"), size=7, tools=["hover", "tap"])
    chosen = [r for r in rows if r["file"] == selected]
    if chosen:
        plot = plot * hv.Scatter([(chosen[0]["Ts_Ha"], chosen[0]["Ts_ml_Ha"])], ts, ml,
                                 label="shown on the right").opts(
            marker="circle", fill_alpha=0, line_color="black", line_width=2, size=16)
    title = "T_s^ML against T_s (test split)"
    if summary:
        title += f"\n{summary['samples']} samples, MAE {summary['ts_mae_mha']:.2f} mHa"
    return plot.opts(title=title, legend_position="bottom_right", frame_width=330,
                     frame_height=330, toolbar="above", xlim=(lo - pad, hi + pad),
                     ylim=(lo - pad, hi + pad))


def kinetic_density_images(sl) -> tuple[hv.Overlay, hv.Overlay]:
    """A sample's kinetic-energy densities on a plane: the model's and von Weizsäcker's.

    One diverging colour scale for both, symmetric about zero and clipped at the 97th
    percentile of |tau| (the nuclear peaks would wash the rest out); nuclei as white dots.
    Two plots, not one grid: show them in two HoloViews panes of one layout, whose axes Panel
    links (a Bokeh grid in one pane was drawn out of place beside other plots, Panel 1.9).

    Parameters
    ----------
    sl : ddviz.methods.kinetic.analysis.KineticSlice

    Returns
    -------
    tuple of holoviews.Overlay
        The model's and von Weizsäcker's tau (u, v in bohr; tau in Ha/bohr^3), each with the
        nuclei.
    """
    uv = ["u (bohr)", "v (bohr)"]
    label = "τ (Ha/bohr^3)"
    top = float(np.percentile(np.abs(np.concatenate([sl.tau_ml.ravel(), sl.tau_vw.ravel()])),
                              97)) or 1e-12
    half = (sl.u[1] - sl.u[0]) / 2
    bounds = (sl.u[0] - half, sl.v[0] - half, sl.u[-1] + half, sl.v[-1] + half)
    nuclei = hv.Points(sl.atoms_uv, uv).opts(color="white", line_color="black", size=7)
    size = {"frame_width": 250, "frame_height": 250, "toolbar": "above", "tools": ["hover"],
            "cmap": "RdBu_r", "clim": (-top, top)}
    ml = hv.Image(sl.tau_ml.T[::-1], bounds=bounds, kdims=uv, vdims=[label]).opts(
        title=f"τ of the model, {sl.system}\nT_s^ML {sl.Ts_ml_Ha:.4f} Ha", colorbar=False,
        **size)
    vw = hv.Image(sl.tau_vw.T[::-1], bounds=bounds, kdims=uv, vdims=[label]).opts(
        title=f"τ von Weizsäcker\nT_s {sl.Ts_Ha:.4f} Ha", colorbar=True, clabel=label,
        **size)
    return ml * nuclei, vw * nuclei


__all__ = ["density_profile", "energy_gap_plot", "energy_plot", "kinetic_density_images",
           "parity_plot", "streamed"]
