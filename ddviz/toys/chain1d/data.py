"""1D Kohn–Sham results as ddviz Samples (written and read by :mod:`ddviz.io` as netCDF).

A chain becomes a :class:`~ddviz.grid.Sample` with atoms along x (ASE, Å, cell diag(L, w, w) with
w = 1 bohr, pbc (True, False, False)), grid origin 0, voxel vectors diag(h, 1, 1) bohr, shape (n, 1, 1),
and the density in electrons/bohr, so ``Sample.electrons()`` (sum * h * 1 * 1) counts electrons.
The fictitious species carry element symbols: "Ne" = insulating-like, "Li" = metal-like; the
mapping and every solver setting go into the provenance.

The Sample has ``ndim`` 1 and ``units`` "electrons/bohr"; the files are ddviz's native netCDF
(:func:`ddviz.io.write` / :func:`ddviz.io.read`), which store both (format version 2; a version 1
chain file's density said e/bohr^3, and its reader takes the line grid for a chain). The
fictitious masses are not stored in the file (the provenance's ``species`` has them).
"""

from __future__ import annotations

import os
from dataclasses import asdict

import ase
import numpy as np

from ddviz.grid import Grid, Sample
from ddviz.toys.chain1d.solver import SPECIES, Result
from ddviz.units import LENGTH_UNIT, LINE_DENSITY_UNIT, bohr_to_ang

AMU_IN_ME = 1822.888486  # electron masses per atomic mass unit
TRANSVERSE_BOHR = 1.0    # w: the nominal transverse box (bohr), also the grid's b and c steps

SPECIES_MEANING = {"Ne": "insulating-like fictitious atom (deep narrow Gaussian well, 2 electrons)",
                   "Li": "metal-like fictitious atom (shallow wide Gaussian well, 1 electron)"}


def chain_record(result: Result) -> dict:
    """Everything needed to recompute the sample: solver settings and per-species parameters."""
    return {
        "generator": "ddviz.toys.chain1d.solver",
        "settings": result.settings.as_dict(),
        "species": {s: asdict(SPECIES[s]) for s in sorted(set(result.chain.symbols))},
        "species_meaning": {s: SPECIES_MEANING[s] for s in sorted(set(result.chain.symbols))},
        "units": {"length": LENGTH_UNIT, "energy": "Ha", "density": LINE_DENSITY_UNIT,
                  "mass": "electron masses"},
        "cell_length_bohr": result.chain.length,
        "positions_bohr": [float(p) for p in result.chain.positions],
        "symbols": list(result.chain.symbols),
        "free_energy_Ha": result.energy,
        "forces_Ha_per_bohr": [float(f) for f in result.forces],
        "chemical_potential_Ha": result.mu,
        "scf_iterations": result.iterations,
        "scf_residual": result.residuals[-1],
    }


def chain_atoms(result: Result) -> ase.Atoms:
    """ASE atoms along x (Å), positions wrapped into the cell; masses = the fictitious ones (amu)."""
    chain = result.chain
    pos = np.zeros((len(chain.symbols), 3))
    pos[:, 0] = np.mod(chain.positions, chain.length)
    cell = np.diag([chain.length, TRANSVERSE_BOHR, TRANSVERSE_BOHR])
    atoms = ase.Atoms(symbols=chain.symbols, positions=bohr_to_ang(pos), cell=bohr_to_ang(cell),
                      pbc=(True, False, False))
    atoms.set_masses([SPECIES[s].mass / AMU_IN_ME for s in chain.symbols])
    return atoms


def chain_grid(n: int, length: float) -> Grid:
    """The 1D grid as a ddviz Grid: shape (n, 1, 1), voxel vectors diag(h, 1, 1) bohr."""
    return Grid(np.zeros(3), np.diag([length / n, TRANSVERSE_BOHR, TRANSVERSE_BOHR]), (n, 1, 1),
                (True, False, False))


def to_sample(result: Result, provenance: dict | None = None) -> Sample:
    """A converged chain as a 1D Sample.

    Parameters
    ----------
    result : Result
        A converged SCF of the chain.
    provenance : dict, optional
        Merged into :func:`chain_record`.

    Returns
    -------
    ddviz.grid.Sample
        ``ndim`` 1: the density in electrons/bohr on an (n, 1, 1) grid (bohr).
    """
    record = chain_record(result)
    record.update(provenance or {})
    grid = chain_grid(result.x.size, result.chain.length)
    return Sample(chain_atoms(result), grid, result.density.reshape(grid.shape), record, ndim=1,
                  units=LINE_DENSITY_UNIT)


def is_complete(path) -> bool:
    """True when ``path`` exists (writes are atomic, so an existing file is a finished one)."""
    return os.path.exists(path)
