"""Deep Density (Zepeda-Núñez et al., J. Comput. Phys. 443, 110523, 2021).

Config, se_a descriptor, nets, model, model files (files.py), probe-point batches (batches.py)
and its training half (training.py).

The names load lazily, so that :mod:`ddviz.methods.deep_density.config` imports without torch
(the app's training form needs only the configs).
"""

from ddviz.lazy import lazy_names
from ddviz.methods import MethodInfo

METHOD = MethodInfo("deep_density", "Deep Density: the self-consistent density from atomic "
                    "positions (Zepeda-Núñez et al., J. Comput. Phys. 2021)",
                    ("ddviz-deep-density",),
                    train_options=("validation_stride", "points_per_snapshot", "sampling",
                                   "focus", "nuclear", "nuclear_sigma", "loss", "optimizer",
                                   "lbfgs_history"))

__all__ = ["METHOD", "DeepDensity", "Environment", "ModelConfig", "load_model", "save_model"]
__getattr__ = lazy_names(__name__, {"DeepDensity": "model", "Environment": "model",
                                    "ModelConfig": "config", "load_model": "files",
                                    "save_model": "files"})
