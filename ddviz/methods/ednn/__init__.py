"""EDNN: energies of 2D Kohn–Sham systems from the density or the potential, summed over tiles.

The extensive deep neural network of Ryczko, Strubbe, Tamblyn, Phys. Rev. A 100, 022512 (2019).

Modules: ``data`` (plane2d samples as images, shared with DCIGN), ``config``, ``model``,
``files`` (model files, shared with DCIGN), ``training``, ``evaluate``. The names load lazily:
the package imports without torch.
"""

from ddviz.lazy import lazy_names
from ddviz.methods import MethodInfo

METHOD = MethodInfo("ednn", "EDNN: energies of 2D Kohn–Sham systems from the density or the "
                    "potential, summed over tiles (Ryczko, Strubbe, Tamblyn, Phys. Rev. A 100, "
                    "022512 (2019))", ("ddviz-ednn",))

__all__ = ["EDNN", "METHOD", "ModelConfig", "load_model", "save_model"]
__getattr__ = lazy_names(__name__, {"EDNN": "model", "ModelConfig": "config",
                                    "load_model": "files", "save_model": "files"})
