"""What a predicted Hamiltonian gives: orbital energies, HOMO/LUMO, and the density it implies.

The generalised eigenproblem H C = S C e is solved with the predicted Kohn–Sham matrix H and
PySCF's exact overlap S of the structure's basis (``scipy.linalg.eigh``); the N/2 lowest
orbitals are doubly occupied (closed shell), and the density is
rho(r) = 2 sum_k |sum_mu C_mu,k phi_mu(r)|^2 (:class:`ddviz.orbitals.OrbitalDensity`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ddviz.errors import UnsupportedError
from ddviz.methods.hamiltonian.data import build_mol
from ddviz.orbitals import OrbitalDensity


@dataclass
class HamiltonianPrediction:
    """A predicted Hamiltonian and its spectrum (Ha), for one structure (bohr).

    Attributes
    ----------
    hamiltonian, overlap : numpy.ndarray, shape (nao, nao)
        Predicted H (Ha) and PySCF's S.
    eigenvalues : numpy.ndarray, shape (nao,)
        Orbital energies (Ha), ascending.
    coefficients : numpy.ndarray, shape (nao, nao)
        The orbitals C (columns), S-orthonormal.
    nelectron : int
        Electrons: the atomic numbers' sum less ``charge``.
    basis : str
    seconds : float
        Wall time of the prediction (network, overlap and eigenproblem).
    """

    numbers: np.ndarray
    positions_bohr: np.ndarray
    hamiltonian: np.ndarray
    overlap: np.ndarray
    eigenvalues: np.ndarray
    coefficients: np.ndarray
    nelectron: int
    basis: str
    seconds: float
    charge: int = 0

    @property
    def nocc(self) -> int:
        """Doubly occupied orbitals."""
        return self.nelectron // 2

    @property
    def homo(self) -> float:
        """Highest occupied orbital energy (Ha)."""
        return float(self.eigenvalues[self.nocc - 1])

    @property
    def lumo(self) -> float | None:
        """Lowest unoccupied orbital energy (Ha), None if the basis has none."""
        return float(self.eigenvalues[self.nocc]) if self.nocc < len(self.eigenvalues) else None

    def orbitals(self, valence: str | None = None) -> OrbitalDensity:
        """The occupied orbitals (occupation 2 each) as an :class:`OrbitalDensity`.

        Parameters
        ----------
        valence : str, optional
            A pseudopotential family (e.g. ``"gth-pbe"``): leave out the lowest
            :func:`core_orbitals` (the cores that family replaces), so that the density is
            comparable with a valence density of that family (Deep Density's, a GTH reference).
            The all-electron valence orbitals keep their oscillations near the nuclei, so the
            two still differ inside the cores. None: every occupied orbital.

        Returns
        -------
        OrbitalDensity

        Raises
        ------
        ddviz.errors.UnsupportedError
            ``valence`` has no entry for one of the elements.
        """
        first = 0 if valence is None else core_orbitals(self.numbers, valence)
        return OrbitalDensity(self.numbers, self.positions_bohr, self.basis, "",
                              self.coefficients[:, first:self.nocc],
                              np.full(self.nocc - first, 2.0))

    def summary(self) -> dict:
        """The JSON summary of ``ddviz hamiltonian --json`` (energies in Ha)."""
        lumo = self.lumo
        return {"eigenvalues_ha": [float(e) for e in self.eigenvalues],
                "homo_ha": self.homo, "lumo_ha": lumo,
                "gap_ha": None if lumo is None else lumo - self.homo,
                "nelectron": self.nelectron, "charge": self.charge, "basis": self.basis,
                "seconds": round(self.seconds, 4)}


def core_orbitals(numbers, pseudo: str = "gth-pbe") -> int:
    """Doubly occupied orbitals a pseudopotential family replaces: sum of (Z - Z_val) / 2.

    Parameters
    ----------
    numbers : array_like of int, shape (N,)
        Atomic numbers.
    pseudo : str
        The family (:func:`ddviz.reference.scf.valence_charges`; ``gth-pbe``: H 0, C 1, O 1).

    Returns
    -------
    int

    Raises
    ------
    ddviz.errors.UnsupportedError
        The family has no entry for one of the elements.
    """
    from ase.data import chemical_symbols

    from ddviz.reference.scf import valence_charges

    numbers = np.asarray(numbers, dtype=int).reshape(-1)
    zval = valence_charges([chemical_symbols[z] for z in numbers], pseudo)
    if zval is None:
        raise UnsupportedError(f"pseudopotential {pseudo!r} has no entry for one of "
                               f"{sorted({chemical_symbols[z] for z in numbers})}")
    return int(round(float((numbers - zval).sum()) / 2))


def from_fock(numbers, positions_bohr, fock, overlap, basis: str) -> HamiltonianPrediction:
    """A reference Kohn–Sham matrix F (Ha) as a :class:`HamiltonianPrediction` (``seconds`` 0).

    Its orbitals and orbital energies are those of F C = S C e, so a reference and a prediction
    are handled alike (levels, implied density).

    Parameters
    ----------
    numbers : array_like of int, shape (N,)
    positions_bohr : array_like, shape (N, 3)
    fock, overlap : numpy.ndarray, shape (nao, nao)
        In the AO basis ``basis`` (PySCF order), Ha and dimensionless.
    basis : str

    Returns
    -------
    HamiltonianPrediction
    """
    numbers = np.asarray(numbers, dtype=int).reshape(-1)
    positions = np.asarray(positions_bohr, dtype=float).reshape(-1, 3)
    e, c = solve(fock, overlap)
    return HamiltonianPrediction(numbers, positions, np.asarray(fock, dtype=float),
                                 np.asarray(overlap, dtype=float), e, c, int(numbers.sum()),
                                 basis, 0.0)


def solve(hamiltonian: np.ndarray, overlap: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (ascending) and S-orthonormal eigenvectors of H C = S C e (float64)."""
    import scipy.linalg

    return scipy.linalg.eigh(np.asarray(hamiltonian, dtype=float),
                             np.asarray(overlap, dtype=float))


def predict(model, numbers, positions_bohr, charge: int = 0) -> HamiltonianPrediction:
    """Predict the Hamiltonian of a structure and solve its generalised eigenproblem.

    Parameters
    ----------
    model : HamiltonianModel
    numbers : array_like of int, shape (N,)
    positions_bohr : array_like, shape (N, 3)
    charge : int
        Total charge (e): the electron count is the atomic numbers' sum less ``charge``.

    Returns
    -------
    HamiltonianPrediction

    Raises
    ------
    DdvizError
        Elements outside the model's species; ConfigError for an odd electron count.
    """
    import torch

    numbers = np.asarray(numbers, dtype=int).reshape(-1)
    positions = np.asarray(positions_bohr, dtype=float).reshape(-1, 3)
    model.check_species(numbers)
    start = time.perf_counter()
    mol = build_mol(numbers, positions, model.config.basis, charge)  # odd count refused here
    with torch.no_grad():
        h = model(torch.as_tensor(numbers), torch.as_tensor(positions, dtype=model.dtype))
    h = h.double().cpu().numpy()
    s = mol.intor("int1e_ovlp")
    e, c = solve(h, s)
    return HamiltonianPrediction(numbers, positions, h, s, e, c, int(mol.nelectron),
                                 model.config.basis, time.perf_counter() - start, int(charge))
