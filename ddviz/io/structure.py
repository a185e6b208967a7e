"""Structure files (no grid): xyz/extxyz and cif through ``ase.io``.

POSCAR/CONTCAR are read through :mod:`ddviz.io.poscar` (the header parser CHGCAR uses too).
An xyz/extxyz file is checked frame by frame before ASE sees it (:func:`_xyz_text`: atom counts,
comment-line size, ``Properties=`` columns), as ASE hangs or runs out of memory on some lies.

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
_PROPERTIES = re.compile(r"(?i)(?:^|\s)properties=[\"']?([^\s\"']*)")
MAX_ATOMS = 1_000_000  # atoms in one frame
MAX_COMMENT = 1 << 16  # characters of an extxyz comment line
MAX_PAIRS = 1000  # key=value pairs in it
MAX_PROPERTIES = 64  # Properties= columns groups
MAX_PROPERTY_COUNT = 16  # values in one Properties= group (3 for positions, 9 for a stress)
MAX_ATOM_LINE = 1 << 14  # characters of an atom line
_DEFAULT_PROPERTIES = re.compile(r"(?i)properties=[\"']?species:S:1:pos:R:3(?![:\w])")


def _check(atoms, path) -> ase.Atoms:
    if not isinstance(atoms, ase.Atoms):
        raise FileFormatError("no structure found", path=path)
    if not (np.all(np.isfinite(atoms.positions)) and np.all(np.isfinite(atoms.cell.array))):
        raise FileFormatError("atom positions and cell must be finite", path=path)
    return atoms


def element_of(label: str) -> str | None:
    """The element symbol an atom label names or starts with, or None.

    ``O1`` -> ``O``, ``CL2`` -> ``Cl``, ``8`` -> ``O``.
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
    """Check each frame before ASE sees it, and rewrite plain atom lines.

    Checked (ASE loops for minutes or runs out of memory on each): the atom count against the
    lines that follow and :data:`MAX_ATOMS`; the comment line's length and number of
    ``key=value`` pairs; a ``Properties=`` column spec (``name:type:count`` triples, known types,
    small counts) and that every atom line has the columns it declares; atom line lengths.
    Plain atom lines get labels as element symbols and Fortran numbers as Python's.
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
        if natoms > MAX_ATOMS:
            raise TooLargeError(f"frame declares {natoms} atoms (at most {MAX_ATOMS})", path=path,
                                line=i + 1)
        comment = lines[i + 1]
        columns = _comment_columns(comment, path, i + 2)
        plain = columns is None or _DEFAULT_PROPERTIES.search(comment)
        for k in range(i + 2, i + 2 + natoms):
            if len(lines[k]) > MAX_ATOM_LINE:
                raise FileFormatError(f"atom line longer than {MAX_ATOM_LINE} characters",
                                      path=path, line=k + 1)
            if columns is not None and len(lines[k].split()) != columns:
                raise FileFormatError(f"expected {columns} columns (as Properties= declares), "
                                      f"got {len(lines[k].split())}", path=path, line=k + 1)
            if plain:
                lines[k] = _atom_line(lines[k], path, k + 1)
        i += natoms + 2
    return "\n".join(lines) + "\n"


def _comment_columns(comment: str, path, number: int) -> int | None:
    """The atom-line columns an extxyz comment line declares (None: no Properties=).

    Raises FileFormatError for a comment line too long, with too many ``key=value`` pairs, or with
    a malformed ``Properties=`` spec.
    """
    if len(comment) > MAX_COMMENT:
        raise FileFormatError(f"comment line longer than {MAX_COMMENT} characters", path=path,
                              line=number)
    if comment.count("=") > MAX_PAIRS:
        raise FileFormatError(f"comment line with more than {MAX_PAIRS} key=value pairs",
                              path=path, line=number)
    columns = None
    for spec in _PROPERTIES.findall(comment):  # every one: ASE takes the last
        parts = spec.split(":")
        if len(parts) % 3 or len(parts) > 3 * MAX_PROPERTIES:
            raise FileFormatError(f"Properties= must be at most {MAX_PROPERTIES} name:type:count "
                                  f"triples, got {spec[:60]!r}", path=path, line=number)
        columns = 0
        for name, kind, count in zip(parts[::3], parts[1::3], parts[2::3]):
            if kind not in ("S", "R", "I", "L") or not count.isdigit() \
                    or not 1 <= int(count) <= MAX_PROPERTY_COUNT:
                raise FileFormatError(f"Properties= entry {name[:20]}:{kind[:5]}:{count[:10]}: "
                                      "expected type S, R, I or L and a count "
                                      f"1..{MAX_PROPERTY_COUNT}", path=path, line=number)
            columns += int(count)
    return columns


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
