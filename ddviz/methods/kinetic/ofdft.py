"""Orbital-free DFT of two-electron molecules: minimise E[rho] over densities (bohr, Ha).

Representation: rho = 2 |phi|^2 with phi = sum_mu c_mu chi_mu / sqrt(c^T S c) in def2-TZVP, so
every density holds exactly two electrons. E[rho] = T_s[rho] + E_ext + E_H + E_xc (PBE) + E_nn:
E_ext, E_H and E_xc and their gradient with respect to the density matrix D = 2 c c^T / (c^T S c)
come from PySCF (core Hamiltonian, ``get_veff`` on the Becke grid); T_s is either the learned
functional (evaluated on the Becke grid of :data:`~ddviz.methods.kinetic.data.GRID_LEVEL`, its
gradient by autograd through the model to the grid values of rho and grad rho and on to c) or,
with ``functional="vw"``, the von Weizsäcker functional, exact for two electrons:
T_vW = tr(D T) (the kinetic-energy matrix T). With vW the minimum is the Kohn–Sham ground state.

Optimiser: scipy's L-BFGS on c from the core Hamiltonian's lowest orbital (a poor guess: no
electron–electron repulsion). As in Remme et al., J. Chem. Phys. 159, 144113 (2023), the density
is optimised directly; here in the orbital-coefficient parametrisation (positive, normalised).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from ddviz.methods.kinetic.data import GRID_LEVEL, XC, molecule

PARTS = ("kinetic_ha", "external_ha", "hartree_ha", "xc_ha", "nuclear_ha")


@dataclass
class Result:
    """An OF-DFT run.

    Attributes
    ----------
    energy_ha : float
        Total energy (Ha).
    parts : dict
        ``kinetic_ha``, ``external_ha`` (electron–nucleus), ``hartree_ha``, ``xc_ha``,
        ``nuclear_ha`` (nucleus–nucleus).
    iterations : int
        L-BFGS iterations.
    converged : bool
        Whether the final orbital is a stationary point: the largest component of the energy's
        gradient there within ``gradient_tol`` of :func:`run` (not merely that L-BFGS stopped:
        a line search that cannot progress also stops it).
    seconds : float
        Wall time.
    coefficients : numpy.ndarray (nao,)
        The optimised orbital, normalised through S.
    history : list of float
        The energy after each iteration (Ha).
    functional : str
        "vw" or "model".
    stopped : bool
        Whether the run was stopped on request (``stop`` of :func:`run`) before converging.
    gradient_max : float
        The largest component of the energy's gradient with respect to the orbital
        coefficients at the final orbital (Ha).
    stop_reason : str
        Why the run ended: ``"converged"``; ``"stopped"`` (on request); ``"max_iter"`` (the
        iteration limit); ``"line search stalled after N restarts"`` (L-BFGS could not progress
        and N restarts from a steepest-descent step did not help); ``"no descent step after N
        restarts"`` (the energy does not decrease along the negative gradient: a learned T_s
        outside its range).
    """

    energy_ha: float
    parts: dict
    iterations: int
    converged: bool
    seconds: float
    coefficients: np.ndarray
    history: list = field(default_factory=list)
    functional: str = "model"
    stopped: bool = False
    gradient_max: float = float("nan")
    stop_reason: str = ""

    def summary(self) -> dict:
        """The JSON-serialisable keys the CLI prints."""
        return {"energy_ha": self.energy_ha, **self.parts, "iterations": self.iterations,
                "converged": self.converged, "stop_reason": self.stop_reason,
                "gradient_max_ha": self.gradient_max, "seconds": self.seconds,
                "functional": self.functional}


class ModelKinetic:
    """T_s and dT_s/dc of a :class:`~ddviz.methods.kinetic.model.KineticNet` on a molecule.

    Parameters
    ----------
    model : KineticNet
    mol : pyscf.gto.Mole
    level : int
        Becke grid level of the model's quadrature.
    """

    def __init__(self, model, mol, level: int = GRID_LEVEL):
        import torch
        from pyscf import dft

        from ddviz.methods.kinetic.data import becke_grid

        self.model = model
        dtype = torch.float64
        points, weights = becke_grid(mol, level)
        ao = dft.numint.eval_ao(mol, points, deriv=1)  # (4, n, nao)
        self.ao = torch.as_tensor(ao, dtype=dtype)
        self.S = torch.as_tensor(mol.intor("int1e_ovlp"), dtype=dtype)
        self.inputs = {"Z": torch.as_tensor(mol.atom_charges(), dtype=torch.long),
                       "coords": torch.as_tensor(mol.atom_coords(), dtype=dtype),
                       "points": torch.as_tensor(points, dtype=dtype),
                       "weights": torch.as_tensor(weights, dtype=dtype)}

    def density(self, c):
        """(rho (n,), grad rho (n, 3)) on the grid of orbital coefficients ``c`` (a tensor)."""
        import torch

        c = c / torch.sqrt(c @ self.S @ c)
        phi = self.ao[0] @ c
        dphi = torch.einsum("kgm,m->gk", self.ao[1:], c)
        return 2 * phi**2, 4 * phi[:, None] * dphi

    def __call__(self, c: np.ndarray) -> tuple[float, np.ndarray]:
        """(T_s in Ha, dT_s/dc) at coefficients ``c``."""
        import torch

        ct = torch.tensor(c, dtype=torch.float64, requires_grad=True)
        rho, grad = self.density(ct)
        t = self.model.kinetic_energy(rho=rho, grad_rho=grad, **self.inputs)
        (g,) = torch.autograd.grad(t, ct)
        return float(t.detach()), g.numpy()


def core_guess(mol) -> np.ndarray:
    """The core Hamiltonian's lowest orbital (no electron–electron repulsion: a poor guess)."""
    from scipy.linalg import eigh

    _, vecs = eigh(mol.intor("int1e_kin") + mol.intor("int1e_nuc"), mol.intor("int1e_ovlp"))
    return vecs[:, 0]


