"""Print what a density or structure file holds: atoms, species, grid, spacing (bohr), cell (bohr),
periodicity, the number of frames and the electron count (quadrature of the grid values, or the
orbitals' occupations when a netCDF file stores only orbitals; null for LOCPOT/ELFCAR, which hold
no density). Structure files have no grid: those entries are null, and the atoms are those of the
last frame. The format is found from the name or the content, or given with --format.
"""

from __future__ import annotations

import json

import numpy as np

KEYS = ("natoms", "species", "grid_shape", "spacing_bohr", "cell_bohr", "pbc", "electrons",
        "frames")


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


def describe(path, max_points: int | None = None, format: str | None = None) -> dict:
    """The facts ``ddviz info`` shows, as a dict with :data:`KEYS` (plus ``file`` and ``format``)."""
    from ddviz import io
    from ddviz.units import ang_to_bohr

    fmt = io.format_of(path, format)
    if fmt.density:
        sample = io.read(path, max_points=max_points, format=fmt.name)
        if sample.has_values:
            info = sample.summary()
        else:  # orbitals only: the exact count, without evaluating the grid
            info = {"natoms": len(sample.atoms),
                    "species": sorted(set(sample.atoms.get_chemical_symbols())),
                    "grid_shape": list(sample.grid.shape),
                    "spacing_bohr": [float(h) for h in sample.grid.spacing],
                    "cell_bohr": sample.cell_bohr.tolist(), "pbc": list(sample.grid.pbc),
                    "electrons": sample.orbitals.electrons}
        if sample.provenance.get("quantity", "density") != "density":
            info["electrons"] = None  # LOCPOT, ELFCAR: not a density
        info["frames"] = 1
    else:
        frames = io.read_structures(path, format=fmt.name)
        atoms = frames[-1]
        cell = np.asarray(atoms.cell)
        info = {"natoms": len(atoms), "species": sorted(set(atoms.get_chemical_symbols())),
                "grid_shape": None, "spacing_bohr": None,
                "cell_bohr": ang_to_bohr(cell).tolist() if np.any(cell) else None,
                "pbc": [bool(p) for p in atoms.pbc], "electrons": None, "frames": len(frames)}
    return {"file": str(path), "format": fmt.name, **{k: info[k] for k in KEYS}}


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
