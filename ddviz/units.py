"""Units: bohr and e/bohr^3 inside ddviz; Angstrom only at the ASE boundary.

Every conversion between the two goes through this module.
"""

import numpy as np
from ase.units import Bohr as _ANGSTROM_PER_BOHR

ANGSTROM_PER_BOHR: float = float(_ANGSTROM_PER_BOHR)  # 0.529177... Å
BOHR_PER_ANGSTROM: float = 1.0 / ANGSTROM_PER_BOHR

LENGTH_UNIT = "bohr"
DENSITY_UNIT = "e/bohr^3"


def ang_to_bohr(x):
    """Lengths (any shape) from Å to bohr."""
    return np.asarray(x, dtype=float) * BOHR_PER_ANGSTROM


def bohr_to_ang(x):
    """Lengths (any shape) from bohr to Å."""
    return np.asarray(x, dtype=float) * ANGSTROM_PER_BOHR


def per_ang3_to_per_bohr3(x):
    """Densities (any shape) from e/Å^3 to e/bohr^3."""
    return np.asarray(x) * ANGSTROM_PER_BOHR**3
