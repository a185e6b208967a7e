"""Training KineticNet in the generic loop.

The data are ``ddviz dataset kinetic-2e`` folders (``config.train``; their ``train`` split); the
last ``config.validation_snapshots`` samples are held out for validation. Grid points of density
below ``model.min_density`` are dropped (the model leaves them out of T_s anyway); all other points
of a sample are used, none subsampled. A step draws
``config.snapshots_per_step`` samples. The options of ``ddviz.train.config.METHOD_OPTIONS``
(probe points, loss, L-BFGS) do not apply: its ``METHOD`` declares none of them.

Loss per sample, averaged over the batch:
``((T_model - T_s) / energy_scale)^2 + derivative_weight * |g_model - g_ref|^2 / |g_ref|^2``,
where g is the functional derivative projected on the basis, g_mu = <4 phi chi_mu | dT/drho>
= dT/dc_mu (c the orbital), with its component along S c (a change of the electron count)
removed: the weighted L2 error of dT_s/drho that OF-DFT in this basis sees. The model's g comes
from autograd (rho = 2 (chi c)^2 on the grid, through the model to c); the reference is the
stored ``dTs_dc`` = 4 (mu S - V_eff) c.

Validation: ``ts_mae_mha`` (mean absolute T_s error, mHa), ``dts_rel_l2`` (pooled relative L2 of
the projected derivative) and ``score`` = ts_mae_mha + 10 dts_rel_l2.
"""

from __future__ import annotations

import numpy as np
import torch

from ddviz.methods.kinetic import data
from ddviz.methods.kinetic.files import load_model, save_model
from ddviz.methods.kinetic.model import KineticNet
from ddviz.train.method import TrainingMethod
from ddviz.train.run_dir import TrainingError


class Sample:
    """One stored sample as tensors of ``dtype``, low-density points dropped.

    Parameters
    ----------
    path : path
        A ``kinetic-2e`` sample file.
    min_density : float
        Points of lower density are dropped (e/bohr^3).
    dtype : torch.dtype
    """

    def __init__(self, path, min_density: float, dtype=torch.float32):
        arrays, attrs = data.load(path)
        keep = arrays["rho"] >= min_density
        self.path, self.system = str(path), attrs["system"]
        self.index = int(attrs.get("index", -1))
        self.Ts = float(attrs["Ts_Ha"])
        self.mol = data.molecule(arrays["Z"], arrays["coords"], int(attrs["charge"]))
        self.points_np = arrays["points"][keep]
        self.Z = torch.as_tensor(arrays["Z"], dtype=torch.long)
        self.t = {k: torch.as_tensor(arrays[k][keep], dtype=dtype)
                  for k in ("points", "weights", "rho", "grad_rho")}
        self.t["coords"] = torch.as_tensor(arrays["coords"], dtype=dtype)
        self.c = torch.as_tensor(arrays["coefficients"], dtype=dtype)
        self.S = torch.as_tensor(self.mol.intor("int1e_ovlp"), dtype=dtype)
        self.g_ref = self._perp(torch.as_tensor(arrays["dTs_dc"], dtype=dtype))

    def _perp(self, g: torch.Tensor) -> torch.Tensor:
        """``g`` without its component along S c (c normalised)."""
        sc = self.S @ self.c
        return g - (self.c @ g) * sc

    def kinetic(self, model: KineticNet) -> torch.Tensor:
        """The model's T_s (Ha) of the stored density."""
        t = self.t
        return model.kinetic_energy(self.Z, t["coords"], t["points"], t["weights"], t["rho"],
                                    t["grad_rho"])

    def kinetic_and_derivative(self, model: KineticNet, create_graph: bool = True):
        """(T_s, projected derivative g (nao,)) of the model at the stored orbital."""
        from pyscf import dft

        ao = torch.as_tensor(dft.numint.eval_ao(self.mol, self.points_np, deriv=1),
                             dtype=self.c.dtype)
        c = self.c.clone().requires_grad_(True)
        phi = ao[0] @ c
        dphi = torch.einsum("kgm,m->gk", ao[1:], c)
        t = self.t
        ts = model.kinetic_energy(self.Z, t["coords"], t["points"], t["weights"], 2 * phi**2,
                                  4 * phi[:, None] * dphi)
        with torch.enable_grad():
            (g,) = torch.autograd.grad(ts, c, create_graph=create_graph)
        return ts, self._perp(g)


