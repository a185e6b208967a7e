"""Checks the commands make before any long computation: outputs, grid sizes, ports.

Each raises a :class:`~ddviz.errors.DdvizError` naming the file (or option) and the problem, so
that a mistake costs a second, not the prediction that precedes the write.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from ddviz.errors import DdvizError, UnsupportedError

COMPRESSED_SUFFIXES = (".gz", ".bz2", ".xz")  # read transparently, never written


def _writable_folder(path: Path) -> None:
    """Refuse ``path`` when the folder it would be made in cannot be written."""
    folder = path.parent if path.parent != Path("") else Path(".")
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent  # the output's folders are created on write
    if not existing.is_dir():
        raise DdvizError(f"cannot create {folder}: {existing} is a file, not a folder", path=path)
    try:  # a real probe: permissions, read-only or special file systems (/proc), quotas
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as exc:
        raise DdvizError(f"cannot write in the folder {existing} ({exc.strerror or exc})",
                         path=path) from None


def check_output(path, suffixes: tuple[str, ...] | None = None, density: bool = True) -> None:
    """Refuse an output file that cannot be written, before anything is computed.

    Parameters
    ----------
    path : str or os.PathLike
        The output file (it may exist: it is replaced atomically).
    suffixes : tuple of str, optional
        The suffixes allowed (e.g. ``(".safetensors",)``); default: a density format ddviz
        writes (cube, CHGCAR, netCDF) when ``density``, else any.
    density : bool
        The output is a density file.

    Raises
    ------
    DdvizError
        ``path`` is an existing folder, its folder cannot be created or written, or its suffix
        names no format that is written (UnsupportedError).
    """
    path = Path(path)
    if path.is_dir():
        raise DdvizError("is a folder: give an output file name", path=path)
    name = path.name.lower()
    if name.endswith(COMPRESSED_SUFFIXES):
        raise UnsupportedError("compressed output is not written: give the name without "
                               f"{Path(name).suffix}", path=path)
    if suffixes is not None:
        if path.suffix.lower() not in suffixes:
            raise UnsupportedError(f"unknown output suffix {path.suffix or '(none)'}; expected "
                                   f"{', '.join(suffixes)}", path=path)
    elif density:
        from ddviz import io

        writable = [s for f in io.FORMATS.values() if f.density for s in f.suffixes]
        try:
            fmt = io.format_of(path) if path.suffix or not path.exists() else None
        except UnsupportedError:
            fmt = None
        if fmt is None or not fmt.density:
            raise UnsupportedError(f"unknown output suffix {path.suffix or '(none)'}; a density "
                                   f"is written as {', '.join(writable)} (or a name containing "
                                   "CHGCAR)", path=path)
    _writable_folder(path)


def check_output_folder(path) -> None:
    """Refuse an output folder that is a file or cannot be created or written.

    Parameters
    ----------
    path : str or os.PathLike
        The folder (it may exist).

    Raises
    ------
    DdvizError
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise DdvizError("is a file: give an output folder", path=path)
    if path.is_dir():
        if not os.access(path, os.W_OK | os.X_OK):
            raise DdvizError("cannot write in this folder (permission denied)", path=path)
        return
    _writable_folder(path / "x")


def make_folder(folder) -> None:
    """Create the output folder ``folder`` (with its parents) if missing, saying so on stderr.

    Every command that writes an output calls it just before writing: for a folder output with
    the folder, for a file output with the file's folder (:func:`make_parent`). A
    folder that exists prints nothing; a created one prints ``created folder PATH`` (as given),
    once, so that a mistyped path is noticed (stderr: the commands' ``--json`` stdout stays JSON).

    Parameters
    ----------
    folder : str or os.PathLike
        The folder.

    Raises
    ------
    DdvizError
        ``folder`` or a parent is a file, or the folder cannot be created.
    """
    import sys

    folder = Path(folder)
    if folder.is_dir():
        return
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DdvizError(f"cannot create the folder ({exc.strerror or exc})", path=folder) from None
    print(f"created folder {folder}", file=sys.stderr)


def make_parent(path) -> None:
    """:func:`make_folder` for the folder of the output file ``path``."""
    make_folder(Path(path).parent)


def check_grid_size(grid, path, max_points: int | None = None) -> int:
    """Refuse a grid above the points limit before anything of its size is allocated.

    Parameters
    ----------
    grid : ddviz.grid.Grid
        The grid about to be computed (its shape only is used).
    path : str or os.PathLike
        The file the grid is for, named in the error.
    max_points : int, optional
        The limit; default env ``DDVIZ_MAX_POINTS``, else 2e8.

    Returns
    -------
    int
        The number of points.

    Raises
    ------
    ddviz.errors.TooLargeError
        Above the limit (the message names the shape, the limit and how to raise it).
    """
    from ddviz.io._common import check_points

    return check_points(grid.shape, max_points, path)


def check_port(address: str, port: int) -> None:
    """Refuse a port that is in use (or an address that is not this machine's).

    Parameters
    ----------
    address : str
        The address to listen on.
    port : int
        The port.

    Raises
    ------
    DdvizError
        Naming ``address:port`` and the reason (in use, not an address here, permission).
    """
    import socket

    if not 0 < port < 65536:
        raise DdvizError(f"port {port} is not between 1 and 65535", field="--port")
    try:
        infos = socket.getaddrinfo(address, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise DdvizError(f"cannot listen on {address}: {exc.strerror}", field="--address") from None
    family, _, _, _, sockaddr = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server binds
        try:
            sock.bind(sockaddr)
        except OSError as exc:
            import errno

            reason = ("is in use: stop what listens there or choose another --port"
                      if exc.errno == errno.EADDRINUSE else exc.strerror)
            raise DdvizError(f"{address}:{port} {reason}", field="--port") from None


def check_molecule(atoms, path, command: str) -> None:
    """Refuse a periodic structure for a command that treats isolated molecules only.

    Parameters
    ----------
    atoms : ase.Atoms
        The structure read from ``path``.
    path : str or Path
        Its file, named in the message.
    command : str
        The command, named in the message.

    Raises
    ------
    ddviz.errors.UnsupportedError
        Any periodic axis.
    """
    from ddviz.errors import UnsupportedError

    if any(atoms.pbc):
        axes = "".join(a for a, p in zip("xyz", atoms.pbc) if p)
        raise UnsupportedError(
            f"{path}: a periodic cell (periodic along {axes}); ddviz {command} treats isolated "
            f"molecules only (write the structure without a cell, or with pbc F F F)")


def check_periodic_axes(atoms, path) -> None:
    """Refuse a structure whose periodic axes have no lattice to lay a grid on.

    Periodic structures get a grid on their cell, partly periodic ones (a slab: pbc T T F, a
    wire: T F F) the mixed grid of :meth:`ddviz.grid.Grid.partly_periodic` (the periodic lattice
    vectors divided evenly, a box around the atoms along the open axes, which need no lattice
    vector of their own). Checked before the model is loaded.

    Parameters
    ----------
    atoms : ase.Atoms
        The structure read from ``path`` (Å).
    path : str or Path
        Its file, named in the message.

    Raises
    ------
    ddviz.errors.DdvizError
        A periodic axis whose lattice vector is zero, or periodic lattice vectors that are
        linearly dependent.
    """
    import numpy as np

    from ddviz.grid import lattice_frame
    from ddviz.units import ang_to_bohr

    if any(atoms.pbc):
        try:
            lattice_frame(ang_to_bohr(np.asarray(atoms.cell)), atoms.pbc)
        except DdvizError as exc:
            raise DdvizError(exc.detail, path=path, field="cell") from None
