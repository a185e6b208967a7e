"""A prediction beside its reference (:class:`Comparison`): fields, error, metrics, worst slice.

All densities in the reference Sample's units (e/bohr^3; a 1D chain's electrons/bohr) on a
:class:`~ddviz.grid.Grid`; lengths in bohr. How a comparison is computed (grids, predictions,
cache keys) is :mod:`ddviz.evaluate.evaluation`; its :func:`compute_comparison`,
:func:`comparison_grid` and :func:`is_cached` are importable from here too.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ddviz.evaluate.metrics import metrics, worst_slice
from ddviz.grid import Grid
from ddviz.units import BOHR_PER_ANGSTROM, DENSITY_UNIT


@dataclass(eq=False)
class Comparison:
    """A prediction on a grid, with its reference when there is one (:attr:`units`, grid.shape).

    What the app, the CLI and the exports show comes from here, so each figure has one source.
    """

    atoms: object  # ase.Atoms
    grid: Grid
    predicted: np.ndarray
    reference: np.ndarray | None = None
    seconds: float = 0.0  # time the prediction took (0 when it came from a cache)
    step: int = 1  # the grid is every step-th point of the full grid along each axis
    cached: bool = False  # the prediction came from a cache
    ndim: int = 3  # the reference Sample's: 1 for a chain's line grid, 3 for a density in space
    units: str = DENSITY_UNIT  # of every field: the reference Sample's (electrons/bohr for ndim 1)
    outliers: tuple = ()  # atoms outside the model's training data (coverage.Outlier)
    pseudo: str = "gth-pbe"  # pseudopotential family of the valence densities (core charges)

    def describe_grid(self) -> str:
        """E.g. '66×58×68 points' or '33×29×34 points (every 2nd of the full grid)'."""
        text = "×".join(str(n) for n in self.grid.shape) + " points"
        if self.step > 1:
            text += f" (every {self.step}{'nd' if self.step == 2 else 'th'} of the full grid)"
        return text

    @property
    def error(self) -> np.ndarray | None:
        """Predicted - reference (in :attr:`units`), None without a reference."""
        return None if self.reference is None else self.predicted - self.reference

    def fields(self) -> dict[str, np.ndarray]:
        """The layers to draw: predicted, and reference and error when there is a reference."""
        out = {"predicted": self.predicted}
        if self.reference is not None:
            out.update(reference=self.reference, error=self.error)
        return out

    def metrics(self) -> dict:
        """Metrics against the reference; without one, just the predicted electron count."""
        if self.reference is None:
            return {"electrons_pred": float(self.predicted.sum(dtype=np.float64)
                                            * self.grid.voxel_volume),
                    "points": int(self.predicted.size)}
        near = self.atoms.positions * BOHR_PER_ANGSTROM if self.ndim == 3 else None
        return metrics(self.predicted, self.reference, self.grid, near)

    def properties(self) -> dict | None:
        """Properties of the predicted density, and of the reference when there is one.

        :func:`ddviz.evaluate.properties.properties` of each (electrons, dipole, quadrupole,
        Hartree energy), side by side as in
        :func:`~ddviz.evaluate.properties.compare_properties`, or ``{name: {"predicted": p}}``
        without a reference. None for a line or areal density, or a grid that is not the full
        one (``step`` > 1: a preview's quadrature would be coarse), or atoms whose
        pseudopotential core charges are unknown.

        Returns
        -------
        dict or None
        """
        from ddviz.errors import UnsupportedError
        from ddviz.evaluate.properties import compare_properties, core_charges, properties

        if self.ndim != 3 or self.step != 1:
            return None
        try:
            core_charges(self.atoms, self.pseudo)
        except UnsupportedError:
            return None
        pred = properties(self.predicted, self.grid, self.atoms, self.pseudo)
        ref = (properties(self.reference, self.grid, self.atoms, self.pseudo)
               if self.reference is not None else {})
        return compare_properties(pred, ref)

    def worst_slice(self, axis: int | None = None) -> tuple[int, int]:
        """(axis, index) through the largest |error| (largest density without a reference)."""
        return worst_slice(self.error if self.reference is not None else self.predicted, axis)



_EVALUATION = ("compute_comparison", "comparison_grid", "is_cached")


def __getattr__(name):
    """Names of :mod:`ddviz.evaluate.evaluation`, imported on first use.

    :func:`compute_comparison`, :func:`comparison_grid` and :func:`is_cached` live there (that
    module imports this one).
    """
    if name in _EVALUATION:
        from ddviz.evaluate import evaluation

        return getattr(evaluation, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
