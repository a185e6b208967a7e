"""The OF-DFT tab: orbital-free DFT of a two-electron molecule, watched as it converges.

Left: a structure (the presets H2, HeH+, H3+ at equilibrium, or a structure file of the data
folders with its charge), the kinetic functional (a KineticNet model file of the models folder,
``kinetic-2e.safetensors`` first, or the exact von Weizsäcker functional), Run and Stop. A run
first solves the Kohn–Sham reference (PySCF, same functional, basis and grid), then minimises
the orbital-free energy from the core Hamiltonian's orbital; every L-BFGS iteration streams a
frame: the energy trace (Ha, and |E − E_KS| in mHa) and the density on the molecular axis
against Kohn–Sham's. Stop ends the run after its current iteration. The readout gives the
energy, its parts, the error against Kohn–Sham and the density's relative L1 error.

Below: T_s^ML against the Kohn–Sham T_s for every sample of a ``kinetic-2e`` dataset's test
split (a parity plot), and a chosen sample's kinetic-energy density on the plane of its atoms,
the model's beside von Weizsäcker's.

Usable in Jupyter: ``from ddviz.app import OFDFTTab; tab = OFDFTTab(functional="vw");
tab.runner.run()`` runs at once, in the calling thread.
"""

from __future__ import annotations

from functools import cached_property

import panel as pn

from ddviz.app.ofdft.runner import Runner
from ddviz.app.ofdft.state import FUNCTIONALS, OFDFTState
from ddviz.app.settings import AppSettings
from ddviz.app.status import busy_message, error_alert
from ddviz.errors import DdvizError

WIDTH = 280  # pixels of the controls column


