"""The one configuration object of a Deep Density model (lengths in bohr).

``ModelConfig`` is serialised to JSON in the model file; the training form and the documented
TOML template are generated from its fields (:func:`ddviz.config.option`).
"""

from __future__ import annotations

from dataclasses import dataclass

from ase.data import chemical_symbols

from ddviz.config import from_dict, option, to_dict
from ddviz.errors import ConfigError

DTYPES = ("float32", "float64")
ACTIVATIONS = ("tanh", "silu", "softplus")


@dataclass
class ModelConfig:
    """Hyperparameters of :class:`ddviz.methods.deep_density.DeepDensity`. All lengths in bohr."""

    species: list[str] = option([], "Element symbols the model knows, e.g. ['H', 'O']; their "
                                "order fixes the per-species nets. Empty: taken from the "
                                "training data.")
    rcut: float = option(6.0, "Cutoff radius: neighbours and contributing atoms lie within it.",
                         unit="bohr", minimum=1e-6)
    rcut_smooth: float = option(3.0, "Start of the switching: s(r) = 1/r below it, smoothly (C2) "
                                "to zero at rcut; the per-atom density taper uses the same "
                                "switch.", unit="bohr", minimum=0.0)
    softening: float = option(0.5, "Electron-nucleus softening length: the electron's distance "
                              "enters as sqrt(d^2 + softening^2), so the field is smooth at "
                              "nuclei.", unit="bohr", minimum=1e-6)
    sel: float = option(16.0, "Normalisation constant, a typical neighbour count: environment "
                        "sums G^T R are divided by sel.", minimum=1e-6)
    m1: int = option(32, "Embedding features per neighbour (M1): columns of G.", minimum=1)
    m2: int = option(8, "Leading embedding columns G_< used in the descriptor (M2 <= M1); the "
                     "descriptor has M1*M2 entries.", minimum=1)
    embedding_widths: list[int] = option([16, 32], "Hidden widths of each embedding net "
                                         "(1 -> ... -> M1).")
    fitting_widths: list[int] = option([64, 64, 64], "Hidden widths of each fitting net "
                                       "(M1*M2 -> ... -> 4).")
    embedding_resnet: bool = option(True, "Skip connections with trainable step in embedding "
                                    "nets (where a layer keeps or doubles its width).")
    fitting_resnet: bool = option(True, "Skip connections with trainable step in fitting nets "
                                  "(where a layer keeps its width).")
    activation: str = option("tanh", "Smooth activation.", choices=ACTIVATIONS)
    dtype: str = option("float32", "Parameter dtype.", choices=DTYPES)

    def __post_init__(self):
        self.validate()

    def validate(self) -> None:
        """Cross-field rules (per-field types and bounds are checked by :func:`from_dict`)."""
        bad = [s for s in self.species if s not in chemical_symbols[1:]]
        if bad:
            raise ConfigError(f"unknown element symbols {bad}", field="species")
        if len(set(self.species)) != len(self.species):
            raise ConfigError(f"duplicate element symbols in {list(self.species)}",
                              field="species")
        if not 0 <= self.rcut_smooth < self.rcut:
            raise ConfigError(f"expected 0 <= rcut_smooth < rcut={self.rcut}, got "
                              f"{self.rcut_smooth}", field="rcut_smooth")
        if self.m2 > self.m1:
            raise ConfigError(f"expected m2 <= m1={self.m1}, got {self.m2}", field="m2")
        for name in ("embedding_widths", "fitting_widths"):
            if any(w < 1 for w in getattr(self, name)):
                raise ConfigError("expected positive widths", field=name)

    def to_dict(self) -> dict:
        """A JSON-serialisable dict of all fields."""
        return to_dict(self)

    @classmethod
    def from_dict(cls, data: dict, source=None) -> "ModelConfig":
        """Build from :meth:`to_dict` output; unknown keys or bad values raise ConfigError."""
        return from_dict(cls, data, source=source)
