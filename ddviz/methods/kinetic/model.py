"""KineticNet: a kinetic-energy density on the quadrature grid from the density (bohr, Ha).

An equivariant point-convolution network after Remme et al., J. Chem. Phys. 159, 144113 (2023),
built from e3nn tensor products (Geiger and Smidt, arXiv 2207.09453):

1. grid embedding: scalars (1, ln rho / 10, rho^(1/3), |u|^2 / 4) and the l=1 feature
   u = grad rho / (2 rho) at each point, mixed by a tensor product with itself and a gated
   nonlinearity (|u|^2 is the invariant of the reduced-gradient family every GGA kinetic
   functional uses; how it enters T_s is learned);
2. grid -> atom: messages TP(s_g, Y(r_g - R_a)) of the points' scalar features s_g with weights from radial filters of
   |r_g - R_a| (Gaussians in ln d from ``radial_min`` bohr: the cusp region is resolved), summed
   with the density-weighted quadrature weights w_g rho_g (an integral, independent of the grid);
   a one-hot species embedding is added;
3. atom -> atom: one convolution between the atoms;
4. atom -> grid: messages back to every point, combined with its own features by a tensor product
   to scalars, and an MLP giving f_g; the kinetic-energy density is tau_g = rho_g f_g and
   T_s = sum_g w_g tau_g.

No physical functional is built in (no Thomas–Fermi or von Weizsäcker base): everything is learned
from Kohn–Sham data. Sums over atoms and points and the use of displacements only make T_s
invariant under rotations, translations and permutations of atoms (and of grid points).
"""

from __future__ import annotations

import math

import torch
from e3nn import o3
from e3nn.nn import Gate
from torch import nn

from ddviz.errors import DdvizError
from ddviz.methods.equivariant import depthwise_tensor_product
from ddviz.methods.kinetic.config import ModelConfig


class RadialBasis(nn.Module):
    """Gaussians in ln d, centres log-spaced from ``d_min`` to ``d_max`` (bohr)."""

    def __init__(self, n: int, d_min: float, d_max: float):
        super().__init__()
        centres = torch.linspace(math.log(d_min), math.log(d_max), n)
        self.register_buffer("centres", centres)
        self.width = float(centres[1] - centres[0])

    def forward(self, d: torch.Tensor) -> torch.Tensor:
        """(E, n) basis values of distances ``d`` (E,) bohr."""
        x = torch.log(d.clamp_min(1e-6))[:, None]
        return torch.exp(-(((x - self.centres) / self.width) ** 2))


class Convolution(nn.Module):
    """A depthwise point convolution, then a linear mix of channels after aggregation.

    Each channel u of the source features is multiplied with the spherical harmonics Y(r) of the
    edge ("uvu" paths: one weight per channel and path, from a radial network of |r|);
    :meth:`mix` (an equivariant linear map) then mixes channels into ``irreps_out``, applied by
    the caller after summing the messages (fewer rows: cheap).
    """

    def __init__(self, irreps_in, irreps_sh, irreps_out, basis: int, hidden: int):
        super().__init__()
        self.tp = depthwise_tensor_product(irreps_in, irreps_sh, irreps_out)
        self.mix = o3.Linear(self.tp.irreps_out, o3.Irreps(irreps_out))
        self.radial = nn.Sequential(nn.Linear(basis, hidden), nn.SiLU(),
                                    nn.Linear(hidden, self.tp.weight_numel))

    def forward(self, x, sh, basis):
        """(E, mid) messages of source features ``x`` (E, in) along edges (sh, basis)."""
        return self.tp(x, sh, self.radial(basis))


def _gate(scalars: int, vectors: int) -> Gate:
    return Gate(f"{scalars}x0e", [nn.functional.silu], f"{vectors}x0e", [torch.sigmoid],
                f"{vectors}x1o")