class OFDFTTab(pn.viewable.Viewer):
    """The OF-DFT tab (see the module docstring).

    Parameters
    ----------
    settings : AppSettings, optional
        The data, models and dataset folders (default: from the environment).
    **params
        Initial values of :class:`~ddviz.app.ofdft.state.OFDFTState` parameters (e.g.
        ``structure="HeH+"``, ``functional="vw"``).
    """

    def __init__(self, settings: AppSettings | None = None, **params):
        super().__init__()
        self.settings = settings or AppSettings()
        self.state = OFDFTState()
        self.runner = Runner(self.state, self.settings)
        self.runner.refresh()
        self.state.param.update(params)
        # the plots join the page with the first data (an empty HoloViews pane makes the page
        # import HoloViews)
        self.run_plots = pn.Column(sizing_mode="stretch_width")
        self._pipes: dict = {}  # pane -> the Pipe its plot is redrawn through
        self._rows = None  # (density line + readout, energy traces), made with the first run
        self.parity_plots = pn.Row(sizing_mode="stretch_width")
        self.state.param.watch(self._draw_run, ["reference", "energies", "density", "watched"])
        self.state.param.watch(self._draw_parity, ["rows", "sample"])
        self.state.param.watch(self._draw_slice, ["kinetic_slice"])

    # ------------------------------------------------------------------ panes
    @cached_property
    def trace(self) -> pn.pane.HoloViews:
        """Energy per iteration (Ha)."""
        return pn.pane.HoloViews(None, css_classes=["ddviz-ofdft-trace"], sizing_mode="fixed")

    @cached_property
    def gap(self) -> pn.pane.HoloViews:
        """|E − E_KS| per iteration (mHa)."""
        return pn.pane.HoloViews(None, css_classes=["ddviz-ofdft-gap"], sizing_mode="fixed")

    @cached_property
    def profile(self) -> pn.pane.HoloViews:
        """The density on the molecular axis, OF-DFT against Kohn–Sham."""
        return pn.pane.HoloViews(None, css_classes=["ddviz-ofdft-profile"], sizing_mode="fixed")

    @cached_property
    def readout(self) -> pn.pane.Markdown:
        """The finished run's numbers."""
        return pn.pane.Markdown("", css_classes=["ddviz-ofdft-result"], width=WIDTH + 80)

    @cached_property
    def parity(self) -> pn.pane.HoloViews:
        """T_s^ML against T_s per test sample."""
        return pn.pane.HoloViews(None, css_classes=["ddviz-ofdft-parity"], sizing_mode="fixed")

    @cached_property
    def slices(self) -> pn.Row:
        """The chosen sample's kinetic-energy densities: the model's, von Weizsäcker's.

        One pane each, their axes linked by Panel (``linked_axes``).
        """
        return pn.Row(*(pn.pane.HoloViews(None, linked_axes=True, sizing_mode="fixed")
                        for _ in range(2)), css_classes=["ddviz-ofdft-slices"])

    def _draw_run(self, *_) -> None:
        """Show the run's newest state; frames go into the plots' pipes (redrawn in place)."""
        from ddviz.viz import kinetic as plots

        s = self.state
        self.readout.object = readout(s.watched) if s.watched is not None else ""
        if s.reference is None:  # a run begins (or failed before its reference)
            self.run_plots[:] = []
            return
        ks = s.reference.energy_ha
        streams = {self.trace: (plots.energy_plot, (s.energies, ks)),
                   self.gap: (plots.energy_gap_plot, (s.energies, ks)),
                   self.profile: (plots.density_profile,
                                  (s.reference, s.density, s.iteration or None))}
        if self._rows is None:  # HoloViews panes import HoloViews: made only when needed
            self._rows = (pn.Row(self.profile, self.readout), pn.Row(self.trace, self.gap))
        if not self._pipes:
            for pane, (plot, data) in streams.items():
                pane.object, self._pipes[pane] = plots.streamed(plot, *data)
        else:
            for pane, (_, data) in streams.items():
                self._pipes[pane].send(data)
        rows = [self._rows[0]] + ([self._rows[1]] if s.energies else [])
        if list(self.run_plots.objects) != rows:
            self.run_plots[:] = rows

    def _draw_parity(self, *_) -> None:
        from ddviz.viz import kinetic as plots

        if not self.state.rows:
            self.parity_plots[:] = []
            return
        self.parity.object = plots.parity_plot(self.state.rows, self.state.summary,
                                               self.state.sample)
        if self.parity not in self.parity_plots.objects:
            self.parity_plots[:] = [self.parity]

    def _draw_slice(self, *_) -> None:
        from ddviz.viz import kinetic as plots

        sl = self.state.kinetic_slice
        if sl is None:
            if self.slices in self.parity_plots.objects:
                self.parity_plots.remove(self.slices)
            return
        for pane, image in zip(self.slices, plots.kinetic_density_images(sl)):
            pane.object = image
        if self.slices not in self.parity_plots.objects:
            self.parity_plots.append(self.slices)

    # ------------------------------------------------------------------ controls
    def _guard(self, fn):
        def call(*_):
            try:
                fn()
            except DdvizError as exc:
                self.state.error = f"**Could not run OF-DFT:** {exc}"
        return call

    @cached_property
    def controls(self) -> pn.Column:
        """Structure, charge, functional, model, Run/Stop, the busy indicator and the message."""
        w, p = pn.widgets, self.state.param
        run = w.Button(name="Run OF-DFT", button_type="primary", width=120,
                       disabled=p.busy, css_classes=["ddviz-ofdft-run"])
        stop = w.Button(name="Stop", button_type="warning", width=80,
                        disabled=p.busy.rx.not_(), css_classes=["ddviz-ofdft-stop"])
        run.on_click(self._guard(self.runner.run))
        stop.on_click(self._guard(self.runner.stop))
        return pn.Column(
            pn.pane.Markdown("### Two-electron molecule"),
            w.Select.from_param(p.structure, name="structure (preset or file)", width=WIDTH - 20,
                                css_classes=["ddviz-ofdft-structure"]),
            w.IntInput.from_param(p.charge, name="charge (e; presets carry theirs)",
                                  width=WIDTH - 20, css_classes=["ddviz-ofdft-charge"]),
            pn.pane.Markdown("### Kinetic functional T_s"),
            w.RadioButtonGroup.from_param(p.functional, options=FUNCTIONALS,
                                          css_classes=["ddviz-ofdft-functional"]),
            w.Select.from_param(p.model, name="model file", width=WIDTH - 20,
                                visible=p.functional.rx.pipe(lambda f: f == "model")),
            w.IntInput.from_param(p.max_iter, name="iteration limit", width=120),
            pn.Row(run, stop),
            busy_message(p.busy, p.message, "ddviz-ofdft", WIDTH),
            error_alert(p.error, "ddviz-ofdft-alert"),
            pn.pane.Markdown("PBE, def2-TZVP, Becke grid level 1; rho = 2|phi|^2 optimised by "
                             "L-BFGS from the core Hamiltonian's orbital (a poor guess). "
                             "Energies in Ha (errors in mHa), lengths in bohr, densities in "
                             "e/bohr^3 (`docs/kinetic.md`).", styles={"font-size": "small"}),
            width=WIDTH)

    @cached_property
    def parity_controls(self) -> pn.Column:
        """Dataset, Evaluate, progress, message; the sample whose slice is shown."""
        w, p = pn.widgets, self.state.param
        evaluate = w.Button(name="Evaluate test split", button_type="primary", width=160,
                            disabled=p.parity_busy, css_classes=["ddviz-ofdft-evaluate"])
        evaluate.on_click(lambda *_: self.runner.evaluate())
        return pn.Column(
            pn.pane.Markdown("### T_s^ML against T_s"),
            w.Select.from_param(p.dataset, name="kinetic-2e dataset", width=WIDTH - 20),
            evaluate,
            pn.indicators.Progress(value=p.parity_progress, active=p.parity_busy, max=100,
                                   width=WIDTH - 40),
            pn.pane.Markdown(p.parity_message, css_classes=["ddviz-ofdft-parity-message"]),
            error_alert(p.parity_error, "ddviz-ofdft-parity-alert"),
            w.Select.from_param(p.sample, name="sample shown (kinetic-energy density)",
                                width=WIDTH - 20, css_classes=["ddviz-ofdft-sample"]),
            pn.pane.Markdown("The model's T_s per test sample (never seen in training) against "
                             "the Kohn–Sham T_s; τ on the plane of the atoms: energy densities "
                             "are not unique (their integrals are), so the model's τ need not "
                             "match von Weizsäcker's pointwise.", styles={"font-size": "small"}),
            width=WIDTH)

    def __panel__(self):
        # built once: each pane must sit in one place only, however often Panel asks
        if getattr(self, "_layout", None) is None:
            self._layout = pn.Column(
                pn.Row(self.controls, self.run_plots, sizing_mode="stretch_width"),
                pn.pane.Markdown("---", sizing_mode="stretch_width"),  # (Divider loads CDN css)
                pn.Row(self.parity_controls, self.parity_plots, sizing_mode="stretch_width"),
                sizing_mode="stretch_width")
        return self._layout


