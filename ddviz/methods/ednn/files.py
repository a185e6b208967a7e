"""EDNN model files, and the one reader and writer EDNN and DCIGN share (never pickle).

A ``.safetensors`` file with the weights and buffers; its header metadata (string -> string)
holds ``format`` (plain string), ``format_version`` (integer), ``config`` (the model
configuration), ``architecture``, ``units`` and ``user`` (the caller's dict: training provenance,
validation metrics), each a JSON document. Version 1 is the only one so far.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from ddviz.errors import DdvizError, ModelFileError
from ddviz.io.atomic import atomic_path
from ddviz.methods.ednn.config import ModelConfig
from ddviz.methods.ednn.model import EDNN

FORMAT = "ddviz-ednn"
FORMAT_VERSION = 1
READ_VERSIONS = (1,)
UNITS = {"length": "bohr", "energy": "Ha", "density": "electrons/bohr^2", "v_ext": "Ha"}
KEYS = ("format_version", "config", "architecture", "units", "user")


def write(model: torch.nn.Module, path, metadata: dict | None, fmt: str, version: int,
          architecture: dict) -> None:
    """Write ``model`` (its ``config`` and state) as a ``fmt`` file, atomically.

    Raises
    ------
    ModelFileError
        ``metadata`` is not JSON-serialisable.
    """
    try:
        user = json.dumps(metadata or {})
    except (TypeError, ValueError) as exc:
        raise ModelFileError(f"metadata is not JSON-serialisable: {exc}", path=path,
                             field="metadata") from None
    header = {"format": fmt, "format_version": str(version),
              "config": json.dumps(model.config.to_dict()),
              "architecture": json.dumps({**architecture, "parameters": sum(
                  p.numel() for p in model.parameters())}),
              "units": json.dumps(UNITS), "user": user}
    tensors = {k: v.detach().to("cpu").contiguous().clone() for k, v in model.state_dict().items()}
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata=header)


def read(path, fmt: str, read_versions: tuple, build, device=None):
    """Read a ``fmt`` file: ``(model, metadata)``.

    The model is built by ``build(config_dict)`` and returned in eval mode on ``device``.

    Raises
    ------
    ModelFileError
        Not a safetensors file, another format or version, a bad config, missing or unexpected
        weights, wrong shapes, NaN/Inf values.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelFileError("no such model file", path=path)
    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            header = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118  (not a dict)
    except Exception as exc:  # noqa: BLE001  (safetensors raises its own error types)
        raise ModelFileError(f"not a readable safetensors file ({exc})", path=path) from None
    if header.get("format") != fmt:
        raise ModelFileError(f"format is {header.get('format')!r}, expected {fmt!r}", path=path,
                             field="format")
    meta = {"format": fmt}
    for key in KEYS:
        try:
            meta[key] = json.loads(header[key])
        except KeyError:
            raise ModelFileError("missing metadata entry", path=path, field=key) from None
        except json.JSONDecodeError as exc:
            raise ModelFileError(f"invalid JSON ({exc})", path=path, field=key) from None
    version = meta["format_version"]
    if isinstance(version, bool) or version not in read_versions:
        raise ModelFileError(f"unknown format version {version!r}; this ddviz reads versions "
                             f"{', '.join(map(str, read_versions))}", path=path,
                             field="format_version")
    try:
        model = build(meta["config"])
    except (DdvizError, TypeError, AttributeError) as exc:
        raise ModelFileError(f"bad model config: {exc}", path=path, field="config") from None
    expected = model.state_dict()
    if set(expected) != set(tensors):
        diff = sorted(set(expected) ^ set(tensors))
        raise ModelFileError(f"missing or unexpected weights {diff[:5]}", path=path)
    for key, ref in expected.items():
        t = tensors[key]
        if tuple(t.shape) != tuple(ref.shape):
            raise ModelFileError(f"weight {key} has shape {tuple(t.shape)}, expected "
                                 f"{tuple(ref.shape)}", path=path, field=key)
        if not t.is_floating_point() or not torch.isfinite(t).all():
            raise ModelFileError(f"weight {key} has non-finite or non-float values", path=path,
                                 field=key)
    model.load_state_dict(tensors)
    model.eval()
    return model.to(device or "cpu"), meta


def save_model(model: EDNN, path: str | os.PathLike, metadata: dict | None = None) -> None:
    """Write an EDNN and the caller's JSON-serialisable ``metadata`` to ``path`` atomically.

    Raises
    ------
    ModelFileError
        ``metadata`` is not JSON-serialisable.
    """
    cfg = model.config
    write(model, path, metadata, FORMAT, FORMAT_VERSION, {
        "model": "EDNN", "input": cfg.input, "terms": list(model.keys),
        "tile_px": {"focus": cfg.focus, "context": cfg.context},
        "tile_bohr": {"focus": cfg.focus * cfg.pixel, "context": cfg.context * cfg.pixel}})


def load_model(path: str | os.PathLike, device=None) -> tuple[EDNN, dict]:
    """Read an EDNN file: ``(model, metadata)``, the model in eval mode on ``device``.

    Raises
    ------
    ModelFileError
        See :func:`read`.
    """
    return read(path, FORMAT, READ_VERSIONS, lambda c: EDNN(ModelConfig.from_dict(c)), device)
