"""EDNN model files, and the one reader and writer EDNN and DCIGN share (never pickle).

A ``.safetensors`` file with the weights and buffers; its header metadata (string -> string)
holds ``format`` (plain string), ``format_version`` (integer), ``config`` (the model
configuration), ``architecture``, ``units`` and ``user`` (the caller's dict: training provenance,
validation metrics), each a JSON document. Version 1 is the only one so far.
"""

from __future__ import annotations

import os

import torch

from ddviz.methods import model_file
from ddviz.methods.ednn.config import ModelConfig
from ddviz.methods.ednn.model import EDNN

FORMAT = "ddviz-ednn"
FORMAT_VERSION = 1
READ_VERSIONS = (1,)
UNITS = {"length": "bohr", "energy": "Ha", "density": "electrons/bohr^2", "v_ext": "Ha"}
KEYS = ("format_version", "config", "architecture", "units")


def write(model: torch.nn.Module, path, metadata: dict | None, fmt: str, version: int,
          architecture: dict) -> None:
    """Write ``model`` (its ``config`` and state) as a ``fmt`` file, atomically.

    Raises
    ------
    ModelFileError
        ``metadata`` is not JSON-serialisable.
    """
    model_file.write(path, model.state_dict(), fmt, {
        "format_version": version, "config": model.config.to_dict(),
        "architecture": {**architecture, "parameters": sum(p.numel() for p in model.parameters())},
        "units": UNITS}, metadata)


def read(path, fmt: str, read_versions: tuple, build, device=None):
    """Read a ``fmt`` file: ``(model, metadata)``.

    The model is built by ``build(config_dict)`` and returned in eval mode on ``device``.

    Raises
    ------
    ModelFileError
        Not a safetensors file, another format or version, a bad config, missing or unexpected
        weights, wrong shapes, NaN/Inf values.
    """
    return model_file.load(path, fmt, KEYS, read_versions, build, device)


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
