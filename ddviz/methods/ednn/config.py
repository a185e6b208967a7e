"""The configuration of an EDNN model (:class:`ModelConfig`; pixels of h = 1/3 bohr).

Tile geometry from the physics of the 48 x 48 (16 x 16 bohr) systems, h = 1/3 bohr:

* ``focus`` 8 px = 2.67 bohr: the region a tile accounts for; 6 x 6 tiles cover the box.
* ``context`` (the margin around the focus the tile also sees): from a density, the energy
  densities of T_s, E_x and E_c are (semi-)local, and the density matrix that makes T_s
  non-local decays as exp(-sqrt(2 I) r) with an ionisation energy I of ~1 Ha, a length of
  ~0.7 bohr: 8 px = 2.67 bohr covers ~4 of them (E_H, non-local as 1/r, is only seen within the
  context). From a potential the map is less local: an orbital spreads over its well, the
  oscillator length k^(-1/4) up to 1.8 bohr for the softest wells (k = 0.1 Ha/bohr^2), so
  ``ednn-v`` uses 12 px = 4 bohr.

The tile network is ``len(dilations)`` 3 x 3 convolutions without padding (dilations d_i, so the
context is sum(d_i) pixels) and ``head`` 1 x 1 layers; it maps a (focus + 2 context)^2 tile to an
energy per electron for every focus pixel and term.
"""

from __future__ import annotations

import typing
from typing import Literal

from pydantic import field_validator, model_validator

from ddviz.config import Config, FieldError, option

Input = Literal["rho", "v_ext"]
Functional = Literal["lda", "gga"]
Activation = Literal["silu", "tanh", "softplus"]
ACTIVATIONS = typing.get_args(Activation)


class ModelConfig(Config):
    """Hyperparameters of :class:`ddviz.methods.ednn.EDNN` (lengths in pixels of ``pixel`` bohr).

    Raises
    ------
    ddviz.errors.ConfigError
        On construction or assignment of an invalid value (the field is named).
    """

    input: Input = option("rho", "What the model reads: the self-consistent density 'rho' or "
                          "the external potential 'v_ext' (with the electron count).")
    functional: Functional = option("lda", "The functional whose energies the model learns.")
    density_functional: Literal["", "lda", "gga"] = option(
        "", "For input 'rho': the functional whose densities the model reads ('' = the same as "
        "functional; 'lda' with functional 'gga' learns GGA energies from LDA densities).")
    transform: Literal["linear", "sqrt_log"] = option(
        "linear", "What the tile network sees of the scaled input channels x: 'linear' x; "
        "'sqrt_log' x, sqrt(|x|) and log(|x| + 1e-3) (a density's tails, where the "
        "Kohn–Sham potential shows as log rho, and the von Weizsäcker sqrt(rho)).")
    focus: int = option(8, "Focus region of a tile (pixels per side).", ge=1)
    context: int = option(8, "Context margin around the focus (pixels); must equal "
                          "sum(dilations).", ge=0)
    dilations: list[int] = option([1, 2, 4, 1], "Dilations of the 3 x 3 convolutions of the "
                                  "tile network (their sum is the context).")
    channels: int = option(24, "Feature channels of the convolutions.", ge=1)
    head: list[int] = option([32], "Widths of the 1 x 1 layers after the convolutions.")
    activation: Activation = option("silu", "Activation function.")
    pixel: float = option(16.0 / 48, "Grid spacing of the images.", unit="bohr", gt=0.0)
    dtype: Literal["float32", "float64"] = option("float32", "Parameter dtype.")

    @field_validator("dilations", "head")
    @classmethod
    def _positive(cls, values: list[int]) -> list[int]:
        if any(v < 1 for v in values):
            raise ValueError(f"expected positive integers, got {values}")
        return values

    @model_validator(mode="after")
    def _consistent(self) -> ModelConfig:
        if sum(self.dilations) != self.context:
            raise FieldError("context", f"the context ({self.context} px) must equal the sum of "
                             f"the dilations {self.dilations} ({sum(self.dilations)} px)")
        if self.density_functional and self.input != "rho":
            raise FieldError("density_functional", "only a density input has a density "
                             "functional; leave it empty for input 'v_ext'")
        return self

    @property
    def rho_functional(self) -> str:
        """The functional whose densities the model reads."""
        return self.density_functional or self.functional
