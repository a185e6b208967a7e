"""A training run's options (:class:`TrainConfig`) and the files of its run folder.

Apart from :mod:`ddviz.train` (and torch), so that the app's training form is made without
importing torch.
"""

from __future__ import annotations

from dataclasses import dataclass

from ddviz.config import describe, from_dict, option, toml_value
from ddviz.methods.deep_density.config import ModelConfig

CHECKPOINT = "checkpoint.safetensors"
MODEL = "model.safetensors"
HISTORY = "history.json"
HISTORY_CSV = "history.csv"
STATUS = "status.json"


@dataclass
class TrainConfig:
    """Everything a training run needs; stored in every checkpoint and model file."""

    train: list[str] = option([], "Dataset folders or snapshot files to train on (their 'train' "
                              "split when a manifest.json assigns splits).")
    validation_snapshots: int = option(4, "Training snapshots held out for validation (the "
                                       "last ones of the list).", minimum=1)
    validation_stride: int = option(2, "Validate on every n-th grid point along each axis "
                                    "(1 = the full grid).", minimum=1)
    steps: int = option(2000, "Optimisation steps.", minimum=1)
    snapshots_per_step: int = option(4, "Snapshots drawn per step.", minimum=1)
    points_per_snapshot: int = option(2048, "Random probe points per snapshot per step.",
                                      minimum=1)
    sampling: str = option("density", "Where probe points go: 'uniform' in the grid box, "
                           "'density' (a share near the atoms), 'error' (where the model is "
                           "worst among twice as many candidates).",
                           choices=("uniform", "density", "error"))
    focus: float = option(0.5, "Share of points drawn near atoms ('density') or by error "
                          "('error').", minimum=0.0, maximum=1.0)
    loss: str = option("l1", "Loss on the probe points: mean absolute error (l1; with uniform "
                       "points the relative L1 metric up to a constant), mean squared error or "
                       "relative L2.", choices=("l1", "mse", "rel_l2"))
    lr: float = option(3e-3, "Initial Adam learning rate.", minimum=0.0)
    lr_final: float = option(3e-5, "Learning rate at the last step (exponential decay).",
                             minimum=0.0)
    validate_every: int = option(100, "Steps between validations.", minimum=1)
    checkpoint_every: int = option(100, "Steps between checkpoints.", minimum=1)
    log_every: int = option(10, "Steps between history entries.", minimum=1)
    patience: int = option(0, "Stop after this many validations without improvement "
                           "(0 = never stop early).", minimum=0)
    seed: int = option(0, "Seed for initial weights and probe points.")
    init: str = option("", "Model file (.safetensors) whose weights and descriptor statistics "
                       "start the run (fine-tuning, a second learning-rate cycle); its model "
                       "configuration must equal this run's. Empty: fresh weights.")
    threads: int = option(0, "CPU threads torch may use (0 = torch's default: all cores).",
                          minimum=0)
    device: str = option("auto", "'auto' (CUDA when available), 'cpu' or 'cuda'.",
                         choices=("auto", "cpu", "cuda"))
    model: ModelConfig = option(ModelConfig(), "Model hyperparameters.")

    @classmethod
    def from_file(cls, path) -> TrainConfig:
        from ddviz.config import load_file

        return from_dict(cls, load_file(path), source=path)


def template() -> str:
    """A TOML training configuration with every field of :class:`TrainConfig`, its default and
    its documentation (what ``ddviz train --template`` prints)."""
    lines, section = ["# ddviz training configuration: every field, with its default."], ""
    for row in describe(TrainConfig):
        head, _, name = row["name"].rpartition(".")
        if head != section:  # top-level fields come first and need no table header
            section = head
            lines += ["", f"[{head}]"]
        extra = [f"unit: {row['unit']}"] if row.get("unit") else []
        if row.get("choices"):
            extra.append("one of " + ", ".join(map(str, row["choices"])))
        lines.append(f"# {row['help']}" + (f" ({'; '.join(extra)})" if extra else ""))
        lines.append(f"{name} = {toml_value(row['default'])}")
    return "\n".join(lines) + "\n"