def check(mol, model=None, functional: str = "model") -> None:
    """Refuse what :func:`run` cannot do, before any work.

    Raises
    ------
    DdvizError
        Not two electrons, an unknown functional, or no model for ``functional="model"``.
    """
    from ddviz.errors import ConfigError, DdvizError

    if mol.nelectron != 2:
        raise DdvizError(f"this model covers 2-electron systems (OF-DFT here optimises "
                         f"rho = 2|phi|^2); the structure has {mol.nelectron} electrons",
                         field="charge")
    if functional not in ("model", "vw"):
        raise ConfigError(f"unknown functional {functional!r}; expected 'model' or 'vw'",
                          field="functional")
    if functional == "model" and model is None:
        raise ConfigError("functional 'model' needs a model", field="model")


#: how often :func:`run` restarts L-BFGS after a stall away from a stationary point
RESTARTS = 5


def run(mol, model=None, functional: str = "model", level: int = GRID_LEVEL,
        gtol: float = 1e-7, max_iter: int = 1000, callback=None, stop=None,
        gradient_tol: float = 1e-4) -> Result:
    """Minimise the orbital-free energy of two-electron molecule ``mol``.

    Parameters
    ----------
    mol : pyscf.gto.Mole
        Two electrons, def2-TZVP (:func:`ddviz.methods.kinetic.data.molecule`).
    model : KineticNet, optional
        The learned functional (needed unless ``functional == "vw"``).
    functional : {"model", "vw"}
        T_s from the model or the exact von Weizsäcker functional.
    level : int
        Becke grid level of E_xc (and of the model's quadrature).
    gtol : float
        L-BFGS tolerance on the largest gradient component (Ha).
    max_iter : int
        Iteration limit.
    gradient_tol : float
        The run counts as converged when the largest gradient component at its final orbital is
        at most this (Ha); L-BFGS itself stops earlier when a line search cannot progress.
    callback : callable, optional
        ``callback(iteration, energy_ha, coefficients)`` after each L-BFGS iteration (1, 2, ...;
        the energy in Ha; the orbital coefficients (nao,) normalised through S), in the calling
        thread: for streaming the run to a plot. The run waits for it.
    stop : object with ``is_set()``, optional
        E.g. a :class:`threading.Event`, set from another thread: checked after each iteration;
        once set, the run ends there and returns the last iterate with ``stopped=True`` and
        ``converged=False`` (a line search under way finishes first).

    Returns
    -------
    Result

    Raises
    ------
    DdvizError
        Not two electrons, an unknown functional, or no model for ``functional="model"``.
    """
    from pyscf import dft
    from scipy.optimize import minimize

    check(mol, model, functional)
    t0 = time.perf_counter()
    ks = dft.RKS(mol)
    ks.xc, ks.grids.level = XC, level
    ks.grids.build()
    S, T = mol.intor("int1e_ovlp"), mol.intor("int1e_kin")
    v_nuc = mol.intor("int1e_nuc")
    kinetic = ModelKinetic(model, mol, level) if functional == "model" else None
    parts = {}

    def energy(c):
        n = c @ S @ c
        dm = 2 * np.outer(c, c) / n
        veff = ks.get_veff(mol, dm)
        g = v_nuc + veff
        if kinetic is None:
            ts, grad = float(np.einsum("mn,mn", dm, T)), None
            g = g + T
        else:
            ts, grad = kinetic(c)
        parts.update(kinetic_ha=ts, external_ha=float(np.einsum("mn,mn", dm, v_nuc)),
                     hartree_ha=float(veff.ecoul), xc_ha=float(veff.exc),
                     nuclear_ha=float(mol.energy_nuc()))
        gc = g @ c
        dc = 4 / n * gc - 4 / n**2 * (c @ gc) * (S @ c)
        if grad is not None:
            dc = dc + grad
        return sum(parts.values()), dc

    history, halted = [], []

    def step(c):
        history.append(energy(c)[0])
        if callback is not None:
            callback(len(history), history[-1], c / np.sqrt(c @ S @ c))
        if stop is not None and stop.is_set():
            halted.append(len(history))
            raise StopIteration  # scipy ends the minimisation at this iterate

    c, iterations, restarts, no_descent = core_guess(mol), 0, 0, False
    for restarts in range(RESTARTS + 1):  # noqa: B007  (the count is named in the stop reason)
        res = minimize(energy, c, jac=True, method="L-BFGS-B", callback=step,
                       options={"maxiter": max_iter - iterations, "gtol": gtol, "ftol": 1e-14,
                                "maxcor": 30})
        c, iterations = res.x, iterations + int(res.nit)
        if halted or iterations >= max_iter:
            break
        e, gradient = energy(c)
        if np.abs(gradient).max() <= gradient_tol:
            break
        # L-BFGS stalled away from a stationary point (its trial steps left the region where
        # a learned T_s is sane): one backtracking steepest-descent step, then L-BFGS afresh
        t = 0.1 / np.abs(gradient).max()
        while t > 1e-12 and energy(c - t * gradient)[0] >= e:
            t /= 4
        if t <= 1e-12:
            no_descent = True
            break
        c = c - t * gradient
        iterations += 1
        try:
            step(c)
        except StopIteration:
            break
        if iterations >= max_iter:
            break
    c = c / np.sqrt(c @ S @ c)
    e, gradient = energy(c)
    stopped, largest = bool(halted), float(np.abs(gradient).max())
    converged = largest <= gradient_tol and not stopped
    reason = ("converged" if converged else "stopped" if stopped
              else "max_iter" if iterations >= max_iter
              else f"no descent step after {restarts} restarts" if no_descent
              else f"line search stalled after {restarts} restarts")
    return Result(energy_ha=float(e), parts=dict(parts), iterations=iterations,
                  converged=converged, seconds=time.perf_counter() - t0, coefficients=c,
                  history=history, functional=functional, stopped=stopped,
                  gradient_max=largest, stop_reason=reason)


