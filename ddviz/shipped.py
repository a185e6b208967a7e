"""Where the shipped example structures and models are, installed or in a checkout.

In a source checkout (and an editable install) they are the repository's ``examples/`` and
``models/`` folders; an installed wheel carries copies in ``ddviz/_shipped/`` (made at build
time by setup.py).
"""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
NAMES = ("examples", "models")


def checkout_root() -> Path | None:
    """The repository root when this package runs from a source checkout, else None."""
    root = PACKAGE.parent
    return root if (root / "pyproject.toml").is_file() and (root / "ddviz").is_dir() else None


def shipped_dir(name: str) -> Path:
    """The folder of the shipped ``examples`` or ``models``.

    Parameters
    ----------
    name : {"examples", "models"}
        Which.

    Returns
    -------
    pathlib.Path
        ``ROOT/name`` in a checkout, else the installed package's ``_shipped/name``.

    Raises
    ------
    ValueError
        An unknown ``name``.
    """
    if name not in NAMES:
        raise ValueError(f"unknown shipped folder {name!r}; known: {', '.join(NAMES)}")
    root = checkout_root()
    if root is not None and (root / name).is_dir():
        return root / name
    return PACKAGE / "_shipped" / name
