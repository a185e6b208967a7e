"""Predict the density of a bare structure and write it as cube or netCDF: on the grid of a
reference file (--like) or on the standard grid around the atoms (--spacing, --margin, bohr)."""

from __future__ import annotations


def add_arguments(p):
    from ddviz.grid import STANDARD_MARGIN, STANDARD_SPACING

    p.add_argument("model", help="model file (.safetensors)")
    p.add_argument("structure", help="structure file (xyz, cif, POSCAR, or a density file's atoms)")
    p.add_argument("-o", "--output", required=True, help="output file (.cube or .nc)")
    p.add_argument("--like", help="use this density file's grid")
    p.add_argument("--spacing", type=float, default=STANDARD_SPACING,
                   help="grid spacing in bohr (default %(default)s)")
    p.add_argument("--margin", type=float, default=STANDARD_MARGIN,
                   help="margin around the atoms in bohr (default %(default)s)")
    p.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")


def run(args):
    import json
    from pathlib import Path

    from ddviz import io
    from ddviz.evaluate.comparison import compute_comparison
    from ddviz.grid import Sample
    from ddviz.methods.deep_density.files import load_model

    atoms = io.read_structure(args.structure)
    like = io.read(args.like) if args.like else None
    model, meta = load_model(args.model)
    c = compute_comparison(atoms, model, like, args.spacing, args.margin, device=args.device)
    prov = {"predicted_by": Path(args.model).name, "structure": str(args.structure),
            "model_metadata": json.dumps({k: meta.get(k) for k in ("species", "format_version")})}
    io.write(Sample(atoms, c.grid, c.predicted, prov, ndim=c.ndim, units=c.units), args.output)
    n = c.metrics()["electrons_pred"]
    print(f"wrote {args.output}: {c.grid.size:,} points ({' x '.join(map(str, c.grid.shape))}), "
          f"{n:.3f} electrons, {c.seconds:.2f} s")
    return 0
