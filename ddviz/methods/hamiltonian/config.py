"""The configuration of a DeepH-E3 Hamiltonian model (:class:`ModelConfig`; lengths in bohr).

Edges join atoms closer than ``cutoff``; the model predicts the on-site block of every atom and
the off-site block of every edge, and the blocks of atom pairs beyond the cutoff are zero. For
def2-SVP water, Kohn–Sham matrix elements between atoms 10 bohr apart are still ~10 meV, so the
cutoff trades the cost against the error of the far blocks (see the model card).
"""

from __future__ import annotations

from typing import Literal

from pydantic import field_validator

from ddviz.config import Config, option


class ModelConfig(Config):
    """Hyperparameters of :class:`ddviz.methods.hamiltonian.HamiltonianModel`.

    Raises
    ------
    ddviz.errors.ConfigError
        On construction or assignment of an invalid value (the field is named).
    """

    species: list[int] = option([1, 8], "Atomic numbers the model knows (sorted).")
    basis: str = option("def2-svp", "PySCF basis of the Hamiltonian (spherical functions).")
    cutoff: float = option(10.0, "Edges (and predicted off-site blocks) between atoms closer "
                           "than this.", unit="bohr", gt=0.0)
    radial_basis: int = option(12, "Bessel radial basis functions.", ge=1)
    radial_hidden: int = option(32, "Width of the radial network.", ge=1)
    lmax: int = option(4, "Highest l of the spherical harmonics and features.", ge=1, le=6)
    channels: int = option(16, "Feature channels: this many scalars (l = 0, both parities), "
                           "half as many of each l > 0.", ge=2)
    layers: int = option(3, "Equivariant interaction blocks.", ge=1)
    dtype: Literal["float32", "float64"] = option("float32", "Parameter dtype.")

    @field_validator("species")
    @classmethod
    def _species(cls, values: list[int]) -> list[int]:
        if not values or any(not 1 <= z <= 118 for z in values) or len(set(values)) != len(values):
            raise ValueError(f"expected distinct atomic numbers 1..118, got {values}")
        return sorted(values)
