"""Start a PySCF SCF from a model's predicted density and compare it with the default guess.

The predicted density (evaluated by the model on PySCF's DFT grid, in double precision) gives
one Fock matrix (h_core + J + V_xc) whose occupied orbitals are the initial density matrix; the
SCF from it and the SCF from PySCF's ``minao`` guess run with the references' settings (RKS,
PBE, GTH-PBE, gth-dzvp, grid level 1, conv_tol 1e-9). Printed: SCF cycles, wall times (the
guess's includes building it) and the final-energy difference (Ha), which should be below 1e-7
(the same solution). See ddviz.evaluate.scf_guess.
"""

from __future__ import annotations

import json


def add_arguments(p):
    """Add the command's arguments to ``p``."""
    from ddviz.cli._args import add_format_argument

    p.add_argument("model", help="model file (.safetensors)")
    p.add_argument("structure", help="structure file (xyz, cif, POSCAR, or a density file's atoms)")
    add_format_argument(p, what="the structure file")
    p.add_argument("--frame", type=int, default=-1, metavar="N",
                   help="frame of a multi-frame file (default: the last)")
    p.add_argument("--charge", type=int, default=0, help="total charge in e (default 0)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")


def run(args):
    """Run both SCFs; print cycles, times and the energy difference."""
    from ddviz import io
    from ddviz.cli._checks import check_molecule
    from ddviz.errors import UnsupportedError
    from ddviz.reference.scf import SCFSettings, build_mol, valence_electrons

    atoms = io.read_structure(args.structure, args.frame, format=args.format)
    check_molecule(atoms, args.structure, "scf-guess")
    count = valence_electrons(atoms.get_chemical_symbols())
    if count is not None and (count - args.charge) % 2:
        raise UnsupportedError(
            f"{args.structure}: {atoms.get_chemical_formula()} with charge {args.charge:+d} has "
            f"{count - args.charge:g} valence electrons, an open shell; the density guess is for "
            f"closed shells (an even count: change --charge)")
    settings = SCFSettings(charge=args.charge)
    build_mol(atoms, settings)  # ConfigError for an odd electron count, before the model loads
    from ddviz.evaluate.predictor import Predictor  # torch
    from ddviz.evaluate.scf_guess import warm_start
    from ddviz.methods.deep_density.files import load_model

    model, _ = load_model(args.model)
    predictor = Predictor(model, device=args.device, dtype="float64")
    environment = predictor.environment(atoms)
    result = warm_start(atoms, lambda points: predictor.predict_points(environment, points),
                        settings)
    out = result.to_dict()
    if args.json:
        print(json.dumps({"model": str(args.model), "structure": str(args.structure), **out}))
        return 0
    saved = 1 - result.cycles_guess / result.cycles_default if result.cycles_default else 0.0
    print(f"structure        {args.structure} ({atoms.get_chemical_formula()}, charge "
          f"{args.charge:+d})\n"
          f"cycles           {result.cycles_guess} from the predicted density, "
          f"{result.cycles_default} from minao ({abs(saved):.0%} {'fewer' if saved >= 0 else 'more'})\n"
          f"wall time        {result.seconds_guess:.2f} s (guess built in "
          f"{result.seconds_guess_build:.2f} s), {result.seconds_default:.2f} s from minao\n"
          f"energy           {result.energy_guess_ha:.9f} Ha, {result.energy_default_ha:.9f} Ha "
          f"from minao; difference {result.energy_diff_ha:.2e} Ha")
    return 0
