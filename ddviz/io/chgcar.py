"""VASP CHGCAR / PARCHG charge densities.

Layout: a POSCAR header (comment, scale, lattice rows in Å, species, counts, [Selective dynamics],
Direct|Cartesian, positions), a blank line, ``nx ny nz`` and nx*ny*nz values of rho*V_cell with x
fastest (Fortran order). Only this first volume (the total density) is read; augmentation
occupancies and spin volumes after it are ignored.

Inside ddviz: rho in e/bohr^3 on a periodic grid with C order (a slowest), so
``rho = value / V_cell[bohr^3]`` and ``values.reshape(nz, ny, nx).transpose(2, 1, 0)``.
"""

from __future__ import annotations

import numpy as np
from ase.data import atomic_numbers

from ddviz.errors import UnsupportedError
from ddviz.grid import Grid, Sample, atoms_from_bohr
from ddviz.io._common import LineReader, check_points, open_binary
from ddviz.units import ANGSTROM_PER_BOHR, ang_to_bohr

VALUES_PER_LINE = 5


def _species(tokens) -> list[str] | None:
    """Element symbols from tokens like ``Si``, ``Si_pv``, ``O/abc`` (None if any is unknown)."""
    out = []
    for tok in tokens:
        sym = tok.decode("latin-1").split("_")[0].split("/")[0]
        if sym not in atomic_numbers or sym == "X":
            return None
        out.append(sym)
    return out


def _poscar_header(r: LineReader):
    """(comment, cell Å (3, 3), numbers, positions Å (N, 3)) from the POSCAR part."""
    comment = r.next("a comment line")
    scale = r.numbers(1, "a scale factor (>0) or volume (<0)")[0]
    rows = np.array([r.numbers(3, f"3 numbers (lattice vector {i + 1}, Å)") for i in range(3)])
    volume = abs(np.linalg.det(rows))
    if scale == 0 or volume < 1e-8:
        raise r.error(f"degenerate cell (scale {scale}, volume {volume:.3g} Å^3)")
    factor = scale if scale > 0 else (-scale / volume) ** (1 / 3)
    cell = rows * factor
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
            raise r.error(f"expected element symbols, got {line.decode('latin-1').strip()[:40]!r}")
        counts_line = r.next("atom counts")
    counts = r.numbers(len(species), f"{len(species)} atom counts (one per species)",
                       ints=len(species), line=counts_line)
    if len(counts_line.split()) > len(species) and counts_line.split()[len(species)].isdigit():
        raise r.error(f"{len(counts_line.split())} atom counts for {len(species)} species")
    if min(counts) < 0 or sum(counts) > r.remaining() // 6 + 1:
        raise r.error(f"implausible atom counts {counts} for a file of {r.size} bytes")
    mode = r.next("Direct or Cartesian")
    if mode.strip()[:1] in (b"S", b"s"):
        mode = r.next("Direct or Cartesian")
    cartesian = mode.strip()[:1] in (b"C", b"c", b"K", b"k")
    natoms = sum(counts)
    coords = np.array([r.numbers(3, f"3 coordinates for atom {i + 1} of {natoms}")
                       for i in range(natoms)]).reshape(-1, 3)
    positions = coords * factor if cartesian else coords @ cell
    numbers = [atomic_numbers[s] for s, c in zip(species, counts) for _ in range(c)]
    return comment.decode("latin-1").strip(), cell, numbers, positions


def _header(r: LineReader, max_points: int | None):
    comment, cell, numbers, positions = _poscar_header(r)
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
    volume = abs(np.linalg.det(cell_bohr))
    rho = raw.reshape(shape[::-1]).transpose(2, 1, 0) / volume
    atoms = atoms_from_bohr(numbers, ang_to_bohr(positions), cell_bohr, pbc=True)
    prov = {"source_format": "chgcar", "source_file": str(path), "comment": comment}
    return Sample(atoms, Grid.periodic(cell_bohr, shape), np.ascontiguousarray(rho), prov)


def read_atoms(path):
    """The atoms (Å, with cell and pbc) from the header only."""
    with open_binary(path) as f:
        _, cell, numbers, positions = _poscar_header(LineReader(f, path))
    return atoms_from_bohr(numbers, ang_to_bohr(positions), ang_to_bohr(cell), pbc=True)


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
