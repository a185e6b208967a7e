"""Lazy names of a package: its modules load on first use, so that importing one light module of
the package does not import the heavy ones (torch, the app's widgets).
"""

from __future__ import annotations

import importlib


def lazy_names(package: str, where: dict[str, str]):
    """A module ``__getattr__`` for ``package`` giving each name of ``where`` (name -> module
    within the package) from its module, imported on first use.
    """

    def __getattr__(name):
        if name in where:
            return getattr(importlib.import_module(f"{package}.{where[name]}"), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
