"""The learned maps ddviz trains and evaluates, one package each, found by name.

Every subpackage ``ddviz.methods.<name>`` is a method. Its ``__init__`` (light: no torch) defines
``METHOD``, a :class:`MethodInfo`; its modules give the rest of the method's interface (see
:mod:`ddviz.methods.deep_density`). The name is recorded in every model file and training config,
so ``ddviz train``, ``ddviz evaluate`` and the app dispatch on it. A new method is a new
subpackage: nothing here changes.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from functools import cache

from ddviz.errors import ConfigError


@dataclass(frozen=True)
class MethodInfo:
    """What the registry knows of a method without importing its model code.

    Attributes
    ----------
    name : str
        The method's name in configs and model files, equal to its package name (e.g.
        ``"deep_density"``).
    title : str
        One line for people, with the paper it implements.
    model_formats : tuple of str
        The ``format`` strings of the model files it reads (e.g. ``"ddviz-deep-density"``).
    """

    name: str
    title: str
    model_formats: tuple[str, ...] = ()


@cache
def methods() -> dict[str, MethodInfo]:
    """Every method package's :class:`MethodInfo`, by name (packages found under this one)."""
    found = {}
    for module in pkgutil.iter_modules(__path__):
        if not module.ispkg:
            continue
        info = getattr(importlib.import_module(f"{__name__}.{module.name}"), "METHOD", None)
        if isinstance(info, MethodInfo):
            if info.name != module.name:
                raise RuntimeError(f"ddviz.methods.{module.name} declares METHOD.name "
                                   f"{info.name!r}; it must equal its package name")
            found[info.name] = info
    return found


def method_info(name: str) -> MethodInfo:
    """The method called ``name``; :class:`~ddviz.errors.ConfigError` naming the known ones."""
    known = methods()
    if name not in known:
        raise ConfigError(f"unknown method {name!r}; known: {', '.join(sorted(known))}",
                          field="method")
    return known[name]


def method_module(name: str, part: str):
    """Module ``part`` of method ``name``'s package (e.g. ``method_module("deep_density",
    "config")``), imported on first use."""
    method_info(name)
    return importlib.import_module(f"{__name__}.{name}.{part}")


def method_for_format(model_format: str) -> MethodInfo:
    """The method whose model files carry ``model_format`` (ConfigError if none does)."""
    for info in methods().values():
        if model_format in info.model_formats:
            return info
    raise ConfigError(f"no method reads model files of format {model_format!r}", field="format")
