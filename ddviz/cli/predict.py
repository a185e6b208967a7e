"""Predict the density of a structure and write it as cube, netCDF or CHGCAR.

On the grid of a reference file (--like); for a periodic structure (a cif, POSCAR or extxyz with a
lattice, or a cube read with --pbc) on its cell, periodic, at about --spacing bohr (rounded so that
each lattice vector holds a whole number of steps); for one periodic along some axes only (a slab,
pbc T T F; a wire, T F F) on the mixed grid: its periodic lattice vectors divided so, a box with
--margin around the atoms along the open axes; else on the standard grid around the atoms
(--spacing, --margin, bohr). An output named CHGCAR or *.CHGCAR is written as VASP does (rho x
V_cell, VASP 5 header with the species line; periodic grids only). Outputs and grid sizes (DDVIZ_MAX_POINTS, default 2e8 points) are checked
before the model is loaded; a warning is printed when the predicted electrons differ from the
structure's valence count (GTH-PBE charges) by more than 1 %, and one naming the atoms whose
environment lies outside the model's training data (:mod:`ddviz.methods.deep_density.coverage`).

A file with several frames (a multi-frame xyz) gives one output per frame, numbered from 0:
``-o out.cube`` writes out_0000.cube, out_0001.cube, ...; --frame N predicts frame N only (negative
N counts from the end) and writes the output as named. Every frame is checked (atoms present, none
closer than 0.5 Å, no partially occupied sites) before the model is loaded.
"""

from __future__ import annotations


def add_arguments(p):
    """Add the command's arguments to ``p`` (an argparse parser)."""
    from ddviz.cli._args import add_format_argument, add_max_points_argument, add_pbc_argument
    from ddviz.grid import STANDARD_MARGIN, STANDARD_SPACING

    p.add_argument("model", help="model file (.safetensors)")
    p.add_argument("structure", help="structure file (xyz, cif, POSCAR, or a density file's atoms)")
    p.add_argument("-o", "--output", required=True,
                   help="output file (.cube, .nc, CHGCAR or *.CHGCAR); numbered OUT_0000... for "
                        "several frames")
    p.add_argument("--frame", type=int, default=None, metavar="N",
                   help="predict only frame N of a multi-frame file (default: every frame)")
    add_format_argument(p, what="the structure file")
    p.add_argument("--like", help="use this density file's grid")
    add_format_argument(p, "--like-format", what="the --like file")
    p.add_argument("--spacing", type=float, default=STANDARD_SPACING,
                   help="grid spacing in bohr (default %(default)s; on a cell: rounded to divide "
                        "each lattice vector)")
    p.add_argument("--margin", type=float, default=STANDARD_MARGIN,
                   help="margin around the atoms in bohr (a molecule; the open axes of a slab "
                        "or wire) (default %(default)s)")
    add_max_points_argument(p)
    add_pbc_argument(p, "a cube structure or --like file")
    p.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    p.add_argument("--dask", nargs="?", const="local", default=None, metavar="ADDRESS",
                   help="evaluate on a Dask cluster (the scheduler at ADDRESS, default a local "
                   "cluster of single-threaded workers) and write a zarr store (-o OUT.zarr)")
    p.add_argument("--block-points", type=int, default=None, metavar="N",
                   help="with --dask: grid points per task (memory per worker; default 4Mi)")


def numbered(output, index: int):
    """``out.cube`` -> ``out_0003.cube`` (a compression suffix such as .gz is not expected)."""
    from pathlib import Path

    output = Path(output)
    return output.with_name(f"{output.stem}_{index:04d}{output.suffix}")


def warn_electrons(atoms, electrons: float, what: str, tolerance: float = 0.01) -> None:
    """Warn (stderr) when ``electrons`` differs from the valence count by more than ``tolerance``.

    Parameters
    ----------
    atoms : ase.Atoms
        The structure (taken as neutral).
    electrons : float
        The predicted count.
    what : str
        The file or frame named in the warning.
    tolerance : float
        Relative difference above which to warn.
    """
    import sys

    from ddviz.reference.scf import valence_electrons

    expected = valence_electrons(atoms.get_chemical_symbols())
    if expected and abs(electrons - expected) > tolerance * expected:
        print(f"warning: {what}: the density integrates to {electrons:.3f} electrons, "
              f"{(electrons - expected) / expected:+.1%} from the {expected:g} valence "
              f"electron{'' if expected == 1 else 's'} "
              "of the neutral structure (GTH-PBE): is the structure what the model was trained "
              "on?", file=sys.stderr)


