"""Structure files (no grid): xyz/extxyz and cif through ``ase.io``, POSCAR/CONTCAR through
:mod:`ddviz.io.poscar` (the header parser CHGCAR uses too).

Plain xyz atom lines are read leniently, as files from other programs write them: a label such as
``O1``, ``OW`` or ``Ca2`` is read as the element it starts with (a two-letter symbol first), and
numbers may be in Fortran form (``1.0D-01``). A label that starts with no element symbol is an
error naming its line. ASE's parsers raise many exception types on malformed input; every one of
them becomes a FileFormatError naming the file, so callers only ever see DdvizError subclasses.
"""

from __future__ import annotations

import io
import re
import warnings

import ase
import ase.io
import numpy as np
from ase.data import atomic_numbers, chemical_symbols

from ddviz.errors import DdvizError, FileFormatError, TooLargeError
from ddviz.io import poscar
from ddviz.io._common import open_binary, parse_float

# A structure file larger than this (decompressed) is refused before ASE parses it (bytes).
MAX_STRUCTURE_BYTES = 256 * 1024 * 1024
_LETTERS = re.compile(r"[A-Za-z]+")
_DEFAULT_PROPERTIES = re.compile(r"(?i)properties=[\"']?species:S:1:pos:R:3(?![:\w])")


def _check(atoms, path) -> ase.Atoms:
    if not isinstance(atoms, ase.Atoms):
        raise FileFormatError("no structure found", path=path)
    if not (np.all(np.isfinite(atoms.positions)) and np.all(np.isfinite(atoms.cell.array))):
        raise FileFormatError("atom positions and cell must be finite", path=path)
    return atoms


def element_of(label: str) -> str | None:
    """The element symbol an atom label names or starts with (``O1`` -> ``O``, ``CL2`` -> ``Cl``,
    ``8`` -> ``O``), or None.
    """
    if label in atomic_numbers and label != "X":
        return label
    if label.isascii() and label.isdigit():
        return chemical_symbols[int(label)] if 0 < int(label) < len(chemical_symbols) else None
    letters = _LETTERS.match(label)
    if not letters:
        return None
    letters = letters.group()
    for candidate in (letters[:2].capitalize(), letters[:1].upper()):
        if len(candidate) <= len(letters) and candidate in atomic_numbers and candidate != "X":
            return candidate
    return None


def _xyz_text(text: str, path) -> str:
    """Check each frame's atom count against the lines that follow (ASE would loop ~forever on a
    lie) and rewrite plain atom lines: labels as element symbols, Fortran numbers as Python's.
    """
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
        comment = lines[i + 1]
        if "properties=" not in comment.lower() or _DEFAULT_PROPERTIES.search(comment):
            for k in range(i + 2, i + 2 + natoms):
                lines[k] = _atom_line(lines[k], path, k + 1)
        i += natoms + 2
    return "\n".join(lines) + "\n"


def _atom_line(line: str, path, number: int) -> str:
    tokens = line.split()
    if not tokens:
        return line
    symbol = element_of(tokens[0])
    if symbol is None:
        raise FileFormatError(f"atom label {tokens[0][:20]!r} is not an element symbol and does "
                              "not start with one", path=path, line=number)
    fixed = [symbol]
    for tok in tokens[1:4]:
        try:
            float(tok)
            fixed.append(tok)
        except ValueError:
            try:
                fixed.append(repr(parse_float(tok)))
            except ValueError:
                fixed.append(tok)  # ASE reports it
    return " ".join(fixed + tokens[4:])


def _text(path) -> str:
    with open_binary(path, MAX_STRUCTURE_BYTES) as f:
        data = f.read(MAX_STRUCTURE_BYTES + 1)
    if len(data) > MAX_STRUCTURE_BYTES:
        raise TooLargeError(f"more than {MAX_STRUCTURE_BYTES} bytes is too large for a structure "
                            "file", path=path)
    text = data.decode("latin-1")
    if not text.strip():
        raise FileFormatError("empty file, expected a structure", path=path)
    return text


def read(path, ase_format: str, index):
    """Atoms (Å) at ``index`` (an int), or a list of all frames for a slice."""
    if ase_format == "vasp":
        atoms = _check(poscar.read(path), path)
        return [atoms] if isinstance(index, slice) else atoms
    text = _text(path)
    if ase_format == "extxyz":
        text = _xyz_text(text, path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = ase.io.read(io.StringIO(text), index=index, format=ase_format)
    except DdvizError:
        raise
    except Exception as exc:  # noqa: BLE001 -- ASE raises ValueError, IndexError, KeyError...
        message = str(exc).splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise FileFormatError(f"cannot read as {ase_format}: {type(exc).__name__}: "
                              f"{message[:200]}", path=path) from None
    if isinstance(index, slice):
        frames = [_check(a, path) for a in result]
        if not frames:
            raise FileFormatError("no structure found", path=path)
        return frames
    return _check(result, path)
