"""Predict the density of a structure and write it as cube or netCDF: on the grid of a
reference file (--like) or on the standard grid around the atoms (--spacing, --margin, bohr).

A file with several frames (a multi-frame xyz) gives one output per frame, numbered from 0:
``-o out.cube`` writes out_0000.cube, out_0001.cube, ...; --frame N predicts frame N only (negative
N counts from the end) and writes the output as named. Every frame is checked (atoms present, none
closer than 0.5 Å, no partially occupied sites) before the model is loaded.
"""

from __future__ import annotations


def add_arguments(p):
    from ddviz.cli._args import add_format_argument
    from ddviz.grid import STANDARD_MARGIN, STANDARD_SPACING

    p.add_argument("model", help="model file (.safetensors)")
    p.add_argument("structure", help="structure file (xyz, cif, POSCAR, or a density file's atoms)")
    p.add_argument("-o", "--output", required=True,
                   help="output file (.cube or .nc); numbered OUT_0000... for several frames")
    p.add_argument("--frame", type=int, default=None, metavar="N",
                   help="predict only frame N of a multi-frame file (default: every frame)")
    add_format_argument(p, what="the structure file")
    p.add_argument("--like", help="use this density file's grid")
    add_format_argument(p, "--like-format", what="the --like file")
    p.add_argument("--spacing", type=float, default=STANDARD_SPACING,
                   help="grid spacing in bohr (default %(default)s)")
    p.add_argument("--margin", type=float, default=STANDARD_MARGIN,
                   help="margin around the atoms in bohr (default %(default)s)")
    p.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")


def numbered(output, index: int):
    """``out.cube`` -> ``out_0003.cube`` (a compression suffix such as .gz is not expected)."""
    from pathlib import Path

    output = Path(output)
    return output.with_name(f"{output.stem}_{index:04d}{output.suffix}")


def run(args):
    import json
    from pathlib import Path

    from ddviz import io
    from ddviz.errors import DdvizError
    from ddviz.evaluate.comparison import compute_comparison
    from ddviz.grid import Sample
    from ddviz.methods.deep_density.files import load_model

    io.format_of(args.output)  # an unknown output suffix is refused before any work
    frames = io.read_structures(args.structure, format=args.format)  # each frame checked
    if args.frame is not None:
        if not -len(frames) <= args.frame < len(frames):
            raise DdvizError(f"no frame {args.frame}: the file has {len(frames)} frame(s)",
                             path=args.structure)
        jobs = [(args.frame % len(frames), frames[args.frame], Path(args.output))]
    elif len(frames) == 1:
        jobs = [(0, frames[0], Path(args.output))]
    else:
        jobs = [(i, atoms, numbered(args.output, i)) for i, atoms in enumerate(frames)]
    like = io.read(args.like, format=args.like_format) if args.like else None
    model, meta = load_model(args.model)
    for index, atoms, output in jobs:
        c = compute_comparison(atoms, model, like, args.spacing, args.margin, device=args.device)
        prov = {"predicted_by": Path(args.model).name, "structure": str(args.structure),
                "frame": index,
                "model_metadata": json.dumps({k: meta.get(k) for k in ("species", "format_version")})}
        io.write(Sample(atoms, c.grid, c.predicted, prov, ndim=c.ndim, units=c.units), output)
        n = c.metrics()["electrons_pred"]
        print(f"wrote {output}: {c.grid.size:,} points ({' x '.join(map(str, c.grid.shape))}), "
              f"{n:.3f} electrons, {c.seconds:.2f} s")
    return 0
