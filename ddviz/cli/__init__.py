"""`ddviz ...`: one module per sub-command, each with ``add_arguments(parser)`` and ``run(args)``.

Every :class:`~ddviz.errors.DdvizError` becomes one line on stderr and exit code 2. A closed
output pipe (``ddviz info X | head -3``) ends the command quietly.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from ddviz.errors import DdvizError

# name -> one-line help; the module ddviz.cli.<name> implements it.
COMMANDS = {
    "info": "print what a density or structure file holds",
    "generate": "compute reference densities (PySCF) for every frame of structure files",
    "dataset": "build a named reference dataset (xTB MD + PySCF snapshots)",
    "train": "train a Deep Density model from a configuration file",
    "evaluate": "compare a model's predictions with reference densities",
    "predict": "predict the density of a structure and write it to a file",
    "serve": "run the app in a browser (localhost only unless told otherwise)",
    "chain": "1D Kohn-Sham model chains: AIMD snapshots, band gaps, screening",
}


def build_parser() -> argparse.ArgumentParser:
    from ddviz import __version__

    parser = argparse.ArgumentParser(prog="ddviz", description="Deep Density electron densities: "
                                     "reference data, models, evaluation and visualisation.")
    parser.add_argument("--version", action="version", version=f"ddviz {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, help_text in COMMANDS.items():
        module = importlib.import_module(f"ddviz.cli.{name.replace('-', '_')}")
        p = sub.add_parser(name, help=help_text, description=module.__doc__)
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code = int(args._run(args) or 0)
        sys.stdout.flush()  # a closed pipe shows here, not at interpreter exit
        return code
    except BrokenPipeError:
        # the reader stopped reading (e.g. `| head`): no traceback, no "Exception ignored" at exit
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except DdvizError as exc:
        print(f"ddviz {args.command}: error: {exc}".replace("\n", " "), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"ddviz {args.command}: interrupted", file=sys.stderr)
        return 130
