"""Neighbour search with cell lists in torch: linear in atoms and in probe points (bohr).

Periodic axes (any triclinic cell) are handled by explicit images: atoms are wrapped into the cell
and every image whose fractional coordinate along a periodic axis lies within ``rcut / width`` of
the cell (``width`` = the cell's perpendicular width along that axis) is kept, so a cutoff larger
than the cell itself works. Images are binned in Cartesian cubes of edge ``rcut``; a point looks at
the 27 bins around its own. Only occupied bins are stored (sorted keys + searchsorted), so sparse or
far-flung structures cost no memory for empty space.

A pair ``(p, i, shift)`` means: point ``p`` lies within ``rcut`` of the image of atom ``i`` at
``positions[i] + shift @ cell`` (``shift``: (3,) integer lattice translation, zero on open axes).
The search runs in float64 without gradients; displacement vectors are then recomputed from the
caller's tensors (:func:`image_vectors`), so they carry gradients and the caller's dtype.
"""

from __future__ import annotations

import math

import torch

from ddviz.errors import ConfigError

_EPS = 1e-9
_OFFSETS = torch.cartesian_prod(*[torch.arange(-1, 2)] * 3)  # (27, 3)


def as_pbc(pbc) -> tuple[bool, bool, bool]:
    """A bool or three bools -> a 3-tuple of bools."""
    if isinstance(pbc, bool) or not hasattr(pbc, "__len__"):
        return (bool(pbc),) * 3
    if len(pbc) != 3:
        raise ConfigError(f"expected one or three booleans, got {pbc!r}", field="pbc")
    return tuple(bool(p) for p in pbc)


def perpendicular_widths(cell: torch.Tensor) -> torch.Tensor:
    """(3,) bohr: distance between opposite faces of the cell (3, 3), rows = lattice vectors."""
    volume = torch.linalg.det(cell).abs()
    crosses = torch.linalg.cross(cell[[1, 2, 0]], cell[[2, 0, 1]], dim=1)
    return volume / torch.linalg.norm(crosses, dim=1)


def image_vectors(points, positions, p, i, shift, cell=None) -> torch.Tensor:
    """Displacements from atom images to points, ``points[p] - (positions[i] + shift @ cell)``.

    Differentiable; in the caller's dtype.

    Parameters
    ----------
    points : (M, 3) torch.Tensor, bohr
        Query points.
    positions : (N, 3) torch.Tensor, bohr
        Atom positions.
    p, i : (P,) torch.Tensor of int
        Point and atom of each pair.
    shift : (P, 3) torch.Tensor of int
        Lattice-vector multiples of the atom's image.
    cell : (3, 3) torch.Tensor, bohr, optional
        Lattice vectors as rows; None without periodic axes.

    Returns
    -------
    (P, 3) torch.Tensor, bohr
        Point minus atom image.
    """
    vec = points[p] - positions[i]
    if cell is not None and shift.numel():
        vec = vec - shift.to(vec.dtype) @ cell.to(vec.dtype)
    return vec


