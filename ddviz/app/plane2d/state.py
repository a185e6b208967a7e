"""The 2D tab's shared state: the chosen system, what the tile map shows, and the result.

Every change of several parameters at once is one ``param.update`` (one batch).
"""

from __future__ import annotations

import param

# the energy terms in the order of ddviz.toys.plane2d.solver.ENERGY_KEYS (not imported here:
# the page is made without the numerical modules; a test checks the two agree)
TERMS = ("E_kin", "E_ext", "E_H", "E_x", "E_c", "E_tot")
TILE_MODELS = {"EDNN from ρ": "ednn_rho", "EDNN from v_ext": "ednn_v"}
STALE = "The previous result was cleared: nothing shown belongs to these inputs."


class Plane2DState(param.Parameterized):
    """What the 2D tab shows: the potential, N, the functional, progress and the result."""

    kind = param.Selector(default="sho", objects=["sho", "random"],
                          doc="harmonic oscillator or Mills-style random potential")
    kx = param.Number(default=0.4, bounds=(0.1, 1.0), step=0.05,
                      doc="oscillator stiffness along x (Ha/bohr^2)")
    ky = param.Number(default=0.4, bounds=(0.1, 1.0), step=0.05,
                      doc="oscillator stiffness along y (Ha/bohr^2)")
    cx = param.Number(default=8.0, bounds=(6.0, 10.0), step=0.1,
                      doc="oscillator centre x (bohr; the box runs from 0 to 16)")
    cy = param.Number(default=8.0, bounds=(6.0, 10.0), step=0.1,
                      doc="oscillator centre y (bohr)")
    seed = param.Integer(default=0, bounds=(0, 2**31 - 1), doc="seed of the random potential")
    electrons = param.Selector(default=2, objects=[2, 4, 6], doc="electron count N")
    functional = param.Selector(default="lda", objects=["lda", "gga"],
                                doc="the reference's exchange-correlation functional")
    tile_model = param.Selector(default="ednn_rho", objects=list(TILE_MODELS.values()),
                                doc="the EDNN whose tiles are shown")
    tile_term = param.Selector(default="E_tot", objects=list(TERMS),
                               doc="the energy term of the tile map")
    busy = param.Boolean(default=False, doc="a job is running")
    message = param.String(default="", doc="one line on the result or what is being done")
    error = param.String(default="", doc="why the last job failed (empty: it did not)")
    result = param.Parameter(default=None, doc="the current Plane2DResult")

    INPUTS = ("kind", "kx", "ky", "cx", "cy", "seed", "electrons", "functional")

    def begin(self) -> None:
        """A job starts."""
        self.param.update(busy=True, message="solving the Kohn–Sham equations...", error="")

    def fail(self, exc: Exception) -> None:
        """A job failed: say why, and clear the previous result."""
        text = f"**Could not compute:** {exc}"
        values = {"busy": False, "message": "", "error": text}
        if self.result is not None:
            values.update(result=None, error=f"{text}\n\n*{STALE}*")
        self.param.update(values)

    def show(self, result) -> None:
        """Make ``result`` (a :class:`~ddviz.evaluate.plane2d.Plane2DResult`) the current one."""
        e = result.density_errors()
        ref = result.energies["reference"]["E_tot"]
        message = (f"{result.box.n} x {result.box.n} grid, {result.scf_iterations} SCF "
                   f"iterations, {result.seconds:.2f} s; reference E_tot = {ref:.4f} Ha; "
                   f"DCIGN relative L1 {e['rel_l1']:.2%}")
        self.param.update(result=result, busy=False, message=message, error="")
