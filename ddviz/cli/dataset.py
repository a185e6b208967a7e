"""Build a named reference dataset (rerunning resumes).

Molecules and clusters (ethane ... water32): GFN2-xTB Langevin MD at 300 K (0.5 fs steps, 1 ps
equilibration, a snapshot every 500 fs, 100 fs for water16/32; DIR/trajectory.xyz), then one
PySCF snapshot per frame stored compactly (orbitals only) as DIR/<name>_<index:04d>.nc, with
DIR/manifest.json listing energies and the train/test split (train: the first snapshots in time,
test: the last). Periodic cells (al32, al108, water32-box, water64-box): EMT (Al) or rigid TIP3P
(water) Langevin MD at 300 K, then one CP2K snapshot per frame (PBE, GTH, DZVP-MOLOPT-SR-GTH,
400 Ry; the cube of the cell at STRIDE 2, periodic, float32 netCDF; test snapshots first; CP2K
from Debian's cp2k and cp2k-data packages). Their Brillouin zone is sampled at the Gamma point;
--kpoints N1 N2 N3 uses a Monkhorst-Pack grid instead (for metals in small cells: al32's Gamma
density differs by 2.3 % rel L1 from the same atoms as a 2x1x1 supercell); snapshots made with
another sampling are recomputed. The other datasets each feed one method: 2D Kohn-Sham boxes
(EDNN, DCIGN), two-electron kinetic energies (KineticNet), Kohn-Sham matrices (DeepH-E3), and QM9
molecules (geometries from the optional package qm9pack; every molecule whose QM9 index ends in 7
is test-only). Datasets (train + test snapshots):
"""

from __future__ import annotations


def _plane2d(args) -> int:
    from ddviz.cli.generate import summarise
    from ddviz.toys.plane2d.data import build

    return summarise(build(args.output, args.count or 3000, args.seed, workers=args.workers,
                           progress=not args.no_progress), args.output)


def _kinetic(args) -> int:
    from ddviz.cli.generate import summarise
    from ddviz.methods.kinetic.data import build

    return summarise(build(args.output, args.count or 600, args.seed, workers=args.workers,
                           progress=not args.no_progress), args.output)


def _qm9(args) -> int:
    from ddviz.cli.generate import summarise
    from ddviz.reference import qm9

    n_test = 100 if args.n_test is None else args.n_test
    return summarise(qm9.build(args.output, 200 if args.count is None else args.count, n_test,
                               args.seed, args.workers, progress=not args.no_progress),
                     args.output)


def _hamiltonian(args) -> int:
    from ddviz.methods.hamiltonian import data

    manifest = data.build(args.name, args.output, args.seed, progress=not args.no_progress)
    print(f"{len(manifest['samples'])} samples in {args.output}")
    return 0


def _presets(args) -> int:
    from ddviz.cli.generate import summarise
    from ddviz.reference.dataset import build

    return summarise(build(args.name, args.output, args.n_train, args.n_test, args.seed,
                           args.workers, progress=not args.no_progress, kpoints=args.kpoints),
                     args.output)


def datasets() -> dict[str, tuple[str, object]]:
    """Every dataset name: ``(one line for the help, build(args) -> exit code)``."""
    from ddviz.methods.hamiltonian.data import PRESETS as HAMILTONIAN
    from ddviz.reference.dataset import PRESETS

    out = {name: (f"{p.n_train:>3} + {p.n_test:<3} {p.purpose}", _presets)
           for name, p in PRESETS.items()}
    out.update({
        "plane2d": ("--count (3000) 2D Kohn-Sham boxes (LDA and GGA) for EDNN and DCIGN",
                    _plane2d),
        "kinetic-2e": ("--count (600) H2, HeH+, H3+ (PBE, perturbed): T_s, dT_s/drho", _kinetic),
        "qm9": ("--count (200) + --n-test (100) QM9 organic molecules (H, C, N, O, F)", _qm9)})
    out.update({name: (p.purpose, _hamiltonian) for name, p in HAMILTONIAN.items()})
    return out


def add_arguments(parser) -> None:
    """Add the command's arguments to ``parser``."""
    import argparse

    table = datasets()
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.description = __doc__ + "\n".join(f"  {name:<18} {line}"
                                             for name, (line, _) in table.items())
    parser.add_argument("name", choices=list(table), metavar="NAME",
                        help=f"one of: {', '.join(table)}")
    parser.add_argument("-o", "--output", required=True, metavar="DIR", help="dataset folder")
    parser.add_argument("--n-train", type=int, default=None, help="training snapshots")
    parser.add_argument("--n-test", type=int, default=None, help="test snapshots (qm9: molecules)")
    parser.add_argument("--count", type=int, default=None,
                        help="plane2d, kinetic-2e: samples; qm9: training molecules")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the geometry and the MD (plane2d: of the potentials)")
    parser.add_argument("--workers", type=int, default=2,
                        help="parallel single-threaded SCF processes (default %(default)s)")
    parser.add_argument("--kpoints", type=int, nargs=3, default=None, metavar=("N1", "N2", "N3"),
                        help="periodic CP2K datasets (al32, al108, water32-box, water64-box): "
                             "Monkhorst-Pack k-point grid instead of the Gamma point (metals in "
                             "small cells)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")


def run(args) -> int:
    """Build the dataset (or resume it).

    The k-points are checked by the library alone (:func:`ddviz.reference.dataset.check_kpoints`
    for the dataset, :class:`ddviz.reference.cp2k.CP2KSettings` for the values, before any MD);
    their ``field="kpoints"`` errors are reported as the option's.
    """
    from ddviz.cli._checks import make_folder
    from ddviz.errors import ConfigError
    from ddviz.reference.dataset import PRESETS, check_kpoints, recipe

    try:
        check_kpoints(args.name, args.kpoints)  # the builders other than the presets ignore it
        if args.name in PRESETS:  # the preset's every check (counts, k-point values), no folder yet
            recipe(args.name, args.n_train, args.n_test, args.seed, args.kpoints)
        if args.name == "qm9" and args.n_train is not None:  # not silently 200 molecules
            raise ConfigError("qm9 counts its training molecules with --count, not --n-train",
                              field="n_train")
        make_folder(args.output)
        return datasets()[args.name][1](args)
    except ConfigError as exc:
        if exc.field != "kpoints":
            raise
        raise ConfigError(f"--kpoints {' '.join(map(str, args.kpoints))}: {exc.detail}") from None
