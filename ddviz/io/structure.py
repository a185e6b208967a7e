"""Structure files (no grid) through ``ase.io``: xyz/extxyz, POSCAR/CONTCAR, cif.

ASE's parsers raise many exception types on malformed input; every one of them becomes a
FileFormatError naming the file, so callers only ever see DdvizError subclasses.
"""

from __future__ import annotations

import io
import os
import warnings

import ase
import ase.io
import numpy as np

from ddviz.errors import DdvizError, FileFormatError
from ddviz.io._common import open_binary

# A structure file larger than this is refused before ASE parses it (bytes).
MAX_STRUCTURE_BYTES = 256 * 1024 * 1024


def _check(atoms, path) -> ase.Atoms:
    if not isinstance(atoms, ase.Atoms):
        raise FileFormatError("no structure found", path=path)
    if not (np.all(np.isfinite(atoms.positions)) and np.all(np.isfinite(atoms.cell.array))):
        raise FileFormatError("atom positions and cell must be finite", path=path)
    return atoms


def _check_xyz_counts(text: str, path) -> None:
    """Each xyz frame's atom count must fit in the lines that follow (ASE would loop ~forever)."""
    lines = text.splitlines()
    i = 0
    while i < len(lines) and lines[i].strip():
        try:
            natoms = int(lines[i].split()[0])
        except ValueError:
            raise FileFormatError(f"expected the number of atoms, got {lines[i].strip()[:40]!r}",
                                  path=path, line=i + 1) from None
        if natoms < 0 or i + 2 + natoms > len(lines):
            raise FileFormatError(f"frame declares {natoms} atoms but {len(lines) - i - 2} lines "
                                  "follow", path=path, line=i + 1)
        i += natoms + 2


def _check_poscar_counts(path) -> None:
    """Parse the POSCAR header with ddviz's own checks (atom counts against the file size)."""
    from ddviz.io.chgcar import _poscar_header
    from ddviz.io._common import LineReader

    with open_binary(path) as f:
        _poscar_header(LineReader(f, path))


def read(path, ase_format: str, index):
    """Atoms (Å) at ``index`` (an int), or a list of all frames for a slice."""
    with open_binary(path) as f:
        size = os.fstat(f.fileno()).st_size
        if size > MAX_STRUCTURE_BYTES:
            raise FileFormatError(f"{size} bytes is too large for a structure file "
                                  f"(limit {MAX_STRUCTURE_BYTES})", path=path)
        text = f.read().decode("latin-1")
    if not text.strip():
        raise FileFormatError("empty file, expected a structure", path=path)
    if ase_format == "extxyz":
        _check_xyz_counts(text, path)
    elif ase_format == "vasp":
        _check_poscar_counts(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = ase.io.read(io.StringIO(text), index=index, format=ase_format)
    except DdvizError:
        raise
    except Exception as exc:  # ASE raises ValueError, IndexError, KeyError, StopIteration...
        message = str(exc).splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise FileFormatError(f"cannot read as {ase_format}: {message[:200]}", path=path) from None
    if isinstance(index, slice):
        frames = [_check(a, path) for a in result]
        if not frames:
            raise FileFormatError("no structure found", path=path)
        return frames
    return _check(result, path)