def kohn_sham(mol, level: int = GRID_LEVEL) -> tuple[float, np.ndarray]:
    """The Kohn–Sham reference: ``(total energy in Ha, normalised lowest orbital c)``.

    PySCF RKS with the same functional, basis and grid level as :func:`run`.
    """
    from pyscf import dft

    mf = dft.RKS(mol)
    mf.xc, mf.grids.level, mf.conv_tol = XC, level, 1e-11
    e = mf.kernel()
    c = mf.mo_coeff[:, 0]
    return float(e), c / np.sqrt(c @ mf.get_ovlp() @ c)


def density_error(mol, c, c_ref, level: int = GRID_LEVEL) -> float:
    """Relative L1 error sum w |rho - rho_ref| / sum w rho_ref of two orbitals' densities."""
    from pyscf import dft

    from ddviz.methods.kinetic.data import becke_grid

    points, weights = becke_grid(mol, level)
    ao = dft.numint.eval_ao(mol, points)
    rho, ref = 2 * (ao @ c) ** 2, 2 * (ao @ c_ref) ** 2
    return float((weights * np.abs(rho - ref)).sum() / (weights * ref).sum())


def preset(name: str):
    """A def2-TZVP molecule of system ``name`` ("H2", "HeH+", "H3+") at its equilibrium geometry.

    The bond lengths of :data:`~ddviz.methods.kinetic.data.SYSTEMS` (bohr); H3+ an equilateral
    triangle. The molecule lies in the xy plane, centred at the origin.

    Raises
    ------
    ConfigError
        An unknown name (the message lists the presets).
    """
    from pyscf.data.elements import charge as nuclear_charge

    from ddviz.errors import ConfigError
    from ddviz.methods.kinetic.data import SYSTEMS

    if name not in SYSTEMS:
        raise ConfigError(f"unknown system {name!r}; presets: {', '.join(SYSTEMS)}",
                          field="system")
    symbols, charge, r0 = SYSTEMS[name]
    if len(symbols) == 2:
        xyz = np.array([[-r0 / 2, 0.0, 0.0], [r0 / 2, 0.0, 0.0]])
    else:
        angles = np.deg2rad([90.0, 210.0, 330.0])
        xyz = r0 / np.sqrt(3) * np.column_stack([np.cos(angles), np.sin(angles), 0 * angles])
    return molecule([nuclear_charge(s) for s in symbols], xyz, charge)


def from_atoms(atoms, charge: int):
    """A def2-TZVP molecule of an ``ase.Atoms`` (Å) with total ``charge``.

    Raises
    ------
    DdvizError
        Not two electrons ("this model covers 2-electron systems").
    """
    from ddviz.units import BOHR_PER_ANGSTROM

    return molecule(atoms.numbers, atoms.positions * BOHR_PER_ANGSTROM, charge)


__all__ = ["PARTS", "ModelKinetic", "Result", "check", "core_guess", "density_error", "from_atoms",
           "kohn_sham", "preset", "run"]
