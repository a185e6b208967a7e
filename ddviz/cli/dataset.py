"""Build a named reference dataset.

In DIR: GFN2-xTB Langevin MD at 300 K (0.5 fs steps, 1 ps
equilibration, a snapshot every 500 fs, 100 fs for water16/32; DIR/trajectory.xyz), then one
PySCF snapshot per frame stored compactly (orbitals only) as DIR/<name>_<index:04d>.nc, with
DIR/manifest.json listing
energies and the train/test split (train: the first snapshots in time, test: the last).
Rerunning resumes. Periodic cells (al32, al108, water32-box, water64-box): EMT (Al) or rigid
TIP3P (water) Langevin MD at 300 K, then one CP2K snapshot per frame (PBE, GTH, DZVP-MOLOPT-SR-GTH,
400 Ry; the cube of the cell at STRIDE 2, periodic, float32 netCDF; test snapshots first; CP2K
from Debian's cp2k and cp2k-data packages). `ddviz dataset plane2d -o DIR [--count N --seed S]`
instead builds 2D Kohn-Sham samples (ddviz.toys.plane2d: --count samples, split by potential), and
`ddviz dataset qm9 -o DIR [--count N --n-test M --seed S]` QM9 molecules (geometries from the
optional package qm9pack; every molecule whose QM9 index ends in 7 is test-only);
`ddviz dataset hamiltonian-water -o DIR` all-electron Kohn-Sham matrices F and S (PySCF PBE
def2-SVP, randomly rotated MD snapshots; ddviz.methods.hamiltonian.data). Datasets (train +
test snapshots):
"""

from __future__ import annotations

PLANE2D = "plane2d"  # not a preset: the 2D Kohn-Sham dataset of ddviz.toys.plane2d.data
QM9 = "qm9"  # not a preset: molecules drawn from QM9 (ddviz.reference.qm9)
COUNT = {PLANE2D: 3000, QM9: 200}  # default --count


def _table() -> str:
    from ddviz.methods.hamiltonian.data import PRESETS as HAMILTONIAN
    from ddviz.reference.dataset import PRESETS

    return "\n".join([f"  {name:<11} {p.n_train:>3} + {p.n_test:<3} {p.purpose}"
                      for name, p in PRESETS.items()]
                     + [f"  {PLANE2D:<11} {'--count':>9} 2D Kohn-Sham boxes (LDA and GGA)",
                        f"  {QM9:<11} {'--count':>3} + 100 QM9 organic molecules (H, C, N, O, F)"]
                     + [f"  {name:<11} {p.purpose}" for name, p in HAMILTONIAN.items()])


def add_arguments(parser) -> None:
    """Add the command's arguments to ``parser``."""
    import argparse

    from ddviz.methods.hamiltonian.data import PRESETS as HAMILTONIAN
    from ddviz.reference.dataset import PRESETS

    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.description = __doc__ + _table()
    names = [*PRESETS, PLANE2D, QM9, *HAMILTONIAN]
    parser.add_argument("name", choices=names, metavar="NAME", help=f"one of: {', '.join(names)}")
    parser.add_argument("-o", "--output", required=True, metavar="DIR", help="dataset folder")
    parser.add_argument("--n-train", type=int, default=None, help="training snapshots")
    parser.add_argument("--n-test", type=int, default=None, help="test snapshots")
    parser.add_argument("--count", type=int, default=None,
                        help=f"{PLANE2D}: samples (default {COUNT[PLANE2D]}); {QM9}: training "
                        f"molecules (default {COUNT[QM9]})")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the geometry and the MD (plane2d: of the potentials)")
    parser.add_argument("--workers", type=int, default=2,
                        help="parallel single-threaded SCF processes (default %(default)s)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")


def run(args) -> int:
    """Build the dataset (or resume it)."""
    from ddviz.cli.generate import summarise

    count = COUNT.get(args.name) if args.count is None else args.count
    if args.name == PLANE2D:
        from ddviz.toys.plane2d.data import build as build_plane2d

        return summarise(build_plane2d(args.output, count, args.seed, workers=args.workers,
                                       progress=not args.no_progress), args.output)
    if args.name == QM9:
        from ddviz.reference import qm9

        n_test = 100 if args.n_test is None else args.n_test
        return summarise(qm9.build(args.output, count, n_test, args.seed, args.workers,
                                   progress=not args.no_progress), args.output)
    from ddviz.methods.hamiltonian import data as hamiltonian

    if args.name in hamiltonian.PRESETS:
        manifest = hamiltonian.build(args.name, args.output, args.seed,
                                     progress=not args.no_progress)
        print(f"{len(manifest['samples'])} samples in {args.output}")
        return 0
    from ddviz.reference.dataset import build

    report = build(args.name, args.output, args.n_train, args.n_test, args.seed, args.workers,
                   progress=not args.no_progress)
    return summarise(report, args.output)