class KineticNet(nn.Module):
    """Kinetic-energy density and T_s of a density on a molecular grid (module docstring).

    Parameters
    ----------
    config : ModelConfig
    """

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        s, v = config.scalars, config.vectors
        self.hidden = o3.Irreps(f"{s}x0e + {v}x1o")
        gate_in = o3.Irreps(f"{s}x0e + {v}x0e + {v}x1o")
        self.irreps_sh = o3.Irreps.spherical_harmonics(config.lmax)
        irreps_in = o3.Irreps("4x0e + 1x1o")
        self.embed = o3.FullyConnectedTensorProduct(irreps_in, irreps_in, gate_in)
        self.embed_gate = _gate(s, v)
        self.basis = RadialBasis(config.radial_basis, config.radial_min, config.radial_max)
        nb, rh = config.radial_basis, config.radial_hidden
        self.to_atoms = Convolution(o3.Irreps(f"{s}x0e"), self.irreps_sh, gate_in, nb, rh)
        self.species = o3.Linear(o3.Irreps(f"{len(config.species)}x0e") + self.hidden, gate_in)
        self.atom_gate = _gate(s, v)
        self.between_atoms = Convolution(self.hidden, self.irreps_sh, gate_in, nb, rh)
        self.atom_gate2 = _gate(s, v)
        self.pair_gate = _gate(s, v)
        self.to_grid = Convolution(self.hidden, self.irreps_sh, self.hidden, nb, rh)
        self.combine = o3.FullyConnectedTensorProduct(self.hidden, self.hidden,
                                                      f"{config.head_hidden}x0e")
        self.head = nn.Sequential(nn.SiLU(), nn.Linear(config.head_hidden, config.head_hidden),
                                  nn.SiLU(), nn.Linear(config.head_hidden, 1))
        self.register_buffer("charges", torch.tensor(config.charges(), dtype=torch.long),
                             persistent=False)
        self.to(getattr(torch, config.dtype))

    @property
    def dtype(self) -> torch.dtype:
        """The parameters' dtype."""
        return self.basis.centres.dtype

    def _species(self, Z: torch.Tensor) -> torch.Tensor:
        match = Z[:, None] == self.charges[None]
        if not bool(match.any(1).all()):
            unknown = sorted(set(Z.tolist()) - set(self.charges.tolist()))
            raise DdvizError(f"the model knows nuclear charges {self.charges.tolist()}, not "
                             f"{unknown}", field="Z")
        return match.to(self.dtype)

    def energy_density(self, Z, coords, points, rho, grad_rho, density_weights):
        """Kinetic-energy density tau (G,) Ha/bohr^3 at the grid points.

        Parameters
        ----------
        Z : torch.Tensor (A,) long
            Nuclear charges.
        coords : torch.Tensor (A, 3)
            Nuclear positions (bohr).
        points : torch.Tensor (G, 3)
            Grid points (bohr).
        rho : torch.Tensor (G,)
            Density (e/bohr^3).
        grad_rho : torch.Tensor (G, 3)
            Its gradient (e/bohr^4).
        density_weights : torch.Tensor (G,)
            Quadrature weight times density, w_g rho_g (electrons per point): the measure of
            the grid -> atom integral.

        Returns
        -------
        torch.Tensor (G,)
        """
        rho_c = rho.clamp_min(1e-30)
        u = grad_rho / (2 * rho_c[:, None])
        scal = torch.stack([torch.ones_like(rho_c), torch.log(rho_c) / 10, rho_c ** (1 / 3),
                            (u * u).sum(1) / 4], dim=1)
        x = torch.cat([scal, o3.spherical_harmonics(1, u, normalize=False)], dim=1)
        h = self.embed_gate(self.embed(x, x))
        n_grid, n_atoms = len(points), len(coords)
        r = (points[:, None, :] - coords[None]).reshape(-1, 3)
        sh = o3.spherical_harmonics(self.irreps_sh, r, normalize=True, normalization="component")
        basis = self.basis(r.norm(dim=1))
        m = self.to_atoms(h[:, : self.config.scalars].repeat_interleave(n_atoms, dim=0), sh,
                          basis)
        atoms = (m.reshape(n_grid, n_atoms, -1) * density_weights[:, None, None]).sum(0)
        atoms = self.atom_gate(self.to_atoms.mix(atoms))
        atoms = self.atom_gate2(self.species(torch.cat([self._species(Z), atoms], dim=1)))
        if n_atoms > 1:
            src, dst = torch.where(~torch.eye(n_atoms, dtype=torch.bool, device=coords.device))
            rab = coords[dst] - coords[src]
            mab = self.between_atoms(atoms[src], o3.spherical_harmonics(
                self.irreps_sh, rab, normalize=True, normalization="component"),
                self.basis(rab.norm(dim=1)))
            atoms = atoms + self.pair_gate(self.between_atoms.mix(
                torch.zeros(n_atoms, mab.shape[1], dtype=mab.dtype,
                            device=mab.device).index_add(0, dst, mab)))
        back = self.to_grid(atoms.repeat(n_grid, 1), sh, basis).reshape(n_grid, n_atoms, -1)
        g = self.to_grid.mix(back.sum(1))
        f = self.head(self.combine(h + g, h + g))[:, 0]
        return rho * f

    def kinetic_energy(self, Z, coords, points, weights, rho, grad_rho) -> torch.Tensor:
        """T_s = sum_g w_g tau_g (Ha), a scalar tensor (differentiable in rho and grad rho).

        Points of density below ``config.min_density`` contribute nothing (they hold about
        1e-4 of the kinetic energy at 1e-6 e/bohr^3; the model learns T_s without them).

        Parameters
        ----------
        Z, coords, points, rho, grad_rho
            As for :meth:`energy_density`.
        weights : torch.Tensor (G,)
            Quadrature weights (bohr^3).

        Returns
        -------
        torch.Tensor ()
        """
        keep = rho >= self.config.min_density
        if not bool(keep.all()):
            points, weights, rho, grad_rho = points[keep], weights[keep], rho[keep], grad_rho[keep]
        tau = self.energy_density(Z, coords, points, rho, grad_rho, weights * rho)
        return (weights * tau).sum()

    forward = kinetic_energy
