"""A prediction beside its reference (:class:`Comparison`) and how one is computed (cached).

All densities in e/bohr^3 on a :class:`~ddviz.grid.Grid`; lengths in bohr.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ddviz.errors import DdvizError
from ddviz.grid import Grid
from ddviz.evaluate.metrics import metrics, worst_slice


@dataclass(eq=False)
class Comparison:
    """A prediction on a grid, with its reference when there is one (e/bohr^3, grid.shape).

    What the app, the CLI and the exports show comes from here, so each figure has one source.
    """

    atoms: object  # ase.Atoms
    grid: Grid
    predicted: np.ndarray
    reference: np.ndarray | None = None
    seconds: float = 0.0  # time the prediction took (0 when it came from a cache)
    step: int = 1  # the grid is every step-th point of the full grid along each axis
    cached: bool = False  # the prediction came from a cache
    ndim: int = 3  # 1: a chain's line grid, densities in electrons/bohr; 3: e/bohr^3

    def describe_grid(self) -> str:
        """E.g. '66×58×68 points' or '33×29×34 points (every 2nd of the full grid)'."""
        text = "×".join(str(n) for n in self.grid.shape) + " points"
        if self.step > 1:
            text += f" (every {self.step}{'nd' if self.step == 2 else 'th'} of the full grid)"
        return text

    @property
    def error(self) -> np.ndarray | None:
        """predicted - reference (e/bohr^3), None without a reference."""
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
        return metrics(self.predicted, self.reference, self.grid)

    def worst_slice(self, axis: int | None = None) -> tuple[int, int]:
        """(axis, index) through the largest |error| (largest density without a reference)."""
        return worst_slice(self.error if self.reference is not None else self.predicted, axis)


def check_same_atoms(atoms, ref_atoms, tol_ang: float = 1e-3) -> None:
    """Raise DdvizError unless both structures have the same atoms at the same places (Å)."""
    same = (len(atoms) == len(ref_atoms) and np.array_equal(atoms.numbers, ref_atoms.numbers)
            and np.allclose(atoms.positions, ref_atoms.positions, atol=tol_ang))
    if not same:
        raise DdvizError("the structure and the reference density have different atoms")


def grid_key(grid: Grid) -> tuple:
    """The parts of a grid that a cache key needs (bohr)."""
    return (grid.origin, grid.vectors, tuple(grid.shape), tuple(grid.pbc))


def model_key(model) -> str:
    """A digest of a model's weights and configuration (a DeepDensity or a Predictor)."""
    import json

    from ddviz.cache import digest
    from ddviz.config import to_dict

    net = getattr(model, "model", model)
    weights = [(name, t.detach().cpu().numpy()) for name, t in net.state_dict().items()]
    return digest(json.dumps(to_dict(net.config), sort_keys=True, default=str), weights)


def comparison_grid(atoms, reference=None, spacing: float = 0.2, margin: float = 4.0) -> Grid:
    """The reference Sample's grid (its atoms must be ``atoms``), or without a reference the
    standard grid around the atoms (spacing, margin in bohr)."""
    from ddviz.units import ang_to_bohr

    if reference is not None:
        check_same_atoms(atoms, reference.atoms)
        return reference.grid
    return Grid.around(ang_to_bohr(atoms.positions), spacing, margin)


def prediction_key(predictor, atoms, grid: Grid) -> str:
    """Cache key of a prediction: weights, dtype, device, atoms (Å, cell, pbc) and grid."""
    from ddviz.cache import digest

    return digest("predicted", model_key(predictor), str(getattr(predictor, "dtype", "")),
                  str(getattr(predictor, "device", "")),
                  atoms.numbers, atoms.positions, np.asarray(atoms.cell), tuple(atoms.pbc),
                  grid_key(grid))


def is_cached(atoms, model, cache, reference=None, step: int = 1, spacing: float = 0.2,
              margin: float = 4.0, device=None) -> bool:
    """True when ``cache`` holds the prediction that :func:`compute_comparison` would make."""
    from ddviz.evaluate.predictor import Predictor

    predictor = model if isinstance(model, Predictor) else Predictor(model, device=device)
    grid = comparison_grid(atoms, reference, spacing, margin).every(step)
    return prediction_key(predictor, atoms, grid) in cache


def reference_on(reference, grid: Grid, step: int = 1, cache=None,
                 coarse: tuple[int, np.ndarray] | None = None) -> np.ndarray:
    """A reference Sample's density (e/bohr^3) on ``grid`` = ``reference.grid.every(step)``:
    stored values are subsampled, orbitals evaluated on the grid (through ``cache``, a
    :class:`ddviz.cache.FieldCache`, when given; ``coarse``: ``(s, values)`` known on
    ``grid.every(s)``, reused)."""
    orbitals = reference.orbitals
    if reference.has_values or orbitals is None:
        return np.asarray(reference.density.values)[::step, ::step, ::step]
    if cache is None:
        return orbitals.evaluate_grid(grid, coarse=coarse)
    from ddviz.cache import digest

    key = digest("reference", orbitals.numbers, orbitals.positions_bohr, orbitals.basis,
                 orbitals.pseudo, orbitals.coeff, orbitals.occ, grid_key(grid))
    return cache.get_or_compute(key, lambda: orbitals.evaluate_grid(grid, coarse=coarse))


def compute_comparison(atoms, model, reference=None, spacing: float = 0.2, margin: float = 4.0,
                       progress=None, device=None, step: int = 1, cache=None,
                       coarse: Comparison | None = None) -> Comparison:
    """Predict with ``model`` (a DeepDensity or a Predictor) on the reference Sample's grid, or
    without a reference on the standard grid around the atoms (spacing, margin in bohr).

    step: evaluate only every step-th point along each axis (a quick preview: 2 gives 8x fewer
    points). cache: a :class:`ddviz.cache.FieldCache` for the prediction and a reference
    evaluated from orbitals (keys: weights, atoms, orbitals and grid, by content). coarse: a
    comparison of the same inputs on every ``coarse.step``-th point of this grid (the preview):
    its values are reused, only the other points are evaluated.
    """
    import time

    from ddviz.evaluate.predictor import Predictor

    grid = comparison_grid(atoms, reference, spacing, margin).every(step)
    predictor = model if isinstance(model, Predictor) else Predictor(model, device=device)
    known = {}
    if coarse is not None:
        if coarse.step % step or not coarse.grid.is_close(grid.every(coarse.step // step)):
            raise DdvizError(f"the coarse comparison ({coarse.describe_grid()}) does not lie on "
                             f"this grid ({grid.shape})")
        within = coarse.step // step
        known = {"predicted": (within, coarse.predicted)}
        if coarse.reference is not None:
            known["reference"] = (within, coarse.reference)

    def predict():
        return np.asarray(predictor.predict_grid(atoms, grid, progress=progress,
                                                 coarse=known.get("predicted")), dtype=np.float64)

    t0 = time.perf_counter()
    cached = False
    if cache is None:
        predicted = predict()
    else:
        key = prediction_key(predictor, atoms, grid)
        cached = key in cache
        predicted = cache.get_or_compute(key, predict)
    seconds = 0.0 if cached else time.perf_counter() - t0
    ref = None if reference is None else reference_on(reference, grid, step, cache,
                                                      known.get("reference"))
    ndim = 1 if sum(n > 1 for n in grid.shape) == 1 else 3  # to be read from the Sample
    return Comparison(atoms, grid, predicted, ref, seconds, step, cached, ndim)
