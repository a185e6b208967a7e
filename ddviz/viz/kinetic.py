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


def energy_trace(energies, ks_energy_ha: float | None = None) -> hv.Layout:
    """The OF-DFT energy per iteration, and its distance from Kohn–Sham.

    Parameters
    ----------
    energies : sequence of float
        Energy after each iteration (Ha), iteration 1 first.
    ks_energy_ha : float, optional
        The Kohn–Sham energy (Ha): a dashed line on the left, and the right plot.

    Returns
    -------
    holoviews.Layout
        "energy per iteration" (E in Ha) and, with the reference, "|E − E_KS| per iteration"
        (mHa, log scale).
    """
    it = np.arange(1, len(energies) + 1)
    e = np.asarray(energies, dtype=float)
    left = hv.Curve((it, e), ITER, "E (Ha)", label="OF-DFT").opts(
        color="#d62728", tools=["hover"])
    left = left * hv.Scatter((it, e), ITER, "E (Ha)").opts(color="#d62728", size=4)
    if ks_energy_ha is not None:
        left = left * hv.HLine(ks_energy_ha).opts(color="black", line_dash="dashed")
    left = left.opts(title="energy per iteration (dashed: Kohn–Sham)", show_legend=False,
                     xlabel="iteration", ylabel="E (Ha)", **SIZE)
    if ks_energy_ha is None:
        return hv.Layout([left])
    gap = np.maximum(1e3 * np.abs(e - ks_energy_ha), FLOOR_MHA)
    right = (hv.Curve((it, gap), ITER, "|E − E_KS| (mHa)")
             * hv.Scatter((it, gap), ITER, "|E − E_KS| (mHa)").opts(size=4)).opts(
        hv.opts.Curve(color="#9467bd", logy=True, tools=["hover"]),
        hv.opts.Scatter(color="#9467bd", logy=True))
    right = right.opts(title="|E − E_KS| per iteration (mHa)", xlabel="iteration",
                       ylabel="|E − E_KS| (mHa)", logy=True, **SIZE)
    return left + right


def density_profile(reference, density=None, iteration: int | None = None) -> hv.Overlay:
    """The density on the line through the molecule: OF-DFT's against Kohn–Sham's.

    Parameters
    ----------
    reference : ddviz.methods.kinetic.analysis.Reference
        Its line ``s`` (bohr), Kohn–Sham ``density`` (e/bohr^3) and nuclei ``atoms_s``.
    density : array (points,), optional
        The OF-DFT density on the same line (e/bohr^3).
    iteration : int, optional
        The iteration it is from (for the legend).

    Returns
    -------
    holoviews.Overlay
    """
    dims = (hv.Dimension("s", label="distance along the molecular axis (bohr)"),
            hv.Dimension("rho", label="ρ (e/bohr^3)"))
    ks = hv.Curve((reference.s, reference.density), *dims, label="Kohn–Sham").opts(
        color="black", line_dash="dashed", line_width=2)
    plot = ks
    if density is not None:
        label = f"OF-DFT, iteration {iteration}" if iteration is not None else "OF-DFT"
        plot = plot * hv.Curve((reference.s, density), *dims, label=label).opts(
            color="#d62728", line_width=2, tools=["hover"])
    nuclei = hv.Scatter((reference.atoms_s, np.zeros(len(reference.atoms_s))), *dims,
                        label="nuclei").opts(color="grey", marker="triangle", size=9)
    return (plot * nuclei).opts(title="density on the molecular axis", legend_position="top_right",
                                **SIZE)


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
    pad = 0.05 * (hi - lo or 1.0)
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
    title = "T_s^ML against T_s, test split"
    if summary:
        title += f" ({summary['samples']} samples, MAE {summary['ts_mae_mha']:.1f} mHa)"
    return plot.opts(title=title, legend_position="bottom_right", frame_width=380,
                     frame_height=330, toolbar="above")


def kinetic_density_images(sl) -> hv.Layout:
    """A sample's kinetic-energy densities on a plane: the model's and von Weizsäcker's.

    One diverging colour scale for both, symmetric about zero and clipped at the 99.5th
    percentile of |tau| (the nuclear peaks would wash the rest out); nuclei as white dots.

    Parameters
    ----------
    sl : ddviz.methods.kinetic.analysis.KineticSlice

    Returns
    -------
    holoviews.Layout
        Two images (u, v in bohr; tau in Ha/bohr^3) with linked axes.
    """
    uv = ["u (bohr)", "v (bohr)"]
    label = "τ (Ha/bohr^3)"
    top = float(np.percentile(np.abs(np.concatenate([sl.tau_ml.ravel(), sl.tau_vw.ravel()])),
                              99.5)) or 1e-12
    half = (sl.u[1] - sl.u[0]) / 2
    bounds = (sl.u[0] - half, sl.v[0] - half, sl.u[-1] + half, sl.v[-1] + half)
    nuclei = hv.Points(sl.atoms_uv, uv).opts(color="white", line_color="black", size=7)
    size = {"frame_width": 250, "frame_height": 250, "toolbar": "above", "tools": ["hover"],
            "cmap": "RdBu_r", "clim": (-top, top)}
    ml = hv.Image(sl.tau_ml.T[::-1], bounds=bounds, kdims=uv, vdims=[label]).opts(
        title=f"τ of the model (T_s^ML {sl.Ts_ml_Ha:.4f} Ha)", colorbar=False, **size)
    vw = hv.Image(sl.tau_vw.T[::-1], bounds=bounds, kdims=uv, vdims=[label]).opts(
        title=f"τ von Weizsäcker (T_s {sl.Ts_Ha:.4f} Ha)", colorbar=True, clabel=label,
        yaxis=None, **size)
    return (ml * nuclei + vw * nuclei).opts(shared_axes=True).cols(2)


__all__ = ["density_profile", "energy_trace", "kinetic_density_images", "parity_plot"]
