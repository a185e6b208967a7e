"""Deep Density in PyTorch: config, neighbour search, se_a descriptor, nets, model files.

The names load lazily, so that :mod:`ddviz.model.config` (plain dataclasses) imports without
torch (the app's training form needs only the configs).
"""

from ddviz.lazy import lazy_names

__all__ = ["DeepDensity", "Environment", "ModelConfig", "load_model", "save_model"]
__getattr__ = lazy_names(__name__, {"DeepDensity": "deep_density", "Environment": "deep_density",
                                    "ModelConfig": "config", "load_model": "files",
                                    "save_model": "files"})
