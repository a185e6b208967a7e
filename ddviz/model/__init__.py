"""Deep Density in PyTorch: config, neighbour search, se_a descriptor, nets, model files.

The names below load lazily, so that :mod:`ddviz.model.config` (plain dataclasses) imports
without torch (the app's training form needs only the configs).
"""

import importlib

__all__ = ["DeepDensity", "Environment", "ModelConfig", "load_model", "save_model"]
_WHERE = {"DeepDensity": "deep_density", "Environment": "deep_density", "ModelConfig": "config",
          "load_model": "files", "save_model": "files"}


def __getattr__(name):
    if name in _WHERE:
        return getattr(importlib.import_module(f"ddviz.model.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'ddviz.model' has no attribute {name!r}")
