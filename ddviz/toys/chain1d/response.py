"""The characters of the 1D chains: band gaps, and the density response to a localised perturbation.

* Gap: the converged Kohn–Sham potential is diagonalised on a dense k grid (non-self-consistently)
  and the indirect gap at integer filling is taken.
* Screening (the Deep Density locality argument): a Gaussian perturbation dV(x) = -exp(-(x-x0)^2 /
  (2 w^2)) (Ha) is applied and the density change per unit amplitude is measured by central
  differences (+-eps). The bare response chi0 dV keeps the Kohn–Sham potential frozen at the
  unperturbed one and the chemical potential fixed (an infinite system's reservoir); the
  self-consistent response re-converges the SCF at fixed electron count (Hartree and xc respond).
  In an insulator both decay exponentially (the gap); in a metal chi0 dV has slowly decaying Friedel
  oscillations and it is the self-consistent screening that localises the response.
* Far weight: the fraction of sum |dn| farther than two lattice spacings from x0.
* Decay length: -1/slope of a straight-line fit of log(max |dn| in bins of 2 lattice spacings)
  against the distance from x0, from one bin out to L/2 - half a bin, ignoring bins below 1e-9 of
  the peak (the numerical floor).
"""

from __future__ import annotations

import itertools

import numpy as np
import scipy.special

from ddviz.toys.chain1d.solver import (
    Chain,
    ChainSettings,
    Result,
    diagonalise,
    single_threaded_blas,
    solve,
)


