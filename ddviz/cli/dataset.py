"""Build a named reference dataset.

In DIR: GFN2-xTB Langevin MD at 300 K (0.5 fs steps, 1 ps
equilibration, a snapshot every 500 fs, 100 fs for water16/32; DIR/trajectory.xyz), then one
PySCF snapshot per frame stored compactly (orbitals only) as DIR/<name>_<index:04d>.nc, with
DIR/manifest.json listing
energies and the train/test split (train: the first snapshots in time, test: the last).
Rerunning resumes. `ddviz dataset plane2d -o DIR [--count N --seed S]` instead builds 2D
Kohn-Sham samples (ddviz.toys.plane2d: --count samples, split by potential). Datasets (train +
test snapshots):
"""

from __future__ import annotations

PLANE2D = "plane2d"  # not a preset: the 2D Kohn-Sham dataset of ddviz.toys.plane2d.data
KINETIC = "kinetic-2e"  # not a preset: ddviz.methods.kinetic.data (two-electron KS samples)


def _table() -> str:
    from ddviz.reference.dataset import PRESETS

    return "\n".join([f"  {name:<10} {p.n_train:>3} + {p.n_test:<3} {p.purpose}"
                      for name, p in PRESETS.items()]
                     + [f"  {PLANE2D:<10} {'--count':>9} 2D Kohn-Sham boxes (LDA and GGA)",
                        f"  {KINETIC:<10} {'--count':>9} H2, HeH+, H3+ (PBE, perturbed): T_s, "
                        "dT_s/drho"])


def add_arguments(parser) -> None:
    """Add the command's arguments to ``parser``."""
    import argparse

    from ddviz.reference.dataset import PRESETS

    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.description = __doc__ + _table()
    names = [*PRESETS, PLANE2D, KINETIC]
    parser.add_argument("name", choices=names, metavar="NAME", help=f"one of: {', '.join(names)}")
    parser.add_argument("-o", "--output", required=True, metavar="DIR", help="dataset folder")
    parser.add_argument("--n-train", type=int, default=None, help="training snapshots")
    parser.add_argument("--n-test", type=int, default=None, help="test snapshots")
    parser.add_argument("--count", type=int, default=None,
                        help=f"{PLANE2D} and {KINETIC} only: samples (default: 3000, "
                        f"{KINETIC} 600)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the geometry and the MD (plane2d: of the potentials)")
    parser.add_argument("--workers", type=int, default=2,
                        help="parallel single-threaded SCF processes (default %(default)s)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")


def run(args) -> int:
    """Build the dataset (or resume it)."""
    from ddviz.cli.generate import summarise

    if args.name == PLANE2D:
        from ddviz.toys.plane2d.data import build as build_plane2d

        return summarise(build_plane2d(args.output, 3000 if args.count is None else args.count, args.seed,
                                       workers=args.workers,
                                       progress=not args.no_progress), args.output)
    if args.name == KINETIC:
        from ddviz.methods.kinetic.data import build as build_kinetic

        return summarise(build_kinetic(args.output, 600 if args.count is None else args.count,
                                       args.seed, workers=args.workers,
                                       progress=not args.no_progress), args.output)
    from ddviz.reference.dataset import build

    report = build(args.name, args.output, args.n_train, args.n_test, args.seed, args.workers,
                   progress=not args.no_progress)
    return summarise(report, args.output)
