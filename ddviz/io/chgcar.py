"""VASP volumetric files in CHGCAR layout.

CHGCAR, PARCHG, CHG, AECCAR0/1/2 (densities), and LOCPOT (local potential, eV) and ELFCAR
(electron localisation function) under those names.

Layout: a POSCAR header (:mod:`ddviz.io.poscar` (comment, scale, lattice rows in Å, species, counts, [Selective dynamics],
Direct|Cartesian, positions), a blank line, ``nx ny nz`` and nx*ny*nz values of rho*V_cell with x
fastest (Fortran order). Only this first volume (the total density) is read; augmentation
occupancies and spin volumes after it are ignored. LOCPOT and ELFCAR store the field itself (not
times V_cell); their values are kept as they are and ``provenance["quantity"]`` says what they are.

Inside ddviz: rho in e/bohr^3 on a periodic grid with C order (a slowest), so
``rho = value / V_cell[bohr^3]`` and ``values.reshape(nz, ny, nx).transpose(2, 1, 0)``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ddviz.errors import UnsupportedError
from ddviz.grid import Grid, Sample, atoms_from_bohr
from ddviz.io._common import (
    LineReader,
    check_points,
    open_binary,
    strip_compression_suffix,
)
from ddviz.io.poscar import read_header
from ddviz.units import ANGSTROM_PER_BOHR, ang_to_bohr

VALUES_PER_LINE = 5
# file-name part -> (quantity, unit) of files that do not hold rho * V_cell
NOT_DENSITY = {"LOCPOT": ("potential", "eV"), "ELFCAR": ("elf", "1")}


def quantity_of(path) -> tuple[str, str]:
    """(quantity, unit) of the values of a CHGCAR-layout file, from its name."""
    name = strip_compression_suffix(Path(os.fspath(path)).name)
    for part, found in NOT_DENSITY.items():
        if part in name:
            return found
    return "density", "e/bohr^3"


def _header(r: LineReader, max_points: int | None):
    h = read_header(r)
    comment, cell, numbers, positions = h.comment, h.cell, h.numbers, h.positions
    line = r.next("grid dimensions (nx ny nz)")
    while not line.strip():
        line = r.next("grid dimensions (nx ny nz)")
    shape = r.numbers(3, "3 grid dimensions (nx ny nz)", ints=3, line=line)
    if min(shape) < 1:
        raise r.error(f"grid dimensions must be positive, got {shape}")
    n = check_points(shape, max_points, r.path, r.line)
    return comment, cell, numbers, positions, tuple(shape), n


def read(path, max_points: int | None) -> Sample:
    """A Sample on a periodic grid; atoms with the cell and pbc True."""
    with open_binary(path) as f:
        r = LineReader(f, path)
        comment, cell, numbers, positions, shape, n = _header(r, max_points)
        raw = r.values(n, "grid values (rho*V)")
    cell_bohr = ang_to_bohr(cell)
    quantity, unit = quantity_of(path)
    volume = abs(np.linalg.det(cell_bohr)) if quantity == "density" else 1.0
    rho = raw.reshape(shape[::-1]).transpose(2, 1, 0) / volume
    atoms = atoms_from_bohr(numbers, ang_to_bohr(positions), cell_bohr, pbc=True)
    prov = {"source_format": "chgcar", "source_file": str(path), "comment": comment}
    if quantity != "density":
        prov.update(quantity=quantity, unit=unit)
    return Sample(atoms, Grid.periodic(cell_bohr, shape), np.ascontiguousarray(rho), prov)


def read_atoms(path):
    """The atoms (Å, with cell and pbc) from the header only."""
    with open_binary(path) as f:
        return read_header(LineReader(f, path)).atoms()


def _runs(symbols):
    """Consecutive runs of equal symbols: (symbol, count) pairs, so atom order is kept."""
    runs = []
    for s in symbols:
        if runs and runs[-1][0] == s:
            runs[-1][1] += 1
        else:
            runs.append([s, 1])
    return runs


def write(sample: Sample, path, *, name=None) -> None:
    """Write VASP 5 CHGCAR (Direct coordinates; values rho*V, x fastest, 5 per line)."""
    grid = sample.grid
    if not all(grid.pbc) or not np.allclose(grid.origin, 0, atol=1e-10):
        raise UnsupportedError(f"CHGCAR needs a periodic grid with origin 0 (this grid: pbc "
                               f"{grid.pbc}, origin {grid.origin.tolist()} bohr)", path=name or path)
    cell_bohr = grid.cell
    frac = ang_to_bohr(sample.atoms.positions).reshape(-1, 3) @ np.linalg.inv(cell_bohr)
    runs = _runs(sample.atoms.get_chemical_symbols())
    comment = str(sample.provenance.get("comment", "written by ddviz")).replace("\n", " ")
    lines = [comment or "written by ddviz", "   1.00000000000000"]
    lines += [" %21.16f %21.16f %21.16f" % tuple(row) for row in cell_bohr * ANGSTROM_PER_BOHR]
    lines += ["".join(f" {s:>4s}" for s, _ in runs), "".join(f" {c:4d}" for _, c in runs), "Direct"]
    lines += [" %19.16f %19.16f %19.16f" % tuple(p) for p in frac]
    lines += ["", " %4d %4d %4d" % grid.shape]
    values = np.asarray(sample.density.values, dtype=np.float64).ravel(order="F") \
        * abs(np.linalg.det(cell_bohr))
    full, rest = divmod(values.size, VALUES_PER_LINE)
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
        row = " %17.11E" * VALUES_PER_LINE + "\n"
        step = 5 * 8192
        for start in range(0, full * VALUES_PER_LINE, step):
            block = values[start:min(start + step, full * VALUES_PER_LINE)]
            f.write((row * (block.size // VALUES_PER_LINE)) % tuple(block))
        if rest:
            f.write(" %17.11E" * rest % tuple(values[-rest:]) + "\n")
