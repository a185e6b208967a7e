"""The compact, exact form of a Kohn–Sham reference density: occupied orbitals in a Gaussian basis.

rho(r) = sum_k occ_k |sum_mu C_mu,k phi_mu(r)|^2, with the basis (e.g. gth-dzvp) rebuilt by PySCF from
its name. A water octamer needs ~50 kB this way instead of ~4 MB for its 0.2-bohr grid, and the
density can be evaluated at any point (random training points, any grid).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np

from ddviz.errors import FileFormatError
from ddviz.pyscf_names import BASIS_NAMES, PSEUDO_NAMES, allowed_name

# names of the netCDF variables / attributes that carry an OrbitalDensity
VAR_COEFF = "orbital_coefficients"  # (ao, orbital) float64
VAR_OCC = "orbital_occupations"  # (orbital,) electrons per orbital
ATTR_BASIS = "orbital_basis"  # PySCF basis name, e.g. "gth-dzvp"
ATTR_PSEUDO = "orbital_pseudo"  # PySCF pseudopotential name, e.g. "gth-pbe" ("" for none)


def _shown(text) -> str:
    """A file-supplied string as it may appear in a one-line message (short, escaped)."""
    text = repr(str(text))
    return text if len(text) <= 60 else text[:57] + "..."


@dataclass(eq=False)
class OrbitalDensity:
    """Occupied orbitals of a molecule. positions in bohr; coeff (nao, nocc); occ (nocc,)."""

    numbers: np.ndarray
    positions_bohr: np.ndarray
    basis: str
    pseudo: str
    coeff: np.ndarray
    occ: np.ndarray
    _mol: object = field(default=None, repr=False)

    def __post_init__(self):
        self.numbers = np.asarray(self.numbers, dtype=int).reshape(-1)
        self.positions_bohr = np.asarray(self.positions_bohr, dtype=float).reshape(-1, 3)
        self.coeff = np.asarray(self.coeff, dtype=float)
        self.occ = np.asarray(self.occ, dtype=float).reshape(-1)
        if self.coeff.ndim != 2 or self.coeff.shape[1] != self.occ.size:
            raise FileFormatError(f"orbital coefficients {self.coeff.shape} do not match "
                                  f"{self.occ.size} occupations", field=VAR_COEFF)
        if not (np.all(np.isfinite(self.coeff)) and np.all(np.isfinite(self.occ))):
            raise FileFormatError("orbital coefficients or occupations are not finite",
                                  field=VAR_COEFF)
        # The names may come from a file: only the allow-list's own spelling reaches PySCF.
        basis = allowed_name(self.basis, BASIS_NAMES)
        if basis is None:
            raise FileFormatError(f"unknown basis name {_shown(self.basis)}; known: "
                                  f"{', '.join(BASIS_NAMES)}", field=ATTR_BASIS)
        pseudo = allowed_name(self.pseudo or "", PSEUDO_NAMES)
        if pseudo is None:
            raise FileFormatError(f"unknown pseudopotential name {_shown(self.pseudo)}; known: "
                                  f"{', '.join(n for n in PSEUDO_NAMES if n)} or none",
                                  field=ATTR_PSEUDO)
        self.basis, self.pseudo = basis, pseudo

    @property
    def mol(self):
        """The PySCF molecule (bohr), built once from the basis and pseudopotential names."""
        if self._mol is None:
            from ase.data import chemical_symbols
            from pyscf import gto

            atom = [(chemical_symbols[z], tuple(p)) for z, p in zip(self.numbers, self.positions_bohr)]
            try:
                mol = gto.M(atom=atom, basis=self.basis, pseudo=self.pseudo or None, unit="Bohr",
                            spin=None, verbose=0)  # any parity: only the basis is used
            except Exception as exc:  # unknown basis name, element without that basis...
                raise FileFormatError(f"cannot build basis {self.basis!r} / pseudopotential "
                                      f"{self.pseudo!r}: {exc}", field=ATTR_BASIS) from exc
            if mol.nao != self.coeff.shape[0]:
                raise FileFormatError(f"basis {self.basis!r} has {mol.nao} functions but the "
                                      f"coefficients have {self.coeff.shape[0]} rows", field=VAR_COEFF)
            self._mol = mol
        return self._mol

    @property
    def electrons(self) -> float:
        """Number of electrons, the sum of the occupations."""
        return float(self.occ.sum())

    def evaluate(self, points_bohr, chunk: int = 32768) -> np.ndarray:
        """(M,) e/bohr^3 at points (M, 3) bohr, in chunks of ``chunk`` points (bounded memory)."""
        points = np.asarray(points_bohr, dtype=float).reshape(-1, 3)
        out = np.empty(len(points))
        weighted = self.coeff * np.sqrt(self.occ)[None, :]
        for s in range(0, len(points), chunk):
            ao = self.mol.eval_gto("GTOval_sph", points[s:s + chunk])
            psi = ao @ weighted
            out[s:s + chunk] = np.einsum("pk,pk->p", psi, psi)
        return out

    def evaluate_grid(self, grid, chunk: int = 1 << 16, coarse=None) -> np.ndarray:
        """(grid.shape) e/bohr^3 on every point of a :class:`ddviz.grid.Grid`, in chunks.

        coarse: ``(step, values)`` with the values already known on ``grid.every(step)``: they
        are copied, and only the other points are evaluated.
        """
        if coarse is None:
            values = np.empty(grid.size)
            for s in range(0, grid.size, chunk):
                values[s:s + chunk] = self.evaluate(grid.points(s, s + chunk))
            return values.reshape(grid.shape)
        from ddviz.grid import Refinement

        rest = Refinement(grid, coarse[0])
        values = np.empty(grid.shape)
        rest.put_coarse(values, coarse[1])
        for s in range(0, rest.size, chunk):
            values.flat[rest.flat(s, s + chunk)] = self.evaluate(rest.points(s, s + chunk))
        return values

    # --- netCDF (xarray) representation ---------------------------------------------------------
    def to_vars(self) -> tuple[dict, dict]:
        """(data variables, attributes) to store in an xarray Dataset."""
        return ({VAR_COEFF: (("ao", "orbital"), self.coeff), VAR_OCC: (("orbital",), self.occ)},
                {ATTR_BASIS: self.basis, ATTR_PSEUDO: self.pseudo or ""})

    @classmethod
    def from_dataset(cls, ds, numbers, positions_bohr) -> OrbitalDensity | None:
        """The orbitals stored in ``ds`` (None if it has none)."""
        if VAR_COEFF not in ds.variables:
            return None
        for name in (VAR_OCC,):
            if name not in ds.variables:
                raise FileFormatError(f"has {VAR_COEFF} but no {name}", field=name)
        for name in (ATTR_BASIS, ATTR_PSEUDO):
            if name not in ds.attrs:
                raise FileFormatError(f"has {VAR_COEFF} but no attribute {name}", field=name)
        return cls(numbers, positions_bohr, str(ds.attrs[ATTR_BASIS]), str(ds.attrs[ATTR_PSEUDO]),
                   np.asarray(ds[VAR_COEFF].values), np.asarray(ds[VAR_OCC].values))

    def describe(self) -> str:
        """JSON summary: basis, pseudopotential, basis size, occupied orbitals, electrons."""
        return json.dumps({"basis": self.basis, "pseudo": self.pseudo, "nao": self.coeff.shape[0],
                           "nocc": self.occ.size, "electrons": self.electrons})
