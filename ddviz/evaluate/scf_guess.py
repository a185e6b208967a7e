"""A Kohn–Sham SCF started from a density: the initial density matrix and the cycles it saves.

The guess is one Fock build from the density and one diagonalisation (the "potential" guess):

    F = h_core + J[rho] + V_xc[rho],   F C = S C e,   D0 = 2 sum_occ C C^T,

with h_core including the GTH pseudopotential and V_xc by libxc through PySCF on the SCF's own
DFT grid: the density is evaluated at the grid points (a Deep Density model predicts at any
point). The density is fitted in an auxiliary basis (PySCF's for the basis, the even-tempered
one for gth-dzvp): rho ~ sum_P c_P chi_P with the overlap metric on the DFT grid and the fit's
charge held to the molecule's electron count; J_mn = sum_P (mn|P) c_P, and the fit's gradient is
the one a GGA needs (central differences of the density itself are the alternative: six more
model evaluations, the same cycles on ethane, measured).

The SCF from ``dm0`` and the SCF from PySCF's ``minao`` guess run with identical settings (:mod:`ddviz.reference.scf`: PBE, GTH-PBE, gth-dzvp, grid
level 1); the density matrix is passed itself, since PySCF falls back to its default silently
for an ``init_guess`` name it does not know.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import numpy as np

from ddviz.errors import ConvergenceError, UnsupportedError

_AO_CHUNK = 8192  # DFT grid points per block of basis-function values
_FD_STEP_BOHR = 1e-3  # central-difference step of the density gradient


@dataclass
class WarmStart:
    """Two SCF runs of one structure: from the density's guess and from ``minao``.

    Cycles as PySCF counts them (``mf.cycles``); seconds of wall time (``seconds_guess``
    includes building the guess, ``seconds_guess_build`` is that part alone); energies in Ha.
    """

    cycles_guess: int
    cycles_default: int
    seconds_guess: float
    seconds_default: float
    seconds_guess_build: float
    energy_guess_ha: float
    energy_default_ha: float
    energy_diff_ha: float
    guess_energy_ha: float  # the KS energy of dm0 itself, before any cycle

    def to_dict(self) -> dict:
        """The fields as a JSON-serialisable dict."""
        return asdict(self)


def _gradient(density, coords: np.ndarray) -> np.ndarray:
    """(3, N) the density's gradient at ``coords`` (bohr) by central differences."""
    out = np.empty((3, len(coords)))
    for ax in range(3):
        shift = np.zeros(3)
        shift[ax] = _FD_STEP_BOHR
        out[ax] = (np.asarray(density(coords + shift), dtype=np.float64)
                   - np.asarray(density(coords - shift), dtype=np.float64)) / (2 * _FD_STEP_BOHR)
    return out


