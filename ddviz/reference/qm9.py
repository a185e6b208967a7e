"""QM9 molecules as reference-dataset frames: geometries from the ``qm9pack`` package.

QM9 (Ramakrishnan, Dral, Rupp, von Lilienfeld, Sci. Data 1, 140022 (2014)) holds 133,885 small
organic molecules of H, C, N, O and F (up to nine heavy atoms) at their B3LYP/6-31G(2df,p)
geometries. The PyPI package ``qm9pack`` (MIT) ships them as CSV files (SMILES, elements, positions
in Å); ddviz reads those files directly, without importing the package (its loader needs
``pkg_resources``, which current setuptools no longer provides), and parses every field it uses
without evaluating any text.

Split rule, fixed: **every molecule whose QM9 index ends in 7 is test-only**; training and
validation draw from the other nine tenths. Anyone can check a model on molecules it never saw.
Densities come from the standard method (:mod:`ddviz.reference.scf`: PBE, GTH-PBE, gth-dzvp,
grid level 1) on the standard grid, stored compactly as orbitals (:mod:`ddviz.reference.generate`).
"""

from __future__ import annotations

import csv
import functools
import importlib.util
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import ase
import numpy as np

from ddviz.errors import ConfigError, DdvizError
from ddviz.io.atomic import write_text_atomic

ELEMENTS = ("H", "C", "N", "O", "F")
N_MOLECULES = 133885
PARTS = ("qm9_part1.csv", "qm9_part2.csv", "qm9_part3.csv")
RECIPE = "dataset.json"
_ELEMENT_LIST = re.compile(r"\[\s*'[A-Z][a-z]?'\s*(,\s*'[A-Z][a-z]?'\s*)*\]")
_SYMBOL = re.compile(r"'([A-Z][a-z]?)'")
# a decimal number as QM9's CSV writes it: "0.5995", "-1.66e-05", and Fortran-style "0." or "1."
_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_TRIPLE = rf"\[\s*{_NUMBER}\s*,\s*{_NUMBER}\s*,\s*{_NUMBER}\s*\]"
_XYZ_LIST = re.compile(rf"\[\s*{_TRIPLE}(?:\s*,\s*{_TRIPLE})*\s*\]")


def is_test(index: int) -> bool:
    """Whether QM9 molecule ``index`` (1-based, as in QM9's file names) is test-only."""
    return index % 10 == 7


@dataclass(frozen=True)
class Molecule:
    """One QM9 molecule: its 1-based QM9 index, SMILES and structure (Å)."""

    index: int
    smiles: str
    atoms: ase.Atoms


def data_dir() -> Path:
    """The folder of ``qm9pack``'s CSV files.

    Raises
    ------
    DdvizError
        ``qm9pack`` is not installed, or its data files are missing.
    """
    spec = importlib.util.find_spec("qm9pack")  # finds the package without running its __init__
    if spec is None or not spec.submodule_search_locations:
        raise DdvizError("QM9 geometries need the optional package qm9pack "
                         "(pip install qm9pack --no-deps; a 104 MB wheel of CSV files)")
    folder = Path(next(iter(spec.submodule_search_locations))) / "data"
    missing = [p for p in PARTS if not (folder / p).is_file()]
    if missing:
        raise DdvizError(f"{folder}: qm9pack's data files {', '.join(missing)} are missing")
    return folder


def parse_row(row: dict, source: str = "qm9") -> Molecule:
    """The molecule of one CSV row (keys ``Index``, ``SMILES``, ``Elements``, ``XYZ_Ang``).

    Raises
    ------
    DdvizError
        A field that is not what QM9 holds (unknown element, positions not n x 3 finite numbers,
        counts that disagree), naming ``source`` and the row's index.
    """
    where = f"{source}: molecule {row.get('Index')!r}"
    try:
        index = int(row["Index"])
        elements_text, xyz_text = row["Elements"], row["XYZ_Ang"]
    except (KeyError, TypeError, ValueError) as exc:
        raise DdvizError(f"{where}: not a QM9 row ({exc})") from None
    if not _ELEMENT_LIST.fullmatch(elements_text.strip()):
        raise DdvizError(f"{where}: element list {elements_text[:60]!r} is not a list of symbols")
    symbols = _SYMBOL.findall(elements_text)
    unknown = sorted(set(symbols) - set(ELEMENTS))
    if unknown:
        raise DdvizError(f"{where}: elements {unknown} are not QM9's H, C, N, O, F")
    if not _XYZ_LIST.fullmatch(xyz_text.strip()):
        raise DdvizError(f"{where}: positions {xyz_text[:60]!r} are not a list of [x, y, z] "
                         "numbers")
    positions = np.array([float(x) for x in re.findall(_NUMBER, xyz_text)]).reshape(-1, 3)
    if positions.shape != (len(symbols), 3) or not np.isfinite(positions).all():
        raise DdvizError(f"{where}: positions of shape {positions.shape} for {len(symbols)} "
                         "atoms, or not finite")
    return Molecule(index, str(row.get("SMILES", "")), ase.Atoms(symbols, positions))


