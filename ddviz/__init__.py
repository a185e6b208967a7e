"""ddviz: learn, evaluate and show neural-network (Deep Density) electron densities.

Internal units: lengths in bohr, densities in e/bohr^3. Angstrom appears only at the ASE
boundary (``ase.Atoms`` positions and cells), converted in :mod:`ddviz.units`.
"""

from ddviz.errors import DdvizError
from ddviz.grid import Grid, Sample

__all__ = ["DdvizError", "Grid", "Sample"]
__version__ = "0.1.0"
