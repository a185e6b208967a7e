"""Compute reference densities (PySCF PBE, GTH-DZVP, GTH-PBE valence) for every frame.

One file per frame of the given structure files: OUTDIR/<stem>_<index:04d>.nc (or .cube) on the
standard grid (cubegen's layout, --spacing/--margin in bohr). Closed shells use RKS; --spin N
(unpaired electrons, e.g. 1 for a radical) uses UKS and stores the total density; --charge sets
the total charge. The output folder, the grid sizes and each frame's electron count against
--charge/--spin are checked before any SCF. Reruns skip finished snapshots; frames whose SCF does
not converge are listed in OUTDIR/failed.json (exit code 1); OUTDIR/manifest.json lists the
snapshots.
"""

from __future__ import annotations

import sys


def add_arguments(parser) -> None:
    """Add the command's arguments to ``parser``."""
    from ddviz.grid import STANDARD_MARGIN, STANDARD_SPACING

    parser.add_argument("structures", nargs="+", metavar="STRUCTURES",
                        help="structure files (xyz/extxyz, multi-frame allowed; POSCAR; cif)")
    parser.add_argument("-o", "--output", required=True, metavar="OUTDIR", help="output folder")
    parser.add_argument("--spacing", type=float, default=STANDARD_SPACING,
                        help="grid spacing, bohr (default %(default)s)")
    parser.add_argument("--margin", type=float, default=STANDARD_MARGIN,
                        help="grid margin around the atoms, bohr (default %(default)s)")
    parser.add_argument("--format", choices=("nc", "cube"), default="nc",
                        help="snapshot file format (default %(default)s)")
    parser.add_argument("--compact", action="store_true",
                        help="netCDF with orbitals only, no grid values (tiny; exact anywhere)")
    parser.add_argument("--workers", type=int, default=2,
                        help="parallel single-threaded SCF processes (default %(default)s)")
    parser.add_argument("--temperature", type=float, default=None, metavar="K",
                        help="MD temperature to record in the provenance (K)")
    parser.add_argument("--seed", type=int, default=None,
                        help="MD seed to record in the provenance")
    parser.add_argument("--split", choices=("train", "test"), default=None,
                        help="split recorded in the manifest (default: the frame's, else train)")
    parser.add_argument("--grids-level", type=int, default=None,
                        help="PySCF DFT grid level (default 1; PySCF's own default is 3)")
    parser.add_argument("--density-fit", action="store_true", help="density fitting for Coulomb")
    parser.add_argument("--charge", type=int, default=0, help="total charge, e (default 0)")
    parser.add_argument("--spin", type=int, default=0,
                        help="unpaired electrons, N_alpha - N_beta (default 0: closed shell, RKS; "
                             "1 for a radical: UKS)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def settings_from(args):
    """SCFSettings with the command-line overrides."""
    from ddviz.reference.scf import SCFSettings

    overrides = {"density_fit": args.density_fit, "charge": args.charge, "spin": args.spin}
    if args.grids_level is not None:
        overrides["grids_level"] = args.grids_level
    return SCFSettings(**overrides)


def check_frames(frames, settings, spacing: float, margin: float) -> None:
    """Refuse, before any SCF, frames whose grid is too large or whose electrons cannot pair.

    Parameters
    ----------
    frames : list of ddviz.reference.generate.Frame
        The frames to compute.
    settings : ddviz.reference.scf.SCFSettings
        Their charge and spin.
    spacing, margin : float
        The grid (bohr).

    Raises
    ------
    DdvizError
        A grid above the points limit; an electron count (GTH valence less the charge) whose
        parity differs from the spin's, or fewer electrons than the spin.
    """
    from ddviz.cli._checks import check_grid_size
    from ddviz.errors import DdvizError
    from ddviz.grid import Grid
    from ddviz.reference.scf import valence_electrons
    from ddviz.units import ang_to_bohr

    for frame in frames:
        where = f"{frame.source} frame {frame.index}"
        check_grid_size(Grid.around(ang_to_bohr(frame.atoms.positions), spacing, margin), where)
        valence = valence_electrons(frame.atoms.get_chemical_symbols(), settings.pseudo)
        if valence is None:
            continue  # PySCF names the element it lacks
        electrons = int(round(valence)) - settings.charge
        if electrons < settings.spin or (electrons - settings.spin) % 2:
            raise DdvizError(
                f"{frame.atoms.get_chemical_formula()} with charge {settings.charge} has "
                f"{electrons} valence electrons: spin {settings.spin} is impossible (give "
                f"--spin {electrons % 2} for {'an odd' if electrons % 2 else 'an even'} count, "
                "or another --charge)", path=where, field="--spin")


def run(args) -> int:
    """Compute the frames' reference densities."""
    from ddviz.cli._checks import check_output_folder, make_folder
    from ddviz.reference.generate import Options, generate, read_frames

    check_output_folder(args.output)
    metadata = {k: v for k, v in (("temperature_K", args.temperature), ("seed", args.seed),
                                  ("split", args.split)) if v is not None}
    options = Options(settings_from(args), args.spacing, args.margin, args.format, args.compact,
                      args.workers, metadata, progress=not args.no_progress)
    frames = read_frames(args.structures)
    check_frames(frames, options.settings, args.spacing, args.margin)
    make_folder(args.output)
    report = generate(frames, args.output, options)
    return summarise(report, args.output)


def summarise(report, outdir) -> int:
    """Print what a generate run did (stderr); exit code 1 when frames failed.

    Parameters
    ----------
    report : ddviz.reference.generate.Report
        What the run did.
    outdir : str or os.PathLike
        The output folder, named in the summary.

    Returns
    -------
    int
        The exit code.
    """
    print(f"{len(report.computed)} computed, {len(report.skipped)} already done, "
          f"{len(report.failed)} failed -> {outdir}", file=sys.stderr)
    for name, reason in report.failed.items():
        print(f"  failed {name}: {reason}", file=sys.stderr)
    if report.failed:
        print(f"  (listed in {outdir}/failed.json)", file=sys.stderr)
    return 1 if report.failed else 0
