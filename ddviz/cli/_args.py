"""Arguments several commands share."""

from __future__ import annotations


def add_format_argument(parser, flag: str = "--format", what: str = "the input file") -> None:
    """Add ``--format NAME``: the format of ``what`` when its name and content do not tell.

    Parameters
    ----------
    parser : argparse.ArgumentParser
        The command's parser.
    flag : str
        The option's name.
    what : str
        The file it is the format of, for the help text.
    """
    from ddviz.io import format_names

    parser.add_argument(flag, default=None, metavar="NAME", choices=format_names(),
                        help=f"format of {what} (default: from the name, else the content): "
                             f"{', '.join(format_names())}")


def point_count(text: str) -> int:
    """A positive point count from the command line; accepts ``200000000`` and ``2e8``.

    Parameters
    ----------
    text : str
        The argument.

    Returns
    -------
    int

    Raises
    ------
    argparse.ArgumentTypeError
        Not a number, not finite or below 1.
    """
    import argparse
    import math

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of points, got {text!r}") from None
    if not math.isfinite(value) or value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive number of points, got {text!r}")
    return int(value)


def add_max_points_argument(parser) -> None:
    """Add ``--max-points N``: the grid-size limit (default env DDVIZ_MAX_POINTS or 2e8).

    Parameters
    ----------
    parser : argparse.ArgumentParser
        The command's parser.
    """
    parser.add_argument("--max-points", type=point_count, default=None, metavar="N",
                        help="refuse grids with more points (default: env DDVIZ_MAX_POINTS or 2e8)")


def add_pbc_argument(parser, what: str = "a cube file") -> None:
    """Add ``--pbc``: treat ``what`` as periodic (its grid spans exactly its cell).

    Parameters
    ----------
    parser : argparse.ArgumentParser
        The command's parser.
    what : str
        The files it applies to, for the help text.
    """
    parser.add_argument("--pbc", action="store_true",
                        help=f"treat {what} as periodic: its grid spans exactly its cell (as "
                             "CP2K writes cubes); CHGCAR is always periodic, and a cube "
                             "written by ddviz says which axes are (its 'ddviz pbc=' line)")
