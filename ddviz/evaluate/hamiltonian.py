"""The density a Hamiltonian model (DeepH-E3) implies, beside a reference, with levels and block errors.

What the app's Explore tab shows for a Hamiltonian model, without any UI. From the predicted
Kohn–Sham matrix follow the orbitals (H C = S C e, :mod:`ddviz.methods.hamiltonian.predict`) and
the density of the occupied ones on a grid. It is set beside one of:

* a **Deep Density** prediction for the same structure (a valence density: the implied density is
  then that of the valence orbitals, the core orbitals of the GTH family left out);
* a **density file** (its grid; a valence density likewise unless the file says all-electron);
* the **reference Kohn–Sham matrix** F of a Hamiltonian dataset sample, or of a PySCF calculation
  (:func:`ddviz.methods.hamiltonian.data.reference`): the all-electron density of F's orbitals.

With a reference F also the orbital energies side by side
(:func:`~ddviz.methods.hamiltonian.evaluate.orbital_levels`) and the mean |error| of each atom-pair
block of H (:func:`~ddviz.methods.hamiltonian.evaluate.block_errors`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ddviz.evaluate.comparison import Comparison
from ddviz.evaluate.evaluation import comparison_grid, reference_on
from ddviz.evaluate.properties import ALL_ELECTRON, pseudo_of
from ddviz.methods.hamiltonian.basis import AOLayout
from ddviz.methods.hamiltonian.evaluate import OrbitalLevels, block_errors, orbital_levels
from ddviz.methods.hamiltonian.predict import HamiltonianPrediction, from_fock, predict
from ddviz.units import ang_to_bohr, bohr_to_ang

VALENCE = "gth-pbe"  # the pseudopotential family of Deep Density's valence densities


@dataclass(eq=False)
class HamiltonianView:
    """A Hamiltonian model's prediction for one structure, and what it is compared with.

    Attributes
    ----------
    comparison : Comparison
        ``predicted``: the implied density (e/bohr^3; valence only when ``valence`` is set);
        ``reference``: what ``against`` names (None: nothing to compare with).
    prediction : HamiltonianPrediction
        Predicted H (Ha), its orbital energies and orbitals.
    reference : HamiltonianPrediction or None
        The reference F and its orbitals (a dataset sample or a PySCF calculation).
    levels : OrbitalLevels
        Predicted and reference orbital energies (with a reference F).
    block_error : numpy.ndarray or None, shape (natoms, natoms)
        Mean |H_pred - F| per atom-pair block (Ha; with a reference F).
    against : str
        What ``comparison.reference`` is, in words (e.g. ``"Deep Density (water)"``).
    valence : str or None
        The pseudopotential family whose core orbitals are left out of the implied density.
    """

    comparison: Comparison
    prediction: HamiltonianPrediction
    reference: HamiltonianPrediction | None
    levels: OrbitalLevels
    block_error: np.ndarray | None
    against: str
    valence: str | None = None

    def summary(self) -> str:
        """One line: what is compared, the density's relative L1 and the H and level errors."""
        from ddviz.methods.hamiltonian.evaluate import MEV

        text = f"Hamiltonian model: {self.prediction.nelectron} electrons, " \
               f"{len(self.prediction.eigenvalues)} orbitals in {self.prediction.seconds:.2f} s"
        density = "valence density" if self.valence else "density (all electrons)"
        if self.comparison.reference is not None:
            m = self.comparison.metrics()
            text += f"; implied {density} vs {self.against}: relative L1 {m['rel_l1']:.3%}"
        else:
            text += f"; implied {density}, no reference"
        if self.block_error is not None:
            text += f"; H MAE {self.h_mae * MEV:.1f} meV, occupied levels MAE " \
                    f"{self.levels.occupied_mae * MEV:.1f} meV"
        return text

    @property
    def h_mae(self) -> float | None:
        """Mean |H_pred - F| over all elements (Ha), None without a reference F."""
        if self.reference is None:
            return None
        return float(np.abs(self.prediction.hamiltonian - self.reference.hamiltonian).mean())


def sample_atoms(sample):
    """The ``ase.Atoms`` (Å) of a :class:`~ddviz.methods.hamiltonian.data.HamiltonianSample`."""
    from ase import Atoms

    return Atoms(numbers=sample.numbers, positions=bohr_to_ang(sample.positions_bohr))


def compute(atoms, model, fock=None, density=None, deep_density=None, cache=None,
            progress=None) -> HamiltonianView:
    """Predict H for ``atoms`` and compare the density it implies.

    Parameters
    ----------
    atoms : ase.Atoms
        The structure (Å); closed shell, elements of the model.
    model : HamiltonianModel
    fock : HamiltonianSample or dict, optional
        The reference Kohn–Sham matrix of these atoms: a dataset sample, or the dict of
        :func:`ddviz.methods.hamiltonian.data.reference` (``fock``, ``overlap``; Ha), in the
        model's basis.
    density : ddviz.grid.Sample, optional
        A density file of these atoms: its grid is used, and it is the comparison's reference
        unless ``deep_density`` is given.
    deep_density : DeepDensity, optional
        Compare with its prediction (a valence density) instead.
    cache : ddviz.cache.FieldCache, optional
        For the Deep Density prediction and a density file's orbitals.
    progress : callable, optional
        ``progress(done, total)`` while the Deep Density model evaluates.

    Returns
    -------
    HamiltonianView

    Raises
    ------
    DdvizError
        Elements outside the model, an odd electron count, a reference of other atoms or in
        another basis.
    """
    from ddviz.errors import DdvizError
    from ddviz.evaluate.evaluation import compute_comparison

    positions = ang_to_bohr(atoms.positions)
    pred = predict(model, atoms.numbers, positions)
    ref = errors = None
    if fock is not None:
        f, s = (fock.fock, fock.overlap) if hasattr(fock, "fock") else (fock["fock"],
                                                                         fock["overlap"])
        numbers = getattr(fock, "numbers", atoms.numbers)
        if np.shape(f) != pred.hamiltonian.shape or not np.array_equal(numbers, atoms.numbers):
            raise DdvizError(f"the reference Kohn–Sham matrix {np.shape(f)} is not of these "
                             f"atoms in the model's basis {pred.basis!r} "
                             f"({pred.hamiltonian.shape})", field="fock")
        ref = from_fock(atoms.numbers, positions, f, s, pred.basis)
        layout = AOLayout.from_symbols(atoms.get_chemical_symbols(), pred.basis)
        errors = block_errors(pred.hamiltonian, ref.hamiltonian, layout)
    levels = orbital_levels(pred, ref)
    grid = comparison_grid(atoms, density)
    start = time.perf_counter()
    valence, against, values = None, "nothing", None
    if deep_density is not None:
        dd = compute_comparison(atoms, deep_density, density, progress=progress, cache=cache)
        values, valence, against = dd.predicted, VALENCE, "Deep Density (valence)"
    elif density is not None:
        values = reference_on(density, grid, cache=cache)
        family = pseudo_of(density)
        valence = None if family == ALL_ELECTRON else family
        against = "the density file" + ("" if valence is None else f" ({valence} valence)")
    elif ref is not None:
        values = ref.orbitals().evaluate_grid(grid)
        against = "the reference F (all electrons)"
    rho = pred.orbitals(valence).evaluate_grid(grid)
    seconds = pred.seconds + time.perf_counter() - start
    comparison = Comparison(atoms, grid, rho, values, seconds,
                            pseudo=valence or ALL_ELECTRON)
    return HamiltonianView(comparison, pred, ref, levels, errors, against, valence)
