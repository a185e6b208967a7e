"""A 1D Kohn–Sham model of atomic chains (atomic units: bohr, Ha, electrons/bohr).

The model (all parameters are fields of :class:`Species` and :class:`ChainSettings`):

* A periodic cell of length ``L`` on a uniform grid ``x_j = j h`` (``h = L / n``, ``n`` even, ``h``
  close to ``ChainSettings.spacing``), spin-unpolarised (2 electrons per orbital).
* Kinetic energy spectral: ``T_k = F^-1 diag((G + k)^2 / 2) F`` on the periodic part of a Bloch
  orbital; a Gamma-centred grid of ``nk`` k-points ``k_j = 2 pi j / (nk L)``, folded by time reversal.
  ``nk`` points in an ``N``-atom cell sample the Brillouin zone exactly as Gamma does in the
  ``nk N``-atom supercell, so the 8-atom cells (nk=4) and 32-atom cells (Gamma) are consistent.
* Atoms are smooth attractive Gaussian wells (images summed):
  ``V_a(x) = -Z_a / (sqrt(2 pi) s_a) exp(-(x - X_a)^2 / (2 s_a^2))``, with strength ``Z_a``
  (``Species.strength``) and width ``s_a`` (``Species.sigma``); each atom brings ``Species.valence``
  electrons. Two fictitious species: "insulating" (symbol Ne: deep narrow well, 2 electrons -> a filled
  band and a gap) and "metallic" (symbol Li: shallow wide well, 1 electron -> a half-filled band).
* Hartree: soft-Coulomb ``1 / sqrt(x^2 + a^2)`` by FFT, ``v(G) = 2 K0(|G| a)``, its G=0 term dropped
  (a neutralising uniform background).
* Exchange-correlation: local, exchange-only Slater-like ``E_xc = -(3/4) c_x sum n^(4/3) h``,
  ``v_xc = -c_x n^(1/3)``.
* Fermi–Dirac occupations at temperature ``T`` (Ha), chemical potential by bisection on the electron
  count; the energy is the Mermin free energy ``A = E - T S`` whose exact derivative the
  Hellmann–Feynman forces are.
* Ion–ion: smooth screened soft-Coulomb repulsion ``A Q_a Q_b exp(-kappa s) / s``, ``s = sqrt(d^2 + b^2)``,
  ``Q`` = valence, summed over periodic images; it keeps the atoms apart and the chain stable.
* SCF: Anderson/Pulay density mixing with a Kerker preconditioner (:mod:`ks1d_mixing`), to a density
  residual ``||n_out - n_in||_2 = sqrt(h sum R^2) < tol`` (default 1e-10).
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import math
from dataclasses import asdict, dataclass, field

import numpy as np
import scipy.linalg
import scipy.special

from ddviz.errors import ConvergenceError, DdvizError
from ddviz.toys.chain1d.mixing import LinearMixer, PulayMixer


def _openblas_setters() -> list:
    """(set, get) ctypes functions of every OpenBLAS loaded in this process (numpy's, scipy's)."""
    out = []
    try:
        with open("/proc/self/maps") as fh:
            libs = sorted({ln.split()[-1] for ln in fh if "openblas" in ln.lower() and "/" in ln})
    except OSError:
        return out
    for lib in libs:
        try:
            dll = ctypes.CDLL(lib)
        except OSError:
            continue
        for suffix in ("64_", "", "_"):
            for stem in ("scipy_openblas", "openblas"):
                try:
                    out.append((getattr(dll, f"{stem}_set_num_threads{suffix}"),
                                getattr(dll, f"{stem}_get_num_threads{suffix}")))
                    break
                except AttributeError:
                    continue
            else:
                continue
            break
    return out


@contextlib.contextmanager
def single_threaded_blas():
    """Run the block with one OpenBLAS thread (a context manager).

    Small dense eigensolves (n ~ 100-1000) are up to ~40x faster than with 2 threads on a busy
    2-core machine (measured here). No-op where OpenBLAS's thread setters are not found.
    """
    setters = _openblas_setters()
    old = [get() for _, get in setters]
    for set_, _ in setters:
        set_(1)
    try:
        yield
    finally:
        for (set_, _), n in zip(setters, old):
            set_(n)


@dataclass(frozen=True)
class Species:
    """A fictitious atom: Gaussian well strength (Ha bohr), width (bohr), valence electrons, mass (m_e)."""

    symbol: str
    strength: float
    sigma: float
    valence: float
    mass: float


SPECIES = {
    # insulating-like: deep narrow well, 2 electrons fill its band
    "Ne": Species("Ne", strength=3.0, sigma=0.5, valence=2.0, mass=10000.0),
    # metal-like: shallow wide well, 1 electron half fills its band
    "Li": Species("Li", strength=1.0, sigma=1.5, valence=1.0, mass=1000.0),
}
CHARACTER_SYMBOL = {"insulating": "Ne", "metallic": "Li"}


@dataclass(frozen=True)
class ChainSettings:
    """Electronic-structure settings shared by all chains (bohr, Ha)."""

    spacing: float = 0.2          # target grid spacing (bohr)
    temperature: float = 0.005    # Fermi-Dirac smearing (Ha)
    soft_coulomb: float = 1.0     # a in 1/sqrt(x^2+a^2) (bohr)
    xc_coefficient: float = 0.5   # c_x in v_xc = -c_x n^(1/3)
    ion_strength: float = 2.0     # A in A Q_a Q_b exp(-kappa s)/s (Ha bohr)
    ion_kappa: float = 0.5        # ion-ion screening (1/bohr)
    ion_softening: float = 1.0    # b in s = sqrt(d^2 + b^2) (bohr)
    nk: int = 1                   # Gamma-centred k-points
    extra_bands: int = 6          # first guess of empty bands above N/2; grown until the
                                  # highest band lies 40 T above mu (occupation < 1e-17)
    tol: float = 1e-10            # density residual (electrons/bohr^(1/2))
    max_iter: int = 200

    def as_dict(self) -> dict:
        """The settings as a plain dict (field -> value)."""
        return asdict(self)


@dataclass
class Chain:
    """Atoms on a ring: cell length (bohr), symbols (keys of SPECIES), positions (bohr)."""

    length: float
    symbols: list[str]
    positions: np.ndarray

    def __post_init__(self):
        self.positions = np.asarray(self.positions, dtype=float).reshape(-1)
        if len(self.symbols) != self.positions.size:
            raise DdvizError(f"{len(self.symbols)} symbols but {self.positions.size} positions")
        unknown = set(self.symbols) - set(SPECIES)
        if unknown:
            raise DdvizError(f"unknown species {sorted(unknown)}; expected one of {sorted(SPECIES)}")

    @property
    def species(self) -> list[Species]:
        """The :class:`Species` of each atom."""
        return [SPECIES[s] for s in self.symbols]

    @property
    def electrons(self) -> float:
        """Valence electrons of the cell."""
        return float(sum(s.valence for s in self.species))

    def moved(self, positions) -> Chain:
        """The same chain with its atoms at ``positions`` (natoms,) bohr."""
        return Chain(self.length, list(self.symbols), np.asarray(positions, dtype=float))


def uniform_chain(symbols, spacing: float = 4.0) -> Chain:
    """Atoms evenly spaced ``spacing`` bohr apart, starting at spacing/2."""
    n = len(symbols)
    return Chain(n * spacing, list(symbols), (np.arange(n) + 0.5) * spacing)


def grid_points(length: float, spacing: float) -> int:
    """Even number of grid points with spacing closest to ``spacing``."""
    return max(2 * round(length / spacing / 2), 8)


def kpoints(nk: int, length: float) -> tuple[np.ndarray, np.ndarray]:
    """Gamma-centred k-points folded by time reversal: (k in 1/bohr, weights summing to 1)."""
    js = np.arange(nk // 2 + 1)
    w = np.where((js == 0) | (2 * js == nk), 1.0, 2.0) / nk
    return 2 * np.pi * js / (nk * length), w


@functools.lru_cache(maxsize=32)
def kinetic_matrix(n: int, length: float, k: float) -> np.ndarray:
    """Dense spectral kinetic operator (n, n) at Bloch vector k, acting on psi = e^{ikx} u on the grid.

    T[i, j] = (1/n) sum_G (G+k)^2/2 e^{i(G+k)(x_i - x_j)}: the same spectrum as on u, and |psi| = |u|.
    It is real (and returned real: 2-6x faster to diagonalise) when the set {G+k} is symmetric,
    i.e. at k = 0 and at the zone boundary k = pi/L.
    """
    g = 2 * np.pi * np.fft.fftfreq(n, d=length / n) + k
    d = np.arange(n) * (length / n)
    phase = np.exp(1j * np.outer(d, g))  # (n points, n plane waves)
    mat = (phase * (0.5 * g**2)) @ phase.conj().T / n
    mat = 0.5 * (mat + mat.conj().T)
    return mat.real.copy() if np.abs(mat.imag).max() < 1e-10 * np.abs(mat.real).max() else mat


def _image_offsets(length: float, reach: float) -> np.ndarray:
    m = math.ceil(reach / length) + 1
    return np.arange(-m, m + 1) * length


def external_potential(chain: Chain, x: np.ndarray, with_derivative: bool = False):
    """V(x) = sum_a V_a (Ha) on points x; with_derivative also gives dV/dX_a (natoms, len(x))."""
    v = np.zeros_like(x)
    dv = np.zeros((len(chain.symbols), x.size))
    for a, (sp, pos) in enumerate(zip(chain.species, chain.positions)):
        shifts = _image_offsets(chain.length, 12 * sp.sigma)
        u = x[None, :] - pos - shifts[:, None]
        va = -sp.strength / (math.sqrt(2 * math.pi) * sp.sigma) * np.exp(-u**2 / (2 * sp.sigma**2))
        v += va.sum(axis=0)
        if with_derivative:  # d/dX of V_a(x - X) = V_a(u) u / s^2
            dv[a] = (va * u).sum(axis=0) / sp.sigma**2
    return (v, dv) if with_derivative else v


def ion_ion(chain: Chain, settings: ChainSettings) -> tuple[float, np.ndarray]:
    """Ion-ion energy (Ha) and forces (Ha/bohr) of the screened soft-Coulomb repulsion."""
    q = np.array([s.valence for s in chain.species])
    kappa, b = settings.ion_kappa, settings.ion_softening
    shifts = _image_offsets(chain.length, 40.0 / kappa)
    d = chain.positions[:, None, None] - chain.positions[None, :, None] - shifts[None, None, :]
    s = np.sqrt(d**2 + b**2)
    w = settings.ion_strength * q[:, None, None] * q[None, :, None] * np.exp(-kappa * s) / s
    self_term = np.zeros_like(w, dtype=bool)
    self_term[np.arange(q.size), np.arange(q.size), shifts.size // 2] = True
    w[self_term] = 0.0
    energy = 0.5 * w.sum()
    dwdd = -w * (kappa + 1 / s) * d / s
    forces = -dwdd.sum(axis=(1, 2))
    return float(energy), forces


def hartree_kernel(n: int, length: float, a: float) -> np.ndarray:
    """Soft-Coulomb kernel on rfft frequencies: 2 K0(|G| a), G=0 dropped."""
    g = 2 * np.pi * np.fft.rfftfreq(n, d=length / n)
    kern = np.zeros_like(g)
    kern[1:] = 2 * scipy.special.k0(g[1:] * a)
    return kern


def hartree(density: np.ndarray, length: float, a: float) -> tuple[np.ndarray, float]:
    """Hartree potential (Ha) and energy (Ha) of a periodic density (electrons/bohr)."""
    kern = hartree_kernel(density.size, length, a)
    v = np.fft.irfft(np.fft.rfft(density) * kern, n=density.size)
    return v, 0.5 * float(np.sum(v * density)) * length / density.size


def xc(density: np.ndarray, c_x: float, h: float) -> tuple[np.ndarray, float]:
    """Local exchange potential -c_x n^(1/3) (Ha) and energy -(3/4) c_x sum n^(4/3) h (Ha)."""
    n = np.maximum(density, 0.0)
    c = np.cbrt(n)
    return -c_x * c, float(-0.75 * c_x * np.sum(n * c) * h)


def occupations(eigs: np.ndarray, weights: np.ndarray, electrons: float, temperature: float
                ) -> tuple[np.ndarray, float]:
    """Fermi-Dirac occupations (0..1 per spin orbital) and chemical potential (Ha) by bisection.

    eigs: (nk, nbands). Chooses mu so that 2 sum_k w_k sum_i f_ki = electrons.
    """
    if electrons > 2 * eigs.shape[1] - 1e-9:
        raise DdvizError(f"{electrons} electrons need more than {eigs.shape[1]} bands")

    def count(mu):
        return 2 * float(np.sum(weights[:, None] * scipy.special.expit((mu - eigs) / temperature)))

    lo, hi = eigs.min() - 50 * temperature - 1.0, eigs.max() + 50 * temperature + 1.0
    for _ in range(200):
        mu = 0.5 * (lo + hi)
        c = count(mu)
        if abs(c - electrons) < 1e-13 * max(electrons, 1):
            break
        lo, hi = (mu, hi) if c < electrons else (lo, mu)
    return scipy.special.expit((mu - eigs) / temperature), mu


def entropy(f: np.ndarray, weights: np.ndarray) -> float:
    """Electronic entropy (k_B = 1) of spin-degenerate occupations."""
    f = np.clip(f, 1e-300, 1 - 1e-16)
    g = np.clip(1 - f, 1e-300, 1.0)
    return float(-2 * np.sum(weights[:, None] * (f * np.log(f) + g * np.log(g))))


@dataclass
class Result:
    """A converged 1D Kohn–Sham state (bohr, Ha, electrons/bohr)."""

    chain: Chain
    settings: ChainSettings
    x: np.ndarray                  # grid points (bohr)
    density: np.ndarray            # electrons/bohr
    eigenvalues: np.ndarray        # (nk, nbands) Ha
    occupations: np.ndarray        # (nk, nbands) 0..1 per spin orbital
    kweights: np.ndarray
    mu: float                      # chemical potential (Ha)
    energy: float                  # Mermin free energy A = E - T S (Ha)
    components: dict = field(default_factory=dict)
    forces: np.ndarray = None      # (natoms,) Ha/bohr
    iterations: int = 0
    residuals: list = field(default_factory=list)
    v_eff: np.ndarray = None       # converged Kohn-Sham potential (Ha)

    @property
    def h(self) -> float:
        """Grid step (bohr)."""
        return self.chain.length / self.x.size

    def band_gap(self) -> float:
        """Indirect gap (Ha) at integer filling: min eps_{N/2} - max eps_{N/2-1} over k (>= 0)."""
        nocc = round(self.chain.electrons / 2)
        return max(0.0, float(self.eigenvalues[:, nocc].min() - self.eigenvalues[:, nocc - 1].max()))


def diagonalise(v_eff: np.ndarray, length: float, ks: np.ndarray, nbands: int,
                vectors: bool = True):
    """Lowest ``nbands`` eigenpairs of T_k + diag(v_eff) for each k; orbitals normalised on the grid."""
    n = v_eff.size
    h = length / n
    eigs, orbs = [], []
    for k in ks:
        ham = kinetic_matrix(n, length, float(k)).copy()
        ham[np.diag_indices(n)] += v_eff
        out = scipy.linalg.eigh(ham, subset_by_index=(0, nbands - 1), driver="evr",
                                eigvals_only=not vectors, check_finite=False)
        if vectors:
            eigs.append(out[0])
            orbs.append(out[1] / math.sqrt(h))
        else:
            eigs.append(out)
    return np.array(eigs), orbs


def density_from_orbitals(orbs, f, weights) -> np.ndarray:
    """n(x) = 2 sum_k w_k sum_i f_ki |psi_ki(x)|^2 (electrons/bohr)."""
    return sum(2 * w * (np.abs(o) ** 2 @ fk) for o, fk, w in zip(orbs, f, weights))


def initial_density(chain: Chain, x: np.ndarray) -> np.ndarray:
    """Superposition of normalised Gaussians (width sigma + 1 bohr), one per atom, plus a floor."""
    n = np.full_like(x, 1e-3)
    for sp, pos in zip(chain.species, chain.positions):
        s = sp.sigma + 1.0
        u = (x[:, None] - pos - _image_offsets(chain.length, 10 * s)[None, :])
        n += sp.valence * np.exp(-u**2 / (2 * s**2)).sum(axis=1) / (math.sqrt(2 * math.pi) * s)
    return n * chain.electrons / (n.sum() * (x[1] - x[0]))


def make_mixer(kind: str, length: float, alpha: float | None = None, q0: float | None = None):
    """'pulay' (Anderson/Pulay + Kerker, the default) or 'linear' (plain, no preconditioner)."""
    if kind == "pulay":
        return PulayMixer(alpha=0.7 if alpha is None else alpha, length=length,
                          q0=0.3 if q0 is None else q0)
    if kind == "linear":
        return LinearMixer(alpha=0.3 if alpha is None else alpha, length=length,
                           q0=0.0 if q0 is None else q0)
    raise DdvizError(f"unknown mixer {kind!r}; expected 'pulay' or 'linear'")


def solve(chain: Chain, settings: ChainSettings = ChainSettings(), density: np.ndarray | None = None,
          mixer: str = "pulay", alpha: float | None = None, q0: float | None = None,
          extra_potential: np.ndarray | None = None, raise_on_failure: bool = True) -> Result:
    """Self-consistent 1D Kohn–Sham ground state (Mermin free energy, forces).

    density: starting guess (electrons/bohr, rescaled to the electron count), e.g. the previous MD
    step. extra_potential: a fixed perturbation added to the external potential (Ha, on the grid).
    mixer: 'pulay' (Anderson/Pulay + Kerker, alpha 0.7, q0 0.3 1/bohr) or 'linear' (alpha 0.3).
    Raises ConvergenceError after ``settings.max_iter`` iterations unless ``raise_on_failure`` is False.
    """
    with single_threaded_blas():
        return _solve(chain, settings, density, mixer, alpha, q0, extra_potential, raise_on_failure)


def _solve(chain, settings, density, mixer, alpha, q0, extra_potential, raise_on_failure) -> Result:
    n = grid_points(chain.length, settings.spacing)
    h = chain.length / n
    x = np.arange(n) * h
    ne = chain.electrons
    ks, kw = kpoints(settings.nk, chain.length)
    nbands = math.ceil(ne / 2) + settings.extra_bands
    v_ext, dv_ext = external_potential(chain, x, with_derivative=True)
    if extra_potential is not None:
        v_ext = v_ext + extra_potential
    n_in = initial_density(chain, x) if density is None else np.maximum(density, 1e-12)
    n_in = n_in * ne / (n_in.sum() * h)
    mix = make_mixer(mixer, chain.length, alpha, q0)
    residuals = []
    for it in range(1, settings.max_iter + 1):
        v_h, _ = hartree(n_in, chain.length, settings.soft_coulomb)
        v_xc, _ = xc(n_in, settings.xc_coefficient, h)
        v_eff = v_ext + v_h + v_xc
        eigs, orbs = diagonalise(v_eff, chain.length, ks, nbands)
        f, mu = occupations(eigs, kw, ne, settings.temperature)
        while eigs[:, -1].min() < mu + 40 * settings.temperature and nbands < n:
            nbands = min(n, nbands + max(4, nbands // 2))  # the last bands must be empty
            eigs, orbs = diagonalise(v_eff, chain.length, ks, nbands)
            f, mu = occupations(eigs, kw, ne, settings.temperature)
        n_out = density_from_orbitals(orbs, f, kw)
        res = math.sqrt(h * float(np.sum((n_out - n_in) ** 2)))
        residuals.append(res)
        if res < settings.tol or not np.isfinite(res):
            break
        n_in = mix(n_in, n_out, ne, h)
    if not (residuals[-1] < settings.tol) and raise_on_failure:
        raise ConvergenceError(f"1D KS SCF ({mixer}) did not reach residual {settings.tol:g} in "
                               f"{settings.max_iter} iterations (last {residuals[-1]:.3g})")
    # Mermin free energy at the output density
    _, e_h = hartree(n_out, chain.length, settings.soft_coulomb)
    _, e_xc = xc(n_out, settings.xc_coefficient, h)
    e_band = 2 * float(np.sum(kw[:, None] * f * eigs))
    kinetic = e_band - h * float(np.sum((v_eff - v_ext) * n_out)) - h * float(np.sum(v_ext * n_out))
    e_ext = h * float(np.sum(v_ext * n_out))
    e_ii, f_ii = ion_ion(chain, settings)
    ts = settings.temperature * entropy(f, kw)
    comps = {"kinetic": kinetic, "external": e_ext, "hartree": e_h, "xc": e_xc, "ion_ion": e_ii,
             "minus_ts": -ts}
    energy = float(sum(comps.values()))
    forces = -h * dv_ext @ n_out + f_ii
    return Result(chain, settings, x, n_out, eigs, f, kw, float(mu), energy, comps, forces,
                  len(residuals), residuals, v_eff)
