"""Recognise a file's format from its content, for names that say nothing (``density.dat``).

Signatures, tried in this order on the first lines (decompressed when compressed):

* netCDF4: the HDF5 signature ``89 48 44 46 0d 0a 1a 0a``;
* cube: two comment lines, then ``natoms x0 y0 z0 [nval]`` and three lines ``n vx vy vz``;
* CHGCAR/POSCAR layout: a comment, one or three scaling numbers, three lines of three numbers;
  then the header is parsed, and a line of three grid dimensions after the positions makes it
  CHGCAR layout, anything else POSCAR;
* cif: a ``data_`` block name or a ``_cell_length_a`` tag;
* xyz: an integer atom count alone on the first line.
"""

from __future__ import annotations

from ddviz.io._common import LineReader, open_binary, parse_float

HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
_HEAD = 1 << 16  # bytes looked at


def _numbers(line: bytes, ints: int = 0) -> list | None:
    try:
        return [int(t) if i < ints else parse_float(t) for i, t in enumerate(line.split())]
    except ValueError:
        return None


def _is_cube(lines: list[bytes]) -> bool:
    if len(lines) < 6:
        return False
    head = _numbers(lines[2], ints=1)
    axes = [_numbers(x, ints=1) for x in lines[3:6]]
    return (head is not None and len(head) in (4, 5)
            and all(a is not None and len(a) == 4 for a in axes))


def _is_poscar_like(lines: list[bytes]) -> bool:
    if len(lines) < 7:
        return False
    scale = _numbers(lines[1])
    rows = [_numbers(x) for x in lines[2:5]]
    return (scale is not None and len(scale) in (1, 3)
            and all(r is not None and len(r) >= 3 for r in rows))


def _has_grid_after_header(path) -> bool:
    from ddviz.io.poscar import read_header

    with open_binary(path) as f:
        r = LineReader(f, path)
        read_header(r)
        for _ in range(4):
            line = f.readline(4096)
            if not line:
                return False
            if line.strip():
                dims = _numbers(line, ints=3)
                return dims is not None and len(dims) == 3
    return False


def sniff(path) -> str | None:
    """The name of the format in :data:`ddviz.io.FORMATS` that ``path``'s content has, or None.

    Raises
    ------
    DdvizError
        When the file cannot be opened, or looks like CHGCAR/POSCAR but its header is malformed
        (then the message says where).
    """
    with open_binary(path) as f:
        head = f.read(_HEAD)
    if head.startswith(HDF5_MAGIC):
        return "netcdf"
    lines = head.split(b"\n")[:-1] if len(head) == _HEAD else head.split(b"\n")
    if _is_cube(lines):
        return "cube"
    if _is_poscar_like(lines):
        return "chgcar" if _has_grid_after_header(path) else "vasp"
    stripped = [x.strip() for x in lines if x.strip() and not x.lstrip().startswith(b"#")]
    if any(x.startswith((b"data_", b"_cell_length_a")) for x in stripped[:50]):
        return "cif"
    if lines and len(lines[0].split()) == 1 and lines[0].strip().isdigit():
        return "xyz"
    return None
