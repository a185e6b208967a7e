"""Deep Density in PyTorch: config, neighbour search, se_a descriptor, nets, model files."""

from ddviz.model.config import ModelConfig
from ddviz.model.deep_density import DeepDensity, Environment
from ddviz.model.files import load_model, save_model

__all__ = ["DeepDensity", "Environment", "ModelConfig", "load_model", "save_model"]
