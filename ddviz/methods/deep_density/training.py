"""Training Deep Density: its data, batches, loss and validation metrics for the generic loop.

Each step draws random probe points (bohr) in a few training snapshots and the exact reference
density there (e/bohr^3, from the stored orbitals, or the grid values at grid points); the loss
compares the model with it there. Validation evaluates the model on (strided) full grids of the
held-out snapshots: relative L1 and L2 (:mod:`ddviz.evaluate.metrics`), pooled over snapshots.
"""

from __future__ import annotations

import numpy as np
import torch

from ddviz.evaluate.metrics import error_sums, pooled
from ddviz.evaluate.predictor import Predictor, structure_from_atoms
from ddviz.grid import Grid
from ddviz.io.snapshots import load_snapshots
from ddviz.methods.deep_density.batches import ProbeSampler, draw_by_error
from ddviz.methods.deep_density.coverage import Coverage
from ddviz.methods.deep_density.files import load_model, save_model
from ddviz.methods.deep_density.model import DeepDensity, Environment
from ddviz.train.method import TrainingMethod
from ddviz.train.run_dir import TrainingError


def loss_function(name: str, pred: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
    """The loss ``name`` between predicted and reference probe values.

    Parameters
    ----------
    name : {"l1", "mse", "rel_l2"}
        ``"l1"``: mean |pred - ref|; ``"mse"``: mean (pred - ref)^2; ``"rel_l2"``:
        ||pred - ref||_2 / ||ref||_2 (any other name gives rel_l2).
    pred, ref : (M,) torch.Tensor, e/bohr^3
        Model and reference densities at the probe points.

    Returns
    -------
    torch.Tensor, scalar
        The loss (e/bohr^3, (e/bohr^3)^2 or dimensionless).
    """
    if name == "mse":
        return torch.mean((pred - ref) ** 2)
    if name == "l1":
        return torch.mean(torch.abs(pred - ref))
    return torch.sqrt(torch.sum((pred - ref) ** 2) / torch.sum(ref ** 2))


class DeepDensityTraining(TrainingMethod):
    """Deep Density's half of a training run (see :class:`~ddviz.train.method.TrainingMethod`).

    Reads ``config.train``, holds the last ``config.validation_snapshots`` snapshots out for
    validation, and sets ``config.model.species`` from the data when it is empty.

    Raises
    ------
    TrainingError
        No data, too few snapshots to hold some out, or species the model config lacks.
    """

    def __init__(self, config, device: torch.device):
        super().__init__(config, device)
        if not config.train:
            raise TrainingError("no training data: set 'train' to dataset folders or files",
                                field="train")
        samples = load_snapshots(config.train, split="train")
        held = config.validation_snapshots
        if len(samples) <= held:
            raise TrainingError(f"{len(samples)} training snapshots leave none after holding out "
                                f"{held} for validation", field="validation_snapshots")
        self.train_samples, self.val_samples = samples[:-held], samples[-held:]
        mode = "density" if config.sampling == "density" else "uniform"
        self.samplers = [ProbeSampler(s, mode, config.focus, nuclear=config.nuclear,
                                      nuclear_sigma=config.nuclear_sigma)
                         for s in self.train_samples]
        species = sorted({sym for s in samples for sym in s.atoms.get_chemical_symbols()})
        if not config.model.species:
            config.model.species = species
        unknown = sorted(set(species) - set(config.model.species))
        if unknown:
            raise TrainingError(f"the data have species {unknown} that model.species "
                                f"{config.model.species} lacks", field="model.species")
        self._environments: dict[int, Environment] = {}
        self._val_grids: list[tuple[Grid, np.ndarray]] | None = None

    # --- model ----------------------------------------------------------------------------------
    def build_model(self) -> DeepDensity:
        """A fresh :class:`DeepDensity` of ``config.model`` on the run's device."""
        return DeepDensity(self.config.model).to(self.device)

    def initialise(self, model: DeepDensity, snapshots: int = 8, points: int = 2048) -> None:
        """Set the descriptor statistics from a few training snapshots.

        Uses its own RNG: the run's stream is untouched.

        Parameters
        ----------
        model : DeepDensity
            The fresh model.
        snapshots : int
            How many training snapshots (at most).
        points : int
            Probe points drawn per snapshot.
        """
        rng = np.random.default_rng([self.config.seed, 1])
        chosen = rng.choice(len(self.train_samples), size=min(snapshots, len(self.train_samples)),
                            replace=False)
        with torch.no_grad():
            model.set_descriptor_statistics(
                (self.environment(model, int(i)), self.samplers[int(i)].draw_points(points, rng))
                for i in chosen)

    def environment(self, model: DeepDensity, index: int) -> Environment:
        """Training snapshot ``index``'s environment.

        Neighbour lists are built once; the sums are refreshed from the current parameters
        (differentiable).

        Parameters
        ----------
        model : DeepDensity
            The model being trained.
        index : int
            Training snapshot.

        Returns
        -------
        Environment
            Ready for ``model(env, points)``.
        """
        if index not in self._environments:
            self._environments[index] = model.prepare(
                *structure_from_atoms(self.train_samples[index].atoms))
        return model.refresh(self._environments[index])

    def forward(self, model: DeepDensity, index: int, points) -> torch.Tensor:
        """(M,) the model's density at points (M, 3) bohr of training snapshot ``index``."""
        pts = torch.as_tensor(points, dtype=model.dtype, device=model.device)
        return model(self.environment(model, index), pts)

    # --- batches and loss -----------------------------------------------------------------------
    def batch(self, model: DeepDensity, rng: np.random.Generator) -> list:
        """The next batch: probe points in ``snapshots_per_step`` distinct snapshots.

        Parameters
        ----------
        model : DeepDensity
            Used when ``sampling`` is ``"error"``.
        rng : numpy.random.Generator
            The loop's random stream.

        Returns
        -------
        list of (int, (n, 3) float array, (n,) float array)
            ``(snapshot index, points in bohr, reference density in e/bohr^3)``.
        """
        cfg = self.config
        chosen = rng.choice(len(self.train_samples),
                            size=min(cfg.snapshots_per_step, len(self.train_samples)),
                            replace=False)
        return [(int(i), *self._draw(model, int(i), rng)) for i in chosen]

    def _draw(self, model: DeepDensity, index: int, rng: np.random.Generator):
        cfg, sampler = self.config, self.samplers[index]
        if cfg.sampling != "error":
            return sampler.draw(cfg.points_per_snapshot, rng)

        def predict(points):
            with torch.no_grad():
                return self.forward(model, index, points).cpu().numpy()

        return draw_by_error(sampler, cfg.points_per_snapshot, cfg.focus, rng, predict)

    def fixed_batch(self, model: DeepDensity) -> list:
        """Every training snapshot's probe points, the same on every call (for L-BFGS).

        A snapshot whose grid values are the reference and whose grid has no more than
        ``points_per_snapshot`` points contributes all its grid points (a 1D chain: the whole
        objective); any other snapshot ``points_per_snapshot`` points drawn as :meth:`batch`
        draws them, from a generator seeded by ``seed`` alone (not the run's stream).

        Parameters
        ----------
        model : DeepDensity
            Unused (the batch does not depend on the model).

        Returns
        -------
        list of (int, (n, 3) float array, (n,) float array)
            ``(snapshot index, points in bohr, reference density in e/bohr^3)`` for every
            training snapshot.
        """
        rng = np.random.default_rng([self.config.seed, 2])
        n, batch = self.config.points_per_snapshot, []
        for index, sampler in enumerate(self.samplers):
            sample = sampler.sample
            if sampler.on_grid and sample.grid.size <= n:
                batch.append((index, sample.grid.points(),
                              np.asarray(sample.density.values).reshape(-1)))
            else:
                batch.append((index, *sampler.draw(n, rng)))
        return batch

    def shard(self, batch: list, rank: int, world: int) -> tuple[list, float]:
        """Rank ``rank``'s slice of every snapshot's probe points (different points per rank).

        The shares weight the mean losses ``l1`` and ``mse`` exactly; ``rel_l2`` is not a mean,
        and its distributed gradient is that of the ranks' own relative errors.

        Parameters
        ----------
        batch : list
            From :meth:`batch`.
        rank, world : int
            This process and the number of processes.

        Returns
        -------
        list
            ``(snapshot, points, reference)`` with the rank's contiguous slice of each.
        float
            The slice's fraction of all the batch's points.
        """
        part, mine, total = [], 0, 0
        for index, points, ref in batch:
            a, b = len(points) * rank // world, len(points) * (rank + 1) // world
            part.append((index, points[a:b], ref[a:b]))
            mine, total = mine + b - a, total + len(points)
        return part, mine / max(total, 1)

    def loss(self, model: DeepDensity, batch: list) -> torch.Tensor:
        """The ``config.loss`` of the model on all the batch's points together (scalar)."""
        preds = [self.forward(model, i, pts) for i, pts, _ in batch]
        refs = [torch.as_tensor(ref, dtype=model.dtype, device=model.device)
                for _, _, ref in batch]
        return loss_function(self.config.loss, torch.cat(preds), torch.cat(refs))

    # --- validation -----------------------------------------------------------------------------
    def validation_metrics(self, model: DeepDensity) -> dict:
        """Pooled and per-snapshot metrics on the validation snapshots.

        Evaluated on every ``validation_stride``-th grid point, in the model's own dtype and on
        its device.

        Returns
        -------
        dict
            As :func:`ddviz.evaluate.metrics.pooled` (``rel_l1``, ``rel_l2``, ...).
        """
        if self._val_grids is None:
            self._val_grids = [self._val_grid(s) for s in self.val_samples]
        predictor = Predictor(model, device=model.device, dtype=model.dtype)
        return pooled([error_sums(predictor.predict_grid(s.atoms, g), ref, g)
                       for s, (g, ref) in zip(self.val_samples, self._val_grids)])

    def _val_grid(self, sample) -> tuple[Grid, np.ndarray]:
        s = self.config.validation_stride
        g = sample.grid
        values = sample.density.values[::s, ::s, ::s]
        return Grid(g.origin, g.vectors * s, values.shape, g.pbc), values

    # --- files ----------------------------------------------------------------------------------
    def save_model(self, model: DeepDensity, path, metadata: dict) -> None:
        """Write a model file (:func:`~.files.save_model`) with the training data's coverage.

        The coverage record (:mod:`ddviz.methods.deep_density.coverage`) of every training
        snapshot is stored as ``metadata["coverage"]``.
        """
        record = Coverage.fit(model, (self.environment(model, i)
                                      for i in range(len(self.train_samples))))
        save_model(model, path, {**metadata, "coverage": record.to_dict()})

    init_may_differ = ("dtype", "core_dip", "core_width")

    def start_from(self, model: DeepDensity, path) -> None:
        """Load a model file's weights into ``model`` (the config's ``init``).

        The file's model configuration must equal the run's, except in ``dtype`` (the weights
        are cast) and in that a run with ``core_dip`` may start from a file without it: the core
        factor then starts at ``a = 0`` (factor 1), so the run starts from exactly the file's
        function (fine-tuning an older model to the dip at pseudopotential cores).

        Raises
        ------
        TrainingError
            If the configurations differ otherwise, or the file has the core factor and the run
            not.
        """
        loaded = self.load_model(path)
        self.check_init(loaded, path)
        if loaded.config.core_dip and not self.config.model.core_dip:
            raise TrainingError("the init model has the core factor (core_dip) and this run's "
                                "model not", path=path, field="init")
        missing, _ = model.load_state_dict(loaded.state_dict(), strict=False)
        if loaded.config.core_dip == self.config.model.core_dip:
            model.load_state_dict(loaded.state_dict())  # strict: every weight from the file
        elif set(missing) != {"core_depth", "core_width"}:
            raise TrainingError(f"the init model lacks the weights {sorted(missing)}", path=path,
                                field="init")

    def load_model(self, path) -> DeepDensity:
        """Read a model file onto the run's device (:func:`~.files.load_model`)."""
        return load_model(path, device=self.device)[0]

    def data_summary(self) -> dict:
        """Snapshot counts, data paths, periodicity and the training data's provenance.

        ``periodic``: every training snapshot is periodic along some axis (cells, slabs: the
        app's default model for a periodic structure prefers such models, a cluster model for a
        molecule).
        """
        return {"train_snapshots": len(self.train_samples),
                "validation_snapshots": len(self.val_samples),
                "data": list(self.config.train),
                "periodic": all(any(s.grid.pbc) for s in self.train_samples),
                "data_provenance": self.train_samples[0].provenance}


TRAINING = DeepDensityTraining
