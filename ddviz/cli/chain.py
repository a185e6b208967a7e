"""1D Kohn–Sham model chains: AIMD snapshots, band gaps, screening.

`ddviz chain generate ...` writes AIMD / displaced-cell snapshots
(netCDF Samples, density in electrons/bohr); `ddviz chain characters` prints band gaps and the
screening summary; `ddviz chain dataset -o DIR` generates everything (3 characters x (8-atom MD +
32-atom transfer cells from a short 32-atom MD run)). All runs are resumable: finished snapshot files are skipped.
"""

from __future__ import annotations

import json
import time


def add_arguments(parser) -> None:
    """Add the command's actions and arguments to ``parser``."""
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    gen = sub.add_parser("generate", help="one trajectory (MD) or a set of displaced cells")
    gen.add_argument("--character", required=True, choices=["insulating", "metallic", "mixed"])
    gen.add_argument("--natoms", type=int, default=8)
    gen.add_argument("--steps", type=int, default=400, help="MD steps (default 400)")
    gen.add_argument("--stride", type=int, default=4, help="MD steps between snapshots")
    gen.add_argument("--dt", type=float, default=20.0, help="time step (a.u., default 20)")
    gen.add_argument("--amplitude", type=float, default=0.2,
                     help="std of the random initial displacements (bohr)")
    gen.add_argument("--cells", type=int, default=0,
                     help="instead of MD, write this many independent displaced cells "
                          "(std amplitude/sqrt2)")
    gen.add_argument("--seed", type=int, default=0)
    gen.add_argument("-o", "--output", required=True, help="output directory")
    data = sub.add_parser("dataset", help="all characters: 8-atom MD and 32-atom MD transfer cells")
    data.add_argument("--steps", type=int, default=400)
    data.add_argument("--stride", type=int, default=4)
    data.add_argument("--cells", type=int, default=6, help="32-atom transfer cells (default 6)")
    data.add_argument("--seed", type=int, default=0)
    data.add_argument("-o", "--output", required=True)
    sub.add_parser("characters", help="band gaps and density-response (screening) summary")


def run(args) -> int:
    """Run the chosen action."""
    from ddviz.toys.chain1d import md as ks1d_md

    t0 = time.perf_counter()
    out = None
    if args.action in ("generate", "dataset"):
        from ddviz.cli._checks import make_folder

        make_folder(args.output)
    if args.action == "generate" and args.cells:
        out = ks1d_md.generate_cells(args.output, args.character, args.natoms, args.cells,
                                     args.seed, args.amplitude / 2**0.5, progress=True)
    elif args.action == "generate":
        out = ks1d_md.generate_trajectory(args.output, args.character, args.natoms, args.steps,
                                          args.stride, args.seed, args.amplitude, args.dt,
                                          progress=True)
    elif args.action == "dataset":
        out = ks1d_md.generate_dataset(args.output, args.steps, args.stride, args.cells,
                                       args.seed, progress=True)
    else:
        from ddviz.toys.chain1d.response import characters, characters_table

        print(characters_table(characters()))
    if out is not None:
        print(json.dumps(out, indent=1))
    print(f"done in {time.perf_counter() - t0:.1f} s")
    return 0
