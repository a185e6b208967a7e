"""External potentials for the 2D box (Ha on the box's cell centres, bohr).

Two families, after Mills, Spanner, Tamblyn, "Deep learning and the Schrödinger equation",
Phys. Rev. A 96, 042113 (2017), as used again by Ryczko, Strubbe, Tamblyn, Phys. Rev. A 100,
022512 (2019):

* ``"sho"``: simple harmonic oscillators ``V = 1/2 k_x (x - c_x)^2 + 1/2 k_y (y - c_y)^2`` with
  random stiffness ``k_x, k_y`` in [0.1, 1.0] Ha/bohr^2 (omega = sqrt(k) in [0.32, 1] Ha) and a
  random centre within 2 bohr of the box centre.
* ``"random"``: Mills-style random wells. A coarse random binary pattern (8 x 8 cells) is upsampled
  (nearest neighbour) onto the box interior (a 2 bohr margin along the walls stays zero); a second
  8 x 8 binary pattern upsampled onto the central half of the interior is added (the two scales
  of Mills et al.); the sum is blurred by a Gaussian of random width (0.5-1.5 bohr) and scaled to
  wells of random depth 1-4 Ha: ``V = -depth * p / max(p)``, 0 where there is no well. The sizes,
  blur and depths are chosen here for the 16 bohr box and 2-6 electrons.

Each potential is fixed by a seed and an index (:func:`draw`), so a dataset's potentials are
reproducible and a new seed gives unseen ones.
"""

from __future__ import annotations

import numpy as np
import scipy.ndimage

from ddviz.toys.plane2d.solver import Box, InputError

KINDS = ("sho", "random")
SHO_STIFFNESS = (0.1, 1.0)    # Ha/bohr^2
SHO_CENTRE_SPREAD = 2.0       # bohr from the box centre
RANDOM_CELLS = 8              # coarse binary pattern, cells per side
RANDOM_MARGIN = 2.0           # bohr along the walls without wells
RANDOM_BLUR = (0.5, 1.5)      # Gaussian blur sigma, bohr
RANDOM_DEPTH = (1.0, 4.0)     # Ha


def sho(box: Box, kx: float, ky: float, cx: float, cy: float) -> np.ndarray:
    """Harmonic oscillator ``1/2 kx (x-cx)^2 + 1/2 ky (y-cy)^2`` on the box's mesh.

    Parameters
    ----------
    box : Box
        The square box (coordinates run from 0 to L, bohr).
    kx, ky : float, Ha/bohr^2
        Spring constants.
    cx, cy : float, bohr
        Centre.

    Returns
    -------
    (n, n) float array, Ha
        The potential, indexed [ix, iy].
    """
    x, y = box.mesh()
    return 0.5 * kx * (x - cx) ** 2 + 0.5 * ky * (y - cy) ** 2


def _upsample(bits: np.ndarray, size: int) -> np.ndarray:
    """Nearest-neighbour upsampling of a square (m, m) pattern to (size, size)."""
    idx = (np.arange(size) * bits.shape[0]) // size
    return bits[np.ix_(idx, idx)].astype(float)


def mills_random(box: Box, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    """A Mills-style random potential (n, n) Ha (module docstring) and its parameters."""
    n = box.n
    margin = round(RANDOM_MARGIN / box.h)
    inner = n - 2 * margin
    if inner < 2 * RANDOM_CELLS:
        raise InputError(f"a {n} x {n} grid is too coarse for random potentials "
                         f"(need n >= {2 * RANDOM_CELLS + 2 * margin})", field="n")
    p = np.zeros((n, n))
    p[margin:n - margin, margin:n - margin] = _upsample(
        rng.integers(0, 2, (RANDOM_CELLS, RANDOM_CELLS)), inner)
    half = inner // 2
    lo = margin + (inner - half) // 2
    p[lo:lo + half, lo:lo + half] += _upsample(rng.integers(0, 2, (RANDOM_CELLS,) * 2), half)
    blur = float(rng.uniform(*RANDOM_BLUR))
    depth = float(rng.uniform(*RANDOM_DEPTH))
    p = scipy.ndimage.gaussian_filter(p, blur / box.h, mode="constant")
    if p.max() <= 0:  # an all-zero pattern (probability 2^-128): one central well
        p[n // 2, n // 2] = 1.0
        p = scipy.ndimage.gaussian_filter(p, blur / box.h, mode="constant")
    return -depth * p / p.max(), {"blur_bohr": blur, "depth_Ha": depth}


def draw(kind: str, box: Box, seed: int, index: int) -> tuple[np.ndarray, dict]:
    """Potential number ``index`` of family ``kind`` for ``seed``: (n, n) Ha and its parameters.

    The same (kind, box, seed, index) always gives the same potential.
    """
    if kind not in KINDS:
        raise InputError(f"unknown potential kind {kind!r}; expected one of {', '.join(KINDS)}",
                         field="kind")
    rng = np.random.default_rng([int(seed), int(index), KINDS.index(kind)])
    if kind == "sho":
        kx, ky = rng.uniform(*SHO_STIFFNESS, size=2)
        cx, cy = box.length / 2 + rng.uniform(-SHO_CENTRE_SPREAD, SHO_CENTRE_SPREAD, size=2)
        params = {"kx": float(kx), "ky": float(ky), "cx": float(cx), "cy": float(cy)}
        return sho(box, **params), params
    return mills_random(box, rng)
