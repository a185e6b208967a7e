"""How a :class:`~ddviz.evaluate.comparison.Comparison` is computed.

The grid (the reference Sample's, or the standard one around the atoms), the prediction (through
a :class:`ddviz.cache.FieldCache` keyed by content), the reference on that grid.

Lengths in bohr; densities in the reference Sample's units (e/bohr^3 for a density in space).
"""

from __future__ import annotations

import json
import time

import numpy as np

from ddviz.cache import digest
from ddviz.config import to_dict
from ddviz.errors import DdvizError
from ddviz.evaluate.comparison import Comparison
from ddviz.grid import STANDARD_MARGIN, STANDARD_SPACING, Grid, periodic_shape
from ddviz.units import ang_to_bohr


def check_same_atoms(atoms, ref_atoms, tol_ang: float = 1e-3) -> None:
    """Check that two structures have the same atoms at the same places.

    Parameters
    ----------
    atoms, ref_atoms : ase.Atoms
        Positions in Å.
    tol_ang : float
        Largest allowed difference of a coordinate (Å).

    Raises
    ------
    DdvizError
        Different atom counts, atomic numbers or positions.
    """
    same = (len(atoms) == len(ref_atoms) and np.array_equal(atoms.numbers, ref_atoms.numbers)
            and np.allclose(atoms.positions, ref_atoms.positions, atol=tol_ang))
    if not same:
        raise DdvizError("the structure and the reference density have different atoms")


def grid_key(grid: Grid) -> tuple:
    """The parts of a grid that a cache key needs (origin, vectors in bohr; shape; pbc)."""
    return (grid.origin, grid.vectors, tuple(grid.shape), tuple(grid.pbc))


def model_key(model) -> str:
    """A digest of a model's weights and configuration (a DeepDensity or a Predictor)."""
    net = getattr(model, "model", model)
    weights = [(name, t.detach().cpu().numpy()) for name, t in net.state_dict().items()]
    return digest(json.dumps(to_dict(net.config), sort_keys=True, default=str), weights)


def comparison_grid(atoms, reference=None, spacing: float = STANDARD_SPACING,
                    margin: float = STANDARD_MARGIN) -> Grid:
    """The grid a comparison is computed on.

    Parameters
    ----------
    atoms : ase.Atoms
        The structure (Å).
    reference : ddviz.grid.Sample, optional
        Its grid is used; its atoms must be ``atoms``.
    spacing, margin : float
        Without a reference: for a periodic structure (pbc on every axis), the periodic grid of
        its cell at about ``spacing`` bohr (:func:`ddviz.grid.periodic_shape`, origin at the
        cell's corner); for one periodic along some axes only (a slab, a wire, a 1D chain) the
        mixed grid (:meth:`Grid.partly_periodic`: the periodic lattice vectors divided as for
        a cell, a box with ``margin`` around the atoms along the open axes); for a molecule
        (no periodic axis) the standard grid (:meth:`Grid.around`). Both in bohr.

    Returns
    -------
    Grid
        In bohr, periodic along the structure's periodic axes (without a reference).

    Raises
    ------
    DdvizError
        The reference's atoms are not ``atoms``; the lattice vectors of the periodic axes are
        zero or linearly dependent.
    """
    if reference is not None:
        check_same_atoms(atoms, reference.atoms)
        return reference.grid
    cell = ang_to_bohr(atoms.cell.array)
    if all(atoms.pbc) and atoms.cell.rank == 3:
        return Grid.periodic(cell, periodic_shape(cell, spacing))
    if any(atoms.pbc):
        return Grid.partly_periodic(cell, atoms.pbc, ang_to_bohr(atoms.positions), spacing,
                                    margin)
    return Grid.around(ang_to_bohr(atoms.positions), spacing, margin)


def prediction_key(predictor, atoms, grid: Grid) -> str:
    """Cache key of a prediction: weights, dtype, device, atoms (Å, cell, pbc) and grid."""
    return digest("predicted", model_key(predictor), str(getattr(predictor, "dtype", "")),
                  str(getattr(predictor, "device", "")),
                  atoms.numbers, atoms.positions, np.asarray(atoms.cell), tuple(atoms.pbc),
                  grid_key(grid))


