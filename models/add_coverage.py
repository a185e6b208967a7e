"""Add the coverage record (the training atoms' environment range) to a shipped model file.

    python models/add_coverage.py models/ethane.safetensors assets/datasets/ethane

Reads the model and the train split of its dataset, and rewrites the model file (atomically) with
the same weights and metadata plus ``user.coverage`` (:mod:`ddviz.methods.deep_density.coverage`).
Models trained by ``ddviz train`` get the record when they are written; this is for files made
before it existed.
"""

import sys

from ddviz.evaluate.predictor import structure_from_atoms
from ddviz.io.snapshots import load_snapshots
from ddviz.methods.deep_density.coverage import Coverage
from ddviz.methods.deep_density.files import load_model, save_model


def main(model_path: str, *datasets: str) -> None:
    """Rewrite ``model_path`` with the coverage of the datasets' train split."""
    model, meta = load_model(model_path)
    samples = load_snapshots(list(datasets), split="train")
    record = Coverage.fit(model, (model.prepare(*structure_from_atoms(s.atoms)) for s in samples))
    save_model(model, model_path, {**meta["user"], "coverage": record.to_dict()})
    print(f"{model_path}: coverage of {len(samples)} training snapshots "
          f"({', '.join(f'{s} {n}' for s, n in zip(record.species, record.atoms))} atoms)")


if __name__ == "__main__":
    main(*sys.argv[1:])