def molecules(indices) -> list[Molecule]:
    """The QM9 molecules with the given 1-based indices, in the order given.

    Raises
    ------
    DdvizError
        An index outside 1..133885, or one that the CSV files do not hold.
    """
    wanted = [int(i) for i in indices]
    bad = [i for i in wanted if not 1 <= i <= N_MOLECULES]
    if bad:
        raise ConfigError(f"QM9 indices run from 1 to {N_MOLECULES}, got {bad[:5]}")
    left, found = set(wanted), {}
    csv.field_size_limit(sys.maxsize)
    for part in PARTS:
        path = data_dir() / part
        with open(path, newline="") as stream:
            for row in csv.DictReader(stream):
                try:
                    index = int(row["Index"])
                except (KeyError, TypeError, ValueError):
                    raise DdvizError(f"{path}: a row without an integer Index") from None
                if index in left:
                    found[index] = parse_row(row, str(path))
                    left.discard(index)
        if not left:
            break
    if left:
        raise DdvizError(f"{data_dir()}: QM9 molecules {sorted(left)[:5]} not found")
    return [found[i] for i in wanted]


@functools.cache
def available() -> tuple[int, ...]:
    """The QM9 indices the CSV files hold, ascending.

    130,831 of QM9's 133,885: qm9pack leaves out the 3,054 molecules whose geometry failed QM9's
    own consistency check.

    Raises
    ------
    DdvizError
        ``qm9pack`` missing, or a row whose index is not an integer.
    """
    csv.field_size_limit(sys.maxsize)
    out = []
    for part in PARTS:
        path = data_dir() / part
        with open(path, newline="") as stream:
            rows = csv.reader(stream)
            column = next(rows).index("Index")
            try:
                out += [int(row[column]) for row in rows]
            except (IndexError, ValueError):
                raise DdvizError(f"{path}: a row without an integer Index") from None
    return tuple(sorted(out))


def select(n_train: int, n_test: int, seed: int = 0) -> tuple[list[int], list[int]]:
    """Random QM9 indices: ``n_train`` from the training nine tenths, ``n_test`` ending in 7.

    Drawn from the molecules the CSV files hold (:func:`available`). The same seed gives the same
    molecules, and a larger count extends a smaller one's choice (the order is a fixed
    permutation), so a dataset can grow without recomputing what it has.
    """
    if n_train < 0 or n_test < 0 or n_train + n_test < 1:
        raise ConfigError(f"need n_train, n_test >= 0 and at least one molecule, got {n_train}, "
                          f"{n_test}")
    order = np.random.default_rng(seed).permutation(np.array(available()))
    test = order[[is_test(int(i)) for i in order]]
    train = order[[not is_test(int(i)) for i in order]]
    return [int(i) for i in train[:n_train]], [int(i) for i in test[:n_test]]


def recipe(n_train: int, n_test: int, seed: int = 0) -> dict:
    """The JSON description of a QM9 dataset (what ``dataset.json`` holds)."""
    from ddviz.reference.scf import SCFSettings

    train, test = select(n_train, n_test, seed)
    return {"name": "qm9", "n_train": n_train, "n_test": n_test, "seed": seed,
            "split_rule": "QM9 index ending in 7: test-only", "train_indices": train,
            "test_indices": test, "scf": SCFSettings().describe(),
            "method": "QM9 geometries (qm9pack), then PySCF RKS"}


def build(outdir, n_train: int = 200, n_test: int = 100, seed: int = 0, workers: int = 2,
          progress: bool = True, indices: tuple[list[int], list[int]] | None = None):
    """Make (or finish) a QM9 dataset in ``outdir``: ``qm9_<index>.nc`` per molecule.

    Parameters
    ----------
    outdir : str or path-like
        The dataset folder (created).
    n_train, n_test : int
        Molecules drawn from the training nine tenths and from the test tenth (index ending in 7).
    seed : int
        The draw's seed.
    workers : int
        Parallel single-threaded SCF processes.
    progress : bool
        Show a progress bar.
    indices : (list of int, list of int), optional
        Explicit (train, test) QM9 indices instead of a random draw; a test index must end in 7
        and a training index must not.

    Returns
    -------
    ddviz.reference.generate.Report
        What was computed, skipped and failed.

    Raises
    ------
    ConfigError
        Counts below zero, or explicit indices that break the split rule.
    """
    from ddviz.reference.generate import Frame, Options, generate
    from ddviz.reference.scf import SCFSettings

    rec = recipe(n_train, n_test, seed)
    if indices is not None:
        train, test = (list(map(int, part)) for part in indices)
        broken = [i for i in train if is_test(i)] + [i for i in test if not is_test(i)]
        if broken:
            raise ConfigError(f"QM9 indices {broken} break the split rule (test-only: the index "
                              "ends in 7)", field="indices")
        rec.update(n_train=len(train), n_test=len(test), train_indices=train, test_indices=test)
    frames = []
    for split in ("train", "test"):
        for mol in molecules(rec[f"{split}_indices"]):
            mol.atoms.info.update(split=split, qm9_index=mol.index, smiles=mol.smiles)
            frames.append(Frame("qm9", mol.index, mol.atoms, "qm9pack"))
    Path(outdir).mkdir(parents=True, exist_ok=True)
    write_text_atomic(Path(outdir) / RECIPE, json.dumps(rec, indent=1) + "\n")
    options = Options(SCFSettings(**rec["scf"]), compact=True, workers=workers,
                      metadata={"dataset": "qm9"}, progress=progress)
    return generate(frames, outdir, options)


def heavy_atoms(atoms: ase.Atoms) -> int:
    """Number of non-hydrogen atoms (QM9's size measure)."""
    return int(np.sum(atoms.numbers > 1))

