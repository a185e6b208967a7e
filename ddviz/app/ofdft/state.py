"""The OF-DFT tab's shared state: the chosen run, its frames and result, and the parity data.

Every change of several parameters at once is one ``param.update`` (one batch: one redraw).
"""

from __future__ import annotations

import param

# the presets of ddviz.methods.kinetic.data.SYSTEMS with their charges (not imported here: the
# page is made without the numerical modules; a test checks the two agree)
PRESETS = {"H2": 0, "HeH+": 1, "H3+": 1}
FUNCTIONALS = {"KineticNet model": "model", "exact von Weizsäcker": "vw"}


class OFDFTState(param.Parameterized):
    """What the OF-DFT tab shows (see :class:`~ddviz.app.ofdft.tab.OFDFTTab`)."""

    structure = param.Selector(default="H2", objects=list(PRESETS),
                               doc="a preset (equilibrium geometry) or a structure file's name")
    charge = param.Integer(default=0, bounds=(-2, 3), doc="total charge (e)")
    model = param.Selector(default=None, objects=[], allow_None=True,
                           doc="the kinetic model file's name in the models folder")
    functional = param.Selector(default="model", objects=list(FUNCTIONALS.values()),
                                doc="T_s from the model or the exact von Weizsäcker functional")
    max_iter = param.Integer(default=200, bounds=(1, 2000), doc="L-BFGS iteration limit")
    busy = param.Boolean(default=False, doc="an OF-DFT run is going on")
    stopping = param.Boolean(default=False, doc="a stop was asked for")
    message = param.String(default="", doc="what the run is doing")
    error = param.String(default="", doc="why the last run failed (empty: it did not)")
    reference = param.Parameter(default=None, doc="the analysis.Reference of the run")
    energies = param.List(default=[], doc="energy after each iteration (Ha)")
    density = param.Parameter(default=None, doc="the newest frame's density on the line")
    iteration = param.Integer(default=0, doc="the newest frame's iteration")
    watched = param.Parameter(default=None, doc="the finished run's analysis.Watched")
    # the parity part
    dataset = param.Selector(default=None, objects=[], allow_None=True,
                             doc="a kinetic-2e dataset folder")
    parity_busy = param.Boolean(default=False)
    parity_progress = param.Integer(default=0, bounds=(0, 100))
    parity_message = param.String(default="")
    parity_error = param.String(default="")
    rows = param.List(default=[], doc="analysis.parity rows of the test split")
    summary = param.Dict(default={}, doc="analysis.parity_summary of the rows")
    sample = param.Selector(default=None, objects=[], allow_None=True,
                            doc="the test sample whose kinetic-energy density is shown")
    kinetic_slice = param.Parameter(default=None, doc="the sample's analysis.KineticSlice")

    @param.depends("structure", watch=True)
    def _preset_charge(self) -> None:
        if self.structure in PRESETS:
            self.charge = PRESETS[self.structure]

    # --- OF-DFT --------------------------------------------------------------------------------
    def begin(self) -> None:
        """A run starts: everything of the previous one is cleared."""
        self.param.update(busy=True, stopping=False, error="", reference=None, energies=[],
                          density=None, iteration=0, watched=None,
                          message="Kohn–Sham reference (PySCF SCF)...")

    def show_reference(self, reference) -> None:
        """The Kohn–Sham reference is known; OF-DFT starts."""
        self.param.update(reference=reference, message=f"Kohn–Sham E = "
                          f"{reference.energy_ha:.6f} Ha ({reference.seconds:.1f} s); OF-DFT "
                          f"from the core Hamiltonian's orbital...")

    def add_frames(self, frames: list) -> None:
        """Frames arrived (all energies kept; the newest density shown)."""
        if not frames:
            return
        last = frames[-1]
        ks = self.reference.energy_ha if self.reference is not None else None
        gap = f", E − E_KS = {1e3 * (last.energy_ha - ks):+.3f} mHa" if ks is not None else ""
        self.param.update(energies=self.energies + [f.energy_ha for f in frames],
                          density=last.density, iteration=last.iteration,
                          message=f"iteration {last.iteration}: E = {last.energy_ha:.6f} Ha{gap}"
                          + (" (stopping...)" if self.stopping else ""))

    def finish(self, watched) -> None:
        """The run ended (converged, at its limit, or stopped)."""
        r = watched.result
        how = ("stopped" if r.stopped else "converged" if r.converged
               else f"not converged ({r.stop_reason})")
        self.param.update(watched=watched, busy=False, stopping=False,
                          density=watched.density, iteration=r.iterations,
                          message=f"{how} after {r.iterations} iterations, {r.seconds:.1f} s")

    def fail(self, exc: Exception) -> None:
        """The run failed: say why."""
        self.param.update(busy=False, stopping=False, message="",
                          error=f"**Could not run OF-DFT:** {exc}")

    # --- parity --------------------------------------------------------------------------------
    def begin_parity(self) -> None:
        """The test split's evaluation starts."""
        self.param.update(parity_busy=True, parity_progress=0, parity_error="", rows=[],
                          summary={}, kinetic_slice=None,
                          parity_message="evaluating the test split...")

    def show_parity(self, rows: list, summary: dict) -> None:
        """The parity rows arrived; the first sample is chosen."""
        files = [r["file"] for r in rows]
        self.param.sample.objects = files
        self.param.update(rows=rows, summary=summary, parity_busy=False, parity_progress=100,
                          parity_message=f"{len(rows)} test sample"
                          f"{'s' if len(rows) != 1 else ''}, T_s MAE "
                          f"{summary['ts_mae_mha']:.2f} mHa",
                          sample=files[0] if files else None)

    def fail_parity(self, exc: Exception) -> None:
        """The evaluation failed: say why."""
        self.param.update(parity_busy=False, parity_message="",
                          parity_error=f"**Could not evaluate:** {exc}")
