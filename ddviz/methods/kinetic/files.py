"""KineticNet model files (never pickle).

A ``.safetensors`` file with the weights and buffers; its header metadata holds ``format``
("ddviz-kinetic"), ``format_version`` (1, the only one so far), ``config`` (the model
configuration), ``architecture``, ``units`` and ``user`` (training provenance and validation
metrics), each a JSON document (:mod:`ddviz.methods.model_file`).
"""

from __future__ import annotations

import os

from ddviz.methods import model_file

FORMAT = "ddviz-kinetic"
FORMAT_VERSION = 1
READ_VERSIONS = (1,)
UNITS = {"length": "bohr", "energy": "Ha", "density": "electrons/bohr^3"}
KEYS = ("format_version", "config", "architecture", "units")


def save_model(model, path: str | os.PathLike, metadata: dict | None = None) -> None:
    """Write a KineticNet and the caller's JSON-serialisable ``metadata`` atomically.

    Raises
    ------
    ModelFileError
        ``metadata`` is not JSON-serialisable.
    """
    model_file.write(path, model.state_dict(), FORMAT, {
        "format_version": FORMAT_VERSION, "config": model.config.to_dict(),
        "architecture": {"model": "KineticNet", "messages": "grid -> atom -> atom -> grid",
                         "output": "kinetic-energy density tau = rho f on the grid",
                         "parameters": sum(p.numel() for p in model.parameters())},
        "units": UNITS}, metadata)


def load_model(path: str | os.PathLike, device=None):
    """Read a KineticNet file: ``(model, metadata)``, the model in eval mode on ``device``.

    Raises
    ------
    ModelFileError
        Not a safetensors file, another format or version, a bad config, missing or unexpected
        weights, wrong shapes, NaN/Inf values.
    """
    from ddviz.methods.kinetic.config import ModelConfig
    from ddviz.methods.kinetic.model import KineticNet

    return model_file.load(path, FORMAT, KEYS, READ_VERSIONS,
                           lambda c: KineticNet(ModelConfig.from_dict(c)), device, max_weight=1e6)
