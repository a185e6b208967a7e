"""DeepH-E3: the Kohn–Sham Hamiltonian in an atomic-orbital basis from an equivariant network.

Gong, Li, Zou, Xu, Duan, Xu, Nat. Commun. 14, 2848 (2023), arXiv 2210.13955. Modules: ``basis``
(AO layout, Wigner-D in PySCF's order), ``data`` (PySCF references, samples, datasets),
``config``, ``model``, ``files``, ``training``, ``predict`` (eigenvalues and the implied
density). The names load lazily: the package imports without torch.
"""

from ddviz.lazy import lazy_names
from ddviz.methods import MethodInfo

METHOD = MethodInfo("hamiltonian", "DeepH-E3: Kohn–Sham Hamiltonians block by atom pair from an "
                    "E(3)-equivariant network (Gong et al., Nat. Commun. 14, 2848 (2023))",
                    ("ddviz-hamiltonian",))

__all__ = ["METHOD", "HamiltonianModel", "ModelConfig", "load_model", "save_model"]
__getattr__ = lazy_names(__name__, {"HamiltonianModel": "model", "ModelConfig": "config",
                                    "load_model": "files", "save_model": "files"})
