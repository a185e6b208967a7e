"""EDNN: an energy as a sum of tile contributions (Ryczko, Strubbe, Tamblyn, PRA 100, 022512 (2019)).

The image (padded with zeros: an isolated system) is cut into tiles: a ``focus x focus`` region
plus a ``context`` margin on every side, the tiles overlapping by their margins. One shared
network maps a tile to the energy per electron ``g_t(x)`` of every focus pixel ``x`` and term
``t`` (E_kin, E_ext, E_H, E_x, E_c, E_tot); the tile's contribution is

    E_t(tile) = sum over focus pixels of n(x) h^2 (mu_t + sigma_t g_t(x))

with ``n`` the density (input "rho") or the box's mean density N/A (input "v_ext") and
``mu_t, sigma_t`` the per-electron mean and spread of the training energies (standardised
targets). The energy is the sum over tiles. Pixels without electrons (the zero padding, empty
space) contribute nothing, so the prediction is extensive and a tile split that changes nothing
(more zero padding, a larger canvas) changes no prediction.

The tile network is a stack of unpadded (valid) 3 x 3 convolutions whose dilations add up to the
context, so a (focus + 2 context)^2 tile gives exactly its focus x focus outputs. Being
convolutional, running it on the whole padded image gives every tile's outputs at once:
:meth:`EDNN.forward` does that; :meth:`EDNN.tile_forward` cuts the tiles literally (the same
numbers; the tests check it).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ddviz.methods.ednn.config import ModelConfig
from ddviz.methods.ednn.data import CHANNELS, ENERGY_KEYS, InputError, input_channels

ACTIVATIONS = {"silu": nn.SiLU, "tanh": nn.Tanh, "softplus": nn.Softplus}


def check_input(model: nn.Module, x) -> torch.Tensor:
    """``x`` as a (B, C, n, m) tensor on the model's device and dtype.

    Raises
    ------
    InputError
        Not 4-dimensional, the wrong channel count, or NaN/Inf values.
    """
    x = torch.as_tensor(x)
    channels = model.in_channels
    if x.ndim != 4 or x.shape[1] != channels:
        raise InputError(f"the model input has shape {tuple(x.shape)}; expected (batch, "
                         f"{channels}, n, m)", field="input")
    if not torch.isfinite(x).all():
        raise InputError("the model input has NaN/Inf values", field="input")
    return x.to(device=model.device, dtype=model.dtype)


class EDNN(nn.Module):
    """Energies (Ha) of 2D systems from images, extensively (see the module docstring).

    Parameters
    ----------
    config : ModelConfig

    Buffers (set from the training data by :meth:`set_statistics`): ``input_scale`` (C,) the
    input channels are divided by; ``energy_mean``, ``energy_std`` (6,) per electron (Ha);
    ``target_std`` (6,) the spread of the energies (Ha) that standardises the loss.
    """

    keys = ENERGY_KEYS

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        self.in_channels = CHANNELS[config.input]
        act = ACTIVATIONS[config.activation]
        layers, width = [], self.in_channels * (3 if config.transform == "sqrt_log" else 1)
        for d in config.dilations:
            layers += [nn.Conv2d(width, config.channels, 3, dilation=d), act()]
            width = config.channels
        for w in config.head:
            layers += [nn.Conv2d(width, w, 1), act()]
            width = w
        layers.append(nn.Conv2d(width, len(ENERGY_KEYS), 1))
        self.net = nn.Sequential(*layers)
        nn.init.zeros_(self.net[-1].weight)
        nn.init.zeros_(self.net[-1].bias)
        dtype = getattr(torch, config.dtype)
        self.register_buffer("input_scale", torch.ones(self.in_channels))
        self.register_buffer("energy_mean", torch.zeros(len(ENERGY_KEYS)))
        self.register_buffer("energy_std", torch.ones(len(ENERGY_KEYS)))
        self.register_buffer("target_std", torch.ones(len(ENERGY_KEYS)))
        self.to(dtype)

    @property
    def dtype(self) -> torch.dtype:
        """The parameters' dtype."""
        return self.input_scale.dtype

    @property
    def device(self) -> torch.device:
        """The parameters' device."""
        return self.input_scale.device

    def set_statistics(self, x: np.ndarray, energies: np.ndarray, electrons: np.ndarray) -> None:
        """Input scales and per-electron energy statistics from training data.

        Parameters
        ----------
        x : ndarray (S, C, n, m)
            Training inputs (raw units).
        energies : ndarray (S, 6)
            Their energies (Ha).
        electrons : ndarray (S,)
        """
        per = energies / electrons[:, None]
        scale = np.sqrt(np.mean(x.astype(np.float64) ** 2, axis=(0, 2, 3)))
        for name, value in (("input_scale", np.where(scale > 0, scale, 1.0)),
                            ("energy_mean", per.mean(0)), ("energy_std", per.std(0) + 1e-6),
                            ("target_std", energies.std(0) + 1e-6)):
            getattr(self, name).copy_(torch.as_tensor(value))

    def _pad(self, x: torch.Tensor) -> torch.Tensor:
        """Zero padding: the context on every side, and up to whole tiles at the far ends."""
        f, c = self.config.focus, self.config.context
        extra = [(-s) % f for s in x.shape[-2:]]
        return F.pad(x, (c, c + extra[1], c, c + extra[0]))

    def _electrons_per_pixel(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 1, n, m) electrons per pixel: the density (input rho) or the mean density."""
        h2 = self.config.pixel**2
        return x[:, -1:] * h2

    def _energy_density(self, padded: torch.Tensor) -> torch.Tensor:
        """Energy of each focus pixel (B, 6, n', m') in Ha of a context-padded input."""
        c = self.config.context
        z = padded / self.input_scale[None, :, None, None]
        if self.config.transform == "sqrt_log":
            z = torch.cat([z, z.abs().sqrt(), torch.log(z.abs() + 1e-3)], dim=1)
        g = self.net(z)
        core = padded[:, :, c:padded.shape[2] - c, c:padded.shape[3] - c]
        return self._electrons_per_pixel(core) * (self.energy_mean[None, :, None, None]
                                                  + self.energy_std[None, :, None, None] * g)

    def pixel_energies(self, x) -> torch.Tensor:
        """(B, 6, n, m) each pixel's energy per term (Ha) of input ``x`` (B, C, n, m)."""
        x = check_input(self, x)
        n, m = x.shape[-2:]
        return self._energy_density(self._pad(x))[..., :n, :m]

    def tile_contributions(self, x) -> torch.Tensor:
        """(B, 6, ty, tx) each tile's contribution per term (Ha); they sum to :meth:`forward`."""
        x = check_input(self, x)
        f = self.config.focus
        return F.avg_pool2d(self._energy_density(self._pad(x)), f, f) * f * f

    def forward(self, x) -> torch.Tensor:
        """(B, 6) E_kin, E_ext, E_H, E_x, E_c, E_tot (Ha) of input ``x`` (B, C, n, m).

        Raises
        ------
        InputError
            A malformed input (:func:`check_input`).
        """
        return self.tile_contributions(x).sum(dim=(2, 3))

    def tile_forward(self, x) -> torch.Tensor:
        """(B, 6, ty, tx) tile contributions computed tile by tile.

        Each (focus + 2 context)^2 tile is cut out of the padded image and passed through the
        network on its own (the same numbers as :meth:`tile_contributions`).
        """
        x = check_input(self, x)
        f, c = self.config.focus, self.config.context
        padded = self._pad(x)
        size = f + 2 * c
        tiles = padded.unfold(2, size, f).unfold(3, size, f)  # (B, C, ty, tx, size, size)
        b, ch, ty, tx = tiles.shape[:4]
        flat = tiles.permute(0, 2, 3, 1, 4, 5).reshape(b * ty * tx, ch, size, size)
        out = self._energy_density(flat).sum(dim=(2, 3))  # (B ty tx, 6)
        return out.reshape(b, ty, tx, -1).permute(0, 3, 1, 2)

    def predict(self, image, electrons=None, mean_density=None) -> dict:
        """Energies (Ha) of images given as arrays, without gradients.

        Parameters
        ----------
        image : array (n, m) or (S, n, m)
            The density (electrons/bohr^2) or the potential (Ha), as ``config.input`` says.
        electrons : int or array (S,), optional
            Electron count(s), needed for input "v_ext".
        mean_density : array, optional
            See :func:`ddviz.methods.ednn.data.input_channels`.

        Returns
        -------
        dict
            Term name -> ndarray (S,) in Ha.

        Raises
        ------
        InputError
            A wrong shape, NaN/Inf, or a missing electron count.
        """
        x = input_channels(self.config.input, image, electrons, self.config.pixel,
                           mean_density)
        with torch.no_grad():
            e = self(torch.from_numpy(x)).cpu().double().numpy()
        return {k: e[:, i] for i, k in enumerate(ENERGY_KEYS)}
