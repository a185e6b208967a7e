"""Training DeepH-E3 in the generic loop: the mean squared error of the Kohn–Sham matrix elements.

The data are ``ddviz dataset hamiltonian-*`` folders (``config.train``, their ``train`` split);
the last ``config.validation_snapshots`` samples are held out for validation. A step draws
``config.snapshots_per_step`` samples, joins them into one graph (edges within a structure only)
and takes the mean squared error (Ha^2) over every element of every predicted block: on-site
blocks and the off-site blocks of atom pairs within the cutoff, each direction (i, j) and
(j, i). Validation reports the mean absolute error of those elements in meV (``mae_mev``, the
score) and their RMSE. The probe-point options of ``TrainConfig`` do not apply.

Before training, each head's output is scaled to the spread of its irrep coefficients in the
training data and its scalar (0e) outputs start at their mean (:meth:`initialise`).
"""

from __future__ import annotations

import numpy as np
import torch
from ase.units import Hartree as HARTREE_EV

from ddviz.methods.hamiltonian.data import load_samples
from ddviz.methods.hamiltonian.files import load_model, save_model
from ddviz.methods.hamiltonian.model import HamiltonianModel, block_index
from ddviz.train.method import TrainingMethod
from ddviz.train.run_dir import TrainingError

MEV = HARTREE_EV * 1000.0  # meV per Ha


class Structures:
    """Samples as tensors: numbers, positions (bohr), Kohn–Sham matrices (Ha), in one dtype."""

    def __init__(self, samples, dtype, device):
        self.numbers = [torch.as_tensor(s.numbers, dtype=torch.long, device=device)
                        for s in samples]
        self.positions = [torch.as_tensor(s.positions_bohr, dtype=dtype, device=device)
                          for s in samples]
        self.fock = [torch.as_tensor(s.fock, dtype=dtype, device=device) for s in samples]

    def __len__(self) -> int:
        return len(self.numbers)

    def joined(self, index):
        """(numbers, positions, batch, block-diagonal F) of samples ``index`` as one graph."""
        index = list(index)
        numbers = torch.cat([self.numbers[i] for i in index])
        batch = torch.cat([torch.full_like(self.numbers[i], k) for k, i in enumerate(index)])
        return (numbers, torch.cat([self.positions[i] for i in index]), batch,
                torch.block_diag(*[self.fock[i] for i in index]))


def block_errors(model: HamiltonianModel, numbers, positions, batch, fock):
    """(predicted - reference) of every predicted block element, flattened (Ha)."""
    offsets = model.ao_offsets(numbers)
    errors = []
    for _, ai, aj, b in model.blocks(numbers, positions, batch):
        errors.append((b - fock[block_index(offsets, ai, aj, b.shape[1], b.shape[2])]).reshape(-1))
    return torch.cat(errors)


class HamiltonianTraining(TrainingMethod):
    """DeepH-E3's half of a training run (see :class:`~ddviz.train.method.TrainingMethod`).

    Raises
    ------
    TrainingError
        No data, too few samples to hold some out, or a basis other than the model's.
    """

    score = "mae_mev"
    score_format = "{:.2f} meV"
    history_metrics = ("mae_mev", "rmse_mev")

    def __init__(self, config, device: torch.device):
        super().__init__(config, device)
        if not config.train:
            raise TrainingError("no training data: set 'train' to hamiltonian dataset folders",
                                field="train")
        samples = [s for _, s in load_samples(config.train, split="train")]
        if len(samples) <= config.validation_snapshots:
            raise TrainingError(f"{len(samples)} training samples leave none after holding out "
                                f"{config.validation_snapshots} for validation",
                                field="validation_snapshots")
        bases = {s.basis for s in samples}
        if bases != {config.model.basis}:
            raise TrainingError(f"the data's basis is {sorted(bases)}, the model's "
                                f"{config.model.basis!r}", field="model.basis")
        config.model.species = sorted({int(z) for s in samples for z in s.numbers})
        dtype = getattr(torch, config.model.dtype)
        n_val = config.validation_snapshots
        self.train_set = Structures(samples[:-n_val], dtype, device)
        self.val_set = Structures(samples[-n_val:], dtype, device)

    def build_model(self) -> HamiltonianModel:
        """A fresh model of the run's model config."""
        return HamiltonianModel(self.config.model).to(self.device)

    def initialise(self, model: HamiltonianModel) -> None:
        """Per head: the mean of the scalar coefficients and the spread of each irrep's."""
        numbers, positions, batch, fock = self.train_set.joined(range(len(self.train_set)))
        offsets = model.ao_offsets(numbers)
        with torch.no_grad():
            for key, ai, aj, b in model.blocks(numbers, positions, batch):
                u = getattr(model, f"u_{key}")
                target = fock[block_index(offsets, ai, aj, b.shape[1], b.shape[2])]
                c = target.reshape(len(ai), -1) @ u.T  # u has orthonormal rows
                mean, scale = getattr(model, f"mean_{key}"), getattr(model, f"scale_{key}")
                for sl, (_, ir) in zip(model.heads[key].irreps_out.slices(),
                                       model.heads[key].irreps_out):
                    part = c[:, sl]
                    if ir.l == 0 and ir.p == 1:
                        mean[sl] = part.mean()
                        part = part - part.mean()
                    scale[sl] = part.pow(2).mean().sqrt().clamp_min(1e-4)

    def batch(self, model, rng: np.random.Generator):
        """The indices of the next step's samples."""
        size = min(self.config.snapshots_per_step, len(self.train_set))
        return rng.choice(len(self.train_set), size=size, replace=False)

    def loss(self, model: HamiltonianModel, batch) -> torch.Tensor:
        """Mean squared error (Ha^2) of the predicted block elements."""
        return block_errors(model, *self.train_set.joined(batch)).pow(2).mean()

    def validation_metrics(self, model: HamiltonianModel) -> dict:
        """``mae_mev`` and ``rmse_mev`` of the validation samples' predicted elements."""
        err = block_errors(model, *self.val_set.joined(range(len(self.val_set))))
        return {"mae_mev": float(err.abs().mean()) * MEV,
                "rmse_mev": float(err.pow(2).mean().sqrt()) * MEV}

    def save_model(self, model: HamiltonianModel, path, metadata: dict) -> None:
        """Write a Hamiltonian model file (:mod:`ddviz.methods.hamiltonian.files`)."""
        save_model(model, path, metadata)

    def load_model(self, path) -> HamiltonianModel:
        """Read a Hamiltonian model file onto the run's device."""
        return load_model(path, device=self.device)[0]

    def data_summary(self) -> dict:
        """Sample counts and data folders, for the model file."""
        return {"train_snapshots": len(self.train_set), "validation_snapshots": len(self.val_set),
                "data": list(self.config.train)}


TRAINING = HamiltonianTraining
