"""A 2D Kohn–Sham solver: electrons in a square box with hard walls (bohr, Ha, electrons/bohr^2).

The model of Ryczko, Strubbe, Tamblyn, "Deep learning and density functional theory",
Phys. Rev. A 100, 022512 (2019), arXiv 1811.08928 (their multi-electron 2D systems):

* Box: ``L x L`` bohr (default 16 x 16) on a uniform ``n x n`` grid of cell centres
  ``x_i = (i + 1/2) h``, ``h = L / n`` (default n = 48, h = 1/3 bohr); each point stands for a
  square cell of area ``dA = h^2``. Hard walls: orbitals vanish on the box edges (the finite
  differences use odd mirror images across each wall, which puts the node exactly on the edge).
* Kinetic energy: ``-1/2 Laplacian`` by 4th-order central finite differences
  (-1/12, 4/3, -5/2, 4/3, -1/12) / h^2 along each axis, a sparse (n^2, n^2) matrix.
* Hartree: the 2D electrons interact through 1/|r - r'| (the 3D Coulomb law, as for the 2D
  electron gas the 2D functionals were made for): ``v_H(r_i) = sum_j K_ij rho_j`` with
  ``K_ij = h^2 / |r_i - r_j|`` for ``i != j`` (midpoint rule) and the self-cell term
  ``K_ii = integral of 1/|r| over a square of side h = 4 h ln(1 + sqrt 2)`` (see
  :func:`self_cell_integral`), evaluated by zero-padded FFT convolution on a (2n, 2n) grid (exact
  linear, not periodic, convolution). ``E_H = 1/2 sum rho v_H dA``.
* Exchange–correlation from libxc (through :func:`pyscf.dft.libxc.eval_xc`):
  ``"lda"`` = LDA_X_2D + LDA_C_2D_AMGB (Attaccalite, Moroni, Gori-Giorgi, Bachelet 2002),
  ``"gga"`` = GGA_X_2D_B88 + LDA_C_2D_AMGB. The GGA's density gradient is taken by central
  differences ``D`` (density zero beyond the walls) and its potential is the exact derivative of
  the discrete energy, ``v = vrho - 2 D^T (vsigma D rho)``. ``"none"`` switches Hartree and
  exchange–correlation off (non-interacting electrons).
* Spin-unpolarised, an even number N of electrons, 2 per orbital. **Occupation rule**: the
  lowest N/2 orbitals are filled (integer occupations) unless the gap between orbital N/2 and
  N/2 + 1 is below ``Settings.degenerate_gap`` (default 20 kT = 0.02 Ha): an open (degenerate or
  nearly degenerate) shell, e.g. N = 4 in an isotropic oscillator. Only then the occupations are
  Fermi–Dirac at ``Settings.temperature`` (default kT = 1e-3 Ha) with the chemical potential found
  by bisection. At the switching gap a Fermi–Dirac occupation differs from 0 or 1 by
  e^-20 ~ 2e-9, so the rule is continuous in practice. ``E_tot`` is the Kohn–Sham energy (not the
  Mermin free energy); the ``-TS`` term of a smeared state is reported apart.
* Eigensolver: ``scipy.sparse.linalg.eigsh`` in shift-invert mode below the lowest potential,
  the N/2 + ``extra_states`` lowest orbitals, normalised as ``sum |psi|^2 dA = 1``.
* Runs with one BLAS and one OpenMP thread (parallelism: one process per sample).
* SCF: Pulay/DIIS density mixing (:class:`ddviz.toys.chain1d.mixing.PulayMixer`, on the
  flattened density, no Kerker preconditioner: the system is isolated), from the non-interacting
  density, to ``||rho_out - rho_in||_2 = sqrt(dA sum R^2) < tol`` (electrons/bohr). A failed
  attempt is retried with gentler mixing, then wider smearing (:data:`STRATEGIES`; the result's
  ``settings`` say which smearing it has); when all fail,
  :class:`~ddviz.errors.ConvergenceError` lists the attempts.

Energies (Ha), all of the output density ``rho`` (electrons/bohr^2): ``E_kin = sum_i f_i
<psi_i|T|psi_i>``, ``E_ext = sum v_ext rho dA``, ``E_H``, ``E_x``, ``E_c`` and ``E_tot`` their sum.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field, replace

import numpy as np
import scipy.sparse
import scipy.sparse.linalg
import scipy.special

from ddviz.errors import ConfigError, ConvergenceError, DdvizError
from ddviz.toys.chain1d.mixing import LinearMixer, PulayMixer
from ddviz.toys.chain1d.solver import single_threaded_blas

# functional name -> (exchange, correlation) libxc names
FUNCTIONALS = {"lda": ("LDA_X_2D", "LDA_C_2D_AMGB"),
               "gga": ("GGA_X_2D_B88", "LDA_C_2D_AMGB"),
               "none": (None, None)}
# SCF attempts in order: (mixer, alpha, kT in Ha or None for Settings.temperature); a retry starts
# again from the non-interacting density. The last one widens the smearing (and the open-shell gap,
# 20 kT, with it): near-degenerate orbitals in separate wells of a random potential can swap
# occupation from one iteration to the next (1 in 50 samples at kT = 1e-3, a GGA N = 4 case).
STRATEGIES = (("pulay", 0.5, None), ("pulay", 0.15, None), ("pulay", 0.3, 0.01))
ENERGY_KEYS = ("E_kin", "E_ext", "E_H", "E_x", "E_c", "E_tot")
_RHO_FLOOR = 1e-14  # electrons/bohr^2: densities below are set to it before libxc sees them


class InputError(DdvizError):
    """A potential, electron count or setting that the 2D solver cannot use."""


@dataclass(frozen=True)
class Box:
    """The square box: ``n x n`` cell-centred points over ``length x length`` bohr (hard walls)."""

    n: int = 48
    length: float = 16.0

    def __post_init__(self):
        if not (isinstance(self.n, (int, np.integer)) and self.n >= 8):
            raise InputError(f"grid size n must be an integer >= 8, got {self.n!r}", field="n")
        if not (math.isfinite(self.length) and self.length > 0):
            raise InputError(f"box length must be positive (bohr), got {self.length!r}",
                             field="length")

    @property
    def h(self) -> float:
        """Grid spacing (bohr)."""
        return self.length / self.n

    @property
    def dA(self) -> float:
        """Area of one grid cell (bohr^2)."""
        return self.h**2

    def axis(self) -> np.ndarray:
        """Cell-centre coordinates (n,) along x or y (bohr), from h/2 to L - h/2."""
        return (np.arange(self.n) + 0.5) * self.h

    def mesh(self) -> tuple[np.ndarray, np.ndarray]:
        """(x, y), each (n, n) bohr, indexed [ix, iy]."""
        a = self.axis()
        return np.meshgrid(a, a, indexing="ij")


@dataclass(frozen=True)
class Settings:
    """SCF settings of a 2D system.

    Functional name (key of FUNCTIONALS), smearing kT and the open-shell gap (Ha), convergence
    tolerance (electrons/bohr), iterations per attempt, extra orbitals.

    Raises
    ------
    ddviz.errors.ConfigError
        On an unknown functional or a non-positive setting.
    """

    functional: str = "lda"
    temperature: float = 1e-3
    degenerate_gap: float = 0.02
    tol: float = 1e-6
    max_iter: int = 100
    extra_states: int = 4

    def __post_init__(self):
        if self.functional not in FUNCTIONALS:
            raise ConfigError(f"unknown functional {self.functional!r}; expected one of "
                              f"{', '.join(FUNCTIONALS)}", field="functional")
        if not (self.temperature > 0 and self.degenerate_gap >= 0 and self.tol > 0
                and self.max_iter >= 1 and self.extra_states >= 1):
            raise ConfigError(f"invalid SCF settings {self}", field="settings")

    def as_dict(self) -> dict:
        """The settings as a plain dict (field -> value)."""
        return asdict(self)


# --------------------------------------------------------------------------- operators

def _second_derivative_1d(n: int, h: float) -> scipy.sparse.csr_matrix:
    """d^2/dx^2 (1/bohr^2), 4th order, on cell centres with odd images across both walls."""
    c = np.array([-1 / 12, 4 / 3, -5 / 2, 4 / 3, -1 / 12]) / h**2
    d2 = scipy.sparse.diags([np.full(n - abs(k), c[k + 2]) for k in range(-2, 3)],
                            range(-2, 3), format="lil")
    # odd images: psi(-x) = -psi(x) about each wall. Point 0's image of point 0 sits at offset -1,
    # of point 1 at offset -2; point 1's image of point 0 at offset -2.
    for i, j, k in ((0, 0, 1), (0, 1, 2), (1, 0, 2)):
        d2[i, j] -= c[2 - k]
        d2[n - 1 - i, n - 1 - j] -= c[2 - k]
    return d2.tocsr()


def kinetic_operator(box: Box) -> scipy.sparse.csr_matrix:
    """T = -1/2 Laplacian (Ha) as a sparse (n^2, n^2) matrix on the flattened [ix, iy] grid."""
    d2 = _second_derivative_1d(box.n, box.h)
    eye = scipy.sparse.identity(box.n, format="csr")
    return (-0.5 * (scipy.sparse.kron(d2, eye) + scipy.sparse.kron(eye, d2))).tocsr()


def gradient_operators(box: Box) -> tuple[scipy.sparse.csr_matrix, scipy.sparse.csr_matrix]:
    """The gradient operators (D_x, D_y): 2nd-order central differences.

    The function is taken as zero beyond the walls (the density vanishes there).

    Returns
    -------
    D_x, D_y : (n^2, n^2) scipy.sparse.csr_matrix, 1/bohr
        Acting on fields flattened from [ix, iy].
    """
    d1 = scipy.sparse.diags([-np.ones(box.n - 1), np.ones(box.n - 1)], [-1, 1]) / (2 * box.h)
    eye = scipy.sparse.identity(box.n)
    return (scipy.sparse.kron(d1, eye).tocsr(), scipy.sparse.kron(eye, d1).tocsr())


def self_cell_integral(h: float) -> float:
    """Integral of 1/|r| over a square cell of side h centred on the origin (bohr).

    Cut the square into 8 right triangles 0 <= y <= x <= h/2; in each,
    ``int_0^{h/2} dx int_0^x dy / sqrt(x^2 + y^2) = int_0^{h/2} asinh(1) dx = (h/2) ln(1 + sqrt 2)``,
    so the whole square gives ``4 h ln(1 + sqrt 2) ~ 3.5255 h``.
    """
    return 4.0 * h * math.log(1.0 + math.sqrt(2.0))


def coulomb_kernel(box: Box) -> np.ndarray:
    """The rfft2 of the (2n, 2n) zero-padded Hartree kernel.

    ``K(d) = h^2/|d|`` (d != 0) and ``K(0) =`` :func:`self_cell_integral` (bohr), at offsets
    -n..n-1 along each axis in FFT order.
    """
    n, h = box.n, box.h
    off = np.fft.fftfreq(2 * n, d=1.0 / (2 * n)) * h  # 0, h, ..., (n-1)h, -n h, ..., -h
    dx, dy = np.meshgrid(off, off, indexing="ij")
    r = np.hypot(dx, dy)
    r[0, 0] = 1.0
    kern = h**2 / r
    kern[0, 0] = self_cell_integral(h)
    return np.fft.rfft2(kern)


def hartree(rho: np.ndarray, box: Box, kernel: np.ndarray | None = None
            ) -> tuple[np.ndarray, float]:
    """Hartree potential (n, n) Ha and energy (Ha) of a density (n, n) electrons/bohr^2."""
    n = box.n
    kernel = coulomb_kernel(box) if kernel is None else kernel
    v = np.fft.irfft2(np.fft.rfft2(rho, s=(2 * n, 2 * n)) * kernel, s=(2 * n, 2 * n))[:n, :n]
    return v, 0.5 * float(np.sum(v * rho)) * box.dA


def xc(rho: np.ndarray, box: Box, functional: str, grads=None) -> tuple[np.ndarray, float, float]:
    """Exchange–correlation potential (n, n) Ha, E_x and E_c (Ha) of rho (n, n) electrons/bohr^2.

    ``functional``: a key of :data:`FUNCTIONALS`; libxc through PySCF, spin-unpolarised.
    ``grads``: (D_x, D_y) from :func:`gradient_operators` (built when None and needed).
    """
    from pyscf.dft import libxc

    x_name, c_name = FUNCTIONALS[functional]
    v = np.zeros(box.n * box.n)
    energies = []
    r = np.maximum(rho.reshape(-1), _RHO_FLOOR)
    for name in (x_name, c_name):
        if name is None:
            energies.append(0.0)
            continue
        if libxc.xc_type(name) == "LDA":
            exc, (vrho, *_) = libxc.eval_xc(name, r, spin=0, deriv=1)[:2]
            v += vrho
        else:
            dx, dy = gradient_operators(box) if grads is None else grads
            gx, gy = dx @ r, dy @ r
            rho4 = np.stack([r, gx, gy, np.zeros_like(r)])
            exc, (vrho, vsigma, *_) = libxc.eval_xc(name, rho4, spin=0, deriv=1)[:2]
            v += vrho + 2.0 * (dx.T @ (vsigma * gx) + dy.T @ (vsigma * gy))
        energies.append(float(np.sum(exc * r)) * box.dA)
    return v.reshape(box.n, box.n), energies[0], energies[1]


def occupations(eigs: np.ndarray, electrons: int, settings: Settings
                ) -> tuple[np.ndarray, float, bool]:
    """Occupations of sorted eigenvalues.

    Parameters
    ----------
    eigs : (k,) float array, Ha
        Sorted eigenvalues.
    electrons : int
        Electron count.
    settings : Settings
        Smearing temperature and open-shell gap.

    Returns
    -------
    occupations : (k,) float array
        0..1 per spin orbital.
    mu : float, Ha
        Chemical potential.
    smeared : bool
        Whether the open-shell rule (module docstring) switched Fermi–Dirac smearing on.
    """
    nocc = electrons // 2
    f = np.zeros_like(eigs)
    f[:nocc] = 1.0
    gap = eigs[nocc] - eigs[nocc - 1]
    if gap >= settings.degenerate_gap:
        return f, 0.5 * float(eigs[nocc] + eigs[nocc - 1]), False
    kt = settings.temperature
    lo, hi = eigs[0] - 40 * kt, eigs[-1] + 40 * kt
    for _ in range(200):
        mu = 0.5 * (lo + hi)
        count = 2.0 * float(np.sum(scipy.special.expit((mu - eigs) / kt)))
        if abs(count - electrons) < 1e-12 * electrons:
            break
        lo, hi = (mu, hi) if count < electrons else (lo, mu)
    return scipy.special.expit((mu - eigs) / kt), float(mu), True


def minus_ts(f: np.ndarray, temperature: float) -> float:
    """-T S (Ha) of spin-degenerate occupations f (k_B = 1); 0 for integer occupations."""
    p = np.clip(f, 1e-300, 1.0)
    q = np.clip(1.0 - f, 1e-300, 1.0)
    return float(2.0 * temperature * np.sum(p * np.log(p) + q * np.log(q)))


# --------------------------------------------------------------------------- SCF

@dataclass
class Result:
    """A converged 2D Kohn–Sham state (bohr, Ha, electrons/bohr^2)."""

    box: Box
    settings: Settings
    electrons: int
    v_ext: np.ndarray              # (n, n) Ha
    density: np.ndarray            # (n, n) electrons/bohr^2
    eigenvalues: np.ndarray        # (nstates,) Ha
    occupations: np.ndarray        # (nstates,) 0..1 per spin orbital
    orbitals: np.ndarray           # (nstates, n, n) 1/bohr, sum |psi|^2 dA = 1
    mu: float                      # chemical potential (Ha)
    energies: dict                 # ENERGY_KEYS -> Ha
    minus_ts: float = 0.0          # -T S (Ha), nonzero only for smeared open shells
    smeared: bool = False
    v_eff: np.ndarray = None       # (n, n) Ha, the last input potential
    iterations: int = 0
    residual: float = math.inf
    attempts: list = field(default_factory=list)  # [(mixer, alpha, kT, iterations, residual)]
    wall_s: float = 0.0


def check_potential(v_ext, box: Box) -> np.ndarray:
    """``v_ext`` as a float (n, n) array (Ha); raises InputError for a wrong shape or NaN/Inf."""
    try:
        v = np.asarray(v_ext, dtype=float)
    except (TypeError, ValueError) as exc:
        raise InputError(f"the external potential must be a numeric array: {exc}",
                         field="v_ext") from None
    if v.shape != (box.n, box.n):
        raise InputError(f"the external potential has shape {v.shape}; expected ({box.n}, "
                         f"{box.n}) for the {box.n} x {box.n} grid", field="v_ext")
    bad = ~np.isfinite(v)
    if bad.any():
        raise InputError(f"the external potential has {int(bad.sum())} non-finite values "
                         f"(NaN/Inf), first at index {tuple(int(i) for i in np.argwhere(bad)[0])}",
                         field="v_ext")
    return v


def _check_electrons(electrons, box: Box) -> int:
    if not (isinstance(electrons, (int, np.integer)) and electrons >= 2 and electrons % 2 == 0):
        raise InputError(f"the electron count must be an even integer >= 2 (closed shells, "
                         f"spin-unpolarised), got {electrons!r}", field="electrons")
    if electrons // 2 + 8 > box.n * box.n:
        raise InputError(f"{electrons} electrons do not fit on a {box.n} x {box.n} grid",
                         field="electrons")
    return int(electrons)


def diagonalise(ham: scipy.sparse.csr_matrix, v_eff: np.ndarray, k: int, v0=None
                ) -> tuple[np.ndarray, np.ndarray]:
    """The k lowest eigenpairs of a sparse Hamiltonian, by shift-invert below min(v_eff).

    Parameters
    ----------
    ham : (n^2, n^2) scipy.sparse.csr_matrix, Ha
        The Hamiltonian.
    v_eff : float array, Ha
        Its potential on the mesh (its minimum sets the shift).
    k : int
        Number of eigenpairs.
    v0 : (n^2,) float array, optional
        Starting vector for ARPACK.

    Returns
    -------
    eigenvalues : (k,) float array, Ha
        Sorted.
    eigenvectors : (n^2, k) float array
        Unit 2-norm columns.
    """
    sigma = float(v_eff.min()) - 1.0
    eigs, vecs = scipy.sparse.linalg.eigsh(ham, k=k, sigma=sigma, which="LM", v0=v0, tol=1e-12)
    order = np.argsort(eigs)
    return eigs[order], vecs[:, order]


class _Problem:
    """The fixed parts of one calculation: operators, kernel, settings."""

    def __init__(self, v_ext, box: Box, electrons: int, settings: Settings):
        self.box, self.settings, self.electrons = box, settings, electrons
        self.v_ext = v_ext
        self.kinetic = kinetic_operator(box)
        self.kernel = coulomb_kernel(box) if settings.functional != "none" else None
        self.grads = gradient_operators(box) if settings.functional == "gga" else None
        self.nstates = electrons // 2 + settings.extra_states
        # ARPACK's start vector: fixed (reproducible results) and generic (not orthogonal to any
        # symmetry class: a previous ground state would leave out the states odd under a mirror)
        self.v0 = np.random.default_rng(0).uniform(0.5, 1.5, box.n * box.n)

    def potential(self, rho) -> tuple[np.ndarray, float, float, float]:
        """v_eff (Ha), E_H, E_x, E_c of rho."""
        if self.settings.functional == "none":
            return self.v_ext, 0.0, 0.0, 0.0
        v_h, e_h = hartree(rho, self.box, self.kernel)
        v_xc, e_x, e_c = xc(rho, self.box, self.settings.functional, self.grads)
        return self.v_ext + v_h + v_xc, e_h, e_x, e_c

    def states(self, v_eff):
        """Eigenvalues, orbitals (nstates, n, n) 1/bohr, occupations, mu, smeared, density."""
        n, dA = self.box.n, self.box.dA
        ham = self.kinetic + scipy.sparse.diags(v_eff.reshape(-1))
        eigs, vecs = diagonalise(ham.tocsc(), v_eff, self.nstates, self.v0)
        f, mu, smeared = occupations(eigs, self.electrons, self.settings)
        orbs = (vecs / math.sqrt(dA)).T.reshape(-1, n, n)
        rho = 2.0 * np.einsum("i,ixy->xy", f, orbs**2)
        return eigs, orbs, f, mu, smeared, rho


def solve(v_ext, electrons: int, box: Box = Box(), settings: Settings = Settings(),
          strategies=STRATEGIES) -> Result:
    """Self-consistent 2D Kohn–Sham ground state (module docstring: model, units, rules).

    Parameters
    ----------
    v_ext : array (n, n)
        External potential (Ha) on the box's cell centres, indexed [ix, iy].
    electrons : int
        Even electron count N >= 2 (spin-unpolarised).
    box : Box
        Grid and box size (bohr).
    settings : Settings
        Functional, smearing, tolerance (electrons/bohr), iterations per attempt.
    strategies : sequence of (mixer, alpha, kT)
        SCF attempts in order ("pulay" or "linear" mixing with step alpha; kT in Ha, or None for
        ``settings.temperature``; the open-shell gap is then 20 kT).

    Returns
    -------
    Result
        Density (electrons/bohr^2), orbitals, eigenvalues and the energy terms (Ha).

    Raises
    ------
    InputError
        A potential of the wrong shape or with NaN/Inf, a bad electron count.
    ConvergenceError
        No attempt reached ``settings.tol``; the message lists every attempt.
    """
    from pyscf.lib import with_omp_threads

    start = time.perf_counter()
    v_ext = check_potential(v_ext, box)
    electrons = _check_electrons(electrons, box)
    # one thread: ARPACK and libxc on these small grids are several times slower with two
    # threads on a busy 2-core machine (measured here: 0.11 s vs 0.01 s per eigensolve at 24x24)
    with single_threaded_blas(), with_omp_threads(1):
        return _solve(v_ext, electrons, box, settings, strategies, start)


def _solve(v_ext, electrons, box, settings, strategies, start) -> Result:
    prob = _Problem(v_ext, box, electrons, settings)
    eigs, orbs, f, mu, smeared, rho0 = prob.states(v_ext)
    if settings.functional == "none":
        return _result(prob, orbs, eigs, f, mu, smeared, rho0, v_ext, 1, 0.0, [], start)
    attempts = []
    for kind, alpha, kt in strategies:
        if kt is not None:
            prob.settings = replace(settings, temperature=kt, degenerate_gap=20 * kt)
        mixer = (PulayMixer(alpha=alpha, length=box.length, q0=0.0) if kind == "pulay"
                 else LinearMixer(alpha=alpha, length=box.length, q0=0.0))
        rho_in, res = rho0, math.inf
        for it in range(1, settings.max_iter + 1):
            v_eff = prob.potential(rho_in)[0]
            eigs, orbs, f, mu, smeared, rho_out = prob.states(v_eff)
            res = math.sqrt(box.dA * float(np.sum((rho_out - rho_in) ** 2)))
            if res < settings.tol or not math.isfinite(res):
                break
            rho_in = mixer(rho_in.reshape(-1), rho_out.reshape(-1), electrons,
                           box.dA).reshape(box.n, box.n)
        attempts.append((kind, alpha, prob.settings.temperature, it, res))
        if res < settings.tol:
            return _result(prob, orbs, eigs, f, mu, smeared, rho_out, v_eff, it, res, attempts,
                           start)
    tried = "; ".join(f"{k} alpha={a} kT={t:g}: {i} iterations, residual {r:.3g}"
                      for k, a, t, i, r in attempts)
    raise ConvergenceError(f"2D Kohn-Sham SCF ({settings.functional}, N={electrons}, "
                           f"{box.n}x{box.n}) did not reach residual {settings.tol:g} "
                           f"electrons/bohr ({tried})", field="scf")


def _result(prob, orbs, eigs, f, mu, smeared, rho, v_eff, it, res, attempts, start) -> Result:
    """Energies of the output density and its orbitals."""
    box = prob.box
    flat = orbs.reshape(orbs.shape[0], -1)
    t_ii = np.einsum("ip,ip->i", flat, (prob.kinetic @ flat.T).T) * box.dA
    _, e_h, e_x, e_c = prob.potential(rho)
    energies = {"E_kin": 2.0 * float(np.sum(f * t_ii)),
                "E_ext": float(np.sum(prob.v_ext * rho)) * box.dA,
                "E_H": e_h, "E_x": e_x, "E_c": e_c}
    energies["E_tot"] = float(sum(energies.values()))
    return Result(box, prob.settings, prob.electrons, prob.v_ext, rho, eigs, f, orbs, mu,
                  energies, minus_ts(f, prob.settings.temperature) if smeared else 0.0, smeared,
                  v_eff, it, res, attempts, time.perf_counter() - start)
