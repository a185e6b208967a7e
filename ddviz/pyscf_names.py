"""The basis-set and pseudopotential names ddviz hands to PySCF: a fixed allow-list.

PySCF's loaders take a *name* or a *text*: a string that is not a known name is opened as a file
path when one exists, else parsed as basis or pseudopotential text, and that parser passes any line
that is not plain numbers to Python's ``eval``. A name read from a data file (the netCDF attributes
``orbital_basis`` / ``orbital_pseudo``, a dataset's ``dataset.json``) must therefore never reach
PySCF as it is: it is matched against this list (case, ``-``, ``_`` and blanks ignored, as PySCF
matches names) and the list's own spelling is passed on.
"""

from __future__ import annotations

# Orbital basis sets PySCF ships as data files: the GTH family (with pseudopotentials, what ddviz
# generates) and the common all-electron sets of molecular references.
BASIS_NAMES: tuple[str, ...] = (
    "gth-szv", "gth-dzv", "gth-dzvp", "gth-tzvp", "gth-tzv2p", "gth-qzv2p", "gth-qzv3p",
    "gth-szv-molopt", "gth-dzvp-molopt", "gth-dzvp-molopt-sr",
    "sto-3g", "3-21g", "6-31g", "6-31g*", "6-31g**", "6-311g**",
    "def2-svp", "def2-svpd", "def2-tzvp", "def2-tzvpp", "def2-qzvp",
    "cc-pvdz", "cc-pvtz", "aug-cc-pvdz", "aug-cc-pvtz",
)
# Pseudopotentials ("" means none: an all-electron calculation).
PSEUDO_NAMES: tuple[str, ...] = ("", "gth-pbe", "gth-lda", "gth-blyp", "gth-bp", "gth-hf")
# Auxiliary (density-fitting) basis sets; None, PySCF's own choice, is allowed separately.
AUXBASIS_NAMES: tuple[str, ...] = ("weigend", "def2-universal-jkfit", "def2-svp-jkfit",
                                   "def2-tzvp-jkfit", "cc-pvdz-jkfit", "cc-pvtz-jkfit")


def _key(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch not in "-_ ")


def allowed_name(name, names: tuple[str, ...]) -> str | None:
    """The allow-list's spelling of ``name``, or None when it is not on ``names``.

    Parameters
    ----------
    name : object
        A basis or pseudopotential name, e.g. from a file attribute; anything but a ``str`` of at
        most 40 characters is refused.
    names : tuple of str
        The allow-list (:data:`BASIS_NAMES`, :data:`PSEUDO_NAMES` or :data:`AUXBASIS_NAMES`).

    Returns
    -------
    str or None
        The matching entry of ``names`` (never the caller's string), or None.
    """
    if not isinstance(name, str) or len(name) > 40:
        return None
    key = _key(name)
    for allowed in names:
        if _key(allowed) == key:
            return allowed
    return None
