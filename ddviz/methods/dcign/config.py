"""The configuration of a DCIGN model (:class:`ModelConfig`).

An encoder of ``len(channels)`` levels (two 3 x 3 convolutions each, then 2 x 2 average pooling
between levels), a decoder mirroring it (bilinear upsampling, the encoder's features of the same
level concatenated: the skip connections of a U-Net), a 1 x 1 output layer and a softplus; the
density is then scaled to hold exactly N electrons. Images need sides divisible by
2^(len(channels) - 1) (48 and 64 with three levels).
"""

from __future__ import annotations

from typing import Literal

from pydantic import field_validator

from ddviz.config import Config, option
from ddviz.methods.ednn.config import Activation, Functional


class ModelConfig(Config):
    """Hyperparameters of :class:`ddviz.methods.dcign.DCIGN`.

    Raises
    ------
    ddviz.errors.ConfigError
        On construction or assignment of an invalid value (the field is named).
    """

    functional: Functional = option("lda", "The functional whose densities the model learns.")
    channels: list[int] = option([16, 32, 64], "Feature channels per encoder level (the "
                                 "decoder mirrors them).")
    activation: Activation = option("silu", "Activation function.")
    pixel: float = option(16.0 / 48, "Grid spacing of the images.", unit="bohr", gt=0.0)
    dtype: Literal["float32", "float64"] = option("float32", "Parameter dtype.")

    @field_validator("channels")
    @classmethod
    def _levels(cls, values: list[int]) -> list[int]:
        if not values or any(v < 1 for v in values):
            raise ValueError(f"expected one or more positive channel counts, got {values}")
        return values
