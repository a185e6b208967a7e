"""ddviz: learn, evaluate and show neural-network (Deep Density) electron densities.

Internal units: lengths in bohr, densities in e/bohr^3. Angstrom appears only at the ASE
boundary (``ase.Atoms`` positions and cells), converted in :mod:`ddviz.units`.
"""

import os

# OpenMP threads that spin while waiting make torch 30-40x slower on a busy 2-core machine
# (measured: 10 training steps 28 s spinning vs 0.16 s passive). Must be set before torch loads.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"
__all__ = ["DdvizError", "Grid", "ModelConfig", "Sample", "TrainConfig"]


def __getattr__(name):  # lazy, so that `ddviz --help` and `ddviz info` start fast
    if name == "DdvizError":
        from ddviz.errors import DdvizError

        return DdvizError
    if name in ("Grid", "Sample"):
        from ddviz import grid

        return getattr(grid, name)
    if name == "TrainConfig":
        from ddviz.train.config import TrainConfig

        return TrainConfig
    if name == "ModelConfig":
        from ddviz.methods.deep_density.config import ModelConfig

        return ModelConfig
    raise AttributeError(f"module 'ddviz' has no attribute {name!r}")
