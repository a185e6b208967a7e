"""`ddviz ...`: one module per sub-command, each with ``add_arguments(parser)`` and ``run(args)``.

Every :class:`~ddviz.errors.DdvizError` becomes one line on stderr and exit code 2. A closed
output pipe (``ddviz info X | head -3``) ends the command quietly. An interrupt (Ctrl-C,
SIGTERM where the command handles it) ends with exit code 130, as shells expect.

Start-up is kept short: only the module of the command being run is imported, and each command
imports its heavy libraries (torch, PySCF, Panel) inside ``run``, so ``ddviz --help`` and
``ddviz info`` answer without loading them (``benchmarks/bench_startup.py`` measures it).
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import sys

from ddviz.errors import DdvizError

# name -> one-line help; the module ddviz.cli.<name> implements it.
COMMANDS = {
    "info": "print what a density, structure, model file or dataset folder holds",
    "generate": "compute reference densities (PySCF) for every frame of structure files",
    "dataset": "build a named reference dataset (MD + PySCF or CP2K snapshots, 2D boxes, ...)",
    "train": "train a model of any method (Deep Density, KineticNet, EDNN, DCIGN, DeepH-E3) from a configuration file",
    "evaluate": "compare a model's predictions with reference densities",
    "predict": "predict the density of a structure and write it to a file",
    "compare": "compare two density files on the same grid (no model)",
    "properties": "electrons, dipole, quadrupole and Hartree energy of a density file",
    "scf-guess": "start a PySCF SCF from a model's predicted density; cycles against minao",
    "serve": "run the app in a browser (localhost only unless told otherwise)",
    "ofdft": "orbital-free DFT of a 2-electron molecule with a kinetic-energy model",
    "chain": "1D Kohn-Sham model chains: AIMD snapshots, band gaps, screening",
    "hamiltonian": "orbital energies and density from a predicted Kohn-Sham Hamiltonian",
}

INTERRUPTED = 130  # 128 + SIGINT: what shells report for a command stopped by Ctrl-C


def _chosen(argv: list[str]) -> str | None:
    """The command named in ``argv`` (the first word that is one), if any."""
    for word in argv:
        if word in COMMANDS:
            return word
        if not word.startswith("-"):
            return None  # an unknown command: argparse says so
    return None


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line on stderr and exit code 2 (no usage block)."""

    def error(self, message: str):
        """Print ``PROG: error: MESSAGE`` as one line and exit 2."""
        self.exit(2, f"{self.prog}: error: {message}".replace("\n", " ") + "\n")


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The ``ddviz`` argument parser.

    Parameters
    ----------
    argv : list of str, optional
        The command line about to be parsed: only the command it names gets its arguments (and
        its module imported). None: every command's arguments (documentation, tests).

    Returns
    -------
    argparse.ArgumentParser
    """
    from ddviz import __version__

    parser = _Parser(prog="ddviz", description="Machine-learned Kohn-Sham DFT (Deep Density, "
                     "KineticNet, EDNN/DCIGN, DeepH-E3): reference data, models, evaluation and "
                     "visualisation.")
    parser.add_argument("--version", action="version", version=f"ddviz {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                parser_class=_Parser)
    chosen = None if argv is None else _chosen(argv)
    for name, help_text in COMMANDS.items():
        if argv is not None and name != chosen:
            sub.add_parser(name, help=help_text)  # listed in --help; its module is not imported
            continue
        module = importlib.import_module(f"ddviz.cli.{name.replace('-', '_')}")
        p = sub.add_parser(name, help=help_text, description=plain_text(module.__doc__))
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def plain_text(doc: str | None) -> str | None:
    """A module docstring as ``--help`` shows it: reStructuredText roles and literals unmarked.

    ``:mod:`~ddviz.x``` becomes ``ddviz.x``, ````-o out.cube```` becomes ``-o out.cube``.
    """
    if doc is None:
        return None
    doc = re.sub(r":[a-z]+:`~?([^`]+)`", r"\1", doc)
    return doc.replace("``", "")


#: the arguments that name input files; ``models/...`` and ``examples/...`` in them may name the
#: shipped copies (:func:`ddviz.shipped.find`)
INPUT_FILES = ("model", "structure", "structures", "path", "file", "references", "a", "b")


def _shipped_paths(args) -> None:
    from ddviz.shipped import find

    for name in INPUT_FILES:
        value = getattr(args, name, None)
        if isinstance(value, str):
            setattr(args, name, find(value, model=name in ("model", "path")))
        elif isinstance(value, list):
            setattr(args, name, [find(v) if isinstance(v, str) else v for v in value])


def main(argv: list[str] | None = None) -> int:
    """Run ``ddviz ARGV``; returns the exit code (0 done, 1 partly failed, 2 error, 130 stopped).

    Parameters
    ----------
    argv : list of str, optional
        The arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    int
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(argv).parse_args(argv)
    _shipped_paths(args)
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
        return INTERRUPTED
