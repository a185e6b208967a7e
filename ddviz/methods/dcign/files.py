"""DCIGN model files.

The format of :mod:`ddviz.methods.ednn.files` with ``format`` "ddviz-dcign" (version 1).
"""

from __future__ import annotations

import os

from ddviz.methods.dcign.config import ModelConfig
from ddviz.methods.dcign.model import DCIGN
from ddviz.methods.ednn.files import read, write

FORMAT = "ddviz-dcign"
FORMAT_VERSION = 1
READ_VERSIONS = (1,)


def save_model(model: DCIGN, path: str | os.PathLike, metadata: dict | None = None) -> None:
    """Write a DCIGN and the caller's JSON-serialisable ``metadata`` to ``path`` atomically.

    Raises
    ------
    ModelFileError
        ``metadata`` is not JSON-serialisable.
    """
    write(model, path, metadata, FORMAT, FORMAT_VERSION, {
        "model": "DCIGN", "levels": len(model.config.channels),
        "output": "softplus, scaled to N electrons"})


def load_model(path: str | os.PathLike, device=None) -> tuple[DCIGN, dict]:
    """Read a DCIGN file: ``(model, metadata)``, the model in eval mode on ``device``.

    Raises
    ------
    ModelFileError
        See :func:`ddviz.methods.ednn.files.read`.
    """
    return read(path, FORMAT, READ_VERSIONS, lambda c: DCIGN(ModelConfig.from_dict(c)), device)
