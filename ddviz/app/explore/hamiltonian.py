"""A Hamiltonian model's panel: orbital levels, H block errors, what the density is compared with.

Shown while the current result is a Hamiltonian model's
(:class:`~ddviz.evaluate.hamiltonian.HamiltonianView` in ``state.hamiltonian``). The 3D view,
slices and scatter show the density the predicted H implies beside the reference (or a Deep
Density prediction, chosen here); this panel adds predicted vs reference orbital energies (a level
diagram, eV or Ha) and the mean |error| of each atom-pair block of H (a heat map, meV). Without a
reference Kohn–Sham matrix (a structure file rather than a Hamiltonian dataset sample) a button
computes one with PySCF, with the SCF cycles as progress.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property

import panel as pn

from ddviz.app.explore.state import ExploreState

BELOW, ABOVE = 6, 4  # valence levels below the gap (core orbitals left out), virtual above


def numbers_table(view) -> str:
    """Markdown: HOMO, LUMO, gap (eV) predicted and reference, and the H and level errors (meV)."""
    from ddviz.methods.hamiltonian.evaluate import MEV

    p = view.prediction
    ev = MEV / 1000
    rows = ["| | predicted | reference |", "|---|---|---|"]
    ref = view.reference
    lumo = p.lumo
    for name, mine, theirs in (
            ("HOMO (eV)", p.homo, None if ref is None else ref.homo),
            ("LUMO (eV)", lumo, None if ref is None else ref.lumo),
            ("gap (eV)", None if lumo is None else lumo - p.homo,
             None if ref is None or ref.lumo is None else ref.lumo - ref.homo)):
        cells = ["–" if v is None else f"{v * ev:.3f}" for v in (mine, theirs)]
        rows.append(f"| {name} | {cells[0]} | {cells[1]} |")
    if view.reference is not None:
        rows.append(f"| H-element MAE | {view.h_mae * MEV:.1f} meV | |")
        rows.append(f"| occupied levels MAE | {view.levels.occupied_mae * MEV:.1f} meV | |")
    return "\n".join(rows)


class HamiltonianPanel(pn.viewable.Viewer):
    """Level diagram, block-error map and choices of a Hamiltonian model's result.

    Parameters
    ----------
    state : ExploreState
        Its ``hamiltonian`` is shown; its ``compare_with`` and ``level_unit`` are chosen here.
    compute_reference : callable
        Called by the PySCF button (:meth:`ddviz.app.explore.runner.Runner.compute_reference`).
    """

    def __init__(self, state: ExploreState, compute_reference: Callable[[], None], **params):
        super().__init__(**params)
        self.state, self._compute_reference = state, compute_reference
        state.param.watch(self._update, ["hamiltonian", "level_unit"])

    @cached_property
    def levels(self) -> pn.pane.HoloViews:
        """The level diagram (predicted | reference)."""
        return pn.pane.HoloViews(None, height=380, width=400, css_classes=["ddviz-levels"])

    @cached_property
    def blocks(self) -> pn.pane.HoloViews:
        """The atom-pair block-error heat map."""
        return pn.pane.HoloViews(None, height=380, width=370, css_classes=["ddviz-block-errors"])

    @cached_property
    def numbers(self) -> pn.pane.Markdown:
        """HOMO, LUMO, gap and errors, as a table."""
        return pn.pane.Markdown("", width=270, css_classes=["ddviz-hamiltonian-numbers"])

    @cached_property
    def note(self) -> pn.pane.Markdown:
        """What is compared, or why there are no levels."""
        return pn.pane.Markdown("", sizing_mode="stretch_width",
                                css_classes=["ddviz-hamiltonian-note"])

    @cached_property
    def button(self) -> pn.widgets.Button:
        """Computes the reference Kohn–Sham matrix with PySCF (structures without one)."""
        button = pn.widgets.Button(label="Compute the PySCF reference (all electrons)", width=270,
                                   css_classes=["ddviz-pyscf-reference"],
                                   disabled=self.state.param.busy)
        button.on_click(lambda *_: self._compute_reference())
        return button

    def _update(self, *_) -> None:
        from ddviz.evaluate.job import MAX_PYSCF_ATOMS
        from ddviz.methods.hamiltonian.evaluate import MEV
        from ddviz.methods.hamiltonian.predict import core_orbitals
        from ddviz.viz.hamiltonian import block_error_map, level_diagram

        view = self.state.hamiltonian
        self.layout.visible = view is not None
        if view is None:
            self.levels.object = self.blocks.object = None
            return
        density = "valence density (core orbitals left out)" if view.valence else \
            "all-electron density"
        against = view.against if view.comparison.reference is not None else "nothing"
        self.note.object = (f"The views above show the {density} implied by the predicted "
                            f"Hamiltonian as *predicted*, and {against} as *reference*.")
        self.numbers.object = numbers_table(view)
        self.button.visible = view.reference is None
        natoms = len(view.comparison.atoms)
        self.button.disabled = natoms > MAX_PYSCF_ATOMS
        core = core_orbitals(view.prediction.numbers)
        below = min(BELOW, view.levels.nocc - core) if core < view.levels.nocc else BELOW
        self.levels.object = level_diagram(view.levels.window(below, ABOVE),
                                           self.state.level_unit)
        if view.reference is None:
            self.blocks.object = None
            self.note.object += " No reference Kohn–Sham matrix, so the levels are the " \
                                "prediction's alone: open a Hamiltonian dataset sample" + (
                ", or compute one with PySCF below." if natoms <= MAX_PYSCF_ATOMS else
                f" (PySCF runs here for at most {MAX_PYSCF_ATOMS} atoms; this has {natoms}).")
            return
        self.blocks.object = block_error_map(view.block_error * MEV,
                                             view.comparison.atoms.get_chemical_symbols())

    @cached_property
    def layout(self) -> pn.Column:
        """The panel (made once; hidden without a Hamiltonian result)."""
        w, p = pn.widgets, self.state.param
        choices = pn.Column(
            w.Select.from_param(p.compare_with, name="Compare the implied density with",
                                width=270, css_classes=["ddviz-compare-with"]),
            w.RadioButtonGroup.from_param(p.level_unit, css_classes=["ddviz-level-unit"]),
            self.numbers, self.button, width=290)
        return pn.Column(pn.pane.Markdown("### Hamiltonian (DeepH-E3)"), self.note,
                         pn.Row(choices, self.levels, self.blocks),  # fits 1400 px
                         visible=False, sizing_mode="stretch_width",
                         css_classes=["ddviz-hamiltonian"])

    def __panel__(self):
        return self.layout
