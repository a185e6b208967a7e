"""DCIGN: the density from the potential, an encoder–decoder with skip connections.

A small U-Net, after Ryczko, Strubbe, Tamblyn, Phys. Rev. A 100, 022512 (2019).

Input: the potential and the mean electron density N/A (two channels,
:func:`ddviz.methods.ednn.data.input_channels`, kind "v_ext"). Output:
``rho = N softplus(o) / (h^2 sum softplus(o))`` (electrons/bohr^2): positive, and holding exactly
N electrons (N = h^2 times the sum of the mean-density channel).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ddviz.methods.dcign.config import ModelConfig
from ddviz.methods.ednn.data import CHANNELS, InputError, input_channels
from ddviz.methods.ednn.model import ACTIVATIONS, check_input


def _block(c_in: int, c_out: int, act) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1), act(),
                         nn.Conv2d(c_out, c_out, 3, padding=1), act())


class DCIGN(nn.Module):
    """v_ext (and N) -> rho on the same grid (see the module docstring).

    Parameters
    ----------
    config : ModelConfig

    Buffer ``input_scale`` (2,): the input channels are divided by it (set from the training data
    by :meth:`set_statistics`).
    """

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        self.in_channels = CHANNELS["v_ext"]
        act = ACTIVATIONS[config.activation]
        ch = config.channels
        self.down = nn.ModuleList()
        width = self.in_channels
        for c in ch:
            self.down.append(_block(width, c, act))
            width = c
        self.up = nn.ModuleList(_block(ch[i + 1] + ch[i], ch[i], act)
                                for i in reversed(range(len(ch) - 1)))
        self.out = nn.Conv2d(ch[0], 1, 1)
        self.register_buffer("input_scale", torch.ones(self.in_channels))
        self.to(getattr(torch, config.dtype))

    @property
    def dtype(self) -> torch.dtype:
        """The parameters' dtype."""
        return self.input_scale.dtype

    @property
    def device(self) -> torch.device:
        """The parameters' device."""
        return self.input_scale.device

    def set_statistics(self, x) -> None:
        """Input scales (root mean square per channel) from training inputs (S, 2, n, m)."""
        x = torch.as_tensor(x, dtype=torch.float64)
        scale = x.pow(2).mean(dim=(0, 2, 3)).sqrt()
        self.input_scale.copy_(torch.where(scale > 0, scale, torch.ones_like(scale)))

    def forward(self, x) -> torch.Tensor:
        """(B, n, m) density (electrons/bohr^2) of input ``x`` (B, 2, n, m).

        Raises
        ------
        InputError
            A malformed input, or sides not divisible by 2^(levels - 1).
        """
        x = check_input(self, x)
        k = 2 ** (len(self.config.channels) - 1)
        if x.shape[2] % k or x.shape[3] % k:
            raise InputError(f"image sides {tuple(x.shape[2:])} must be divisible by {k}",
                             field="input")
        h2 = self.config.pixel**2
        electrons = x[:, 1].sum(dim=(1, 2)) * h2
        z, skips = x / self.input_scale[None, :, None, None], []
        for i, block in enumerate(self.down):
            if i:
                z = F.avg_pool2d(z, 2)
            z = block(z)
            skips.append(z)
        for block, skip in zip(self.up, reversed(skips[:-1])):
            z = F.interpolate(z, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            z = block(torch.cat([z, skip], dim=1))
        w = F.softplus(self.out(z)[:, 0])
        return w * (electrons / (w.sum(dim=(1, 2)) * h2))[:, None, None]

    def predict(self, v_ext, electrons=None, mean_density=None):
        """Densities (S, n, m) float64 (electrons/bohr^2) of potentials given as arrays.

        Raises
        ------
        InputError
            A wrong shape, NaN/Inf, or a missing electron count.
        """
        x = input_channels("v_ext", v_ext, electrons, self.config.pixel, mean_density)
        with torch.no_grad():
            return self(torch.from_numpy(x)).cpu().double().numpy()
