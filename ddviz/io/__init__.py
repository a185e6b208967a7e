"""File formats: one table from suffix / file name to a lazily imported reader-writer module.

Density formats (a :class:`~ddviz.grid.Sample`): Gaussian cube, VASP CHGCAR layout (CHGCAR,
PARCHG, CHG, AECCAR0/1/2, LOCPOT, ELFCAR), netCDF (native).
Structure formats (``ase.Atoms``): xyz/extxyz, POSCAR/CONTCAR, cif.

How a file's format is found (:func:`format_of`): the ``format`` given by name (``--format`` on the
command line), else the suffix, else a part of the file name (VASP's fixed names), else the
content (:mod:`ddviz.io.sniff`). A ``.gz``/``.bz2``/``.xz`` suffix is looked through; compressed
content is recognised by its magic bytes and read transparently (:func:`ddviz.io._common.open_binary`).
Every structure read (:func:`read_structure`, :func:`read_structures`) passes
:func:`ddviz.io.checks.check_structure`: no atoms, overlapping atoms or partially occupied sites
are refused.

Each density module ``ddviz.io.<module>`` provides ``read(path, max_points) -> Sample``,
``write(sample, tmp_path, **options)`` and ``read_atoms(path) -> Atoms`` (header only);
:func:`write` wraps every write in :func:`ddviz.io.atomic.atomic_path`.
"""

from __future__ import annotations

import contextlib
import importlib
import os
from dataclasses import dataclass
from pathlib import Path

import ase
import numpy as np

from ddviz.errors import UnsupportedError
from ddviz.io._common import (
    BYTES_PER_POINT,
    DEFAULT_MAX_POINTS,
    ENV_MAX_POINTS,
    HEADER_BYTES,
    existing_file,
    max_points_limit,
    plain_copy,
    strip_compression_suffix,
)
from ddviz.io.atomic import atomic_path
from ddviz.io.checks import check_structure

__all__ = [
    "DEFAULT_MAX_POINTS",
    "ENV_MAX_POINTS",
    "FORMATS",
    "Format",
    "check_structure",
    "format_of",
    "max_points_limit",
    "read",
    "read_structure",
    "read_structures",
    "write",
]


@dataclass(frozen=True)
class Format:
    """A file format: its module in ddviz.io, suffixes, file-name parts, and whether it has a grid."""

    name: str
    module: str
    suffixes: tuple[str, ...] = ()
    names: tuple[str, ...] = ()  # case-sensitive parts of the file name, e.g. "CHGCAR"
    density: bool = True
    ase_format: str | None = None  # for structure formats: the ase.io format name
    needs_file: bool = False  # its library reads a real file: a compressed one is copied first

    def load(self):
        """The format's reader-writer module (``ddviz.io.<module>``), imported on first use."""
        return importlib.import_module(f"ddviz.io.{self.module}")


FORMATS: dict[str, Format] = {f.name: f for f in [
    Format("cube", "cube", (".cube", ".cub")),
    Format("chgcar", "chgcar", (".chgcar",),
           ("CHGCAR", "PARCHG", "AECCAR0", "AECCAR1", "AECCAR2", "LOCPOT", "ELFCAR", "CHG")),
    Format("netcdf", "netcdf", (".nc",), needs_file=True),
    Format("xyz", "structure", (".xyz", ".extxyz"), density=False, ase_format="extxyz"),
    Format("vasp", "structure", (".vasp", ".poscar"), ("POSCAR", "CONTCAR"), density=False,
           ase_format="vasp"),
    Format("cif", "structure", (".cif",), density=False, ase_format="cif"),
]}


def known_suffixes() -> str:
    items = [s for f in FORMATS.values() for s in f.suffixes]
    items += [f"*{n}*" for f in FORMATS.values() for n in f.names]
    return ", ".join(items)


# other names accepted for --format
ALIASES = {"cub": "cube", "parchg": "chgcar", "aeccar": "chgcar", "locpot": "chgcar",
           "elfcar": "chgcar", "chg": "chgcar", "nc": "netcdf", "netcdf4": "netcdf",
           "extxyz": "xyz", "poscar": "vasp", "contcar": "vasp"}


def format_names() -> list[str]:
    """Names accepted as ``format`` (``--format``): the table's and their aliases."""
    return [*FORMATS, *ALIASES]


