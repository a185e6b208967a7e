"""Atomic-orbital layout of a PySCF basis and the Wigner-D matrices of its shells, in PySCF order.

PySCF's spherical (``GTOval_sph``, ``cart=False``) basis functions of a shell of angular
momentum l come in this order:

* l = 0: s;
* l = 1: p_x, p_y, p_z (a special case of PySCF: *not* m = -1, 0, 1);
* l >= 2: m = -l .. l of the real solid harmonics, e.g. for d: d_xy, d_yz, d_z2, d_xz,
  d_x2-y2 (m = -2, -1, 0, 1, 2), all with positive signs.

e3nn (0.6) represents rotations by ``o3.Irrep(l, p).D_from_matrix(R)``; its l = 1 basis is
(x, y, z) of the input coordinates, but its l >= 2 harmonics are built with the y axis as the
polar axis (e.g. its l = 2 are sqrt(3) xz, sqrt(3) xy, y^2 - (x^2 + z^2)/2, sqrt(3) yz,
sqrt(3)/2 (z^2 - x^2)). Evaluated in the permuted frame x' = P x = (y, z, x), the y' axis is the
true z axis, and e3nn's real harmonics become the standard ones in the order m = -l .. l.
Hence, for a rotation R of the molecule (positions x -> R x),

    D_pyscf,l(R) = Q_l D_e3nn,l(P R P^T) Q_l^T,

with Q_l the identity for l != 1 and, for l = 1, the permutation from e3nn's order in the
permuted frame (y, z, x) back to PySCF's (x, y, z): PySCF index i takes e3nn index
``[2, 0, 1][i]``. ``tests/test_hamiltonian_basis.py`` checks this against PySCF's own basis
functions (up to l = 3) and against recomputed Kohn–Sham and overlap matrices of a rotated water
molecule: every atom-pair block obeys F'_IJ = D_I(R) F_IJ D_J(R)^T, with D_I the block diagonal
of the Wigner-D matrices of atom I's shells.

An equivariant network fed with P x therefore produces features that transform with
D_e3nn(P R P^T), i.e. as PySCF's functions after the reordering of :data:`PYSCF_FROM_E3NN`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from ddviz.errors import DdvizError

#: the frame change x' = P x = (y, z, x) that makes e3nn's harmonics the standard ones
FRAME = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
#: for each l whose PySCF order differs from e3nn's (in the frame P): PySCF index -> e3nn index
PYSCF_FROM_E3NN = {1: (2, 0, 1)}


def pyscf_order(l: int) -> np.ndarray:
    """Indices into e3nn's 2l+1 components (frame :data:`FRAME`) giving PySCF's order."""
    return np.asarray(PYSCF_FROM_E3NN.get(l, range(2 * l + 1)))


@cache
def element_shells(symbol: str, basis: str) -> tuple[int, ...]:
    """The angular momentum l of each shell of one atom of ``symbol`` in ``basis`` (spherical).

    Parameters
    ----------
    symbol : str
        Chemical symbol, e.g. ``"O"``.
    basis : str
        A PySCF basis name, e.g. ``"def2-svp"``.

    Returns
    -------
    tuple of int
        One l per shell, in PySCF's order (e.g. O/def2-SVP: (0, 0, 0, 1, 1, 2)).

    Raises
    ------
    DdvizError
        If PySCF has no such basis for this element.
    """
    from pyscf import gto

    try:
        mol = gto.M(atom=f"{symbol} 0 0 0", basis=basis, spin=None, verbose=0)
    except Exception as exc:  # noqa: BLE001  (PySCF raises assorted errors for unknown bases)
        raise DdvizError(f"basis {basis!r} has no functions for element {symbol!r}: {exc}",
                         field="basis") from None
    return tuple(int(mol.bas_angular(i)) for i in range(mol.nbas))


@dataclass(frozen=True)
class AOLayout:
    """Where each atom's orbitals sit in a molecule's AO basis.

    Attributes
    ----------
    basis : str
        PySCF basis name.
    shells : tuple of tuple of int
        Per atom, the l of each of its shells (PySCF order).
    offsets : tuple of int
        Per atom, the index of its first AO; a final entry is the number of AOs.
    """

    basis: str
    shells: tuple[tuple[int, ...], ...]
    offsets: tuple[int, ...]

    @classmethod
    def from_symbols(cls, symbols, basis: str) -> AOLayout:
        """The layout of atoms ``symbols`` (in order) in ``basis``."""
        shells = tuple(element_shells(s, basis) for s in symbols)
        sizes = [sum(2 * l + 1 for l in ls) for ls in shells]
        return cls(basis, shells, tuple(int(x) for x in np.concatenate([[0], np.cumsum(sizes)])))

    @property
    def nao(self) -> int:
        """Number of AOs."""
        return self.offsets[-1]

    def atom_slice(self, i: int) -> slice:
        """The AO indices of atom ``i``."""
        return slice(self.offsets[i], self.offsets[i + 1])

    def block(self, matrix: np.ndarray, i: int, j: int) -> np.ndarray:
        """The (atom i, atom j) block of an (nao, nao) matrix."""
        return matrix[self.atom_slice(i), self.atom_slice(j)]

    def rotation(self, rotation: np.ndarray) -> np.ndarray:
        """(nao, nao) block-diagonal Wigner-D of every shell: M' = D M D^T for ``x -> R x``."""
        return np.asarray(_block_diag([wigner_d(l, rotation) for ls in self.shells for l in ls]))


def shell_rotation(shells, rotation: np.ndarray) -> np.ndarray:
    """Block diagonal of :func:`wigner_d` over ``shells`` (one atom's l values)."""
    return _block_diag([wigner_d(l, rotation) for l in shells])


def _block_diag(blocks) -> np.ndarray:
    n = sum(b.shape[0] for b in blocks)
    out = np.zeros((n, n))
    k = 0
    for b in blocks:
        out[k:k + len(b), k:k + len(b)] = b
        k += len(b)
    return out


def wigner_d(l: int, rotation) -> np.ndarray:
    """The (2l+1, 2l+1) Wigner-D matrix of PySCF's real spherical functions of angular momentum l.

    Parameters
    ----------
    l : int
        Angular momentum.
    rotation : array_like, shape (3, 3)
        A proper rotation R acting on positions (x -> R x, Cartesian, any length unit).

    Returns
    -------
    numpy.ndarray
        D with phi_m(r) = sum_n D_mn phi_n(R^T r): PySCF's functions (which keep their
        orientation when the molecule turns) in terms of the turned ones, so that a block F_IJ
        of a shell pair of the rotated molecule is D_l1 F_IJ D_l2^T.
    """
    import torch
    from e3nn import o3

    r = FRAME @ np.asarray(rotation, dtype=float) @ FRAME.T
    default = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)  # e3nn builds its generators in the default dtype
    try:
        d = o3.Irrep(l, 1).D_from_matrix(torch.as_tensor(r)).numpy()
    finally:
        torch.set_default_dtype(default)
    order = pyscf_order(l)
    return d[np.ix_(order, order)]
