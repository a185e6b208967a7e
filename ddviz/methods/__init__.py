"""The learned maps ddviz trains and evaluates, one package each, found by name.

Every subpackage ``ddviz.methods.<name>`` is a method. Its ``__init__`` (light: no torch) defines
``METHOD``, a :class:`MethodInfo`; its modules give the rest of the method's interface (see
:mod:`ddviz.methods.deep_density`). The name is recorded in every model file and training config,
so ``ddviz train``, ``ddviz evaluate`` and the app dispatch on it. A new method is a new
subpackage: nothing here changes.

A method package holds (``<name>`` its package name)::

    __init__.py   METHOD = MethodInfo(name, title, model_formats, train_options); no torch import
    config.py     its model configuration (the ``model`` table of a training config)
    model.py      the torch module
    files.py      save_model(model, path, metadata) / load_model(path, device) -> (model, meta),
                  versioned; older versions converted on load
    training.py   TRAINING: a ddviz.train.method.TrainingMethod subclass (data -> batches,
                  loss, validation metrics, model building)

:func:`load_model` reads any method's model file: the file's ``format`` picks the method.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import struct
from dataclasses import dataclass
from functools import cache

from ddviz.errors import ConfigError, ModelFileError
from ddviz.shipped import missing_model_hint

MAX_HEADER_BYTES = 100 * 2**20  # safetensors' own limit on the JSON header


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
    train_options : tuple of str
        The training options its training reads among those only some methods do
        (:data:`ddviz.train.config.METHOD_OPTIONS`: probe points, loss, L-BFGS); ``ddviz train
        --template`` shows only these besides the loop's own. Default: none.
    """

    name: str
    title: str
    model_formats: tuple[str, ...] = ()
    train_options: tuple[str, ...] = ()


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
    """Module ``part`` of method ``name``'s package, imported on first use.

    Parameters
    ----------
    name : str
        A registered method, e.g. ``"deep_density"``.
    part : str
        A module of its package, e.g. ``"config"``.

    Returns
    -------
    module
        ``ddviz.methods.<name>.<part>``.

    Raises
    ------
    ddviz.errors.ConfigError
        If no method has that name.
    """
    method_info(name)
    return importlib.import_module(f"{__name__}.{name}.{part}")


def method_for_format(model_format: str) -> MethodInfo:
    """The method whose model files carry ``model_format`` (ConfigError if none does)."""
    for info in methods().values():
        if model_format in info.model_formats:
            return info
    raise ConfigError(f"no method reads model files of format {model_format!r}", field="format")


def header_metadata(path: str | os.PathLike) -> dict:
    """The ``__metadata__`` map of a model file's safetensors header, read without torch.

    Parameters
    ----------
    path : str or os.PathLike
        A model file (``.safetensors``).

    Returns
    -------
    dict
        Metadata key -> string (ddviz stores JSON documents in most values); the JSON of the
        header is parsed with a nesting-depth and size limit (:mod:`ddviz.io.safe_json`).

    Raises
    ------
    ModelFileError
        The file is missing, is not a safetensors file, or its header is unreadable.
    """
    from ddviz.io import safe_json

    try:
        with open(path, "rb") as f:
            head = f.read(8)
            size = struct.unpack("<Q", head)[0] if len(head) == 8 else -1
            if not 2 <= size <= MAX_HEADER_BYTES:
                raise ModelFileError("not a readable safetensors file (bad header length)",
                                     path=path)
            header = safe_json.loads(f.read(size), max_bytes=MAX_HEADER_BYTES)
    except FileNotFoundError:
        raise ModelFileError("no such model file" + missing_model_hint(path), path=path) from None
    except IsADirectoryError:
        raise ModelFileError("not a file", path=path) from None
    except OSError as exc:
        raise ModelFileError(f"cannot read: {exc.strerror or exc}", path=path) from None
    except safe_json.JSONError as exc:
        raise ModelFileError(f"not a readable safetensors file ({exc})", path=path) from None
    ends = [entry.get("data_offsets", [0, 0])[-1] for name, entry in header.items()
            if name != "__metadata__" and isinstance(entry, dict)] if isinstance(header, dict) else []
    if not all(isinstance(e, int) for e in ends) or os.path.getsize(path) != 8 + size + max(
            ends, default=0):
        raise ModelFileError("not a readable safetensors file (truncated, or its size does not "
                             "match its header)", path=path)
    meta = header.get("__metadata__") if isinstance(header, dict) else None
    return meta if isinstance(meta, dict) else {}


def model_format(path: str | os.PathLike) -> str:
    """The ``format`` entry of a model file's safetensors header metadata (read without torch).

    Raises
    ------
    ModelFileError
        The file is missing, is not a safetensors file, or its header has no ``format``.
    """
    fmt = header_metadata(path).get("format")
    if not isinstance(fmt, str):
        raise ModelFileError("not a ddviz model file: its header has no format", path=path,
                             field="format")
    return fmt


def load_model(path: str | os.PathLike, device=None):
    """Read any method's model file: ``(model, metadata)``, the model in eval mode on ``device``.

    The file's ``format`` picks the method (:func:`method_for_format`); its ``files.load_model``
    does the rest (and converts older versions).

    Raises
    ------
    ModelFileError
        Missing or unreadable file, a format no method reads, or whatever the method's loader
        finds wrong.
    """
    fmt = model_format(path)
    try:
        info = method_for_format(fmt)
    except ConfigError as exc:
        raise ModelFileError(exc.detail, path=path, field="format") from None
    return method_module(info.name, "files").load_model(path, device=device)