def _predictor(model, device):
    """``model`` as a :class:`~ddviz.evaluate.predictor.Predictor` (imported here: torch)."""
    from ddviz.evaluate.predictor import Predictor

    return model if isinstance(model, Predictor) else Predictor(model, device=device)


def is_cached(atoms, model, cache, reference=None, step: int = 1,
              spacing: float = STANDARD_SPACING, margin: float = STANDARD_MARGIN,
              device=None) -> bool:
    """Whether ``cache`` holds the prediction :func:`compute_comparison` would make.

    The arguments are those of :func:`compute_comparison`.

    Returns
    -------
    bool
        True when the prediction with the same arguments is cached.
    """
    grid = comparison_grid(atoms, reference, spacing, margin).every(step)
    return prediction_key(_predictor(model, device), atoms, grid) in cache


def reference_on(reference, grid: Grid, step: int = 1, cache=None,
                 coarse: tuple[int, np.ndarray] | None = None) -> np.ndarray:
    """A reference Sample's density on ``grid`` = ``reference.grid.every(step)``.

    Stored values are subsampled, orbitals evaluated on the grid (through ``cache``, a
    :class:`ddviz.cache.FieldCache`, when given; ``coarse``: ``(s, values)`` known on
    ``grid.every(s)``, reused). Returns an array of ``grid.shape`` in the Sample's units.
    """
    orbitals = reference.orbitals
    if reference.has_values or orbitals is None:
        return np.asarray(reference.density.values)[::step, ::step, ::step]
    if cache is None:
        return orbitals.evaluate_grid(grid, coarse=coarse)
    key = digest("reference", orbitals.numbers, orbitals.positions_bohr, orbitals.basis,
                 orbitals.pseudo, orbitals.coeff, orbitals.occ, grid_key(grid))
    return cache.get_or_compute(key, lambda: orbitals.evaluate_grid(grid, coarse=coarse))


def compute_comparison(atoms, model, reference=None, spacing: float = STANDARD_SPACING,
                       margin: float = STANDARD_MARGIN, progress=None, device=None,
                       step: int = 1, cache=None,
                       coarse: Comparison | None = None) -> Comparison:
    """Predict with ``model`` and set the prediction beside the reference.

    Parameters
    ----------
    atoms : ase.Atoms
        The structure (Å).
    model : DeepDensity or Predictor
    reference : ddviz.grid.Sample, optional
        Its grid, ``ndim`` and ``units`` are the comparison's; without one, the standard grid
        around the atoms (``spacing``, ``margin`` in bohr) and a density in space (e/bohr^3).
    progress : callable, optional
        Passed to :meth:`Predictor.predict_grid`.
    device : str or torch.device, optional
        For a DeepDensity (a Predictor has its own).
    step : int
        Evaluate only every step-th point along each axis (a quick preview: 2 gives 8x fewer
        points).
    cache : ddviz.cache.FieldCache, optional
        For the prediction and a reference evaluated from orbitals (keys: weights, atoms,
        orbitals and grid, by content).
    coarse : Comparison, optional
        A comparison of the same inputs on every ``coarse.step``-th point of this grid (the
        preview): its values are reused, only the other points are evaluated.

    Returns
    -------
    Comparison

    Raises
    ------
    DdvizError
        The reference's atoms differ from ``atoms``; ``coarse`` does not lie on this grid.
    """
    grid = comparison_grid(atoms, reference, spacing, margin).every(step)
    predictor = _predictor(model, device)
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
    from ddviz.methods.deep_density import coverage

    outliers = tuple(coverage.check(predictor.model, atoms))
    if reference is None:
        return Comparison(atoms, grid, predicted, None, seconds, step, cached, outliers=outliers)
    ref = reference_on(reference, grid, step, cache, known.get("reference"))
    from ddviz.evaluate.properties import pseudo_of

    return Comparison(atoms, grid, predicted, ref, seconds, step, cached, reference.ndim,
                      reference.units, outliers, pseudo_of(reference))
