"""Gaussian cube files (``.cube``, ``.cub``).

Layout: two comment lines; ``natoms x0 y0 z0 [nval]``; three lines ``n_i v_ix v_iy v_iz``
(voxel vectors, non-orthogonal allowed); ``natoms`` lines ``Z charge x y z``; if natoms < 0, a
``DSET_IDS`` line ``m id...`` (only m = 1 is supported); then n0*n1*n2 values, z fastest.

Units: a positive voxel count n_i means vector i is in bohr, negative means Å; the sign of n_0
sets the unit of the origin and atom positions. Values are read and written as e/bohr^3 in either
case (as Gaussian, PySCF and VMD treat them). The origin is kept.

Periodicity: the format has no flag for it (CP2K's and VASP's cubes are periodic, Gaussian's are
not, and nothing in the file says which). ddviz writes a periodic grid's second comment line as
the exact token ``ddviz pbc=T T F`` (one T or F per voxel axis) and reads a token ending that line
with one fixed regular expression (:data:`PBC_TOKEN`; nothing is evaluated): the grid gets those
periodic axes, the atoms the grid's cell and that pbc. Any other second line, a malformed token
included, is a comment: the grid is not periodic (``--pbc`` declares a foreign cube of the cell
periodic, :func:`ddviz.grid.as_periodic`).
"""

from __future__ import annotations

import json
import re

import numpy as np

from ddviz.errors import DdvizError, UnsupportedError
from ddviz.grid import Grid, Sample, atoms_from_bohr
from ddviz.io._common import LineReader, check_points, open_binary
from ddviz.units import BOHR_PER_ANGSTROM, ang_to_bohr

VALUES_PER_LINE = 6
LOOP_ORDER = "OUTER LOOP: X, MIDDLE LOOP: Y, INNER LOOP: Z"
# ddviz's periodicity token, at the end of the second comment line: exactly "ddviz pbc=T T F"
PBC_TOKEN = re.compile(r"(?:^|\s)ddviz pbc=([TF]) ([TF]) ([TF])\s*\Z")


def _header(r: LineReader, max_points: int | None):
    """Parse everything before the values: (comments, numbers, positions bohr, grid)."""
    comments = [r.next("a comment line").decode("latin-1").rstrip("\r\n") for _ in range(2)]
    raw = r.next("4 numbers (natoms, x0, y0, z0)")
    head = r.numbers(4, "4 numbers (natoms, x0, y0, z0)", ints=1, line=raw)
    natoms, origin = head[0], np.array(head[1:])
    nval = raw.split()[4:5]
    if nval and nval[0].isdigit() and int(nval[0]) > 1:
        raise UnsupportedError(f"cube with {int(nval[0])} values per voxel is not supported",
                               path=r.path, line=r.line)
    axes = [r.numbers(4, f"4 numbers (n{i}, v{i}x, v{i}y, v{i}z)", ints=1) for i in range(3)]
    shape = tuple(abs(a[0]) for a in axes)
    if min(shape) < 1:
        raise r.error(f"voxel counts must be non-zero, got {[a[0] for a in axes]}", r.line - 2)
    scale = BOHR_PER_ANGSTROM if axes[0][0] < 0 else 1.0
    vectors = np.array([[v * (BOHR_PER_ANGSTROM if a[0] < 0 else 1.0) for v in a[1:]]
                        for a in axes])
    n = check_points(shape, max_points, r.path, r.line - 2)
    if abs(natoms) > r.remaining() // 10 + 1:
        raise r.error(f"declares {abs(natoms)} atoms but only {r.remaining()} bytes follow", 3)
    numbers, positions = [], []
    for i in range(abs(natoms)):
        z, _charge, *xyz = r.numbers(5, "5 numbers (Z, charge, x, y, z) for atom "
                                        f"{i + 1} of {abs(natoms)}", ints=1,
                                   at_least=False)
        if not 0 <= z <= 118:
            raise r.error(f"atomic number must be 0..118, got {z}")
        numbers.append(z)
        positions.append(xyz)
    if natoms < 0:
        m = r.numbers(1, "a DSET_IDS line (number of volumes, ids)", ints=1)[0]
        if m != 1:
            raise UnsupportedError(f"multi-volume cube with {m} volumes is not supported",
                                   path=r.path, line=r.line)
    try:
        grid = Grid(origin * scale, vectors, shape, pbc_of(comments[1]))
    except DdvizError as exc:
        raise r.error(f"bad voxel vectors: {exc}", 6) from None
    positions = np.array(positions, dtype=float).reshape(-1, 3) * scale
    return comments, numbers, positions, grid, n


