"""Density mixers for the 1D Kohn–Sham SCF: linear, and Anderson/Pulay with a Kerker preconditioner.

A mixer maps (n_in, n_out) -> next n_in. Densities in electrons/bohr on a periodic grid.
The residual R = n_out - n_in integrates to zero (both hold N electrons), so the mixed density keeps
the electron count exactly; negative values from extrapolation are clipped and renormalised.
"""

from __future__ import annotations

import numpy as np


def kerker(residual: np.ndarray, length: float, q0: float) -> np.ndarray:
    """Kerker preconditioner P(G) = G^2 / (G^2 + q0^2) applied to a periodic residual (G=0 kept).

    Damps long-wavelength (charge-sloshing) components that a metal over-responds to. q0 in 1/bohr;
    q0 = 0 disables it.
    """
    if q0 <= 0:
        return residual
    g = 2 * np.pi * np.fft.rfftfreq(residual.size, d=length / residual.size)
    p = np.ones_like(g)
    p[1:] = g[1:] ** 2 / (g[1:] ** 2 + q0**2)
    return np.fft.irfft(np.fft.rfft(residual) * p, n=residual.size)


def _keep_positive(n: np.ndarray, electrons: float, h: float) -> np.ndarray:
    if n.min() > 0:
        return n
    n = np.maximum(n, 1e-12)
    return n * (electrons / (n.sum() * h))


class LinearMixer:
    """n_next = n_in + alpha * R (optionally Kerker-preconditioned)."""

    def __init__(self, alpha: float = 0.3, length: float = 1.0, q0: float = 0.0):
        self.alpha, self.length, self.q0 = alpha, length, q0

    def __call__(self, n_in, n_out, electrons, h):
        """The next input density (see :meth:`PulayMixer.__call__`)."""
        r = n_out - n_in
        return _keep_positive(n_in + self.alpha * kerker(r, self.length, self.q0), electrons, h)


class PulayMixer:
    """Anderson/Pulay (DIIS) mixing over the last ``history`` pairs with a Kerker preconditioner.

    Finds the combination of past inputs whose combined residual is smallest (least squares on the
    residual differences), then takes a preconditioned step ``alpha * P R`` from it.
    Pulay, Chem. Phys. Lett. 73, 393 (1980); Kerker, Phys. Rev. B 23, 3082 (1981).
    """

    def __init__(self, alpha: float = 0.7, length: float = 1.0, q0: float = 0.3,
                 history: int = 8):
        self.alpha, self.length, self.q0, self.history = alpha, length, q0, history
        self._n: list[np.ndarray] = []
        self._r: list[np.ndarray] = []

    def __call__(self, n_in, n_out, electrons, h):
        """The next input density of the SCF.

        Parameters
        ----------
        n_in, n_out : (n,) float array, electrons/bohr
            This iteration's input density and the density its potential gives.
        electrons : float
            Electron count, restored if the step has to clip negative densities.
        h : float, bohr
            Grid step.

        Returns
        -------
        (n,) float array, electrons/bohr
            Positive density with ``electrons`` electrons.
        """
        r = n_out - n_in
        self._n.append(n_in.copy())
        self._r.append(r.copy())
        del self._n[:-self.history], self._r[:-self.history]
        n_opt, r_opt = n_in, r
        if len(self._n) > 1:
            dn = np.array([a - b for a, b in zip(self._n[1:], self._n[:-1])]).T
            dr = np.array([a - b for a, b in zip(self._r[1:], self._r[:-1])]).T
            gamma = np.linalg.lstsq(dr, r, rcond=1e-12)[0]
            n_opt = n_in - dn @ gamma
            r_opt = r - dr @ gamma
        step = self.alpha * kerker(r_opt, self.length, self.q0)
        return _keep_positive(n_opt + step, electrons, h)
