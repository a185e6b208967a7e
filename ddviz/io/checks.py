"""Checks every structure passes before ddviz computes anything with it.

A structure is refused (FileFormatError naming the file, and the frame of a multi-frame file) when
it has no atoms, when two atoms are closer than :data:`MIN_DISTANCE` Å (periodic images included:
duplicate or overlapping sites), or when a CIF declares partially occupied sites (ASE would
otherwise place every candidate site as a full atom).
"""

from __future__ import annotations

import ase
import numpy as np

from ddviz.errors import FileFormatError

MIN_DISTANCE = 0.5  # Å; no two real atoms are this close
OCCUPANCY_TOLERANCE = 1e-3
MAX_PERIODIC_LENGTH = 1e4  # Å; longer cell vectors are checked without periodic images


def _where(frame: int | None, frames: int) -> str:
    return "" if frame is None or frames <= 1 else f"frame {frame}: "


def check_structure(atoms: ase.Atoms, path, *, frame: int | None = None, frames: int = 1) -> None:
    """Refuse an empty structure, overlapping atoms or partially occupied sites.

    Parameters
    ----------
    atoms : ase.Atoms
        The structure (Å); ``atoms.info["occupancy"]`` (as ASE's CIF reader fills it) is checked.
    path : path-like
        The file it came from, named in the message.
    frame, frames : int
        Which frame of how many (named in the message when there are several).

    Raises
    ------
    FileFormatError
        With one line naming the file and the reason.
    """
    where = _where(frame, frames)
    if len(atoms) == 0:
        raise FileFormatError(f"{where}the structure has no atoms", path=path)
    occupancy = atoms.info.get("occupancy") or {}
    partial = sorted({f"{sym} {occ:g}" for site in occupancy.values() for sym, occ in
                      ((s, _occupancy(o, path, where)) for s, o in site.items())
                      if abs(occ - 1.0) > OCCUPANCY_TOLERANCE})
    if partial:
        raise FileFormatError(f"{where}partially occupied sites ({', '.join(partial[:4])}); ddviz "
                              "needs an ordered structure with every site fully occupied", path=path)
    if len(atoms) > 1 or any(atoms.pbc):
        _check_distances(atoms, path, where)


def _occupancy(value, path, where: str) -> float:
    """An occupancy as a float; CIF's ``0.50(2)`` (with its uncertainty) is 0.5."""
    try:
        return float(str(value).split("(")[0])
    except ValueError:
        raise FileFormatError(f"{where}site occupancy {str(value)[:20]!r} is not a number",
                              path=path) from None


def _check_distances(atoms: ase.Atoms, path, where: str) -> None:
    from ase.neighborlist import neighbor_list

    probe = atoms.copy()
    cell = probe.cell.array
    if probe.cell.rank < 3 or np.max(probe.cell.lengths()) > MAX_PERIODIC_LENGTH \
            or np.linalg.matrix_rank(cell, tol=1e-6 * np.max(np.abs(cell))) < 3:
        # no full cell (or a degenerate one), or images too far apart to matter: check without
        # periodic images
        # (neighbor_list still wants a cell; without pbc its size does not matter)
        probe.pbc = False
        probe.cell = np.eye(3)
    i, j, d = neighbor_list("ijd", probe, MIN_DISTANCE)
    if len(d):
        k = int(np.argmin(d))
        a, b = sorted((int(i[k]), int(j[k])))
        sym = atoms.get_chemical_symbols()
        same = " (the same atom and its periodic image)" if a == b else ""
        raise FileFormatError(f"{where}atoms {a + 1} ({sym[a]}) and {b + 1} ({sym[b]}) are "
                              f"{d[k]:.2f} Å apart{same}, closer than {MIN_DISTANCE} Å: overlapping "
                              "or duplicate sites", path=path)
