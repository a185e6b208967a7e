"""Model files: one ``.safetensors`` file with the weights and JSON metadata (never pickle).

The safetensors header metadata (a string -> string map) holds, each value a JSON document:
``format`` ("ddviz-deep-density", plain string), ``format_version`` (integer), ``config``
(:meth:`ModelConfig.to_dict`), ``species``, ``cutoffs`` (bohr), ``architecture``, ``units``
(``{"length": "bohr", "density": "e/bohr^3"}``) and ``user``: the caller's own dict (training
provenance, validation metrics, and ``coverage``, the range of the training atoms' environments:
:mod:`ddviz.methods.deep_density.coverage`). :func:`load_model` returns all of these, parsed, and
sets the model's ``coverage`` attribute (None for a file without the record).

Versions: 3 (written today: the config has ``core_dip`` and ``core_width``, and the weights
``core_depth``, ``core_width`` when ``core_dip``), 2 (read as is: its config lacks the core
options, whose defaults are the plain ansatz it was trained with) and 1 (read and converted on
load: it predates the descriptor normalisation buffers, which a version-1 model is given as the
identity, mean 0 and std 1, so it predicts exactly what it did).
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from ddviz.errors import DdvizError, ModelFileError
from ddviz.methods import model_file
from ddviz.methods.deep_density import coverage
from ddviz.methods.deep_density.config import ModelConfig
from ddviz.methods.deep_density.model import DeepDensity
from ddviz.units import DENSITY_UNIT, LENGTH_UNIT

FORMAT = "ddviz-deep-density"
FORMAT_VERSION = 3  # 3: the core factor option (core_dip); 2: descriptor normalisation buffers
READ_VERSIONS = (1, 2, 3)  # older versions are converted on load (:func:`_convert`)
MAX_WEIGHT = 1e4  # larger weights or statistics: a damaged file (trained ones are below ~10)


def save_model(model: DeepDensity, path: str | os.PathLike,
               metadata: dict | None = None) -> None:
    """Write ``model`` and the caller's JSON-serialisable ``metadata`` to ``path`` atomically."""
    cfg = model.config
    model_file.write(path, model.state_dict(), FORMAT, {
        "format_version": FORMAT_VERSION,
        "config": cfg.to_dict(),
        "species": cfg.species,
        "cutoffs": {"rcut": cfg.rcut, "rcut_smooth": cfg.rcut_smooth, "softening": cfg.softening},
        "architecture": {
            "model": "DeepDensity", "descriptor": "se_a with the electron as a neighbour",
            "ansatz": "u(d) (c0 + c1 d~) exp(-rate (d~ - offset))"
                      + (" (1 - a exp(-(d/w)^2))" if cfg.core_dip else ""),
            "fitting_input": "(D - descriptor_mean) / descriptor_std per species",
            "parameters": sum(p.numel() for p in model.parameters())},
        "units": {"length": LENGTH_UNIT, "density": DENSITY_UNIT}}, metadata)


def load_model(path: str | os.PathLike, device=None) -> tuple[DeepDensity, dict]:
    """Read a model file: ``(model, metadata)`` with the model in eval mode on ``device``.

    Raises :class:`ModelFileError` naming the file and the problem: not a safetensors file, wrong
    format or version, bad config, missing or unexpected weights, wrong shapes, NaN/Inf values.
    """
    path = Path(path)
    meta, tensors = model_file.read(path, FORMAT, ("format_version", "config", "species",
                                                   "cutoffs", "architecture", "units"),
                                    READ_VERSIONS)
    version = meta["format_version"]
    try:
        config = ModelConfig.from_dict(meta["config"])
        _check_size(config, tensors, path)
        model = DeepDensity(config)
    except DdvizError as exc:
        raise ModelFileError(f"bad model config: {exc}", path=path, field="config") from None
    except TypeError as exc:
        raise ModelFileError(f"bad model config: {exc}", path=path, field="config") from None
    tensors = _convert(version, tensors, model)
    model_file.check_weights(model.state_dict(), tensors, path, MAX_WEIGHT)
    model.load_state_dict(tensors)
    model.eval()
    try:
        model.coverage = coverage.from_metadata(meta, model)
    except DdvizError as exc:
        raise ModelFileError(str(exc), path=path, field="user.coverage") from None
    return model.to(device or "cpu"), meta


def _check_size(config: ModelConfig, tensors: dict, path) -> None:
    """Refuse a config that declares far more weights than the file holds, before building it.

    The model is built on torch's ``meta`` device (shapes, no memory), so a config mutated to
    ``m1 = 10**9`` is a ModelFileError instead of an attempt to allocate terabytes.
    """
    with torch.device("meta"):
        needed = sum(t.numel() for t in DeepDensity(config).state_dict().values())
    stored = sum(t.numel() for t in tensors.values())
    if needed > 2 * stored + 2**20:  # slack: buffers a version-1 file lacks (:func:`_convert`)
        raise ModelFileError(f"the config declares {needed:.4g} weights but the file holds "
                             f"{stored:.4g}", path=path, field="config")


def _convert(version: int, tensors: dict, model: DeepDensity) -> dict:
    """The weights of a version-``version`` file in today's layout (version 3)."""
    if version < 2:  # no descriptor normalisation yet: the identity keeps the model's function
        state = model.state_dict()
        tensors = {"descriptor_mean": torch.zeros_like(state["descriptor_mean"]),
                   "descriptor_std": torch.ones_like(state["descriptor_std"]), **tensors}
    return tensors
