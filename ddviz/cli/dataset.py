"""Build a named reference dataset in DIR: GFN2-xTB Langevin MD at 300 K (0.5 fs steps, 1 ps
equilibration, a snapshot every 500 fs, 100 fs for water16/32; DIR/trajectory.xyz), then one
PySCF snapshot per frame stored compactly (orbitals only) as DIR/<name>_<index:04d>.nc, with
DIR/manifest.json listing
energies and the train/test split (train: the first snapshots in time, test: the last).
Rerunning resumes. Datasets (train + test snapshots):
"""

from __future__ import annotations


def _table() -> str:
    from ddviz.reference.dataset import PRESETS

    return "\n".join(f"  {name:<10} {p.n_train:>3} + {p.n_test:<3} {p.purpose}"
                     for name, p in PRESETS.items())


def add_arguments(parser) -> None:
    import argparse

    from ddviz.reference.dataset import PRESETS

    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.description = __doc__ + _table()
    parser.add_argument("name", choices=list(PRESETS), metavar="NAME",
                        help=f"one of: {', '.join(PRESETS)}")
    parser.add_argument("-o", "--output", required=True, metavar="DIR", help="dataset folder")
    parser.add_argument("--n-train", type=int, default=None, help="training snapshots")
    parser.add_argument("--n-test", type=int, default=None, help="test snapshots")
    parser.add_argument("--seed", type=int, default=0, help="seed of the geometry and the MD")
    parser.add_argument("--workers", type=int, default=2,
                        help="parallel single-threaded SCF processes (default %(default)s)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")


def run(args) -> int:
    from ddviz.cli.generate import summarise
    from ddviz.reference.dataset import build

    report = build(args.name, args.output, args.n_train, args.n_test, args.seed, args.workers,
                   progress=not args.no_progress)
    return summarise(report, args.output)
