"""Compute reference densities (PySCF RKS/PBE, GTH-DZVP, GTH-PBE valence) for every frame of the
given structure files: OUTDIR/<stem>_<index:04d>.nc (or .cube) on the standard grid (cubegen's
layout, --spacing/--margin in bohr). Reruns skip finished snapshots; frames whose SCF does not
converge are listed in OUTDIR/failed.json (exit code 1); OUTDIR/manifest.json lists the snapshots.
"""

from __future__ import annotations

import sys


def add_arguments(parser) -> None:
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
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def settings_from(args):
    """SCFSettings with the command-line overrides."""
    from ddviz.reference.scf import SCFSettings

    overrides = {"density_fit": args.density_fit}
    if args.grids_level is not None:
        overrides["grids_level"] = args.grids_level
    return SCFSettings(**overrides)


def run(args) -> int:
    from ddviz.reference.generate import Options, generate, read_frames

    metadata = {k: v for k, v in (("temperature_K", args.temperature), ("seed", args.seed),
                                  ("split", args.split)) if v is not None}
    options = Options(settings_from(args), args.spacing, args.margin, args.format, args.compact,
                      args.workers, metadata, progress=not args.no_progress)
    frames = read_frames(args.structures)
    report = generate(frames, args.output, options)
    return summarise(report, args.output)


def summarise(report, outdir) -> int:
    """Print what a generate run did (stderr); exit code 1 when frames failed."""
    print(f"{len(report.computed)} computed, {len(report.skipped)} already done, "
          f"{len(report.failed)} failed -> {outdir}", file=sys.stderr)
    for name, reason in report.failed.items():
        print(f"  failed {name}: {reason}", file=sys.stderr)
    if report.failed:
        print(f"  (listed in {outdir}/failed.json)", file=sys.stderr)
    return 1 if report.failed else 0
