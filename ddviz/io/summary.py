"""What a density or structure file holds, as the plain facts ``ddviz info`` prints."""

from __future__ import annotations

import numpy as np

from ddviz import io
from ddviz.units import ang_to_bohr

# ndim: 1 (a chain's line density), 3 (a density in space); units: of the density values
KEYS = ("natoms", "species", "grid_shape", "spacing_bohr", "cell_bohr", "pbc", "ndim", "units",
        "electrons", "electrons_from", "frames")


def describe(path, max_points: int | None = None, format: str | None = None,
             pbc: bool = False) -> dict:
    """The facts of one file that ``ddviz info`` prints.

    Atoms, species, grid, spacing and cell (bohr), periodicity, the density's dimension and units,
    its electron count and the number of frames.

    Parameters
    ----------
    path : str or os.PathLike
        A density file (cube, CHGCAR/PARCHG, netCDF) or a structure file (xyz, POSCAR, cif).
    max_points : int, optional
        Refuse grids with more points (see :func:`ddviz.io.read`).
    format : str, optional
        A name of :data:`ddviz.io.FORMATS`; default: from the file name or its content.
    pbc : bool
        Treat a density file as periodic (:func:`ddviz.grid.as_periodic`: a cube whose grid
        spans exactly its cell).

    Returns
    -------
    dict
        ``file``, ``format`` and :data:`KEYS`. Electrons by quadrature of the grid values, or
        from the orbitals' occupations when a netCDF file stores only orbitals (no grid is
        evaluated), which ``electrons_from`` says ("grid" or "orbitals"); None for LOCPOT/ELFCAR, which hold no density. A structure file has no grid:
        grid, spacing, ndim, units and electrons are None, and so is the cell of a structure
        without one; its atoms are the last frame's.

    Raises
    ------
    DdvizError
        The file is missing, of an unknown type, malformed or too large.
    """
    fmt = io.format_of(path, format)
    if fmt.density:
        sample = io.read(path, max_points=max_points, format=fmt.name)
        if pbc:
            from ddviz.grid import as_periodic

            sample = as_periodic(sample, path)
        if sample.has_values:
            info = {**sample.summary(), "electrons_from": "grid"}
        else:  # orbitals only: the exact count, without evaluating the grid
            info = {"natoms": len(sample.atoms),
                    "species": sorted(set(sample.atoms.get_chemical_symbols())),
                    "grid_shape": list(sample.grid.shape),
                    "spacing_bohr": [float(h) for h in sample.grid.spacing],
                    "cell_bohr": sample.cell_bohr.tolist(), "pbc": list(sample.grid.pbc),
                    "ndim": sample.ndim, "units": sample.units,
                    "electrons": sample.orbitals.electrons, "electrons_from": "orbitals"}
        if sample.provenance.get("quantity", "density") != "density":
            info["electrons"] = info["electrons_from"] = None  # LOCPOT, ELFCAR: not a density
        info["frames"] = 1
    else:
        frames = io.read_structures(path, format=fmt.name)
        atoms = frames[-1]
        cell = np.asarray(atoms.cell)
        info = {"natoms": len(atoms), "species": sorted(set(atoms.get_chemical_symbols())),
                "grid_shape": None, "spacing_bohr": None,
                "cell_bohr": ang_to_bohr(cell).tolist() if np.any(cell) else None,
                "pbc": [bool(p) for p in atoms.pbc], "ndim": None, "units": None,
                "electrons": None, "frames": len(frames)}
    return {"file": str(path), "format": fmt.name, **{k: info.get(k) for k in KEYS}}
