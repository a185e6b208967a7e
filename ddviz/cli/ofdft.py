"""Orbital-free DFT of a two-electron molecule with a learned (or the exact) kinetic functional.

Minimises E[rho] = T_s[rho] + E_ext + E_H + E_xc (PBE, def2-TZVP) over rho = 2|phi|^2, phi in
the basis normalised through S, with L-BFGS from the core Hamiltonian's lowest orbital
(ddviz.methods.kinetic.ofdft). T_s comes from the kinetic model file (method "kinetic"), or with
--functional vw from the von Weizsaecker functional (exact for two electrons: the Kohn-Sham energy;
a model file given with it is not read, and a note on stderr says so). Prints the energy (Ha), its
parts, iterations, converged, the stop reason and wall time; --json prints one JSON object with the
keys energy_ha, kinetic_ha, external_ha, hartree_ha, xc_ha, nuclear_ha, iterations, converged,
stop_reason, gradient_max_ha, seconds, functional (and ks_energy_ha, error_ha, density_rel_l1 with
--compare). Converged means a stationary point: the largest component of the energy's gradient at
the final orbital at most 1e-4 Ha (gradient_max_ha); exit status 1 when not converged. stop_reason
says why the run ended: converged, max_iter (the --max-iter limit), "line search stalled after N
restarts" or "no descent step after N restarts" (the energy no longer decreases: a learned T_s
outside its range, e.g. a stretched bond).
Structures with other than 2 electrons are refused.
"""

from __future__ import annotations


def add_arguments(p):
    """Add the command's arguments to ``p`` (an argparse parser)."""
    from ddviz.cli._args import add_format_argument

    p.add_argument("model", nargs="?", default=None,
                   help="kinetic model file (.safetensors); not needed with --functional vw "
                        "(not read then: a note on stderr says so)")
    p.add_argument("structure", help="structure file (xyz, cif, POSCAR, ...), first frame used")
    add_format_argument(p, what="the structure file")
    p.add_argument("--charge", type=int, default=0, help="total charge (default %(default)s)")
    p.add_argument("--functional", choices=("model", "vw"), default="model",
                   help="kinetic functional: the model (default) or exact von Weizsaecker")
    p.add_argument("--max-iter", type=int, default=500,
                   help="L-BFGS iteration limit (default %(default)s)")
    p.add_argument("--compare", action="store_true",
                   help="also run the Kohn-Sham SCF and report the energy and density errors")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def run(args):
    """Run OF-DFT and print the result."""
    import json
    import sys

    from ddviz import io
    from ddviz.errors import ConfigError, ModelFileError
    from ddviz.methods.kinetic import ofdft

    atoms = io.read_structures(args.structure, format=args.format)[0]
    from ddviz.cli._checks import check_molecule

    check_molecule(atoms, args.structure, "ofdft")
    mol = ofdft.from_atoms(atoms, args.charge)  # refuses other than 2 electrons
    model = None
    if args.functional == "vw" and args.model is not None:  # a sweep over --functional may pass it
        print(f"note: {args.model} is not read: --functional vw uses the von Weizsaecker "
              "functional, not a model", file=sys.stderr)
    if args.functional == "model":
        if args.model is None:
            raise ConfigError("give a kinetic model file, or --functional vw", field="model")
        from ddviz.methods import load_model

        model, meta = load_model(args.model)
        if meta.get("format") != "ddviz-kinetic":
            raise ModelFileError("not a kinetic model file", path=args.model, field="format")
        model = model.double()
    if args.max_iter < 1:
        raise ConfigError(f"--max-iter must be positive, got {args.max_iter}", field="max-iter")
    result = ofdft.run(mol, model, args.functional, max_iter=args.max_iter)
    out = result.summary()
    if args.compare:
        e_ks, c_ks = ofdft.kohn_sham(mol)
        out.update(ks_energy_ha=e_ks, error_ha=result.energy_ha - e_ks,
                   density_rel_l1=ofdft.density_error(mol, result.coefficients, c_ks))
    if args.json:
        print(json.dumps(out))
    else:
        for key, value in out.items():
            print(f"{key:<15} {value:.8f}" if isinstance(value, float) and key != "seconds"
                  else f"{key:<15} {value:.2f}" if key == "seconds" else f"{key:<15} {value}")
    return 0 if result.converged else 1
