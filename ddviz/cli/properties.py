"""Properties of a valence density on its grid: electrons, dipole, quadrupole, Hartree energy.

The density is completed by the pseudopotential core charges (GTH valence charges: H 1, C 4,
N 5, O 6, F 7, ...; the family from the file's orbitals or provenance, else gth-pbe). Dipole in
debye and e*bohr (about the centre of the core charges; independent of it for a neutral
system), traceless quadrupole (Buckingham) in e*bohr^2, Hartree energy in Ha (isolated: a
zero-padded FFT convolution; --pbc or a periodic file: the periodic cell with the k = 0 term
dropped, no multipoles). See ddviz.evaluate.properties.
"""

from __future__ import annotations

import json


def add_arguments(p):
    """Add the command's arguments to ``p``."""
    from ddviz.cli._args import add_format_argument, add_max_points_argument

    p.add_argument("file", help="density file (cube, CHGCAR, .nc)")
    add_format_argument(p)
    add_max_points_argument(p)
    p.add_argument("--pbc", action="store_true",
                   help="treat the grid as a periodic cell (default: the file's periodicity)")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def _vector(v) -> str:
    return "(" + ", ".join(f"{x:.5f}" for x in v) + ")"


def run(args):
    """Print the properties of ``args.file``."""
    from ddviz import io
    from ddviz.evaluate.properties import sample_properties

    sample = io.read(args.file, format=args.format, max_points=args.max_points)
    props = sample_properties(sample, pbc=True if args.pbc else None)
    if args.json:
        print(json.dumps({"file": str(args.file), **props}))
        return 0
    lines = [f"file            {args.file}",
             f"electrons       {props['electrons']:.6f} e (cores {props['core_charge_e']:g} e, "
             f"total charge {props['charge_e']:+.6f} e)"]
    if props["dipole_debye"] is not None:
        lines += [f"dipole          {_vector(props['dipole_debye'])} D, "
                  f"|mu| {props['dipole_norm_debye']:.5f} D",
                  f"                {_vector(props['dipole_e_bohr'])} e*bohr, "
                  f"|mu| {props['dipole_norm_e_bohr']:.5f} e*bohr",
                  f"origin          {_vector(props['origin_bohr'])} bohr",
                  "quadrupole      " + "\n                ".join(
                      _vector(row) for row in props["quadrupole_e_bohr2"])
                  + " e*bohr^2 (traceless, Buckingham)"]
    else:
        what = ("a partly periodic structure" if props["partly_periodic"] else
                "a periodic cell")
        lines.append(f"multipoles      not defined for {what}")
    if props["hartree_ha"] is not None:
        lines.append(f"hartree         {props['hartree_ha']:.6f} Ha"
                     + (" (periodic, k=0 dropped)" if props["pbc"] else " (isolated)"))
    elif props["partly_periodic"]:
        lines.append("hartree         not computed for a partly periodic structure (it needs a "
                     "2D-periodic Coulomb kernel)")
    else:
        lines.append("hartree         not computed: the grid is too large for its FFT")
    print("\n".join(lines))
    return 0
