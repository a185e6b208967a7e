"""Print what a density or structure file holds: atoms, species, grid, spacing (bohr), cell (bohr),
periodicity, the density's units (e/bohr^3; electrons/bohr for a 1D chain), the number of
frames and the electron count (quadrature of the grid values, or the orbitals' occupations when
a netCDF file stores only orbitals; null for LOCPOT/ELFCAR, which hold no density). Structure
files have no grid: those entries are null, and the atoms are those of the last frame. The
format is found from the name or the content, or given with --format.
"""

from __future__ import annotations

import json

import numpy as np

from ddviz.io.summary import KEYS, describe


def _count(text: str) -> int:
    """A positive point count; accepts ``200000000`` and ``2e8``."""
    import argparse

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of points, got {text!r}") from None
    if not np.isfinite(value) or value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive number of points, got {text!r}")
    return int(value)


def add_arguments(parser) -> None:
    from ddviz.cli._args import add_format_argument

    parser.add_argument("path", help="cube, CHGCAR/PARCHG, netCDF (.nc), xyz, POSCAR or cif file")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    add_format_argument(parser)
    parser.add_argument("--max-points", type=_count, default=None, metavar="N",
                        help="refuse grids with more points (default: env DDVIZ_MAX_POINTS or 2e8)")


def _text(info: dict) -> str:
    def fmt(v):
        return " ".join(f"{x:.6g}" if isinstance(x, float) else str(x) for x in v)

    lines = [f"file        {info['file']} ({info['format']})", f"frames      {info['frames']}",
             f"natoms      {info['natoms']}",
             f"species     {' '.join(info['species'])}"]
    if info["grid_shape"] is not None:
        lines += [f"grid        {' x '.join(map(str, info['grid_shape']))} points",
                  f"spacing     {fmt(info['spacing_bohr'])} bohr"]
    else:
        lines.append("grid        none (structure file)")
    if info["cell_bohr"] is not None:
        lines += [f"cell        {fmt(row)}" + (" bohr" if i == 0 else "")
                  for i, row in enumerate(info["cell_bohr"])]
    lines.append(f"pbc         {fmt(info['pbc'])}")
    if info["units"] is not None:
        lines.append(f"density     {info['units']} ({info['ndim']}D)")
    if info["electrons"] is not None:
        lines.append(f"electrons   {info['electrons']:.6f}")
    return "\n".join(lines)


def run(args) -> int:
    info = describe(args.path, args.max_points, args.format)
    if args.json:
        print(json.dumps({k: info[k] for k in KEYS}))
    else:
        print(_text(info))
    return 0
