"""Compare two density files on the same grid, no model: B against A as the reference.

Prints relative L1/L2, MAE, the largest |B - A| and where (bohr), and both electron counts (a
table, or one JSON object with --json); ``-o DIFF`` writes B - A as a density file (cube, netCDF)
on the same grid, with A's atoms, as VESTA's volume subtraction does. Files holding only orbitals
(compact netCDF) are evaluated on their grid. Opening the pair in the app is not offered yet:
``ddviz serve`` and pick them there.
"""

from __future__ import annotations

import json


def add_arguments(p) -> None:
    """Add the command's arguments to ``p``."""
    from ddviz.cli._args import add_format_argument, add_max_points_argument

    p.add_argument("a", metavar="A", help="reference density file (cube, CHGCAR, .nc)")
    p.add_argument("b", metavar="B", help="density file compared with A, on the same grid")
    add_format_argument(p, what="A")
    add_format_argument(p, "--format-b", what="B")
    p.add_argument("-o", "--output", metavar="DIFF", default=None,
                   help="write B - A here (.cube or .nc)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    add_max_points_argument(p)


def run(args) -> int:
    """Compare ``args.b`` with ``args.a``; write the difference if asked."""
    import numpy as np

    from ddviz import io
    from ddviz.errors import DdvizError
    from ddviz.evaluate.metrics import error_sums
    from ddviz.grid import Sample

    if args.output:
        from ddviz.cli._checks import check_output

        check_output(args.output)  # before anything is read or evaluated
    a = io.read(args.a, format=args.format, max_points=args.max_points)
    b = io.read(args.b, format=args.format_b, max_points=args.max_points)
    if a.grid.shape != b.grid.shape or not a.grid.is_close(b.grid):
        raise DdvizError(f"is on another grid ({' x '.join(map(str, b.grid.shape))} points) than "
                         f"{args.a} ({' x '.join(map(str, a.grid.shape))}): compare files on the "
                         "same grid (ddviz predict --like A writes one)", path=args.b)
    if (a.ndim, a.units) != (b.ndim, b.units):
        raise DdvizError(f"holds a {b.ndim}D density in {b.units}, {args.a} a {a.ndim}D one in "
                         f"{a.units}", path=args.b)
    if a.provenance.get("quantity", "density") != "density" or \
            b.provenance.get("quantity", "density") != "density":
        raise DdvizError("both files must hold densities (not a potential or ELF)",
                         path=args.a if a.provenance.get("quantity", "density") != "density"
                         else args.b)
    ref = np.asarray(a.density.values, dtype=np.float64)
    other = np.asarray(b.density.values, dtype=np.float64)
    same_atoms = (len(a.atoms) == len(b.atoms)
                  and a.atoms.get_chemical_symbols() == b.atoms.get_chemical_symbols()
                  and np.allclose(a.atoms.positions, b.atoms.positions, atol=1e-4))
    from ddviz.units import BOHR_PER_ANGSTROM

    nuclei = a.atoms.positions * BOHR_PER_ANGSTROM if a.ndim == 3 and len(a.atoms) else None
    metrics = {"a": str(args.a), "b": str(args.b),
               **error_sums(other, ref, a.grid, nuclei).metrics(),
               "units": a.units, "same_atoms": bool(same_atoms)}
    if args.output:
        diff = Sample(a.atoms, a.grid, other - ref,
                      {"difference": "B - A", "a": str(args.a), "b": str(args.b)},
                      ndim=a.ndim, units=a.units)
        from ddviz.cli._checks import make_parent

        make_parent(args.output)
        io.write(diff, args.output)
        metrics["difference_file"] = str(args.output)
    if args.json:
        print(json.dumps(metrics))
        return 0
    where = metrics["max_abs_err_at_bohr"]
    print(f"A (reference)  {args.a}: {metrics['electrons_ref']:.4f} electrons\n"
          f"B              {args.b}: {metrics['electrons_pred']:.4f} electrons\n"
          f"rel L1 {metrics['rel_l1']:.4%}  rel L2 {metrics['rel_l2']:.4%}  "
          f"MAE {metrics['mae']:.4e} {a.units}\n"
          f"max |B - A| {metrics['max_abs_err']:.4e} {a.units} at "
          + ("?" if where is None else "(" + ", ".join(f"{x:.3f}" for x in where) + ") bohr")
          + ("" if same_atoms else "\nwarning: the files' atoms differ"))
    if args.output:
        print(f"wrote B - A to {args.output}")
    return 0