def band_structure(result: Result, nk: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """K (1/bohr, 0..pi/L) and eigenvalues (nk/2+1, nbands) of the converged potential."""
    ks = 2 * np.pi * np.arange(nk // 2 + 1) / (nk * result.chain.length)
    with single_threaded_blas():
        eigs, _ = diagonalise(result.v_eff, result.chain.length, ks,
                              result.eigenvalues.shape[1], vectors=False)
    return ks, eigs


def dense_gap(result: Result, nk: int = 32) -> float:
    """Indirect band gap (Ha, >= 0) at integer filling on a dense k grid."""
    _, eigs = band_structure(result, nk)
    nocc = round(result.chain.electrons / 2)
    return max(0.0, float(eigs[:, nocc].min() - eigs[:, nocc - 1].max()))


def perturbation(x: np.ndarray, x0: float, length: float, width: float = 1.0) -> np.ndarray:
    """dV(x) = -exp(-d^2 / (2 w^2)) (Ha), d the periodic distance to x0."""
    d = np.mod(x - x0 + length / 2, length) - length / 2
    return -np.exp(-d**2 / (2 * width**2))


def bare_response(base: Result, dv: np.ndarray, eps: float = 1e-4) -> np.ndarray:
    """chi0 dV (electrons/bohr per Ha): frozen potential, fixed chemical potential."""
    ks = 2 * np.pi * np.arange(base.settings.nk // 2 + 1) / (base.settings.nk * base.chain.length)
    out = []
    for sign in (1, -1):
        with single_threaded_blas():
            eigs, orbs = diagonalise(base.v_eff + sign * eps * dv, base.chain.length, ks,
                                     base.eigenvalues.shape[1])
        f = scipy.special.expit((base.mu - eigs) / base.settings.temperature)
        out.append(sum(2 * w * (np.abs(o) ** 2 @ fk) for o, fk, w in zip(orbs, f, base.kweights)))
    return (out[0] - out[1]) / (2 * eps)


def scf_response(base: Result, dv: np.ndarray, eps: float = 1e-4) -> np.ndarray:
    """Self-consistent density response (electrons/bohr per Ha) at fixed electron count."""
    dens = [solve(base.chain, base.settings, density=base.density, extra_potential=s * eps * dv).density
            for s in (1, -1)]
    return (dens[0] - dens[1]) / (2 * eps)


def decay_length(x: np.ndarray, dn: np.ndarray, x0: float, length: float, bin_width: float) -> float:
    """Envelope decay length (bohr) of a response centred at x0 (see module docstring)."""
    d = np.abs(np.mod(x - x0 + length / 2, length) - length / 2)
    edges = np.arange(bin_width / 2, length / 2 - bin_width / 2 + 1e-9, bin_width)
    centres, env = [], []
    peak = np.abs(dn).max()
    for lo, hi in itertools.pairwise(edges):
        m = np.abs(dn[(d >= lo) & (d < hi)]).max()
        if m > 1e-9 * peak:
            centres.append(0.5 * (lo + hi))
            env.append(m)
    if len(env) < 2:
        return float("nan")
    slope = np.polyfit(centres, np.log(env), 1)[0]
    return float(-1 / slope) if slope < 0 else float("inf")


def screening(chain: Chain, settings: ChainSettings, width: float = 1.0, eps: float = 1e-4,
              lattice: float = 4.0) -> dict:
    """Bare and self-consistent responses to a perturbation at the cell centre.

    Returns
    -------
    dict
        ``x`` (bohr), ``dv`` (Ha), ``dn_bare``, ``dn_scf`` (electrons/bohr), their decay
        ``lengths`` (bohr) and the unperturbed result.
    """
    base = solve(chain, settings)
    x0 = chain.length / 2
    dv = perturbation(base.x, x0, chain.length, width)
    dn0 = bare_response(base, dv, eps)
    dns = scf_response(base, dv, eps)
    return {"x": base.x, "x0": x0, "dv": dv, "dn_bare": dn0, "dn_scf": dns, "base": base,
            "decay_bare": decay_length(base.x, dn0, x0, chain.length, 2 * lattice),
            "decay_scf": decay_length(base.x, dns, x0, chain.length, 2 * lattice),
            "far_bare": far_weight(base.x, dn0, x0, chain.length, 2 * lattice),
            "far_scf": far_weight(base.x, dns, x0, chain.length, 2 * lattice),
            "charge_bare": float(dn0.sum() * base.h), "charge_scf": float(dns.sum() * base.h)}


def far_weight(x: np.ndarray, dn: np.ndarray, x0: float, length: float, radius: float) -> float:
    """Fraction of sum |dn| farther than ``radius`` bohr from x0 (the non-local part)."""
    d = np.abs(np.mod(x - x0 + length / 2, length) - length / 2)
    return float(np.abs(dn[d > radius]).sum() / np.abs(dn).sum())


def characters(natoms_gap: int = 8, natoms_response: int = 24, nk_dense: int = 32) -> dict:
    """Gaps and screening of the insulating, metallic and mixed chains.

    Gaps from 8-atom equilibrium cells (nk=4 SCF, dense-k bands); screening from 24-atom cells
    (nk=2).
    """
    from ddviz.toys.chain1d.md import CHARACTERS, default_settings, equilibrium_chain

    out = {}
    for character in CHARACTERS:
        res = solve(equilibrium_chain(character, natoms_gap), default_settings(natoms_gap))
        scr = screening(equilibrium_chain(character, natoms_response), ChainSettings(nk=2))
        out[character] = {"gap_Ha": dense_gap(res, nk_dense), "mu_Ha": res.mu,
                          "scf_iterations": res.iterations, **scr}
    return out


def characters_table(results: dict) -> str:
    """:func:`characters` as a text table, one row per chain.

    What ``ddviz chain characters`` prints: gap (Ha), decay lengths (bohr) and weights beyond
    8 bohr, bare and self-consistent.
    """
    head = (f"{'chain':<11} {'gap (Ha)':>9} {'decay bare':>11} {'decay scf':>10} "
            f"{'far bare':>9} {'far scf':>8}   (decay: bohr; far: weight beyond 8 bohr)")
    lines = [head]
    for name, r in results.items():
        lines.append(f"{name:<11} {r['gap_Ha']:9.4f} {r['decay_bare']:11.2f} "
                     f"{r['decay_scf']:10.2f} {r['far_bare']:9.3f} {r['far_scf']:8.3f}")
    return "\n".join(lines)