def pbc_of(comment: str) -> tuple[bool, bool, bool]:
    """The periodic axes a cube's second comment line declares with ddviz's token.

    Parameters
    ----------
    comment : str
        The second comment line.

    Returns
    -------
    tuple of three bool
        From a token ``ddviz pbc=X Y Z`` (each ``T`` or ``F``, single spaces) that ends the line;
        all False without one or for anything else (a malformed token is ignored).
    """
    match = PBC_TOKEN.search(comment)
    return tuple(m == "T" for m in match.groups()) if match else (False, False, False)


def _atoms(numbers, positions, grid: Grid):
    """ASE atoms; with the grid's cell and pbc when the grid is periodic along some axis."""
    if not any(grid.pbc):
        return atoms_from_bohr(numbers, positions)
    return atoms_from_bohr(numbers, positions, grid.cell, grid.pbc)


def _provenance(comments, path) -> dict:
    """Provenance from a ddviz comment line (``... {json}``), else the two comment lines."""
    prov = {"source_format": "cube", "source_file": str(path), "comment": comments}
    start = comments[0].find("{")
    if start >= 0:
        try:
            extra = json.loads(comments[0][start:])
        except ValueError:
            extra = None
        if isinstance(extra, dict):
            return {**extra, **prov}  # this file's facts win over older ones
    return prov


def read(path, max_points: int | None) -> Sample:
    """A Sample: the cube's atoms, grid and values in e/bohr^3.

    Without ddviz's pbc token the atoms have no cell and nothing is periodic; with it the grid
    is periodic along the axes it names and the atoms take the grid's cell and that pbc.
    """
    with open_binary(path) as f:
        r = LineReader(f, path)
        comments, numbers, positions, grid, n = _header(r, max_points)
        values = r.values(n)
        r.only_whitespace_left(f"{n} grid values")
    atoms = _atoms(numbers, positions, grid)
    return Sample(atoms, grid, values.reshape(grid.shape), _provenance(comments, path))


def read_atoms(path):
    """The atoms (Å) of a cube file, from its header only (cell and pbc as :func:`read`)."""
    with open_binary(path) as f:
        _, numbers, positions, grid, _ = _header(LineReader(f, path), 1 << 62)
    return _atoms(numbers, positions, grid)


def _comment(sample) -> str:
    text = json.dumps(sample.provenance, separators=(",", ":"), default=str)
    return text if len(text) < 1000 else "{}"


def write(sample: Sample, path, *, name=None) -> None:
    """Write in bohr (positive voxel counts), values as ``%13.5E``, 6 per line, each z-row new line.

    The second comment line is the loop order, or, for a grid periodic along some axis,
    ddviz's token alone (``ddviz pbc=T T F``), so that :func:`read` gives it back periodic (the
    loop order is the default one; ASE would read any word after ``OUTER LOOP`` as an axis).
    """
    grid = sample.grid
    pos = ang_to_bohr(sample.atoms.positions).reshape(-1, 3)
    second = ("ddviz pbc=" + " ".join("T" if p else "F" for p in grid.pbc) if any(grid.pbc)
              else LOOP_ORDER)  # not both: ASE parses any "OUTER LOOP" line for axis letters
    lines = ["ddviz density e/bohr^3 " + _comment(sample), second,
             "%5d%12.6f%12.6f%12.6f" % (len(pos), *grid.origin)]
    lines += ["%5d%12.6f%12.6f%12.6f" % (n, *v) for n, v in zip(grid.shape, grid.vectors)]
    lines += ["%5d%12.6f%12.6f%12.6f%12.6f" % (z, float(z), *p)
              for z, p in zip(sample.atoms.numbers, pos)]
    values = np.asarray(sample.density.values, dtype=np.float64).reshape(-1, grid.shape[2])
    full, rest = divmod(grid.shape[2], VALUES_PER_LINE)
    row_fmt = ("%13.5E" * VALUES_PER_LINE + "\n") * full + ("%13.5E" * rest + "\n" if rest else "")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
        for start in range(0, len(values), 4096):
            block = values[start:start + 4096]
            f.write((row_fmt * len(block)) % tuple(block.ravel()))
