"""DCIGN: the density of a 2D Kohn–Sham system from its external potential.

The deep convolutional inverse graphics network of Ryczko, Strubbe, Tamblyn, Phys. Rev. A 100,
022512 (2019): an encoder–decoder with skip connections.

Modules: ``config``, ``model``, ``files``, ``training``, ``evaluate``; the data, file and
training plumbing is shared with :mod:`ddviz.methods.ednn`. The names load lazily.
"""

from ddviz.lazy import lazy_names
from ddviz.methods import MethodInfo

METHOD = MethodInfo("dcign", "DCIGN: the density of a 2D Kohn–Sham system from its potential, "
                    "an encoder–decoder (Ryczko, Strubbe, Tamblyn, Phys. Rev. A 100, 022512 "
                    "(2019))", ("ddviz-dcign",))

__all__ = ["DCIGN", "METHOD", "ModelConfig", "load_model", "save_model"]
__getattr__ = lazy_names(__name__, {"DCIGN": "model", "ModelConfig": "config",
                                    "load_model": "files", "save_model": "files"})
