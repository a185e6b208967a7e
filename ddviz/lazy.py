"""Lazy names of a package: its modules load on first use.

Importing one light module of the package then does not import the heavy ones (torch, the app's
widgets).
"""

from __future__ import annotations

import importlib


def lazy_names(package: str, where: dict[str, str]):
    """A module ``__getattr__`` for ``package`` that imports each name on first use.

    Parameters
    ----------
    package : str
        The package's dotted name (its ``__name__``).
    where : dict of str to str
        Name -> module within the package that defines it.

    Returns
    -------
    callable
        ``__getattr__(name)``; it raises AttributeError for a name not in ``where``.
    """

    def __getattr__(name):
        if name in where:
            return getattr(importlib.import_module(f"{package}.{where[name]}"), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
