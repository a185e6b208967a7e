"""POSCAR-like headers: the one parser ddviz has for them.

POSCAR, CONTCAR and the first part of CHGCAR, AECCAR*, CHG, LOCPOT, ELFCAR and PARCHG.

Layout (https://www.vasp.at/wiki/index.php/POSCAR): a comment; the scaling line; three lattice rows
(Å); VASP 5+ species names (VASP 4: names taken from the comment); counts per species; an optional
``Selective dynamics`` line; ``Direct`` or ``Cartesian``; one position per atom (extra columns
such as selective-dynamics flags are ignored). The scaling line is one of

* one positive number s: lattice rows and Cartesian positions are multiplied by s;
* one negative number -V: s is chosen so that the cell volume is V Å^3;
* three positive numbers (s_x, s_y, s_z): the x, y and z Cartesian components of the lattice rows
  (and of Cartesian positions) are multiplied by them, as VASP, ASE and pymatgen do.

Numbers may be written as Fortran writes them (``1.0D+00``).
"""

from __future__ import annotations

from dataclasses import dataclass

import ase
import numpy as np
from ase.data import atomic_numbers

from ddviz.io._common import LineReader, open_binary, parse_float, show


@dataclass
class PoscarHeader:
    """What a POSCAR-like header holds: comment, cell (3, 3) Å, atomic numbers, positions (N, 3) Å."""

    comment: str
    cell: np.ndarray
    numbers: list[int]
    positions: np.ndarray

    def atoms(self) -> ase.Atoms:
        """The structure as ASE atoms (Å), periodic in all three directions."""
        return ase.Atoms(numbers=self.numbers, positions=self.positions, cell=self.cell, pbc=True)


def _species(tokens) -> list[str] | None:
    """Element symbols from tokens like ``Si``, ``Si_pv``, ``O/abc`` (None if any is unknown)."""
    out = []
    for tok in tokens:
        sym = tok.decode("latin-1").split("_")[0].split("/")[0]
        if sym not in atomic_numbers or sym == "X":
            return None
        out.append(sym)
    return out


def _scale(r: LineReader, rows: np.ndarray, raw: bytes, line: int) -> np.ndarray | float:
    """The factor for the lattice rows: a number, or (s_x, s_y, s_z) applied per component."""
    values = []
    for tok in raw.split()[:3]:
        try:
            values.append(parse_float(tok))
        except ValueError:
            break
    if len(values) not in (1, 3) or not np.all(np.isfinite(values)):
        raise r.error(f"expected one scaling factor, a negative volume or three scaling factors, "
                      f"got {show(raw)}", line)
    volume = abs(np.linalg.det(rows))
    if volume < 1e-8:
        raise r.error(f"degenerate lattice (volume {volume:.3g} Å^3 before scaling)", line + 3)
    if len(values) == 3:
        if min(values) <= 0:
            raise r.error(f"three scaling factors must all be positive (a negative volume is given "
                          f"as one number), got {values}", line)
        return np.array(values)
    if values[0] == 0:
        raise r.error("degenerate cell (scaling factor 0)", line + 3)
    return values[0] if values[0] > 0 else (-values[0] / volume) ** (1 / 3)


def read_header(r: LineReader) -> PoscarHeader:
    """Parse a POSCAR-like header from ``r`` (positioned at its first line).

    Raises
    ------
    FileFormatError
        naming ``file:line`` and what was expected there.
    """
    comment = r.next("a comment line")
    scale_raw = r.next("a scaling factor, a negative volume or three scaling factors")
    scale_line = r.line
    rows = np.array([r.numbers(3, f"3 numbers (lattice vector {i + 1}, Å)") for i in range(3)])
    factor = _scale(r, rows, scale_raw, scale_line)
    cell = rows * factor  # a (3,) factor scales the x, y, z components
    line = r.next("species names or atom counts")
    if all(t.isdigit() for t in line.split()) and line.split():  # VASP 4: names in the comment
        counts_line, names = line, comment.split()[:len(line.split())]
        species = _species(names) if len(names) == len(line.split()) else None
        if species is None:
            raise r.error("VASP 4 file without species names (expected them on line 6 or in the "
                          "comment line)", 6)
    else:
        species = _species(line.split())
        if not species:
            raise r.error(f"expected element symbols, got {show(line)}")
        counts_line = r.next("atom counts")
    counts = r.numbers(len(species), f"{len(species)} atom counts (one per species)",
                       ints=len(species), line=counts_line)
    if len(counts_line.split()) > len(species) and counts_line.split()[len(species)].isdigit():
        raise r.error(f"{len(counts_line.split())} atom counts for {len(species)} species")
    if min(counts) < 0 or sum(counts) > r.remaining() // 6 + 1:
        raise r.error(f"implausible atom counts {counts} for the bytes that follow")
    mode = r.next("Direct or Cartesian")
    if mode.strip()[:1] in (b"S", b"s"):
        mode = r.next("Direct or Cartesian")
    cartesian = mode.strip()[:1] in (b"C", b"c", b"K", b"k")
    natoms = sum(counts)
    coords = np.array([r.numbers(3, f"3 coordinates for atom {i + 1} of {natoms}")
                       for i in range(natoms)]).reshape(-1, 3)
    positions = coords * factor if cartesian else coords @ cell
    numbers = [atomic_numbers[s] for s, c in zip(species, counts) for _ in range(c)]
    return PoscarHeader(comment.decode("latin-1").strip(), cell, numbers, positions)


def read(path) -> ase.Atoms:
    """The structure (Å, periodic) of a POSCAR/CONTCAR file."""
    with open_binary(path) as f:
        return read_header(LineReader(f, path)).atoms()
