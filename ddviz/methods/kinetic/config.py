"""The configuration of a KineticNet model (:class:`ModelConfig`).

The network's sizes, its radial basis (log-spaced Gaussians in ln d, resolving the nuclear cusp
region from ``radial_min`` bohr) and the two loss weights of its training (T_s and the projected
functional derivative, see :mod:`ddviz.methods.kinetic.training`).
"""

from __future__ import annotations

from typing import Literal

from ase.data import atomic_numbers, chemical_symbols
from pydantic import field_validator

from ddviz.config import Config, element_symbols, option


class ModelConfig(Config):
    """Hyperparameters of :class:`ddviz.methods.kinetic.KineticNet`.

    Raises
    ------
    ddviz.errors.ConfigError
        On construction or assignment of an invalid value (the field is named).
    """

    scalars: int = option(8, "Scalar (l=0) channels of the hidden features.", ge=1)
    vectors: int = option(4, "Vector (l=1) channels of the hidden features.", ge=1)
    lmax: int = option(1, "Highest degree of the spherical harmonics of displacements.", ge=1,
                       le=3)
    radial_basis: int = option(12, "Gaussians in ln(distance) of the radial filters.", ge=2)
    radial_min: float = option(0.02, "Smallest distance the radial basis resolves.",
                               unit="bohr", gt=0.0)
    radial_max: float = option(8.0, "Largest distance the radial basis resolves.", unit="bohr",
                               gt=0.0)
    radial_hidden: int = option(16, "Hidden width of the radial filter networks.", ge=1)
    head_hidden: int = option(16, "Hidden width of the per-point output network.", ge=1)
    species: list[str] = option(["H", "He"], "Element symbols the model knows, e.g. ['H', "
                                "'He'] (one-hot embedded in this order). Atomic numbers, as "
                                "older configs and model files give them, are read as their "
                                "symbols.")
    min_density: float = option(1e-6, "Grid points of lower density are left out of T_s "
                                "(about 2e-4 Ha of it at 1e-6, learned from the data).",
                                unit="e/bohr^3", ge=0.0)
    energy_scale: float = option(0.01, "Loss: the T_s error is divided by this.", unit="Ha",
                                 gt=0.0)
    derivative_weight: float = option(1.0, "Loss weight of the squared relative L2 error of the "
                                      "projected functional derivative.", ge=0.0)
    dtype: Literal["float32", "float64"] = option("float32", "Parameter dtype (OF-DFT and "
                                                  "the tests convert to float64).")

    @field_validator("species", mode="before")
    @classmethod
    def _numbers_as_symbols(cls, values):
        if not isinstance(values, (list, tuple)):
            return values  # pydantic reports the type
        symbols = []
        for value in values:
            if isinstance(value, int) and not isinstance(value, bool):
                if not 1 <= value < len(chemical_symbols):
                    raise ValueError(f"no element has atomic number {value}")
                value = chemical_symbols[value]
            symbols.append(value)
        return symbols

    @field_validator("species")
    @classmethod
    def _known_elements(cls, species: list[str]) -> list[str]:
        return element_symbols(species, allow_empty=False)

    def charges(self) -> list[int]:
        """The atomic numbers of :attr:`species`, in its order (the one-hot embedding's).

        Returns
        -------
        list of int
        """
        return [atomic_numbers[s] for s in self.species]