def _with_cell(atoms, like_atoms):
    """``atoms`` with the cell and pbc of ``like_atoms`` (the same atoms, as a --like check asks)."""
    atoms = atoms.copy()
    atoms.cell, atoms.pbc = like_atoms.cell, like_atoms.pbc
    return atoms


# the command that serves each other method's models in place of `ddviz predict`
_OTHER_COMMANDS = {"hamiltonian": "ddviz hamiltonian MODEL STRUCTURE -o OUT writes the "
                                  "density its Hamiltonian implies",
                   "kinetic": "ddviz ofdft MODEL STRUCTURE --charge Q optimises a 2-electron "
                              "density with it"}


def _check_density_model(path) -> None:
    """Refuse, in one line, a model file of a method that does not predict densities from atoms."""
    from ddviz.errors import DdvizError, UnsupportedError
    from ddviz.methods import method_for_format, model_format

    try:
        method = method_for_format(model_format(path)).name
    except DdvizError:  # unreadable: load_model reports it with its own words
        return
    if method != "deep_density":
        hint = _OTHER_COMMANDS.get(method, "it works on 2D systems, in the app's 2D tab and "
                                           "ddviz evaluate")
        raise UnsupportedError(f"a {method} model does not predict a density from a structure; "
                               f"{hint}", path=path)


def run(args):
    """Predict every requested frame and write it."""
    import json
    from pathlib import Path

    from ddviz import io
    from ddviz.cli._checks import check_grid_size, check_output, check_periodic_axes, make_parent
    from ddviz.errors import DdvizError
    from ddviz.evaluate.evaluation import comparison_grid
    from ddviz.grid import as_periodic

    _check_density_model(args.model)
    if args.dask is not None:
        from ddviz.cli._dask import run_dask

        return run_dask(args)
    check_output(args.output)  # a folder, an unknown suffix, an unwritable place: refused now
    if args.pbc and io.format_of(args.structure, args.format).density:  # the cell from the grid
        sample = as_periodic(io.read(args.structure, format=args.format,
                                     max_points=args.max_points), args.structure)
        io.check_structure(sample.atoms, args.structure)
        frames = [sample.atoms]
    else:
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
    for _, _, output in jobs:
        check_output(output)
    like = (io.read(args.like, format=args.like_format, max_points=args.max_points)
            if args.like else None)
    if like is not None and args.pbc:
        like = as_periodic(like, args.like)
        frames = [_with_cell(atoms, like.atoms) for atoms in frames]
    for _, atoms, output in jobs:  # the grid's size from its shape: nothing allocated yet
        if like is None:  # a slab or wire: the mixed grid needs its periodic lattice vectors
            check_periodic_axes(atoms, args.structure)
        grid = comparison_grid(atoms, like, args.spacing, args.margin)
        check_grid_size(grid, args.like or args.structure, args.max_points)
        if io.format_of(output).name == "chgcar" and not all(grid.pbc):
            flags = " ".join("T" if p else "F" for p in grid.pbc)
            why = (f"this structure is periodic along some axes only (pbc {flags}): write it as "
                   ".cube or .nc, or give it a full cell with vacuum (pbc T T T)"
                   if any(grid.pbc) else "this structure has none (give a cif, POSCAR or extxyz "
                   "with a lattice, or --pbc for a cube of the cell)")
            raise DdvizError(f"a CHGCAR holds a periodic cell: {why}", path=output)
    from ddviz.evaluate.comparison import compute_comparison
    from ddviz.grid import Sample
    from ddviz.methods.deep_density.files import load_model

    model, meta = load_model(args.model)
    for _, atoms, _ in jobs:  # every frame's elements known to the model, before predicting
        try:
            model.species_index(atoms.numbers)
        except DdvizError as exc:
            raise DdvizError(f"{exc.detail} ({args.model})", path=args.structure) from None
    for index, atoms, output in jobs:
        c = compute_comparison(atoms, model, like, args.spacing, args.margin, device=args.device)
        prov = {"predicted_by": Path(args.model).name, "structure": str(args.structure),
                "frame": index,
                "model_metadata": json.dumps({k: meta.get(k) for k in ("species", "format_version")})}
        make_parent(output)
        io.write(Sample(atoms, c.grid, c.predicted, prov, ndim=c.ndim, units=c.units), output)
        n = c.metrics()["electrons_pred"]
        print(f"wrote {output}: {c.grid.size:,} points ({' x '.join(map(str, c.grid.shape))}), "
              f"{n:.3f} electrons, {c.seconds:.2f} s")
        if c.ndim == 3:
            warn_electrons(atoms, n, str(output))
        if c.outliers:
            import sys

            from ddviz.methods.deep_density.coverage import describe

            print(f"warning: {output}: {describe(list(c.outliers))}", file=sys.stderr)
    return 0