def format_of(path, format: str | None = None) -> Format:
    """The format of ``path``.

    ``format`` by name (see :func:`format_names`), else by suffix (a compression suffix such as
    ``.gz`` looked through), else by a part of the file name (``CHGCAR``, ``AECCAR2``, ``POSCAR``,
    ...), else, for an existing file, by its content (:func:`ddviz.io.sniff.sniff`).

    Raises
    ------
    UnsupportedError
        For an unknown ``format`` name, or a file none of these recognise.
    """
    if format is not None:
        key = format.lower()
        key = ALIASES.get(key, key)
        if key not in FORMATS:
            raise UnsupportedError(f"unknown format {format!r}; known: "
                                   f"{', '.join(format_names())}", path=path)
        return FORMATS[key]
    name = strip_compression_suffix(Path(path).name)
    suffix = Path(name).suffix.lower()
    for fmt in FORMATS.values():
        if suffix and suffix in fmt.suffixes:
            return fmt
    for fmt in FORMATS.values():
        if any(part in name for part in fmt.names):
            return fmt
    if not suffix and not Path(path).exists():  # nothing in the name, and no content to sniff
        raise UnsupportedError("no such file", path=path)
    if Path(path).is_file():
        from ddviz.io.sniff import sniff

        found = sniff(path)
        if found is not None:
            return FORMATS[found]
    raise UnsupportedError(f"unknown file type {suffix or '(no suffix)'}; known: {known_suffixes()}"
                           f"; the content is none of these either (or give --format)", path=path)


def _readable(path, fmt: Format, max_points: int):
    """A context giving the path the format's module reads (a decompressed copy if it must be)."""
    limit = max_points * BYTES_PER_POINT + HEADER_BYTES
    return plain_copy(path, limit) if fmt.needs_file else contextlib.nullcontext(path)


def read(path, *, max_points: int | None = None, format: str | None = None):
    """Read a density file into a :class:`~ddviz.grid.Sample` (bohr, e/bohr^3).

    ``max_points``: refuse grids with more points (TooLargeError, checked against the header before
    anything is allocated); default env ``DDVIZ_MAX_POINTS``, else 2e8.
    """
    fmt = format_of(path, format)
    if not fmt.density:
        raise UnsupportedError(f"a {fmt.name} file holds a structure, not a density", path=path)
    existing_file(path)
    limit = max_points_limit(max_points)
    with np.errstate(all="ignore"), _readable(path, fmt, limit) as readable:
        sample = fmt.load().read(readable, limit)  # hostile numbers are checked, not warned about
    if os.fspath(readable) != os.fspath(path):
        sample.provenance["source_file"] = str(path)
    return sample


def write(sample, path, *, format: str | None = None, **options) -> None:
    """Write ``sample`` to ``path`` atomically (the old file or the complete new one, never half).

    Options go to the format's writer, e.g. ``values=False`` for netCDF with orbitals.
    """
    fmt = format_of(path, format)
    if not fmt.density:
        raise UnsupportedError(f"cannot write a density as {fmt.name}", path=path)
    module = fmt.load()
    with atomic_path(path) as tmp:
        module.write(sample, tmp, name=os.fspath(path), **options)


def read_structure(path, index: int = -1, *, format: str | None = None) -> ase.Atoms:
    """One structure (ASE atoms, Å) from a structure file or a density file's header.

    ``index`` picks the frame of a multi-frame file (default: the last). The structure passes
    :func:`check_structure` (FileFormatError for no atoms, overlaps, partial occupancy).
    """
    frames = read_structures(path, format=format, check=False)
    try:
        atoms = frames[index]
    except (IndexError, TypeError):
        raise UnsupportedError(f"no frame {index!r}: the file has {len(frames)} frame(s)",
                               path=path) from None
    check_structure(atoms, path, frame=index % len(frames), frames=len(frames))
    return atoms


def read_structures(path, *, format: str | None = None, check: bool = True) -> list[ase.Atoms]:
    """All frames of a structure file (e.g. multi-frame xyz); a density file gives one.

    Each frame passes :func:`check_structure` unless ``check`` is False.
    """
    fmt = format_of(path, format)
    existing_file(path)
    with np.errstate(all="ignore"):
        if fmt.density:
            with _readable(path, fmt, max_points_limit()) as readable:
                frames = [fmt.load().read_atoms(readable)]
        else:
            frames = fmt.load().read(path, fmt.ase_format, slice(None))
    if check:
        for i, atoms in enumerate(frames):
            check_structure(atoms, path, frame=i, frames=len(frames))
    return frames


def suffixes(density: bool | None = None) -> tuple[str, ...]:
    """File-name suffixes (lower case, with the dot) of the formats in :data:`FORMATS`.

    Parameters
    ----------
    density : bool, optional
        True: formats that hold a density on a grid (cube, CHGCAR, netCDF); False: structure-only
        formats (xyz, POSCAR, cif); None: all (every one gives a structure).

    Returns
    -------
    tuple of str
        E.g. ``(".cube", ".cub", ".chgcar", ".nc")`` for ``density=True``.
    """
    return tuple(s for f in FORMATS.values() if density is None or f.density == density
                 for s in f.suffixes)


def density_suffixes() -> tuple[str, ...]:
    """Suffixes of the density formats: ``suffixes(density=True)``."""
    return suffixes(density=True)
