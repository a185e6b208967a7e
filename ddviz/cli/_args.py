"""Arguments several commands share."""

from __future__ import annotations


def add_format_argument(parser, flag: str = "--format", what: str = "the input file") -> None:
    """``--format NAME``: the format of ``what`` when its name and content do not tell."""
    from ddviz.io import format_names

    parser.add_argument(flag, default=None, metavar="NAME", choices=format_names(),
                        help=f"format of {what} (default: from the name, else the content): "
                             f"{', '.join(format_names())}")
