"""Units: bohr and e/bohr^3 inside ddviz; Angstrom only at the ASE boundary.

A 1D model system's density is in electrons/bohr.

Every conversion between the two goes through this module.
"""

import numpy as np
from ase.units import Bohr as _ANGSTROM_PER_BOHR

ANGSTROM_PER_BOHR: float = float(_ANGSTROM_PER_BOHR)  # 0.529177... Å
BOHR_PER_ANGSTROM: float = 1.0 / ANGSTROM_PER_BOHR

LENGTH_UNIT = "bohr"
DENSITY_UNIT = "e/bohr^3"  # a density in space (ndim 3)
LINE_DENSITY_UNIT = "electrons/bohr"  # a line density (ndim 1: the chains of ddviz.toys.chain1d)
AREA_DENSITY_UNIT = "electrons/bohr^2"  # an areal density (ndim 2)
DENSITY_UNITS = {1: LINE_DENSITY_UNIT, 2: AREA_DENSITY_UNIT, 3: DENSITY_UNIT}  # ndim -> unit


def ang_to_bohr(x):
    """Lengths (any shape) from Å to bohr."""
    return np.asarray(x, dtype=float) * BOHR_PER_ANGSTROM


def bohr_to_ang(x):
    """Lengths (any shape) from bohr to Å."""
    return np.asarray(x, dtype=float) * ANGSTROM_PER_BOHR


DEBYE_PER_E_BOHR: float = 2.541746473  # 1 e*bohr in debye (CODATA 2018; PySCF's AU2DEBYE)
