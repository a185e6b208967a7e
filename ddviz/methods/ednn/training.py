"""Training EDNN (and, through :class:`ImageTraining`, DCIGN) in the generic loop.

The data are ``ddviz dataset plane2d`` folders (``config.train``; their ``train`` split). The
last potentials of the list, at least ``config.validation_snapshots`` samples, are held out for
validation (all electron counts of a potential together, as the dataset splits). A step draws
``config.snapshots_per_step`` training samples and one of the 8 symmetries of the square
(rotations by 90 degrees, reflections), applied to the whole batch: energies are invariant under
them, densities follow the potential. The options of ``ddviz.train.config.METHOD_OPTIONS``
(probe points, loss, L-BFGS) do not apply: its ``METHOD`` declares none of them.

EDNN's loss is the mean squared error of the six energies, each divided by the spread of its
training values (standardised targets, Ryczko et al. 2019); validation reports the mean absolute
error per term (Ha) and ``std_mae``, the mean over terms of MAE / spread (the score).
"""

from __future__ import annotations

import numpy as np
import torch

from ddviz.methods.ednn.data import ENERGY_KEYS, Images, load_images
from ddviz.methods.ednn.files import load_model, save_model
from ddviz.methods.ednn.model import EDNN
from ddviz.train.method import TrainingMethod
from ddviz.train.run_dir import TrainingError


def symmetry(x: torch.Tensor, k: int) -> torch.Tensor:
    """Symmetry ``k`` (0..7) of the square applied to the last two axes of ``x``."""
    if k >= 4:
        x = x.transpose(-1, -2)
    return torch.rot90(x, k % 4, dims=(-2, -1))


class ImageTraining(TrainingMethod):
    """Shared half of EDNN and DCIGN training: data, validation hold-out, symmetric batches.

    Subclasses set :meth:`arrays` (inputs and targets of some samples), ``build_model``,
    ``loss`` and ``validation_metrics``.

    Raises
    ------
    TrainingError
        No data, or too few potentials to hold some out.
    """

    def __init__(self, config, device: torch.device):
        super().__init__(config, device)
        if not config.train:
            raise TrainingError("no training data: set 'train' to plane2d dataset folders",
                                field="train")
        images = load_images(config.train, split="train")
        if abs(images.pixel - config.model.pixel) > 1e-9 * config.model.pixel:
            raise TrainingError(f"the data's grid spacing is {images.pixel:.6g} bohr, the "
                                f"model's {config.model.pixel:.6g} bohr", field="model.pixel")
        potentials = list(dict.fromkeys(images.potential.tolist()))  # in order of appearance
        held: list = []
        while (np.isin(images.potential, held).sum() < config.validation_snapshots
               and len(held) < len(potentials)):
            held.append(potentials[-1 - len(held)])
        if len(held) == len(potentials):
            raise TrainingError(f"{len(images)} training samples leave none after holding out "
                                f"{config.validation_snapshots} for validation",
                                field="validation_snapshots")
        val = np.isin(images.potential, held)
        self.train_set, self.val_set = images.subset(~val), images.subset(val)
        self.x_train, self.y_train = self._tensors(self.train_set)
        self.x_val, self.y_val = self._tensors(self.val_set)

    def arrays(self, images: Images) -> tuple[np.ndarray, np.ndarray]:
        """(inputs (S, C, n, m), targets) of ``images`` for this model config."""
        raise NotImplementedError

    def _tensors(self, images: Images):
        x, y = self.arrays(images)
        dtype = getattr(torch, self.config.model.dtype)
        return (torch.as_tensor(x, dtype=dtype, device=self.device),
                torch.as_tensor(y, dtype=dtype, device=self.device))

    def batch(self, model, rng: np.random.Generator):
        """(sample indices, symmetry number) of the next step."""
        size = min(self.config.snapshots_per_step, len(self.train_set))
        return rng.choice(len(self.train_set), size=size, replace=False), int(rng.integers(8))

    def inputs(self, model, batch) -> torch.Tensor:
        """The batch's inputs, symmetry applied, in the model's dtype."""
        index, k = batch
        return symmetry(self.x_train[torch.as_tensor(index)], k).to(model.dtype)

    def data_summary(self) -> dict:
        """Sample counts and data folders, for the model file."""
        return {"train_samples": len(self.train_set), "validation_samples": len(self.val_set),
                "data": list(self.config.train)}


class EDNNTraining(ImageTraining):
    """EDNN's half of a training run (see :class:`~ddviz.train.method.TrainingMethod`)."""

    score = "std_mae"
    score_format = "{:.4f} (MAE / spread)"
    history_metrics = ("std_mae", "mae_E_tot")

    def arrays(self, images: Images):
        """(input channels, the functional's six energies) of ``images``."""
        cfg = self.config.model
        return (images.channels(cfg.input, cfg.rho_functional),
                images.energies[cfg.functional])

    def build_model(self) -> EDNN:
        """A fresh EDNN of the run's model config."""
        return EDNN(self.config.model).to(self.device)

    def initialise(self, model: EDNN) -> None:
        """Input scales and per-electron energy statistics of the training samples."""
        x, y = self.arrays(self.train_set)
        with torch.no_grad():
            model.set_statistics(x, y, self.train_set.electrons)

    def loss(self, model: EDNN, batch) -> torch.Tensor:
        """Mean squared error of the six energies, each over its training spread."""
        ref = self.y_train[torch.as_tensor(batch[0])].to(model.dtype)
        return torch.mean(((model(self.inputs(model, batch)) - ref) / model.target_std) ** 2)

    def validation_metrics(self, model: EDNN) -> dict:
        """``mae_<term>`` (Ha) per term and ``std_mae`` (the mean of MAE / spread)."""
        err = (model(self.x_val.to(model.dtype)) - self.y_val.to(model.dtype)).abs().mean(0)
        out = {f"mae_{k}": float(err[i]) for i, k in enumerate(ENERGY_KEYS)}
        out["std_mae"] = float((err / model.target_std).mean())
        return out

    def save_model(self, model: EDNN, path, metadata: dict) -> None:
        """Write an EDNN model file (:mod:`ddviz.methods.ednn.files`)."""
        save_model(model, path, metadata)

    def load_model(self, path) -> EDNN:
        """Read an EDNN model file onto the run's device."""
        return load_model(path, device=self.device)[0]


TRAINING = EDNNTraining