def _xc_matrix(mf, rho: np.ndarray, coords: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """V_xc (nao, nao) of a density on the grid: ``rho`` (N,), or (4, N) with its gradient."""
    ni = mf._numint
    gga = rho.ndim == 2
    vxc = ni.eval_xc_eff(mf.xc, rho, deriv=1, xctype="GGA" if gga else "LDA")[1]
    wv = np.asarray(vxc).reshape(4 if gga else 1, -1) * weights
    wv[0] *= 0.5  # the matrix is symmetrised below
    nao = mf.mol.nao
    vmat = np.zeros((nao, nao))
    for s in range(0, len(coords), _AO_CHUNK):
        ao = ni.eval_ao(mf.mol, coords[s:s + _AO_CHUNK], deriv=1 if gga else 0)
        ao = ao.reshape(-1, ao.shape[-2], nao)
        w = wv[:, s:s + _AO_CHUNK]
        aow = np.einsum("xpi,xp->pi", ao[:len(w)], w)
        vmat += ao[0].T @ aow
    return vmat + vmat.T


def _fit(mol, rho: np.ndarray, coords: np.ndarray, weights: np.ndarray, electrons: float):
    """(auxmol, coefficients): the density fitted in the auxiliary basis, charge kept.

    Overlap metric on the DFT grid: minimises sum_g w_g (rho - sum_P c_P chi_P)^2 subject to
    sum_P c_P int chi_P = ``electrons``.
    """
    from pyscf import df

    auxmol = df.addons.make_auxmol(mol, df.make_auxbasis(mol))
    overlap = auxmol.intor("int1e_ovlp")
    project, charges = np.zeros(auxmol.nao), np.zeros(auxmol.nao)  # <chi_P|rho>, <chi_P|1>
    for s in range(0, len(coords), _AO_CHUNK):
        chi = auxmol.eval_gto("GTOval_sph", coords[s:s + _AO_CHUNK])
        w = weights[s:s + _AO_CHUNK]
        project += chi.T @ (w * rho[s:s + _AO_CHUNK])
        charges += chi.T @ w
    coeff = np.linalg.solve(overlap, project)
    along = np.linalg.solve(overlap, charges)
    coeff += (electrons - charges @ coeff) / (charges @ along) * along  # the fit's charge
    return auxmol, coeff


def _fit_gradient(auxmol, coeff: np.ndarray, coords: np.ndarray) -> np.ndarray:
    """(3, N) the gradient of the fitted density at ``coords`` (bohr)."""
    out = np.empty((3, len(coords)))
    for s in range(0, len(coords), _AO_CHUNK):
        d = auxmol.eval_gto("GTOval_sph_deriv1", coords[s:s + _AO_CHUNK])  # (4, n, naux)
        out[:, s:s + _AO_CHUNK] = d[1:] @ coeff
    return out


def _coulomb_matrix(mol, auxmol, coeff: np.ndarray) -> np.ndarray:
    """J_mn = sum_P (mn|P) c_P (nao, nao) of the fitted density."""
    from pyscf import df

    int3c = df.incore.aux_e2(mol, auxmol, "int3c2e", aosym="s1").reshape(mol.nao, mol.nao, -1)
    return int3c @ coeff


def density_guess(mf, density, gradient: str = "fit") -> np.ndarray:
    """The initial density matrix of one Fock build from a density (see the module text).

    Parameters
    ----------
    mf : pyscf.dft.rks.RKS
        The configured closed-shell mean-field object (its DFT grid is built if needed).
    density : callable
        ``density(points (M, 3) bohr) -> (M,)`` valence density, e/bohr^3.
    gradient : {"fit", "differences"}
        The density gradient a GGA needs: of the auxiliary-basis fit (no further density
        evaluations), or by central differences of ``density`` (six more evaluations).

    Returns
    -------
    ndarray of shape (nao, nao)
        The density matrix of the occupied orbitals of that Fock matrix.

    Raises
    ------
    ddviz.errors.UnsupportedError
        An open-shell or unrestricted mean-field object.
    """
    if gradient not in ("fit", "differences"):
        raise ValueError(f"gradient must be 'fit' or 'differences', got {gradient!r}")
    if mf.mol.spin:
        raise UnsupportedError("the density guess is for closed shells (spin 0)")
    if mf.grids.coords is None:
        mf.grids.build(with_non0tab=True)
    coords, weights = mf.grids.coords, mf.grids.weights
    rho = np.asarray(density(coords), dtype=np.float64)
    auxmol, coeff = _fit(mf.mol, rho, coords, weights, float(mf.mol.nelectron))
    if mf._numint._xc_type(mf.xc) in ("GGA", "MGGA"):
        grad = (_gradient(density, coords) if gradient == "differences"
                else _fit_gradient(auxmol, coeff, coords))
        rho = np.vstack([rho, grad])
    fock = mf.get_hcore() + _xc_matrix(mf, rho, coords, weights)
    fock += _coulomb_matrix(mf.mol, auxmol, coeff)
    mo_energy, mo_coeff = mf.eig(fock, mf.get_ovlp())
    return mf.make_rdm1(mo_coeff, mf.get_occ(mo_energy, mo_coeff))


def warm_start(atoms, density, settings=None, gradient: str = "fit") -> WarmStart:
    """SCF from the density's guess and from ``minao``, identical settings; cycles and times.

    Parameters
    ----------
    atoms : ase.Atoms
        The structure (Å).
    density : callable
        ``density(points (M, 3) bohr) -> (M,)`` valence density (e/bohr^3), e.g. a model's
        :meth:`~ddviz.evaluate.predictor.Predictor.predict_points` bound to ``atoms``.
    settings : ddviz.reference.scf.SCFSettings, optional
        The SCF (default: the references' method; closed shells only).
    gradient : {"fit", "differences"}
        As :func:`density_guess`.

    Returns
    -------
    WarmStart

    Raises
    ------
    ddviz.errors.UnsupportedError
        An open-shell structure (``settings.spin`` > 0).
    ddviz.errors.ConvergenceError
        Either SCF did not converge.
    """
    from pyscf import lib

    from ddviz.reference.scf import SCFSettings, _make_rks, build_mol

    settings = settings or SCFSettings()
    if settings.spin:
        raise UnsupportedError("the density guess is for closed shells (spin 0)")
    if settings.threads:
        lib.num_threads(settings.threads)
    mol = build_mol(atoms, settings)
    runs = {}
    for name in ("guess", "default"):
        mf = _make_rks(mol, settings)
        mf.init_guess = "minao"
        start = time.perf_counter()
        dm0, build, guess_energy = None, 0.0, float("nan")
        if name == "guess":
            dm0 = density_guess(mf, density, gradient)
            build = time.perf_counter() - start
            guess_energy = float(mf.energy_tot(dm0))
        energy = mf.kernel(dm0=dm0)
        if not mf.converged:
            raise ConvergenceError(f"the SCF of {atoms.get_chemical_formula()} from the "
                                   f"{name} guess did not converge in {mf.max_cycle} cycles")
        runs[name] = (int(mf.cycles), time.perf_counter() - start, float(energy), build,
                      guess_energy)
    (cg, sg, eg, build, e0), (cd, sd, ed, _, _) = runs["guess"], runs["default"]
    return WarmStart(cg, cd, sg, sd, build, eg, ed, eg - ed, e0)
