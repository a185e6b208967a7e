"""Orbital energies (and the density) from a predicted Kohn–Sham Hamiltonian (DeepH-E3).

Predicts H in the model's AO basis (def2-SVP), solves H C = S C e with PySCF's overlap S and
prints the orbital energies (Ha), HOMO, LUMO and the gap; --json prints eigenvalues_ha (all,
ascending), homo_ha, lumo_ha, gap_ha, nelectron, charge, basis, seconds. -o OUT writes the density of the
occupied orbitals on the standard grid (0.2 bohr, 4 bohr margin) as cube, CHGCAR or netCDF.
Closed-shell structures only: an even electron count (the atomic numbers less --charge).

MODEL is a file or a bare name (``hamiltonian-water``: ./hamiltonian-water.safetensors, then
./models/..., then the shipped model), as for ``ddviz predict``. The older form
``ddviz hamiltonian STRUCTURE --model MODEL`` still works (deprecated; a note on stderr).
"""

from __future__ import annotations


def add_arguments(p):
    """Add the command's arguments to ``p`` (an argparse parser)."""
    import argparse

    from ddviz.cli._args import add_format_argument
    from ddviz.grid import STANDARD_MARGIN, STANDARD_SPACING

    p.add_argument("model", nargs="?", default=None,
                   help="Hamiltonian model file (.safetensors) or a shipped model's name")
    p.add_argument("structure", help="structure file (xyz, cif, POSCAR, ...; the first frame)")
    # the old spelling `STRUCTURE --model MODEL`, kept so that scripts keep working
    p.add_argument("--model", dest="model_option", default=None, help=argparse.SUPPRESS)
    p.add_argument("--charge", type=int, default=0, help="total charge in e (default %(default)s)")
    p.add_argument("--json", action="store_true", help="print a JSON summary")
    p.add_argument("-o", "--output", help="write the implied density here (.cube, .nc, CHGCAR)")
    add_format_argument(p, what="the structure file")
    p.add_argument("--spacing", type=float, default=STANDARD_SPACING,
                   help="grid spacing in bohr (default %(default)s)")
    p.add_argument("--margin", type=float, default=STANDARD_MARGIN,
                   help="margin around the atoms in bohr (default %(default)s)")


def model_path(args) -> str:
    """The model file: the positional MODEL, or the deprecated ``--model`` (a note on stderr).

    Raises
    ------
    ddviz.errors.ConfigError
        Both or neither given.
    """
    import sys

    from ddviz.errors import ConfigError
    from ddviz.shipped import find

    if args.model is not None and args.model_option is not None:
        raise ConfigError(f"two models given ({args.model} and --model {args.model_option}): "
                          "write ddviz hamiltonian MODEL STRUCTURE", field="model")
    if args.model is None and args.model_option is None:
        raise ConfigError("no model given: write ddviz hamiltonian MODEL STRUCTURE (e.g. "
                          "hamiltonian-water)", field="model")
    if args.model is not None:
        return args.model  # already resolved like every command's model (ddviz.cli)
    print("ddviz hamiltonian: --model is deprecated; write ddviz hamiltonian MODEL STRUCTURE",
          file=sys.stderr)
    return find(args.model_option, model=True)


def run(args) -> int:
    """Predict, print and (with -o) write the density."""
    import json

    from ddviz import io
    from ddviz.cli._checks import check_grid_size, check_output, make_parent
    from ddviz.errors import ModelFileError
    from ddviz.methods import load_model
    from ddviz.methods.hamiltonian.data import electron_count
    from ddviz.methods.hamiltonian.files import FORMAT
    from ddviz.methods.hamiltonian.predict import predict
    from ddviz.units import ang_to_bohr

    model_file = model_path(args)
    atoms = io.read_structures(args.structure, format=args.format)[0]
    from ddviz.cli._checks import check_molecule

    check_molecule(atoms, args.structure, "hamiltonian")
    electron_count(atoms.numbers, args.charge, path=args.structure)  # before the model loads
    grid = None
    if args.output:
        from ddviz.grid import Grid

        check_output(args.output)
        grid = Grid.around(ang_to_bohr(atoms.positions), args.spacing, args.margin)
        check_grid_size(grid, args.structure)
    model, meta = load_model(model_file)
    if meta.get("format") != FORMAT:
        raise ModelFileError(f"not a Hamiltonian model (format {meta.get('format')!r})",
                             path=model_file, field="format")
    result = predict(model, atoms.numbers, ang_to_bohr(atoms.positions), charge=args.charge)
    summary = result.summary()
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"{atoms.get_chemical_formula()} (charge {args.charge:+d}): "
              f"{summary['nelectron']} electrons, basis "
              f"{summary['basis']}, {len(result.eigenvalues)} orbitals ({summary['seconds']} s)")
        print(f"HOMO {summary['homo_ha']:.6f} Ha  LUMO {summary['lumo_ha']:.6f} Ha  "
              f"gap {summary['gap_ha']:.6f} Ha ({summary['gap_ha'] * 27.211386:.3f} eV)")
        print("occupied orbital energies (Ha): "
              + " ".join(f"{e:.5f}" for e in result.eigenvalues[:result.nocc]))
    if grid is not None:
        from ddviz.grid import Sample

        rho = result.orbitals().evaluate_grid(grid)
        from ddviz.evaluate.properties import ALL_ELECTRON

        make_parent(args.output)
        io.write(Sample(atoms, grid, rho, {"source": "ddviz hamiltonian", "model": str(model_file),
                                           "pseudopotential": ALL_ELECTRON}), args.output)
        if not args.json:
            print(f"density ({rho.sum() * grid.voxel_volume:.4f} electrons on the grid) -> "
                  f"{args.output}")
    return 0
