"""Training DCIGN in the generic loop.

Data and batches: :class:`ddviz.methods.ednn.training.ImageTraining`.

The loss is the relative L1 error of the density, sum |rho - rho_ref| h^2 / N, averaged over the
batch; validation reports the relative L1 and L2 errors pooled over the held-out samples
(:func:`density_errors`), the score being ``rel_l1``.
"""

from __future__ import annotations

import torch

from ddviz.methods.dcign.files import load_model, save_model
from ddviz.methods.dcign.model import DCIGN
from ddviz.methods.ednn.data import Images
from ddviz.methods.ednn.training import ImageTraining, symmetry


def density_errors(pred: torch.Tensor, ref: torch.Tensor, pixel: float) -> dict:
    """Pooled errors of densities.

    Parameters
    ----------
    pred, ref : torch.Tensor (S, n, m)
        Predicted and reference densities (electrons/bohr^2).
    pixel : float
        Grid spacing h (bohr).

    Returns
    -------
    dict
        ``rel_l1`` = sum |d| / sum |ref|, ``rel_l2`` = sqrt(sum d^2 / sum ref^2),
        ``electrons_max_err`` the largest |N_pred - N_ref| (electrons).
    """
    d = pred - ref
    return {"rel_l1": float(d.abs().sum() / ref.abs().sum()),
            "rel_l2": float(torch.sqrt((d**2).sum() / (ref**2).sum())),
            "electrons_max_err": float(d.sum(dim=(1, 2)).abs().max()) * pixel**2}


class DCIGNTraining(ImageTraining):
    """DCIGN's half of a training run (see :class:`~ddviz.train.method.TrainingMethod`)."""

    score = "rel_l1"
    history_metrics = ("rel_l1", "rel_l2")

    def arrays(self, images: Images):
        """(v_ext and mean-density channels, the functional's densities) of ``images``."""
        return images.channels("v_ext", self.config.model.functional), \
            images.rho[self.config.model.functional]

    def build_model(self) -> DCIGN:
        """A fresh DCIGN of the run's model config."""
        return DCIGN(self.config.model).to(self.device)

    def initialise(self, model: DCIGN) -> None:
        """Input scales of the training samples."""
        with torch.no_grad():
            model.set_statistics(self.x_train.cpu())

    def loss(self, model: DCIGN, batch) -> torch.Tensor:
        """Relative L1 error of the batch's densities, averaged over the batch."""
        ref = symmetry(self.y_train[torch.as_tensor(batch[0])], batch[1]).to(model.dtype)
        pred = model(self.inputs(model, batch))
        return torch.mean((pred - ref).abs().sum(dim=(1, 2)) / ref.sum(dim=(1, 2)))

    def validation_metrics(self, model: DCIGN) -> dict:
        """Pooled ``rel_l1``, ``rel_l2`` and ``electrons_max_err`` (:func:`density_errors`)."""
        return density_errors(model(self.x_val.to(model.dtype)), self.y_val.to(model.dtype),
                              model.config.pixel)

    def save_model(self, model: DCIGN, path, metadata: dict) -> None:
        """Write a DCIGN model file (:mod:`ddviz.methods.dcign.files`)."""
        save_model(model, path, metadata)

    def load_model(self, path) -> DCIGN:
        """Read a DCIGN model file onto the run's device."""
        return load_model(path, device=self.device)[0]


TRAINING = DCIGNTraining
