"""The one configuration object of a Deep Density model (lengths in bohr).

``ModelConfig`` is serialised to JSON in the model file; forms and CLIs are generated from its
fields and their ``metadata["doc"]`` strings, so every field documents itself here.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from ase.data import chemical_symbols

from ddviz.errors import ConfigError

DTYPES = ("float32", "float64")
ACTIVATIONS = ("tanh", "silu", "softplus")


def _doc(text: str, default=dataclasses.MISSING, factory=dataclasses.MISSING):
    if factory is not dataclasses.MISSING:
        return field(default_factory=factory, metadata={"doc": text})
    return field(default=default, metadata={"doc": text})


@dataclass
class ModelConfig:
    """Hyperparameters of :class:`ddviz.model.DeepDensity`. All lengths in bohr."""

    species: list[str] = _doc("Element symbols the model knows, e.g. ['H', 'O']; their order "
                              "fixes the per-species network and parameter indices.",
                              factory=list)
    rcut: float = _doc("Cutoff radius (bohr): neighbours and contributing atoms lie within it.",
                       6.0)
    rcut_smooth: float = _doc("Start of the switching (bohr): s(r) = 1/r below it, smoothly "
                              "(C2) to zero at rcut; the per-atom density taper uses the same "
                              "switch.", 3.0)
    softening: float = _doc("Electron-nucleus softening length (bohr): the electron's distance "
                            "enters as sqrt(d^2 + softening^2), so the field is smooth at nuclei.",
                            0.5)
    sel: float = _doc("Normalisation constant, a typical neighbour count: environment sums "
                      "G^T R are divided by sel.", 16.0)
    m1: int = _doc("Embedding features per neighbour (M1): columns of G.", 32)
    m2: int = _doc("Leading embedding columns G_< used in the descriptor (M2 <= M1); the "
                   "descriptor has M1*M2 entries.", 8)
    embedding_widths: list[int] = _doc("Hidden widths of each embedding net (1 -> ... -> M1).",
                                       factory=lambda: [16, 32])
    fitting_widths: list[int] = _doc("Hidden widths of each fitting net (M1*M2 -> ... -> 4).",
                                     factory=lambda: [64, 64, 64])
    embedding_resnet: bool = _doc("Skip connections with trainable step in embedding nets "
                                  "(where a layer keeps or doubles its width).", True)
    fitting_resnet: bool = _doc("Skip connections with trainable step in fitting nets "
                                "(where a layer keeps its width).", True)
    activation: str = _doc(f"Smooth activation, one of {ACTIVATIONS}.", "tanh")
    dtype: str = _doc(f"Parameter dtype, one of {DTYPES}.", "float32")

    def __post_init__(self):
        self.validate()

    # --- validation ---------------------------------------------------------------------------
    def validate(self) -> None:
        """Raise :class:`ConfigError` naming the first bad field and what it should be."""
        if not isinstance(self.species, (list, tuple)) or not self.species:
            raise ConfigError("expected a non-empty list of element symbols", field="species")
        bad = [s for s in self.species if not isinstance(s, str) or s not in chemical_symbols[1:]]
        if bad:
            raise ConfigError(f"unknown element symbols {bad}", field="species")
        if len(set(self.species)) != len(self.species):
            raise ConfigError(f"duplicate element symbols in {list(self.species)}",
                              field="species")
        self.species = list(self.species)
        for name in ("rcut", "softening", "sel"):
            _positive_number(self, name)
        _number(self, "rcut_smooth")
        if not 0 <= self.rcut_smooth < self.rcut:
            raise ConfigError(f"expected 0 <= rcut_smooth < rcut={self.rcut}, got "
                              f"{self.rcut_smooth}", field="rcut_smooth")
        for name in ("m1", "m2"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"expected a positive integer, got {value!r}", field=name)
        if self.m2 > self.m1:
            raise ConfigError(f"expected m2 <= m1={self.m1}, got {self.m2}", field="m2")
        for name in ("embedding_widths", "fitting_widths"):
            value = getattr(self, name)
            if not isinstance(value, (list, tuple)) or any(
                    isinstance(w, bool) or not isinstance(w, int) or w < 1 for w in value):
                raise ConfigError(f"expected a list of positive integers, got {value!r}",
                                  field=name)
            setattr(self, name, list(value))
        for name in ("embedding_resnet", "fitting_resnet"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"expected true or false, got {getattr(self, name)!r}",
                                  field=name)
        if self.activation not in ACTIVATIONS:
            raise ConfigError(f"expected one of {ACTIVATIONS}, got {self.activation!r}",
                              field="activation")
        if self.dtype not in DTYPES:
            raise ConfigError(f"expected one of {DTYPES}, got {self.dtype!r}", field="dtype")

    # --- JSON ---------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        """A JSON-serialisable dict of all fields."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "ModelConfig":
        """Build from :meth:`to_dict` output; unknown keys or bad values raise ConfigError."""
        if not isinstance(data, dict):
            raise ConfigError(f"expected a JSON object for the model config, got "
                              f"{type(data).__name__}")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown model config keys {unknown}; known: {sorted(known)}",
                              field=unknown[0])
        return cls(**data)

    @classmethod
    def field_docs(cls) -> dict[str, str]:
        """Field name -> documentation string (for generated forms and help)."""
        return {f.name: f.metadata.get("doc", "") for f in dataclasses.fields(cls)}


def _number(cfg: ModelConfig, name: str) -> None:
    value = getattr(cfg, name)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        raise ConfigError(f"expected a number, got {value!r}", field=name)
    setattr(cfg, name, float(value))


def _positive_number(cfg: ModelConfig, name: str) -> None:
    _number(cfg, name)
    if not 0 < getattr(cfg, name) < float("inf"):
        raise ConfigError(f"expected a positive finite number, got {getattr(cfg, name)}",
                          field=name)
