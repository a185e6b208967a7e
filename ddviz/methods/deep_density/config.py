"""The one configuration object of a Deep Density model (lengths in bohr).

``ModelConfig`` is serialised to JSON in the model file; the training form and the documented
TOML template are generated from its fields (:func:`ddviz.config.option`). It is validated on
construction and on every assignment (:class:`ddviz.config.Config`).
"""

from __future__ import annotations

import typing
from typing import Literal

from pydantic import field_validator, model_validator

from ddviz.config import Config, FieldError, element_symbols, option

Dtype = Literal["float32", "float64"]
Activation = Literal["tanh", "silu", "softplus"]
DTYPES = typing.get_args(Dtype)
ACTIVATIONS = typing.get_args(Activation)


class ModelConfig(Config):
    """Hyperparameters of :class:`ddviz.methods.deep_density.DeepDensity`; lengths in bohr.

    The descriptor follows deepmd-kit's ``se_a`` (Zhang et al., NeurIPS 2018) and the density
    ansatz Zepeda-Núñez et al., J. Comput. Phys. 443, 110523 (2021). The comments on the fields
    give deepmd-kit's name (``DescrptSeA`` and its fitting net's input keys) where ours differs.

    Raises
    ------
    ddviz.errors.ConfigError
        On construction or assignment of an invalid value (the field is named).
    """

    # deepmd-kit: ``type_map`` (element symbols, in the order of the per-type nets)
    species: list[str] = option([], "Element symbols the model knows, e.g. ['H', 'O']; their "
                                "order fixes the per-species nets. Empty: taken from the "
                                "training data.")
    # deepmd-kit: ``rcut`` (same meaning)
    rcut: float = option(6.0, "Cutoff radius: neighbours and contributing atoms lie within it.",
                         unit="bohr", gt=0.0)
    # deepmd-kit: ``rcut_smth`` (same switch)
    rcut_smooth: float = option(3.0, "Start of the switching: s(r) = 1/r below it, smoothly (C2) "
                                "to zero at rcut; the per-atom density taper uses the same "
                                "switch (0 <= rcut_smooth < rcut).", unit="bohr", ge=0.0)
    # no deepmd-kit counterpart (the electron neighbour is Deep Density's)
    softening: float = option(0.5, "Electron-nucleus softening length: the electron's distance "
                              "enters as sqrt(d^2 + softening^2), so the field is smooth at "
                              "nuclei.", unit="bohr", gt=0.0)
    # no deepmd-kit counterpart: a pseudopotential valence density dips at the nucleus
    core_dip: bool = option(False, "Multiply each atom's density by a learned per-species core "
                            "factor 1 - a exp(-(d/w)^2) (a in [0, 1], starts at 0; w starts at "
                            "core_width), so it can dip or vanish at a pseudopotential core. "
                            "False: the plain ansatz (model files without it predict as before).")
    core_width: float = option(0.25, "Initial width w of the core factor (core_dip).",
                               unit="bohr", gt=0.0)
    # deepmd-kit's ``sel`` differs: there a list of maximum neighbour counts per type, and the sums
    # are divided by ``nnei = sum(sel)``; here ``sel`` is that divisor alone (no cap on neighbours)
    sel: float = option(16.0, "Normalisation constant, a typical neighbour count: environment "
                        "sums G^T R are divided by sel.", gt=0.0)
    # deepmd-kit: ``neuron[-1]`` (``ng``), the last width of the embedding net
    m1: int = option(32, "Embedding features per neighbour (M1): columns of G.", ge=1)
    # deepmd-kit: ``axis_neuron``
    m2: int = option(8, "Leading embedding columns G_< used in the descriptor (M2 <= M1); the "
                     "descriptor has M1*M2 entries.", ge=1)
    # deepmd-kit: ``neuron[:-1]`` (their ``neuron`` is [*embedding_widths, m1])
    embedding_widths: list[int] = option([16, 32], "Hidden widths of each embedding net "
                                         "(1 -> ... -> M1).")
    # deepmd-kit: ``fitting_net.neuron``
    fitting_widths: list[int] = option([64, 64, 64], "Hidden widths of each fitting net "
                                       "(M1*M2 -> ... -> 4).")
    # deepmd-kit: ``resnet_dt`` of the descriptor; their embedding net always has the skips and
    # resnet_dt only adds the trainable step, here the flag switches skip and step together
    embedding_resnet: bool = option(True, "Skip connections with trainable step in embedding "
                                    "nets (where a layer keeps or doubles its width).")
    # deepmd-kit: ``fitting_net.resnet_dt`` (same caveat as embedding_resnet)
    fitting_resnet: bool = option(True, "Skip connections with trainable step in fitting nets "
                                  "(where a layer keeps its width).")
    # deepmd-kit: ``activation_function`` (one for both nets here)
    activation: Activation = option("tanh", "Smooth activation.")
    # deepmd-kit: ``precision``
    dtype: Dtype = option("float32", "Parameter dtype.")

    @field_validator("species")
    @classmethod
    def _known_elements(cls, species: list[str]) -> list[str]:
        return element_symbols(species)

    @field_validator("embedding_widths", "fitting_widths")
    @classmethod
    def _positive_widths(cls, widths: list[int]) -> list[int]:
        if any(w < 1 for w in widths):
            raise ValueError(f"expected positive widths, got {widths}")
        return widths

    @model_validator(mode="after")
    def _consistent(self) -> ModelConfig:
        if not self.rcut_smooth < self.rcut:
            raise FieldError("rcut_smooth", f"expected 0 <= rcut_smooth < rcut={self.rcut}, "
                             f"got {self.rcut_smooth}")
        if self.m2 > self.m1:
            raise FieldError("m2", f"expected m2 <= m1={self.m1}, got {self.m2}")
        return self