def readout(watched) -> str:
    """The finished run's numbers as Markdown (every one from ``watched``)."""
    r = watched.result
    how = ("stopped" if r.stopped else "converged" if r.converged
           else f"not converged: {r.stop_reason}")
    names = {"kinetic_ha": "T_s", "external_ha": "E_ext (electron–nucleus)",
             "hartree_ha": "E_H", "xc_ha": "E_xc (PBE)", "nuclear_ha": "E_nn"}
    parts = "\n".join(f"| {names[k]} | {v:.6f} |" for k, v in r.parts.items())
    t_s = "exact von Weizsäcker" if r.functional == "vw" else "KineticNet model"
    return (f"**E_OF-DFT = {r.energy_ha:.6f} Ha** ({t_s}; {how}, {r.iterations} iterations, "
            f"{r.seconds:.1f} s)  \nE_KS = {watched.reference.energy_ha:.6f} Ha; "
            f"E_OF-DFT − E_KS = **{watched.error_mha:+.4g} mHa**; density relative L1 "
            f"{_fraction(watched.density_rel_l1)}\n\n| term | Ha |\n|---|---:|\n{parts}")


def _fraction(x: float) -> str:
    """A relative error: in % down to 0.01 %, below that as a number (1.6e-09)."""
    return f"{x:.2%}" if x >= 1e-4 else f"{x:.1e}"
