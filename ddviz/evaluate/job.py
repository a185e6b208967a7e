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
MAX_PYSCF_ATOMS = 12  # reference Hamiltonians computed on request for at most this many atoms


@dataclass(frozen=True)
class Inputs:
    """What a comparison is computed from.

    atoms: ``ase.Atoms`` (Å). model: a loaded model (a DeepDensity or a HamiltonianModel).
    reference: a :class:`~ddviz.grid.Sample` (bohr, e/bohr^3) or None for a prediction alone.
    fock: the reference Kohn–Sham matrix of a Hamiltonian dataset sample
    (:class:`~ddviz.methods.hamiltonian.data.HamiltonianSample`) opened as the structure, or None.
    """

    atoms: object
    model: object
    reference: object | None = None
    fock: object | None = None

    @property
    def hamiltonian(self) -> bool:
        """True for a Hamiltonian (DeepH-E3) model: :meth:`ComparisonJob.compute_hamiltonian`."""
        return is_hamiltonian(self.model)


def is_hamiltonian(model) -> bool:
    """True for a Hamiltonian (DeepH-E3) model object."""
    return type(model).__name__ == "HamiltonianModel"


def is_hamiltonian_sample(path) -> bool:
    """True for a Hamiltonian dataset sample file (a netCDF whose ``format`` attribute says so)."""
    if Path(path).suffix.lower() != ".nc":
        return False
    try:
        import h5py

        with h5py.File(path, "r") as f:
            return f.attrs.get("format") in ("ddviz-hamiltonian-sample", b"ddviz-hamiltonian-sample")
    except Exception:  # noqa: BLE001  (anything unreadable here is not one: read as usual)
        return False


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
        self._fock: dict[tuple, dict] = {}  # PySCF reference Hamiltonians, by atoms and basis

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
        fock = None
        if isinstance(structure, Path) and is_hamiltonian_sample(structure):
            from ddviz.evaluate.hamiltonian import sample_atoms
            from ddviz.methods.hamiltonian.data import HamiltonianSample

            fock = HamiltonianSample.read(structure)
            structure = sample_atoms(fock)
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
        return Inputs(atoms, self._model(model), own, fock)

    def _model(self, model):
        if not isinstance(model, Path):
            return model
        from ddviz.methods import load_model

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

        if not preview or inputs.hamiltonian or comparison_grid(inputs.atoms, inputs.reference).size < \
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

    def compute_hamiltonian(self, inputs: Inputs, deep_density=None,
                            progress: Callable[[int, int], None] | None = None):
        """The density a Hamiltonian model implies, compared (:mod:`ddviz.evaluate.hamiltonian`).

        Parameters
        ----------
        inputs : Inputs
            With a Hamiltonian model. The reference Kohn–Sham matrix is the sample's, else one
            computed by :meth:`pyscf_reference` for these atoms, else none.
        deep_density : pathlib.Path or model object, optional
            A Deep Density model to compare with instead of the reference.
        progress : callable or None
            ``progress(done, total)`` while the Deep Density model evaluates.

        Returns
        -------
        ddviz.evaluate.hamiltonian.HamiltonianView
        """
        from ddviz.evaluate.hamiltonian import compute

        fock = inputs.fock if inputs.fock is not None else self._fock.get(
            self._atoms_key(inputs.atoms, inputs.model))
        dd = None if deep_density is None else self._model(deep_density)
        return compute(inputs.atoms, inputs.model, fock, inputs.reference, dd, self.cache,
                       progress)

    def has_pyscf_reference(self, inputs: Inputs) -> bool:
        """True once :meth:`pyscf_reference` has computed these atoms' reference."""
        return self._atoms_key(inputs.atoms, inputs.model) in self._fock

    def pyscf_reference(self, inputs: Inputs, progress: Callable[[int, float], None] | None = None,
                        max_atoms: int = MAX_PYSCF_ATOMS) -> dict:
        """Compute (once per structure) the reference Kohn–Sham matrix F with PySCF.

        All electrons, PBE, the model's basis, as the Hamiltonian datasets
        (:func:`ddviz.methods.hamiltonian.data.reference`); kept in memory for
        :meth:`compute_hamiltonian`.

        Parameters
        ----------
        inputs : Inputs
            With a Hamiltonian model.
        progress : callable, optional
            ``progress(cycle, energy_ha)`` after every SCF cycle.
        max_atoms : int
            Larger structures are refused (an all-electron SCF of many atoms takes minutes).

        Returns
        -------
        dict
            As :func:`~ddviz.methods.hamiltonian.data.reference` returns it.

        Raises
        ------
        ddviz.errors.DdvizError
            Not a Hamiltonian model, more than ``max_atoms`` atoms, an SCF that did not converge.
        """
        from ddviz.errors import DdvizError
        from ddviz.methods.hamiltonian.data import HamiltonianSCF, reference
        from ddviz.units import ang_to_bohr

        if not inputs.hamiltonian:
            raise DdvizError("a PySCF reference Hamiltonian needs a Hamiltonian model")
        if len(inputs.atoms) > max_atoms:
            raise DdvizError(f"{len(inputs.atoms)} atoms: a PySCF reference is computed here "
                             f"for at most {max_atoms} atoms", field="structure")
        key = self._atoms_key(inputs.atoms, inputs.model)
        if key not in self._fock:
            settings = HamiltonianSCF(basis=inputs.model.config.basis, grids_level=2,
                                      conv_tol=1e-9)
            self._fock[key] = reference(inputs.atoms.numbers, ang_to_bohr(inputs.atoms.positions),
                                        settings, progress)
        return self._fock[key]

    @staticmethod
    def _atoms_key(atoms, model) -> tuple:
        return (atoms.numbers.tobytes(), atoms.positions.round(8).tobytes(),
                model.config.basis)

    def run(self, inputs: Inputs, preview: bool = True,
            progress: Callable[[int, int], None] | None = None) -> Iterator[Comparison]:
        """Yield the comparisons of :meth:`steps` in turn.

        The preview (if any), then the full grid, the last one built on the one before.
        """
        comparison = None
        for step in self.steps(inputs, preview):
            comparison = self.compute(inputs, step, comparison, progress)
            yield comparison
