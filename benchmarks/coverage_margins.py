"""How far the shipped Deep Density models' test and transfer structures lie from their training.

    python benchmarks/coverage_margins.py

Per case (model, structures): the largest descriptor excess over the atoms, in training ranges
(warned above ``coverage.TOLERANCE``), the smallest switched-neighbour fraction (warned below
``coverage.COUNT_FRACTION``), the atoms warned about, and the time of the check per structure.
These are the measurements behind the tolerances of :mod:`ddviz.methods.deep_density.coverage`.
The rows down to "isobutane on n-butane" warn about nothing (the models' held-out snapshots, the
water transfer), the rest warn.
"""

import time
from pathlib import Path

import numpy as np
import torch
from ase.build import bulk
from ase.cluster import Icosahedron
from ase.io import read

from ddviz.evaluate.predictor import structure_from_atoms
from ddviz.methods.deep_density import coverage
from ddviz.methods.deep_density.files import load_model

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "assets" / "datasets"


def frames(name: str, split: str | None = None, index: str = ":") -> list:
    """The frames of a shipped dataset's trajectory.xyz (of one split when given)."""
    return [a for a in read(DATA / name / "trajectory.xyz", index=index)
            if split is None or a.info.get("split") == split]


def icosahedron():
    """An isolated Al13 icosahedron (ASE's Al lattice constant), in vacuum."""
    atoms = Icosahedron("Al", 2)
    atoms.center(vacuum=6.0)
    atoms.pbc = False
    return atoms


def cases() -> list[tuple[str, str, list]]:
    """``(label, model, structures)``: silent cases first, then the ones that must warn."""
    return [
        ("al32 test cells", "aluminium", frames("al32", "test")),
        ("al108 cells", "aluminium", frames("al108")),
        ("water8 test", "water", frames("water8", "test")),
        ("water16 (transfer)", "water", frames("water16")),
        ("water32 (transfer)", "water", frames("water32")),
        ("ethane test", "ethane", frames("ethane", "test")),
        ("n-butane test", "n-butane", frames("n-butane", "test")),
        ("isobutane test", "isobutane", frames("isobutane", "test")),
        ("isobutane on n-butane", "isobutane", frames("n-butane", "test")),
        ("fcc Al a = 5.0 A", "aluminium", [bulk("Al", "fcc", a=5.0, cubic=True)]),
        ("Al13 icosahedron", "aluminium", [icosahedron()]),
        ("ethane on n-butane", "ethane", frames("n-butane", "test")),
        ("ethane on isobutane", "ethane", frames("isobutane", "test")),
        ("n-butane on isobutane", "n-butane", frames("isobutane", "test")),
    ]


def main() -> None:
    """Print one row per case."""
    torch.set_num_threads(1)
    models = {}
    print(f"{'case':<24} {'model':<10} {'structures':>10} {'max excess':>10} "
          f"{'min neighbours':>14} {'warned atoms':>12} {'ms/structure':>12}")
    for label, name, structures in cases():
        if name not in models:
            models[name] = load_model(ROOT / "models" / f"{name}.safetensors")[0]
        model = models[name]
        excess, fraction, warned, seconds = -np.inf, np.inf, 0, 0.0
        for atoms in structures:
            env = model.prepare(*structure_from_atoms(atoms))
            start = time.perf_counter()
            warned += len(model.coverage.outliers(model, env))
            seconds += time.perf_counter() - start
            margins = model.coverage.margins(model, env)
            excess = max(excess, float(margins.excess.max()))
            fraction = min(fraction, float(margins.neighbour_fraction.min()))
        print(f"{label:<24} {name:<10} {len(structures):>10} {excess:>10.2f} {fraction:>14.2f} "
              f"{warned:>12} {1e3 * seconds / len(structures):>12.1f}")
    print(f"warned above {coverage.TOLERANCE} ranges or below {coverage.COUNT_FRACTION} of the "
          "fewest neighbours (inf: no neighbour species with a nonzero training minimum)")


if __name__ == "__main__":
    main()
