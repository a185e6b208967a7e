"""Add or update the coverage record (the training atoms' environment range) of a model file.

    python models/add_coverage.py models/aluminium.safetensors assets/datasets/al32 --held-out 2

Reads the model and the structures of its training snapshots, and rewrites the model file
(atomically) with the same weights and metadata plus ``user.coverage``
(:mod:`ddviz.methods.deep_density.coverage`). The structures are the ``split=train`` frames of each
dataset's ``trajectory.xyz`` (a dataset's snapshots are computed from these frames, in this order,
and the record needs the atoms only, so a folder shipping only its test snapshots will do), less
the last ``--held-out`` of them: the validation snapshots ``ddviz train`` held out (its
``validation_snapshots``; 0 for the records first written by this script, which included them).
When the file already has a record, the script says whether the refit's descriptor range and
shortest pairs equal the old ones (they should: only the neighbour counts are new).
Models trained by ``ddviz train`` get the record when they are written; this is for files made
before it, or before its version 2.
"""

import argparse
from pathlib import Path

import numpy as np
from ase.io import read

from ddviz.evaluate.predictor import structure_from_atoms
from ddviz.methods.deep_density.coverage import Coverage
from ddviz.methods.deep_density.files import load_model, save_model


def training_structures(datasets, held_out: int) -> list:
    """The ``split=train`` frames of the datasets' ``trajectory.xyz``, less the last ``held_out``.

    Parameters
    ----------
    datasets : list of str
        Dataset folders, in the order of the model's ``train`` list.
    held_out : int
        Frames at the end left out (the training run's validation snapshots).

    Returns
    -------
    list of ase.Atoms
        The structures, Å.
    """
    frames = [atoms for folder in datasets
              for atoms in read(Path(folder) / "trajectory.xyz", index=":")
              if atoms.info.get("split", "train") == "train"]
    return frames[:len(frames) - held_out]


def main(argv=None) -> None:
    """Rewrite the model file with the coverage of its training structures."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("model", help="Deep Density model file (.safetensors), rewritten in place")
    p.add_argument("datasets", nargs="+", help="its training dataset folders")
    p.add_argument("--held-out", type=int, default=0,
                   help="last training frames left out (the run's validation_snapshots)")
    args = p.parse_args(argv)
    model, meta = load_model(args.model)
    structures = training_structures(args.datasets, args.held_out)
    record = Coverage.fit(model, (model.prepare(*structure_from_atoms(a)) for a in structures))
    old = model.coverage
    if old is not None:
        same = all(np.array_equal(getattr(old, k), getattr(record, k), equal_nan=True)
                   for k in ("low", "high", "pair_min", "atoms"))
        print(f"descriptor range and shortest pairs {'equal' if same else 'DIFFER FROM'} "
              "the old record's")
    save_model(model, args.model, {**meta["user"], "coverage": record.to_dict()})
    print(f"{args.model}: coverage of {len(structures)} training structures "
          f"({', '.join(f'{s} {n}' for s, n in zip(record.species, record.atoms))} atoms)")


if __name__ == "__main__":
    main()
