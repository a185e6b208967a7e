"""The se_a descriptor of an atom's environment, with the electron as one extra neighbour.

For a neighbour at displacement ``v`` (bohr) from atom i, with ``r = |v|``:

- switch ``u(r)``: 1 for r <= rcut_smooth, 0 for r >= rcut, in between
  ``1 - x^3 (10 - 15 x + 6 x^2)``, ``x = (r - rcut_smooth) / (rcut - rcut_smooth)``
  (value, first and second derivatives continuous at both ends);
- ``s = u(r) / r~`` and the row ``R = s * (1, v / r~)``; for atoms ``r~ = r``, for the electron
  ``r~ = sqrt(r^2 + softening^2)``, which keeps the row finite and smooth when the electron sits
  on the nucleus;
- ``G = embedding_net[species of the neighbour](s)``, (M1,); the electron has its own net.

``T_i = (sum over atom neighbours G^T R + G_e^T R_e) / sel`` is (M1, 4); the atom part
(:meth:`Descriptor.atom_sums`) does not depend on the electron and is computed once per
structure. ``D_i = T_i T_i[:M2]^T`` is (M1, M2), invariant under rotations, translations and
permutations of same-species neighbours.
"""

from __future__ import annotations

import torch
from torch import nn

from ddviz.methods.deep_density.config import ModelConfig
from ddviz.methods.deep_density.nets import ResidualMLP, per_kind

_TINY = 1e-30


def switch(r: torch.Tensor, rcut_smooth: float, rcut: float) -> torch.Tensor:
    """Quintic C2 switch: 1 below rcut_smooth, 0 above rcut (same shape as r, bohr)."""
    x = ((r - rcut_smooth) / (rcut - rcut_smooth)).clamp(0.0, 1.0)
    return 1.0 - x ** 3 * (10.0 - 15.0 * x + 6.0 * x * x)


def distances(vec: torch.Tensor, softening: float = 0.0):
    """(r, r~): |vec| and sqrt(|vec|^2 + softening^2), (P,) bohr; gradients finite at vec = 0."""
    r2 = (vec * vec).sum(-1)
    r = torch.sqrt(r2.clamp_min(_TINY))
    return r, (torch.sqrt(r2 + softening ** 2) if softening else r)


def env_rows(vec: torch.Tensor, rcut_smooth: float, rcut: float, softening: float = 0.0):
    """(P, 4) rows ``s * (1, v / r~)`` for displacements vec (P, 3) bohr."""
    r, rs = distances(vec, softening)
    s = switch(r, rcut_smooth, rcut) / rs
    return torch.cat([s[:, None], s[:, None] * vec / rs[:, None]], dim=1)


class Descriptor(nn.Module):
    """Embedding nets per atom species plus one for the electron; builds T_i and D_i."""

    def __init__(self, config: ModelConfig, dtype: torch.dtype):
        super().__init__()
        self.config = config
        sizes = [1, *config.embedding_widths, config.m1]

        def net():
            return ResidualMLP(sizes, config.activation, config.embedding_resnet, dtype=dtype)

        self.atom_nets = nn.ModuleList(net() for _ in config.species)
        self.electron_net = net()

    @property
    def width(self) -> int:
        """Length of the flattened descriptor, M1 * M2."""
        return self.config.m1 * self.config.m2

    def atom_sums(self, species, i, j, vec, natoms: int) -> torch.Tensor:
        """(natoms, M1, 4): sum over atom neighbours of G^T R / sel.

        species: (natoms,) species indices; i, j: (P,) centre and neighbour atoms; vec: (P, 3)
        bohr from atom i to its neighbour.
        """
        c = self.config
        rows = env_rows(vec, c.rcut_smooth, c.rcut)
        g = per_kind(self.atom_nets, species[j], rows[:, :1])
        sums = rows.new_zeros(natoms, c.m1, 4)
        return sums.index_add(0, i, g[:, :, None] * rows[:, None, :]) / c.sel

    def forward(self, sums: torch.Tensor, vec: torch.Tensor) -> torch.Tensor:
        """(P, M1*M2) descriptors for pairs: sums (P, M1, 4) of the centre atom, vec (P, 3) bohr
        from the atom (image) to the electron.
        """
        c = self.config
        rows = env_rows(vec, c.rcut_smooth, c.rcut, c.softening)
        g = self.electron_net(rows[:, :1])
        t = torch.addcmul(sums, g[:, :, None], rows[:, None, :], value=1.0 / c.sel)
        return torch.bmm(t, t[:, :c.m2, :].transpose(1, 2).contiguous()).flatten(1)
