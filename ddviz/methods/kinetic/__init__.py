"""KineticNet: a learned kinetic-energy functional T_s[rho] and orbital-free DFT.

After Remme, Kaczun, Scheurer, Dreuw, Hamprecht, J. Chem. Phys. 159, 144113 (2023)
(arXiv 2305.13316): an equivariant point-convolution network on the molecular quadrature grid.

Modules: ``data`` (the ``kinetic-2e`` dataset: PySCF Kohn–Sham samples of two-electron
molecules), ``config``, ``model``, ``files``, ``training``, ``ofdft`` (orbital-free density
optimisation). The names load lazily: the package imports without torch.
"""

from ddviz.lazy import lazy_names
from ddviz.methods import MethodInfo

METHOD = MethodInfo("kinetic", "KineticNet: a learned kinetic-energy functional on the "
                    "quadrature grid for orbital-free DFT (Remme et al., J. Chem. Phys. 159, "
                    "144113 (2023))", ("ddviz-kinetic",))

__all__ = ["METHOD", "KineticNet", "ModelConfig", "load_model", "save_model"]
__getattr__ = lazy_names(__name__, {"KineticNet": "model", "ModelConfig": "config",
                                    "load_model": "files", "save_model": "files"})