class CellList:
    """Atom images binned for repeated "which atoms are within rcut of these points" queries.

    positions: (N, 3) bohr. cell: (3, 3) bohr, rows = lattice vectors (needed when any axis is
    periodic; full rank: the rows of open axes only complete it, as the unit normals of
    :func:`ddviz.grid.lattice_frame` do for a slab or wire). pbc: bool or three bools.
    """

    def __init__(self, positions: torch.Tensor, rcut: float, cell=None, pbc=False):
        self.rcut = float(rcut)
        self.pbc = as_pbc(pbc)
        pos = torch.as_tensor(positions).detach().to(torch.float64).reshape(-1, 3)
        self.device = pos.device
        self.natoms = pos.shape[0]
        self.periodic = torch.tensor(self.pbc, device=self.device)
        self.cell = None
        wrap = torch.zeros(self.natoms, 3, dtype=torch.long, device=self.device)
        img_atom = torch.arange(self.natoms, device=self.device)
        img_shift = torch.zeros(self.natoms, 3, dtype=torch.long, device=self.device)
        img_pos = pos
        if any(self.pbc):
            if cell is None:
                raise ConfigError("a periodic structure needs a cell", field="cell")
            self.cell = torch.as_tensor(cell).detach().to(torch.float64).to(self.device)
            self.cell = self.cell.reshape(3, 3)
            scale = torch.linalg.norm(self.cell, dim=1).prod()
            if not torch.linalg.det(self.cell).abs() > 1e-8 * scale:
                raise ConfigError("the cell is degenerate (zero volume)", field="cell")
            self.inv_cell = torch.linalg.inv(self.cell)
            frac, wrap = self._wrap(pos)
            pad = self.rcut / perpendicular_widths(self.cell)
            ranges = [torch.arange(-math.ceil(pad[a] + _EPS), math.ceil(pad[a] + _EPS) + 1)
                      if self.pbc[a] else torch.zeros(1, dtype=torch.long) for a in range(3)]
            shifts = torch.cartesian_prod(*ranges).reshape(-1, 3).to(self.device)  # (K, 3)
            img_frac = frac[:, None, :] + shifts[None].to(frac.dtype)  # (N, K, 3)
            inside = (img_frac > -pad - _EPS) & (img_frac < 1 + pad + _EPS)
            keep = (inside | ~self.periodic).all(-1)
            img_atom, k = keep.nonzero(as_tuple=True)
            img_shift = shifts[k] - wrap[img_atom]
            img_pos = img_frac[img_atom, k] @ self.cell
        self._bin(img_pos, img_atom, img_shift)

    def _wrap(self, x: torch.Tensor):
        """Fractional coordinates wrapped into [0, 1) on periodic axes, and the integer wraps."""
        frac = x @ self.inv_cell
        wrap = torch.where(self.periodic, torch.floor(frac), torch.zeros_like(frac))
        return frac - wrap, wrap.long()

    def _bin(self, img_pos, img_atom, img_shift):
        """Sort images by Cartesian bin (edge rcut); keep only occupied bins' keys and ranges."""
        empty = img_pos.shape[0] == 0
        self.lo = img_pos.new_zeros(3) if empty else img_pos.min(0).values
        b = torch.floor((img_pos - self.lo) / self.rcut).long()
        self.dims = torch.ones(3, dtype=torch.long, device=self.device) if empty else b.amax(0) + 1
        key = self._key(b)
        order = torch.argsort(key)
        self.img_pos, self.img_atom = img_pos[order], img_atom[order]
        self.img_shift = img_shift[order]
        self.keys, self.counts = torch.unique_consecutive(key[order], return_counts=True)
        self.starts = torch.cumsum(self.counts, 0) - self.counts

    def _key(self, b: torch.Tensor) -> torch.Tensor:
        return (b[..., 0] * self.dims[1] + b[..., 1]) * self.dims[2] + b[..., 2]

    @property
    def nimages(self) -> int:
        """Number of atom images in the list."""
        return self.img_pos.shape[0]

    def candidate_counts(self, points: torch.Tensor) -> torch.Tensor:
        """(M,) images in the 27 bins around each point (an upper bound on its pairs)."""
        return self._slots(points)[2].sum(1)

    def _slots(self, points):
        q = torch.as_tensor(points).detach().to(device=self.device, dtype=torch.float64)
        q = q.reshape(-1, 3)
        wrap = torch.zeros(q.shape[0], 3, dtype=torch.long, device=self.device)
        if self.cell is not None:
            frac, wrap = self._wrap(q)
            q = frac @ self.cell
        b = torch.floor(((q - self.lo) / self.rcut).clamp(-2.0, 2.0**40)).long()
        b = torch.minimum(b, self.dims + 1)  # far points: out of range, no overflow in keys
        nb = b[:, None, :] + _OFFSETS.to(self.device)[None]  # (M, 27, 3)
        valid = ((nb >= 0) & (nb < self.dims)).all(-1)
        key = self._key(nb)
        if self.keys.numel() == 0:
            count = torch.zeros_like(key)
            return q, wrap, count, count
        at = torch.searchsorted(self.keys, key.contiguous()).clamp(max=self.keys.numel() - 1)
        found = valid & (self.keys[at] == key)
        count = torch.where(found, self.counts[at], torch.zeros_like(key))
        return q, wrap, count, self.starts[at]

    def query(self, points: torch.Tensor):
        """Pairs of points (M, 3) bohr and atom images within rcut.

        Returns ``(p, i, shift)``: (P,) point indices, (P,) atom indices, (P, 3) int64 shifts.
        """
        q, wrap, count, start = self._slots(points)
        count, start = count.reshape(-1), start.reshape(-1)
        total = int(count.sum())
        slot = torch.arange(count.numel(), device=self.device)
        slot_of = torch.repeat_interleave(slot, count, output_size=total)
        first = torch.cumsum(count, 0) - count
        cand = start[slot_of] + torch.arange(total, device=self.device) - first[slot_of]
        p = torch.div(slot_of, 27, rounding_mode="floor")
        d = q[p] - self.img_pos[cand]
        keep = (d * d).sum(-1) < self.rcut ** 2
        p, cand = p[keep], cand[keep]
        return p, self.img_atom[cand], self.img_shift[cand] + wrap[p]

    def atom_pairs(self, positions: torch.Tensor):
        """Atom pairs within rcut.

        The atom itself (i == j, zero shift) is excluded.

        Parameters
        ----------
        positions : (N, 3) torch.Tensor, bohr
            The atoms the list was built from.

        Returns
        -------
        i, j : (P,) torch.Tensor of int
            Centre atom and neighbour atom.
        shift : (P, 3) torch.Tensor of int
            Atom j's image lies at ``positions[j] + shift @ cell``.
        """
        i, j, shift = self.query(positions)
        keep = (i != j) | (shift != 0).any(1)
        return i[keep], j[keep], shift[keep]


def point_pairs(points, positions, rcut, cell=None, pbc=False):
    """Point-atom pairs within rcut: ``(p, i, shift, vec)``; vec = point - atom image, (P, 3)."""
    cells = CellList(positions, rcut, cell, pbc)
    p, i, shift = cells.query(points)
    return p, i, shift, image_vectors(points, positions, p, i, shift, _cell(cell, positions))


def atom_pairs(positions, rcut, cell=None, pbc=False):
    """Atom-atom pairs within rcut: ``(i, j, shift, vec)``; vec = image of j - atom i, (P, 3)."""
    cells = CellList(positions, rcut, cell, pbc)
    i, j, shift = cells.atom_pairs(positions)
    return i, j, shift, -image_vectors(positions, positions, i, j, shift, _cell(cell, positions))


def _cell(cell, like):
    return None if cell is None else torch.as_tensor(cell, dtype=like.dtype, device=like.device)
