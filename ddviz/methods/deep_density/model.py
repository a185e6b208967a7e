"""Deep Density: rho(r) = sum over atoms i with |r - x_i| < rcut of rho_i(r)  (bohr, e/bohr^3).

Per atom ``i`` of species ``a`` and an electron at ``r``, with ``d = |r - x_i|`` (nearest images
on periodic axes are just more atoms) and ``d~ = sqrt(d^2 + softening^2)``::

    n = fitting_net[a]((D_i(r) - mean_a) / std_a)       # (4,), zero for a fresh model
    rate   = softplus(rate_a   + n_0)                   # decay rate, 1/bohr
    offset = offset_a + n_1                             # bohr
    c0     = softplus(lin0_a   + n_2)                   # e/bohr^3
    c1     = softplus(lin1_a   + n_3)                   # e/bohr^4
    rho_i(r) = u(d) * (c0 + c1 d~) * exp(-rate * (d~ - offset)) * k(d)

with the core factor ``k(d) = 1 - a_a exp(-(d / w_a)^2)`` when ``config.core_dip`` (``a_a`` in
[0, 1] and ``w_a > 0`` per species, learned; ``k = 1`` otherwise, the ansatz of model files
without the option).

``D_i(r)`` is the se_a descriptor of atom i's environment with the electron as an extra neighbour
(:mod:`ddviz.methods.deep_density.descriptor`); ``mean_a``, ``std_a`` (buffers, saved with the weights) normalise
its entries per species, set from training data by :meth:`DeepDensity.set_descriptor_statistics`
(as deepmd-kit's davg/dstd; here on D itself). On ethane it halved the validation error after 600
steps (6.2 % -> 2.8 % relative L1). The paper's ansatz is the exponential decay with trainable rate
and offset times a linear term in d (c0 -> 0 makes the density small at a pseudopotential core);
here the network corrections enter through its four parameters, so rho_i > 0 everywhere and a
fresh model is the plain per-species ansatz (initialised to rate 2/bohr, c0 = c1 = 0.5: about
0.28 e/bohr^3 at the nucleus and 3.3 electrons per atom with the default cutoffs). ``u`` is the
descriptor's C2 switch (1 below rcut_smooth, 0 at rcut): the taper that makes the summed field C2
with no seam at rcut. The softened d~ makes rho_i smooth (no cusp) at the nucleus, like a
pseudopotential valence density, but it also keeps rho_i flat within ~0.3 bohr of the nucleus,
where the GTH valence density of oxygen falls to ~0 (0.002 e/bohr^3 at the nucleus against 0.98
at 0.4 bohr in water): the core factor ``k``, a function of d^2 (smooth) that can reach 0 at d = 0
(``a = 1``; then rho_i ~ d^2 there, as the reference), represents that dip. It starts at
``a = 0`` (``k = 1``), so a model with it fine-tuned from one without starts from the same
function. ``a`` is the parameter ``core_depth`` clamped to [0, 1]; ``w = softplus(core_width)``.
The per-species constants ``rate``, ``offset``, ``lin0``, ``lin1`` are separate parameters, (S,).

Reference: the ansatz and the atom-centred sum are from Zepeda-Núñez, Chen, Zhang, Jia, Zhang and
Lin, "Deep Density: circumventing the Kohn-Sham equations via symmetry preserving neural
networks", J. Comput. Phys. 443, 110523 (2021); the descriptor and the per-species fitting nets
from Zhang et al., NeurIPS 2018 (deepmd-kit's se_a). Names against deepmd-kit: ``species`` is
their ``type_map``, ``fitting_nets`` their per-type ``fitting_net`` (``neuron`` =
``fitting_widths``), ``descriptor_mean``/``descriptor_std`` play the part of their
``davg``/``dstd`` (theirs normalise the environment matrix R, ours the descriptor D).
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from ase.data import chemical_symbols
from torch import nn

from ddviz.errors import ConfigError
from ddviz.methods.deep_density.config import ModelConfig
from ddviz.methods.deep_density.descriptor import Descriptor, contract, distances, switch
from ddviz.methods.deep_density.nets import ACTIVATIONS, ResidualMLP, per_kind, residual_mlp
from ddviz.neighbors import CellList, as_pbc, image_vectors

INIT_RATE, INIT_LIN0, INIT_LIN1 = 2.0, 0.5, 0.5


class KernelSpec(NamedTuple):
    """The constants of :func:`species_pair_density` (the config's, bohr; the nets' skips)."""

    rcut_smooth: float
    rcut: float
    softening: float
    sel: float
    m2: int
    electron_kinds: tuple
    fitting_kinds: tuple
    activation: str
    core: bool = False


def core_factor(r2: torch.Tensor, depth: torch.Tensor, width: torch.Tensor) -> torch.Tensor:
    """The core factor ``1 - a exp(-d^2 / w^2)`` of the ansatz (``config.core_dip``).

    Parameters
    ----------
    r2 : (P,) torch.Tensor, bohr^2
        Squared electron-nucleus distances d^2.
    depth : torch.Tensor
        Raw depth (``DeepDensity.core_depth``); ``a`` is it clamped to [0, 1].
    width : torch.Tensor
        Raw width (``DeepDensity.core_width``); ``w = softplus(width)``, bohr.

    Returns
    -------
    (P,) torch.Tensor
        The factor, in [0, 1]: 1 far from the nucleus, ``1 - a`` at it.
    """
    return 1.0 - depth.clamp(0.0, 1.0) * torch.exp(-r2 / F.softplus(width) ** 2)


def species_pair_density(sums, i, vec, electron, fitting, mean, inv_std, consts,
                         spec: KernelSpec) -> torch.Tensor:
    """rho_i of atom-electron pairs whose atoms are all of one species (a pure function).

    The same formula as :meth:`DeepDensity.pair_density`, with the species' tensors passed in
    (one graph for every species when compiled) and the distances and switch computed once for
    the descriptor row and the ansatz.

    Parameters
    ----------
    sums : (N, M1, 4) torch.Tensor
        ``Environment.sums``.
    i : (P,) torch.Tensor of int
        Atom of each pair (all of the species).
    vec : (P, 3) torch.Tensor, bohr
        Electron minus atom image.
    electron : list
        The electron embedding net's :meth:`~ddviz.methods.deep_density.nets.ResidualMLP.weights`.
    fitting : list
        The species' fitting net's weights.
    mean, inv_std : (M1 * M2,) torch.Tensor
        The species' descriptor normalisation.
    consts : tuple of four (six with ``spec.core``) 0-d torch.Tensor
        The species' ``rate``, ``offset``, ``lin0``, ``lin1`` (and ``core_depth``,
        ``core_width``).
    spec : KernelSpec
        Constants.

    Returns
    -------
    (P,) torch.Tensor, e/bohr^3
        rho_i at the electrons.
    """
    act = ACTIVATIONS[spec.activation]
    r2 = (vec * vec).sum(-1)
    d = torch.sqrt(r2.clamp_min(1e-30))
    dsoft = torch.sqrt(r2 + spec.softening ** 2) if spec.softening else d
    taper = switch(d, spec.rcut_smooth, spec.rcut)
    s = taper / dsoft
    rows = torch.cat([s[:, None], s[:, None] * vec / dsoft[:, None]], dim=1)
    g = residual_mlp(rows[:, :1], electron, spec.electron_kinds, act)
    t = torch.addcmul(sums[i], g[:, :, None], rows[:, None, :], value=1.0 / spec.sel)
    n = residual_mlp(contract(t, spec.m2), fitting, spec.fitting_kinds, act, mean, inv_std)
    rate0, offset0, lin0, lin1 = consts[:4]
    rate = F.softplus(rate0 + n[:, 0])
    c0 = F.softplus(lin0 + n[:, 2])
    c1 = F.softplus(lin1 + n[:, 3])
    rho = taper * (c0 + c1 * dsoft) * torch.exp(-rate * (dsoft - offset0 - n[:, 1]))
    return rho * core_factor(r2, *consts[4:]) if spec.core else rho


def _softplus_inverse(y: float) -> float:
    return y + math.log(-math.expm1(-y))


@dataclass
class Environment:
    """A structure prepared for point queries (all tensors on the model's device).

    Attributes
    ----------
    numbers : (N,) torch.Tensor of int
        Atomic numbers.
    species : (N,) torch.Tensor of int
        Model species indices (positions in ``ModelConfig.species``).
    positions : (N, 3) torch.Tensor, bohr
        Atom positions.
    cell : (3, 3) torch.Tensor, bohr, or None
        Lattice vectors as rows; None for a molecule.
    pbc : tuple of three bool
        Periodic axes.
    cells : ddviz.neighbors.CellList
        The cell list of atom images.
    pairs : tuple of torch.Tensor
        Atom-atom pairs within rcut, ``(i, j, shift)``.
    sums : (N, M1, 4) torch.Tensor or None
        Atom part of ``G^T R / sel``, computed with the parameters current at
        :meth:`DeepDensity.prepare` / :meth:`DeepDensity.refresh`.
    """

    numbers: torch.Tensor
    species: torch.Tensor
    positions: torch.Tensor
    cell: torch.Tensor | None
    pbc: tuple[bool, bool, bool]
    cells: CellList
    pairs: tuple[torch.Tensor, torch.Tensor, torch.Tensor]
    sums: torch.Tensor | None = None

    @property
    def natoms(self) -> int:
        """Number of atoms N."""
        return self.positions.shape[0]


class DeepDensity(nn.Module):
    """The Deep Density model; see the module docstring for the formula.

    Parameters
    ----------
    config : ModelConfig
        Hyperparameters; ``species`` must be non-empty.

    Raises
    ------
    ddviz.errors.ConfigError
        If ``config.species`` is empty.
    """

    def __init__(self, config: ModelConfig):
        super().__init__()
        if not config.species:
            raise ConfigError("a model needs its species (element symbols)", field="species")
        self.config = config
        dtype = getattr(torch, config.dtype)
        nspecies = len(config.species)
        self.descriptor = Descriptor(config, dtype)
        sizes = [self.descriptor.width, *config.fitting_widths]
        self.fitting_nets = nn.ModuleList(
            ResidualMLP(sizes, config.activation, config.fitting_resnet, head=4, dtype=dtype)
            for _ in range(nspecies))

        def const(value):
            return nn.Parameter(torch.full((nspecies,), value, dtype=dtype))

        self.rate = const(_softplus_inverse(INIT_RATE))
        self.offset = const(0.0)
        self.lin0 = const(_softplus_inverse(INIT_LIN0))
        self.lin1 = const(_softplus_inverse(INIT_LIN1))
        if config.core_dip:  # a = 0: the factor is 1, the plain ansatz
            self.core_depth = const(0.0)
            self.core_width = const(_softplus_inverse(config.core_width))
        # per-species mean and std of the descriptor entries (set from data by
        # :meth:`set_descriptor_statistics`); the fitting nets see (D - mean) / std
        width = self.descriptor.width
        self.register_buffer("descriptor_mean", torch.zeros(nspecies, width, dtype=dtype))
        self.register_buffer("descriptor_std", torch.ones(nspecies, width, dtype=dtype))
        table = torch.full((len(chemical_symbols),), -1, dtype=torch.long)
        for k, symbol in enumerate(config.species):
            table[chemical_symbols.index(symbol)] = k
        self.register_buffer("species_table", table, persistent=False)
        self._kernel = species_pair_density

    @property
    def dtype(self) -> torch.dtype:
        """Parameter dtype (``config.dtype``)."""
        return self.rate.dtype

    @property
    def device(self) -> torch.device:
        """Device of the parameters."""
        return self.rate.device

    def species_index(self, numbers) -> torch.Tensor:
        """Model species indices of atomic numbers.

        Parameters
        ----------
        numbers : (N,) array-like of int
            Atomic numbers.

        Returns
        -------
        (N,) torch.Tensor of int
            Index of each atom's element in ``config.species``, on the model's device.

        Raises
        ------
        ddviz.errors.ConfigError
            If an element is not among the model's species.
        """
        z = torch.as_tensor(np.asarray(numbers), dtype=torch.long).reshape(-1).to(self.device)
        ok = (z > 0) & (z < len(chemical_symbols))
        kinds = torch.full_like(z, -1)
        kinds[ok] = self.species_table[z[ok]]
        if (kinds < 0).any():
            bad = sorted({chemical_symbols[v] if 0 < v < len(chemical_symbols) else str(v)
                          for v in z[kinds < 0].tolist()})
            raise ConfigError(f"species {bad} not in the model's species {self.config.species}",
                              field="species")
        return kinds

    # --- structure ----------------------------------------------------------------------------
    def prepare(self, numbers, positions_bohr, cell_bohr=None, pbc=(False, False, False)
                ) -> Environment:
        """Neighbour search and per-atom environment sums for one structure.

        Differentiable w.r.t. the parameters (and the positions if they require grad): call it
        (or :meth:`refresh`) every training step.

        Parameters
        ----------
        numbers : (N,) array-like of int
            Atomic numbers.
        positions_bohr : (N, 3) array-like or torch.Tensor, bohr
            Atom positions.
        cell_bohr : (3, 3) array-like, bohr, optional
            Lattice vectors as rows; None for a molecule.
        pbc : bool or three bools
            Periodic axes.

        Returns
        -------
        Environment
            The structure with its neighbour lists and atom sums.

        Raises
        ------
        ddviz.errors.ConfigError
            If an element is not among the model's species, or the numbers of atomic numbers
            and positions differ.
        """
        species = self.species_index(numbers)
        pos = self._tensor(positions_bohr).reshape(-1, 3)
        if pos.shape[0] != species.shape[0]:
            raise ConfigError(f"{species.shape[0]} atomic numbers but {pos.shape[0]} positions",
                              field="positions")
        cell = None if cell_bohr is None else self._tensor(cell_bohr).reshape(3, 3)
        pbc = as_pbc(pbc)
        cells = CellList(pos, self.config.rcut, cell, pbc)
        env = Environment(species.new_tensor(np.asarray(numbers)).reshape(-1), species, pos,
                          cell, pbc, cells, cells.atom_pairs(pos))
        return self.refresh(env)

    def refresh(self, env: Environment) -> Environment:
        """The same environment with its sums recomputed from the current parameters.

        Parameters
        ----------
        env : Environment
            From :meth:`prepare`.

        Returns
        -------
        Environment
            A copy with new ``sums``.
        """
        i, j, shift = env.pairs
        vec = -image_vectors(env.positions, env.positions, i, j, shift, env.cell)
        sums = self.descriptor.atom_sums(env.species, i, j, vec, env.natoms)
        return dataclasses.replace(env, sums=sums)

    # --- density ------------------------------------------------------------------------------
    def forward(self, env: Environment, points, pair_batch: int | None = None,
                grouped: bool = True) -> torch.Tensor:
        """The density at points.

        Parameters
        ----------
        env : Environment
            From :meth:`prepare`.
        points : (M, 3) array-like or torch.Tensor, bohr
            Where to evaluate.
        pair_batch : int, optional
            Evaluate the atom-point pairs in batches of at most that many (bounded working
            memory, the same batch size whatever the structure); None: all at once.
        grouped : bool
            Sort the pairs by the species of their atom once, then run each species' batches
            through :func:`species_pair_density` (no per-species gathers and scatters inside a
            batch; the kernel :meth:`use_compiled` may compile). False: the straightforward
            :meth:`pair_density` on batches of mixed species (the reference; both agree to
            float rounding, the sums being taken in another order).

        Returns
        -------
        (M,) torch.Tensor, e/bohr^3
            rho at the points.
        """
        points = self._tensor(points).reshape(-1, 3)
        p, i, vec = self.point_pairs(env, points)
        total = max(p.shape[0], 1)  # at least one (maybe empty) batch: the result keeps its graph
        batch = pair_batch or total
        out = points.new_zeros(points.shape[0])
        if not grouped or p.shape[0] == 0:
            for a in range(0, total, batch):
                b = a + batch
                out.index_add_(0, p[a:b], self.pair_density(env, i[a:b], vec[a:b]))
            return out
        kind = env.species[i]
        order = torch.argsort(kind, stable=True)
        p, i, vec = p[order], i[order], vec[order]
        ends = torch.bincount(kind, minlength=len(self.config.species)).cumsum(0).tolist()
        spec = self._kernel_spec()
        electron = self.descriptor.electron_net.weights()
        start = 0
        for k, end in enumerate(ends):
            if end == start:
                continue
            species = (self.fitting_nets[k].weights(), self.descriptor_mean[k],
                       1.0 / self.descriptor_std[k], self._species_constants(k))
            for a in range(start, end, batch):
                b = min(a + batch, end)
                out.index_add_(0, p[a:b], self._kernel(env.sums, i[a:b], vec[a:b], electron,
                                                       *species, spec))
            start = end
        return out

    def use_compiled(self, enabled: bool = True) -> bool:
        """Run :func:`species_pair_density` through :func:`torch.compile` (or not).

        The first batches then compile (about a minute on 2 CPU cores; cached on disk by
        torch for later processes); worth it for grids of millions of points. Where
        ``torch.compile`` is unavailable or fails on a trial batch (no C++ compiler, an
        unsupported platform) a warning is given and the eager kernel stays.

        Parameters
        ----------
        enabled : bool
            Compile (True) or go back to the eager kernel (False).

        Returns
        -------
        bool
            Whether the compiled kernel is in use.
        """
        self._kernel = species_pair_density
        if not enabled:
            return False
        try:
            compiled = torch.compile(species_pair_density, dynamic=None)
            env = self.prepare([chemical_symbols.index(self.config.species[0])], [[0, 0, 0]])
            with torch.inference_mode():
                trial = self._kernel_trial(env, compiled)
        except Exception as exc:  # noqa: BLE001 - any failure means: stay eager
            warnings.warn(f"torch.compile unavailable ({type(exc).__name__}: {exc}); "
                          "evaluating without it", RuntimeWarning, stacklevel=2)
            return False
        self._kernel = compiled
        return trial

    def _kernel_trial(self, env: Environment, kernel) -> bool:
        vec = torch.tensor([[0.3, 0.2, 0.1]], dtype=self.dtype, device=self.device)
        i = torch.zeros(1, dtype=torch.long, device=self.device)
        args = (env.sums, i, vec, self.descriptor.electron_net.weights(),
                self.fitting_nets[0].weights(), self.descriptor_mean[0],
                1.0 / self.descriptor_std[0], self._species_constants(0), self._kernel_spec())
        return bool(torch.isfinite(kernel(*args)).all())

    def _kernel_spec(self) -> KernelSpec:
        c = self.config
        return KernelSpec(c.rcut_smooth, c.rcut, c.softening, c.sel, c.m2,
                          tuple(self.descriptor.electron_net.kinds),
                          tuple(self.fitting_nets[0].kinds), c.activation, c.core_dip)

    def _species_constants(self, k: int) -> tuple:
        """Species ``k``'s constants, in the order of :func:`species_pair_density`'s consts."""
        consts = (self.rate[k], self.offset[k], self.lin0[k], self.lin1[k])
        if self.config.core_dip:
            consts += (self.core_depth[k], self.core_width[k])
        return consts

    def point_pairs(self, env: Environment, points: torch.Tensor):
        """Point-atom pairs within rcut.

        Parameters
        ----------
        env : Environment
            From :meth:`prepare`.
        points : (M, 3) torch.Tensor, bohr
            Query points.

        Returns
        -------
        p, i : (P,) torch.Tensor of int
            Point and atom index of each pair.
        vec : (P, 3) torch.Tensor, bohr
            Point minus atom image.
        """
        p, i, shift = env.cells.query(points)
        return p, i, image_vectors(points, env.positions, p, i, shift, env.cell)

    def pair_density(self, env: Environment, i: torch.Tensor, vec: torch.Tensor) -> torch.Tensor:
        """Per-atom densities rho_i of atom-electron pairs (the module docstring's formula).

        Parameters
        ----------
        env : Environment
            From :meth:`prepare` (with ``sums``).
        i : (P,) torch.Tensor of int
            Atom of each pair.
        vec : (P, 3) torch.Tensor, bohr
            Electron minus atom image.

        Returns
        -------
        (P,) torch.Tensor, e/bohr^3
            rho_i at the electron.
        """
        kind = env.species[i]
        n = per_kind(self.fitting_nets, kind, self.descriptor(env.sums[i], vec),
                     self.descriptor_mean, 1.0 / self.descriptor_std)
        c = self.config
        d, dsoft = distances(vec, c.softening)
        rate = F.softplus(self.rate[kind] + n[:, 0])
        offset = self.offset[kind] + n[:, 1]
        c0 = F.softplus(self.lin0[kind] + n[:, 2])
        c1 = F.softplus(self.lin1[kind] + n[:, 3])
        taper = switch(d, c.rcut_smooth, c.rcut)
        rho = taper * (c0 + c1 * dsoft) * torch.exp(-rate * (dsoft - offset))
        if c.core_dip:
            rho = rho * core_factor((vec * vec).sum(-1), self.core_depth[kind],
                                    self.core_width[kind])
        return rho

    @torch.no_grad()
    def set_descriptor_statistics(self, samples) -> None:
        """Set the descriptor normalisation (``descriptor_mean``, ``descriptor_std``) from data.

        Per species of the centre atom, the mean and std (floored at 1e-3 of the largest std) of
        each descriptor entry over all atom-point pairs within rcut; a species with fewer than
        two pairs keeps its values. Plays the part of deepmd-kit's ``compute_input_stats``.

        Parameters
        ----------
        samples : iterable of (Environment, (M, 3) array-like)
            Prepared structures and points in bohr.
        """
        stats = [[] for _ in self.config.species]
        for env, points in samples:
            _, i, vec = self.point_pairs(env, self._tensor(points).reshape(-1, 3))
            desc = self.descriptor(env.sums[i], vec)
            kind = env.species[i]
            for k in range(len(stats)):
                stats[k].append(desc[kind == k])
        for k, rows in enumerate(stats):
            rows = torch.cat(rows)
            if rows.shape[0] < 2:
                continue
            std = rows.std(0)
            self.descriptor_mean[k] = rows.mean(0)
            self.descriptor_std[k] = std.clamp_min(1e-3 * float(std.max()))

    def _tensor(self, x) -> torch.Tensor:
        if isinstance(x, torch.Tensor):
            return x.to(device=self.device, dtype=self.dtype)
        return torch.as_tensor(np.asarray(x, dtype=float), dtype=self.dtype, device=self.device)
