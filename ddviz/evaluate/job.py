"""A comparison job: inputs (files or objects) -> :class:`~ddviz.evaluate.comparison.Comparison`.

What the app's Explore tab computes, without any UI: load a structure, a model and optionally a
reference density, then compare on the reference's grid (or the standard grid around the atoms).
A large grid not in the cache yet can be computed twice: first on every :data:`PREVIEW_STEP`-th
point along each axis (8x fewer points, shown at once), then on every point, reusing the
preview's values (:func:`~ddviz.evaluate.comparison.compute_comparison` with ``coarse``).

The app runs :meth:`ComparisonJob.load` and :meth:`ComparisonJob.compute` in a worker thread;
a script calls :meth:`ComparisonJob.run`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the app makes a job with its page, before the numerical modules load
    from ddviz.evaluate.comparison import Comparison

PREVIEW_STEP = 2  # the preview takes every 2nd grid point along each axis
PREVIEW_MIN_POINTS = 100_000  # smaller grids are computed at full resolution at once


@dataclass(frozen=True)
class Inputs:
    """What a comparison is computed from.

    atoms: ``ase.Atoms`` (Å). model: a loaded model (e.g. a DeepDensity). reference: a
    :class:`~ddviz.grid.Sample` (bohr, e/bohr^3) or None for a prediction alone.
    """

    atoms: object
    model: object
    reference: object | None = None


class ComparisonJob:
    """Loads inputs and computes comparisons through one cache of computed grids.

    Parameters
    ----------
    cache : ddviz.cache.FieldCache or None
        Computed predictions and references, by content (None: nothing is kept).

    Notes
    -----
    Models read from files are kept by path and modification time, so a model chosen again is
    not read again, and a rewritten file is.
    """

    read_seconds: float | None = 60.0  # wall-clock budget of each file read (None: none)

    def __init__(self, cache=None):
        self.cache = cache
        self._models: dict[tuple[str, float], object] = {}

    def load(self, structure, model, reference=None, pbc: bool = False) -> Inputs:
        """Read the inputs, each a path or an object already loaded.

        Parameters
        ----------
        structure : pathlib.Path, ase.Atoms or ddviz.grid.Sample
            A structure file, or a density file (then it is also the reference unless
            ``reference`` is given), or a structure / Sample.
        model : pathlib.Path or model object
            A model file (``.safetensors``) or a loaded model.
        reference : pathlib.Path, ddviz.grid.Sample or None
            A density file or Sample to compare with.
        pbc : bool
            Treat the reference as periodic (:func:`ddviz.grid.as_periodic`: a cube whose grid
            spans exactly its cell, as ``--pbc``); the structure takes its cell.

        Returns
        -------
        Inputs

        Raises
        ------
        ddviz.errors.DdvizError
            A file that cannot be read (its error names the file and what was expected), or
            one whose read runs past :attr:`read_seconds`
            (:class:`~ddviz.io.budget.ReadTimeoutError`).
        """
        from ddviz import io
        from ddviz.grid import Sample
        from ddviz.io.budget import read_with_budget

        seconds = self.read_seconds  # each file read within a wall-clock budget
        if isinstance(structure, Sample):
            atoms, own = structure.atoms, structure
        elif isinstance(structure, Path):
            atoms = read_with_budget(structure, seconds, io.read_structure)
            own = read_with_budget(structure, seconds) if reference is None and \
                io.format_of(structure).density else None  # a density file is its own reference
        else:
            atoms, own = structure, None
        if reference is not None:
            own = reference if isinstance(reference, Sample) else read_with_budget(reference,
                                                                                   seconds)
        if pbc and own is not None:
            from ddviz.grid import as_periodic

            own = as_periodic(own, getattr(reference, "name", None) or getattr(structure, "name",
                                                                               None))
            atoms = atoms.copy()
            atoms.cell, atoms.pbc = own.atoms.cell, own.atoms.pbc
        return Inputs(atoms, self._model(model), own)

    def _model(self, model):
        if not isinstance(model, Path):
            return model
        from ddviz.methods.deep_density.files import load_model

        key = (str(model), model.stat().st_mtime)
        if key not in self._models:
            self._models[key] = load_model(model)[0]
        return self._models[key]

    def steps(self, inputs: Inputs, preview: bool = True) -> list[int]:
        """The grid steps to compute, coarse preview first.

        Parameters
        ----------
        inputs : Inputs
            What to compare.
        preview : bool
            Allow a preview.

        Returns
        -------
        list of int
            ``[PREVIEW_STEP, 1]`` for a large grid (at least :data:`PREVIEW_MIN_POINTS` points)
            whose prediction is not cached yet, else ``[1]``.
        """
        from ddviz.evaluate.comparison import comparison_grid, is_cached

        if not preview or comparison_grid(inputs.atoms, inputs.reference).size < \
                PREVIEW_MIN_POINTS or is_cached(inputs.atoms, inputs.model, self.cache,
                                                inputs.reference):
            return [1]
        return [PREVIEW_STEP, 1]

    def compute(self, inputs: Inputs, step: int = 1, coarse: Comparison | None = None,
                progress: Callable[[int, int], None] | None = None) -> Comparison:
        """The comparison on every ``step``-th point of the grid.

        Parameters
        ----------
        inputs : Inputs
        step : int
            Grid points taken along each axis (1: all).
        coarse : Comparison or None
            The same inputs on a coarser step (the preview): its values are reused.
        progress : callable or None
            Called as ``progress(done, total)`` while the model evaluates.

        Returns
        -------
        Comparison
        """
        from ddviz.evaluate.comparison import compute_comparison

        return compute_comparison(inputs.atoms, inputs.model, inputs.reference,
                                  progress=progress, step=step, cache=self.cache, coarse=coarse)

    def run(self, inputs: Inputs, preview: bool = True,
            progress: Callable[[int, int], None] | None = None) -> Iterator[Comparison]:
        """Yield the comparisons of :meth:`steps` in turn.

        The preview (if any), then the full grid, the last one built on the one before.
        """
        comparison = None
        for step in self.steps(inputs, preview):
            comparison = self.compute(inputs, step, comparison, progress)
            yield comparison
