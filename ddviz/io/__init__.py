"""File formats: one table from suffix / file name to a lazily imported reader-writer module.

Density formats (a :class:`~ddviz.grid.Sample`): Gaussian cube, VASP CHGCAR/PARCHG, netCDF (native).
Structure formats (``ase.Atoms``, through ``ase.io``): xyz/extxyz, POSCAR/CONTCAR, cif.

Each density module ``ddviz.io.<module>`` provides ``read(path, max_points) -> Sample``,
``write(sample, tmp_path, **options)`` and ``read_atoms(path) -> Atoms`` (header only);
:func:`write` wraps every write in :func:`ddviz.io.atomic.atomic_path`.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from pathlib import Path

import ase
import numpy as np

from ddviz.errors import UnsupportedError
from ddviz.io._common import DEFAULT_MAX_POINTS, ENV_MAX_POINTS, existing_file, max_points_limit
from ddviz.io.atomic import atomic_path

__all__ = ["FORMATS", "Format", "format_of", "read", "write", "read_structure", "read_structures",
           "max_points_limit", "DEFAULT_MAX_POINTS", "ENV_MAX_POINTS"]


@dataclass(frozen=True)
class Format:
    """A file format: its module in ddviz.io, suffixes, file-name parts, and whether it has a grid."""

    name: str
    module: str
    suffixes: tuple[str, ...] = ()
    names: tuple[str, ...] = ()  # case-sensitive parts of the file name, e.g. "CHGCAR"
    density: bool = True
    ase_format: str | None = None  # for structure formats: the ase.io format name

    def load(self):
        return importlib.import_module(f"ddviz.io.{self.module}")


FORMATS: dict[str, Format] = {f.name: f for f in [
    Format("cube", "cube", (".cube", ".cub")),
    Format("chgcar", "chgcar", (".chgcar",), ("CHGCAR", "PARCHG")),
    Format("netcdf", "netcdf", (".nc",)),
    Format("xyz", "structure", (".xyz", ".extxyz"), density=False, ase_format="extxyz"),
    Format("vasp", "structure", (".vasp", ".poscar"), ("POSCAR", "CONTCAR"), density=False,
           ase_format="vasp"),
    Format("cif", "structure", (".cif",), density=False, ase_format="cif"),
]}


def known_suffixes() -> str:
    items = [s for f in FORMATS.values() for s in f.suffixes]
    items += [f"*{n}*" for f in FORMATS.values() for n in f.names]
    return ", ".join(items)


def format_of(path, format: str | None = None) -> Format:
    """The format of ``path``: ``format`` by name, else by suffix, else by file-name part."""
    if format is not None:
        if format not in FORMATS:
            raise UnsupportedError(f"unknown format {format!r}; known: {', '.join(FORMATS)}",
                                   path=path)
        return FORMATS[format]
    name = Path(path).name
    suffix = Path(name).suffix.lower()
    for fmt in FORMATS.values():
        if suffix and suffix in fmt.suffixes:
            return fmt
    for fmt in FORMATS.values():
        if any(part in name for part in fmt.names):
            return fmt
    raise UnsupportedError(f"unknown file type {suffix or '(no suffix)'}; known: {known_suffixes()}",
                           path=path)


def read(path, *, max_points: int | None = None, format: str | None = None):
    """Read a density file into a :class:`~ddviz.grid.Sample` (bohr, e/bohr^3).

    ``max_points``: refuse grids with more points (TooLargeError, checked against the header before
    anything is allocated); default env ``DDVIZ_MAX_POINTS``, else 2e8.
    """
    fmt = format_of(path, format)
    if not fmt.density:
        raise UnsupportedError(f"a {fmt.name} file holds a structure, not a density "
                               f"(use read_structure)", path=path)
    existing_file(path)
    with np.errstate(all="ignore"):  # hostile numbers are checked, not warned about
        return fmt.load().read(path, max_points_limit(max_points))


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
    """One structure (ASE atoms, Å) from a structure file or a density file's header."""
    fmt = format_of(path, format)
    existing_file(path)
    with np.errstate(all="ignore"):
        if fmt.density:
            return fmt.load().read_atoms(path)
        return fmt.load().read(path, fmt.ase_format, index)


def read_structures(path, *, format: str | None = None) -> list[ase.Atoms]:
    """All frames of a structure file (e.g. multi-frame xyz); a density file gives one."""
    fmt = format_of(path, format)
    existing_file(path)
    with np.errstate(all="ignore"):
        if fmt.density:
            return [fmt.load().read_atoms(path)]
        return fmt.load().read(path, fmt.ase_format, slice(None))


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
