"""DeepH-E3's network: equivariant message passing and the Wigner–Eckart output layer.

Gong et al., Nat. Commun. 14, 2848 (2023). Atoms are nodes (species embedding), ordered pairs of
atoms closer than the cutoff are edges (a Bessel radial basis with a smooth polynomial envelope
and real spherical harmonics up to ``lmax``). ``layers`` interaction blocks update the node
features (NequIP-style: a tensor product of the neighbour's features with the edge's harmonics,
weighted by a radial network, summed with ``index_add_``, a gated nonlinearity and a residual);
an edge block combines the features of both ends with the edge's harmonics.

The Wigner–Eckart layer: the block of a shell pair (l1, l2) is sum_L C^(l1 l2 L) f_L with
f_L the output irreps L = |l1 - l2| .. l1 + l2 of parity (-1)^(l1 + l2) and C the
Clebsch–Gordan (``o3.wigner_3j``) coefficients, scaled so that the map from irrep coefficients
to block elements is orthonormal. On-site blocks come from node features (one linear head per
species), off-site blocks from edge features (one per ordered species pair). The whole matrix is
symmetrised, H = (H + H^T)/2. Positions enter in the frame of
:data:`ddviz.methods.hamiltonian.basis.FRAME`, so the blocks transform as PySCF's functions
(:mod:`ddviz.methods.hamiltonian.basis`). Blocks of atom pairs beyond the cutoff are zero.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from e3nn import o3
from e3nn.nn import FullyConnectedNet, Gate
from torch import nn

from ddviz.errors import DdvizError
from ddviz.methods.equivariant import depthwise_tensor_product
from ddviz.methods.hamiltonian.basis import FRAME, element_shells, pyscf_order
from ddviz.methods.hamiltonian.config import ModelConfig


def hidden_irreps(cfg: ModelConfig) -> o3.Irreps:
    """Node and edge feature irreps: ``channels`` x 0e, half as many of 0o and of each l e/o."""
    half = max(cfg.channels // 2, 1)
    terms = [(cfg.channels, (0, 1)), (half, (0, -1))]
    for l in range(1, cfg.lmax + 1):
        terms += [(half, (l, 1)), (half, (l, -1))]
    return o3.Irreps(terms)


def block_irreps(shells_i, shells_j) -> tuple[o3.Irreps, np.ndarray]:
    """The output irreps of one atom-pair block and the map from them to the block's elements.

    Parameters
    ----------
    shells_i, shells_j : sequence of int
        The l of each shell of the two atoms (PySCF order).

    Returns
    -------
    irreps : e3nn.o3.Irreps
        One irrep per (shell pair, L), in that order.
    u : numpy.ndarray, shape (irreps.dim, nao_i * nao_j)
        Orthonormal rows: block (flattened, PySCF order) = coefficients @ u.
    """
    ni = sum(2 * l + 1 for l in shells_i)
    nj = sum(2 * l + 1 for l in shells_j)
    terms, rows = [], []
    oi = 0
    for li in shells_i:
        oj = 0
        for lj in shells_j:
            for big_l in range(abs(li - lj), li + lj + 1):
                terms.append((1, (big_l, (-1) ** (li + lj))))
                cg = o3.wigner_3j(li, lj, big_l, dtype=torch.float64).numpy()
                cg = cg[np.ix_(pyscf_order(li), pyscf_order(lj))] * math.sqrt(2 * big_l + 1)
                for m in range(2 * big_l + 1):
                    row = np.zeros((ni, nj))
                    row[oi:oi + 2 * li + 1, oj:oj + 2 * lj + 1] = cg[:, :, m]
                    rows.append(row.reshape(-1))
            oj += 2 * lj + 1
        oi += 2 * li + 1
    return o3.Irreps(terms), np.array(rows)


def block_index(offsets: torch.Tensor, ai: torch.Tensor, aj: torch.Tensor, ni: int, nj: int):
    """Index tensors of the (k, ni, nj) blocks of atom pairs (ai, aj) in an (nao, nao) matrix."""
    rows = offsets[ai][:, None] + torch.arange(ni, device=offsets.device)
    cols = offsets[aj][:, None] + torch.arange(nj, device=offsets.device)
    return rows[:, :, None], cols[:, None, :]


def bessel_basis(r: torch.Tensor, n: int, cutoff: float) -> torch.Tensor:
    """(E, n) Bessel radial functions sqrt(2/c) sin(k pi r / c) / r times a smooth envelope.

    The envelope 1 - 28 x^6 + 48 x^7 - 21 x^8 (x = r / c) goes to zero at the cutoff with two
    continuous derivatives (Gasteiger et al., DimeNet, ICLR 2020).
    """
    x = (r / cutoff).unsqueeze(-1)
    k = torch.arange(1, n + 1, dtype=r.dtype, device=r.device)
    env = 1 - 28 * x**6 + 48 * x**7 - 21 * x**8
    return math.sqrt(2 / cutoff) * torch.sin(k * math.pi * x) / (x * cutoff) * env


class _RadialTP(nn.Module):
    """x (irreps_in) ⊗ Y (harmonics) -> irreps_out, 'uvu' paths weighted per edge by an MLP."""

    def __init__(self, irreps_in, irreps_sh, irreps_out, radial_basis, radial_hidden):
        super().__init__()
        self.tp = depthwise_tensor_product(irreps_in, irreps_sh, irreps_out)
        self.radial = FullyConnectedNet([radial_basis, radial_hidden, self.tp.weight_numel],
                                        torch.nn.functional.silu)
        self.linear = o3.Linear(self.tp.irreps_out, irreps_out)

    def forward(self, x, sh, rbf):
        return self.linear(self.tp(x, sh, self.radial(rbf)))


def _gate(irreps: o3.Irreps) -> Gate:
    """A gated nonlinearity whose output is ``irreps`` (silu scalars, sigmoid gates)."""
    scalars = o3.Irreps([(m, ir) for m, ir in irreps if ir.l == 0])
    gated = o3.Irreps([(m, ir) for m, ir in irreps if ir.l > 0])
    act = {1: torch.nn.functional.silu, -1: torch.tanh}
    return Gate(scalars, [act[ir.p] for _, ir in scalars],
                o3.Irreps(f"{gated.num_irreps}x0e"), [torch.sigmoid], gated)


class _Interaction(nn.Module):
    """One message-passing block: x_i += Gate(Lin(sum_j TP(x_j, Y_ij; R(r_ij))) + Lin(x_i))."""

    def __init__(self, irreps, irreps_sh, cfg: ModelConfig, neighbours: float):
        super().__init__()
        self.gate = _gate(irreps)
        self.pre = o3.Linear(irreps, irreps)
        self.message = _RadialTP(irreps, irreps_sh, self.gate.irreps_in, cfg.radial_basis,
                                 cfg.radial_hidden)
        self.self_connection = o3.Linear(irreps, self.gate.irreps_in)
        self.norm = 1 / math.sqrt(neighbours)

    def forward(self, x, src, dst, sh, rbf):
        msg = self.message(self.pre(x)[src], sh, rbf)
        agg = torch.zeros(x.shape[0], msg.shape[1], dtype=x.dtype, device=x.device)
        agg.index_add_(0, dst, msg)
        return x + self.gate(agg * self.norm + self.self_connection(x))


class HamiltonianModel(nn.Module):
    """DeepH-E3 for molecules: the Kohn–Sham matrix in an AO basis from atomic positions.

    Parameters
    ----------
    config : ModelConfig

    Raises
    ------
    DdvizError
        The basis has no functions for one of the species.
    """

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = cfg = config
        dtype = getattr(torch, cfg.dtype)
        from ase.data import chemical_symbols

        self.species = list(cfg.species)
        self.shells = {z: element_shells(chemical_symbols[z], cfg.basis) for z in self.species}
        self.nao = {z: sum(2 * l + 1 for l in s) for z, s in self.shells.items()}
        irreps = hidden_irreps(cfg)
        self.irreps_sh = o3.Irreps.spherical_harmonics(cfg.lmax)
        self.embed = o3.Linear(o3.Irreps(f"{len(self.species)}x0e"), irreps)
        self.layers = nn.ModuleList(_Interaction(irreps, self.irreps_sh, cfg, 8.0)
                                    for _ in range(cfg.layers))
        self.edge_in_i = o3.Linear(irreps, irreps)
        self.edge_in_j = o3.Linear(irreps, irreps)
        edge_gate = _gate(irreps)
        self.edge_tp = _RadialTP(irreps, self.irreps_sh, edge_gate.irreps_in, cfg.radial_basis,
                                 cfg.radial_hidden)
        self.edge_gate = edge_gate
        self.heads = nn.ModuleDict()
        for zi in self.species:
            for zj in self.species:
                out, u = block_irreps(self.shells[zi], self.shells[zj])
                key = self.pair_key(zi, zj)
                self.heads[key] = o3.Linear(irreps, out)
                self.register_buffer(f"u_{key}", torch.as_tensor(u))
                self.register_buffer(f"mean_{key}", torch.zeros(out.dim))
                self.register_buffer(f"scale_{key}", torch.ones(out.dim))
                if zi == zj:  # on-site head of species zi
                    self.heads[f"on{zi}"] = o3.Linear(irreps, out)
                    self.register_buffer(f"u_on{zi}", torch.as_tensor(u))
                    self.register_buffer(f"mean_on{zi}", torch.zeros(out.dim))
                    self.register_buffer(f"scale_on{zi}", torch.ones(out.dim))
        self.register_buffer("frame", torch.as_tensor(FRAME))
        self.to(dtype)

    @staticmethod
    def pair_key(zi: int, zj: int) -> str:
        """The name of the off-site head of ordered species pair (zi, zj)."""
        return f"off{zi}_{zj}"

    @property
    def dtype(self) -> torch.dtype:
        """The parameters' dtype."""
        return self.frame.dtype

    def check_species(self, numbers) -> None:
        """Raise :class:`DdvizError` naming the elements outside the model's species."""
        from ase.data import chemical_symbols

        unknown = sorted(set(int(z) for z in numbers) - set(self.species))
        if unknown:
            raise DdvizError(f"elements {[chemical_symbols[z] for z in unknown]} are outside "
                             f"this model's species "
                             f"{[chemical_symbols[z] for z in self.species]}", field="structure")

    def graph(self, positions: torch.Tensor, batch: torch.Tensor | None = None):
        """(dst, src) of the ordered atom pairs closer than the cutoff (bohr), same structure."""
        d = torch.cdist(positions, positions)
        mask = (d < self.config.cutoff) & ~torch.eye(len(positions), dtype=torch.bool,
                                                     device=d.device)
        if batch is not None:
            mask &= batch[:, None] == batch[None, :]
        dst, src = mask.nonzero(as_tuple=True)
        return dst, src

    def blocks(self, numbers: torch.Tensor, positions: torch.Tensor,
               batch: torch.Tensor | None = None):
        """Every predicted on-site and off-site block (one or several structures).

        Parameters
        ----------
        numbers : torch.Tensor, shape (N,), int64
            Atomic numbers.
        positions : torch.Tensor, shape (N, 3)
            Positions (bohr).
        batch : torch.Tensor, shape (N,), optional
            Structure index of each atom (edges join atoms of the same structure only).

        Returns
        -------
        list of (str, torch.Tensor, torch.Tensor, torch.Tensor)
            (head name, row atoms (k,), column atoms (k,), blocks (k, nao_i, nao_j)), Ha, AOs in
            PySCF's order: block H_ij of atoms i (rows) and j (columns).
        """
        positions = positions.to(self.dtype) @ self.frame.T
        dst, src = self.graph(positions, batch)
        vec = positions[src] - positions[dst]  # from the centre atom dst (i) to src (j)
        sh = o3.spherical_harmonics(self.irreps_sh, vec, normalize=True, normalization="component")
        rbf = bessel_basis(vec.norm(dim=-1), self.config.radial_basis, self.config.cutoff)
        kind = torch.as_tensor([self.species.index(int(z)) for z in numbers],
                               device=positions.device)
        x = self.embed(torch.nn.functional.one_hot(kind, len(self.species)).to(self.dtype))
        for layer in self.layers:
            x = layer(x, src, dst, sh, rbf)
        e = self.edge_in_i(x)[dst] + self.edge_in_j(x)[src]
        e = self.edge_gate(self.edge_tp(e, sh, rbf))
        out = []
        for zi in self.species:
            atoms = (numbers == zi).nonzero(as_tuple=True)[0]
            if len(atoms):
                out.append((f"on{zi}", atoms, atoms, self._head(f"on{zi}", x[atoms], zi, zi)))
            for zj in self.species:
                sel = ((numbers[dst] == zi) & (numbers[src] == zj)).nonzero(as_tuple=True)[0]
                if len(sel):
                    key = self.pair_key(zi, zj)
                    out.append((key, dst[sel], src[sel], self._head(key, e[sel], zi, zj)))
        return out

    def _head(self, key: str, features: torch.Tensor, zi: int, zj: int) -> torch.Tensor:
        c = self.heads[key](features) * getattr(self, f"scale_{key}") + getattr(self, f"mean_{key}")
        return (c @ getattr(self, f"u_{key}")).reshape(-1, self.nao[zi], self.nao[zj])

    def ao_offsets(self, numbers: torch.Tensor) -> torch.Tensor:
        """(N + 1,) index of each atom's first AO, and the number of AOs last."""
        sizes = torch.as_tensor([self.nao[int(z)] for z in numbers], device=numbers.device)
        return torch.cat([torch.zeros(1, dtype=sizes.dtype, device=sizes.device),
                          torch.cumsum(sizes, 0)])

    def forward(self, numbers: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        """The symmetric (nao, nao) Kohn–Sham matrix (Ha) of one structure.

        Parameters
        ----------
        numbers : torch.Tensor, shape (N,), int64
            Atomic numbers (all among the model's species).
        positions : torch.Tensor, shape (N, 3)
            Positions (bohr).

        Returns
        -------
        torch.Tensor, shape (nao, nao)
            In the model's dtype, AOs in PySCF's order (atoms in input order); zero for atom
            pairs beyond the cutoff.
        """
        self.check_species(numbers.tolist())
        offsets = self.ao_offsets(numbers)
        nao = int(offsets[-1])
        h = torch.zeros(nao, nao, dtype=self.dtype, device=positions.device)
        for _, ai, aj, b in self.blocks(numbers, positions):
            h = h.index_put(block_index(offsets, ai, aj, b.shape[1], b.shape[2]), b)
        return (h + h.T) / 2

    def pair_mask(self, numbers: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        """(nao, nao) bool: the elements the model predicts (on-site and within the cutoff)."""
        sizes = [self.nao[int(z)] for z in numbers]
        atom_of = torch.repeat_interleave(torch.arange(len(numbers)), torch.as_tensor(sizes))
        d = torch.cdist(positions.double(), positions.double())
        return (d < self.config.cutoff)[atom_of][:, atom_of]