class KineticTraining(TrainingMethod):
    """KineticNet's half of a training run (see :class:`~ddviz.train.method.TrainingMethod`).

    Raises
    ------
    TrainingError
        No data, or too few samples to hold some out.
    """

    score = "score"
    score_format = "{:.3f} (T_s MAE in mHa + 10 x dT_s/drho rel L2)"
    history_metrics = ("score", "ts_mae_mha", "dts_rel_l2")

    def __init__(self, config, device: torch.device):
        super().__init__(config, device)
        if not config.train:
            raise TrainingError("no training data: set 'train' to kinetic-2e dataset folders",
                                field="train")
        paths = data.samples(config.train, split="train")
        if len(paths) <= config.validation_snapshots:
            raise TrainingError(f"{len(paths)} training samples leave none after holding out "
                                f"{config.validation_snapshots} for validation",
                                field="validation_snapshots")
        dtype = getattr(torch, config.model.dtype)
        samples = [Sample(p, config.model.min_density, dtype) for p in paths]
        self.train_set = samples[: -config.validation_snapshots]
        self.val_set = samples[-config.validation_snapshots:]

    def build_model(self) -> KineticNet:
        """A fresh KineticNet of the run's model config."""
        return KineticNet(self.config.model).to(self.device)

    def initialise(self, model: KineticNet) -> None:
        """Output bias: f = mean T_s / 2 everywhere (T_s = 2 f for two electrons)."""
        with torch.no_grad():
            model.head[-1].bias.fill_(float(np.mean([s.Ts for s in self.train_set])) / 2)

    def batch(self, model, rng: np.random.Generator):
        """Indices of the next step's training samples."""
        size = min(self.config.snapshots_per_step, len(self.train_set))
        return rng.choice(len(self.train_set), size=size, replace=False)

    def sample_loss(self, model: KineticNet, sample: Sample) -> torch.Tensor:
        """The loss of one sample (module docstring)."""
        cfg = model.config
        if cfg.derivative_weight > 0:
            ts, g = sample.kinetic_and_derivative(model)
            d = ((g - sample.g_ref) ** 2).sum() / (sample.g_ref**2).sum()
        else:
            ts, d = sample.kinetic(model), 0.0
        return ((ts - sample.Ts) / cfg.energy_scale) ** 2 + cfg.derivative_weight * d

    def loss(self, model: KineticNet, batch) -> torch.Tensor:
        """The batch mean of :meth:`sample_loss`."""
        return torch.stack([self.sample_loss(model, self.train_set[i]) for i in batch]).mean()

    def validation_metrics(self, model: KineticNet) -> dict:
        """``ts_mae_mha``, ``dts_rel_l2`` and ``score`` on the held-out samples."""
        return metrics(model, self.val_set)

    def save_model(self, model: KineticNet, path, metadata: dict) -> None:
        """Write a KineticNet model file (:mod:`ddviz.methods.kinetic.files`)."""
        save_model(model, path, metadata)

    def load_model(self, path) -> KineticNet:
        """Read a KineticNet model file onto the run's device."""
        return load_model(path, device=self.device)[0]

    def data_summary(self) -> dict:
        """Sample counts and data folders, for the model file."""
        return {"train_samples": len(self.train_set), "validation_samples": len(self.val_set),
                "data": list(self.config.train)}


def metrics(model: KineticNet, samples) -> dict:
    """T_s and projected-derivative errors of ``model`` on ``samples``.

    Parameters
    ----------
    model : KineticNet
    samples : list of Sample

    Returns
    -------
    dict
        ``ts_mae_mha`` (mHa), ``dts_rel_l2`` (pooled sqrt(sum |dg|^2 / sum |g_ref|^2)),
        ``score`` = ts_mae_mha + 10 dts_rel_l2, and ``ts_mae_mha_<system>`` per system.
    """
    err, num, den, per = [], 0.0, 0.0, {}
    with torch.enable_grad():
        for s in samples:
            ts, g = s.kinetic_and_derivative(model, create_graph=False)
            e = abs(float(ts.detach()) - s.Ts) * 1e3
            err.append(e)
            per.setdefault(s.system, []).append(e)
            num += float(((g.detach() - s.g_ref) ** 2).sum())
            den += float((s.g_ref**2).sum())
    out = {"ts_mae_mha": float(np.mean(err)), "dts_rel_l2": float(np.sqrt(num / den))}
    out["score"] = out["ts_mae_mha"] + 10 * out["dts_rel_l2"]
    out.update({f"ts_mae_mha_{k}": float(np.mean(v)) for k, v in per.items()})
    return out


TRAINING = KineticTraining
