"""Hamiltonian (DeepH-E3) model files: safetensors weights and a JSON header (never pickle).

Header entries: ``format`` (``ddviz-hamiltonian``), ``format_version`` (1), ``config`` (the
model configuration), ``architecture``, ``units`` and ``user`` (training provenance, metrics).
"""

from __future__ import annotations

import os

from ddviz.methods import model_file
from ddviz.methods.hamiltonian.config import ModelConfig
from ddviz.methods.hamiltonian.model import HamiltonianModel

FORMAT = "ddviz-hamiltonian"
FORMAT_VERSION = 1
READ_VERSIONS = (1,)
UNITS = {"length": "bohr", "energy": "Ha"}
KEYS = ("format_version", "config", "architecture", "units")


def save_model(model: HamiltonianModel, path: str | os.PathLike,
               metadata: dict | None = None) -> None:
    """Write ``model`` and the caller's JSON-serialisable ``metadata`` to ``path`` atomically.

    Raises
    ------
    ModelFileError
        ``metadata`` is not JSON-serialisable.
    """
    from ase.data import chemical_symbols

    architecture = {"model": "DeepH-E3", "basis": model.config.basis,
                    "shells": {str(z): list(s) for z, s in model.shells.items()},
                    "parameters": sum(p.numel() for p in model.parameters())}
    model_file.write(path, model.state_dict(), FORMAT, {
        "format_version": FORMAT_VERSION, "config": model.config.to_dict(),
        "species": [chemical_symbols[z] for z in model.species], "cutoffs": {"cutoff": model.config.cutoff},
        "architecture": architecture, "units": UNITS}, metadata)


def load_model(path: str | os.PathLike, device=None) -> tuple[HamiltonianModel, dict]:
    """Read a Hamiltonian model file: ``(model, metadata)``, the model in eval mode on ``device``.

    Raises
    ------
    ModelFileError
        Not a safetensors file, another format or version, a bad config, missing or unexpected
        weights, wrong shapes, NaN/Inf values.
    """
    return model_file.load(path, FORMAT, KEYS, READ_VERSIONS,
                           lambda c: HamiltonianModel(ModelConfig.from_dict(c)), device,
                           max_weight=1e4)
