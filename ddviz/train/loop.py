"""Training Deep Density models: one config object, one Trainer with callbacks (CLI and app).

Each step draws random probe points (bohr) in a few training snapshots, evaluates the exact reference
density there (e/bohr^3, from the stored orbitals) and takes an Adam step on the loss. Validation
uses full grids. Checkpoints (safetensors, atomic) hold weights, optimizer state, RNG state and
history, so ``resume`` continues bit for bit; a stop request (SIGINT/SIGTERM) checkpoints first.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np
import torch

from ddviz import __version__
from ddviz.evaluate.metrics import error_sums, pooled
from ddviz.config import to_dict
from ddviz.io.snapshots import load_snapshots
from ddviz.methods.deep_density.batches import ProbeSampler
from ddviz.errors import DdvizError
from ddviz.grid import Grid
from ddviz.io.atomic import atomic_path, write_text_atomic
from ddviz.train.config import (
    CHECKPOINT,
    HISTORY,
    HISTORY_CSV,
    MODEL,
    STATUS,
    TrainConfig,
)

CHECKPOINT_FORMAT = "ddviz-checkpoint"
CHECKPOINT_VERSION = 1


class TrainingError(DdvizError):
    """Training cannot go on: NaN loss, missing or incompatible checkpoint, bad data."""


def pick_device(name: str = "auto") -> torch.device:
    """The device, chosen once: CUDA when available (or asked for), else CPU."""
    if name == "cuda" and not torch.cuda.is_available():
        raise DdvizError("device 'cuda' was asked for but CUDA is not available")
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(name)


class Callback:
    """Hooks called by :class:`Trainer`; override what you need."""

    def on_start(self, trainer: Trainer) -> None: ...
    def on_log(self, trainer: Trainer, entry: dict) -> None: ...
    def on_validation(self, trainer: Trainer, entry: dict) -> None: ...
    def on_end(self, trainer: Trainer, state: str) -> None: ...


class Trainer:
    """Trains a DeepDensity model on a run folder: ``Trainer(config, run_dir).fit()``.

    The run folder holds checkpoint.safetensors, model.safetensors (best validation weights),
    history.json/.csv and status.json (read by the app while a run is going on).
    """

    def __init__(self, config: TrainConfig, run_dir, callbacks=(), resume: bool = False):
        self.config = config
        self.run_dir = Path(run_dir)
        self.callbacks = list(callbacks)
        self.device = pick_device(config.device)
        if config.threads:
            torch.set_num_threads(config.threads)
        self._stop = False
        if (self.run_dir / CHECKPOINT).exists() and not resume:
            raise TrainingError("this run folder has a checkpoint: resume it (--resume) or "
                                "choose a new run folder", path=self.run_dir)
        if resume and not (self.run_dir / CHECKPOINT).exists():
            raise TrainingError("there is no checkpoint to resume", path=self.run_dir / CHECKPOINT)
        self._load_data()
        self._build()
        if resume:
            self._load_checkpoint()
        elif config.init:
            self._load_init(config.init)
        else:
            self._normalise()

    # --- set-up ---------------------------------------------------------------------------------
    def _load_data(self):
        cfg = self.config
        if not cfg.train:
            raise TrainingError("no training data: set 'train' to dataset folders or files",
                                field="train")
        samples = load_snapshots(cfg.train, split="train")
        if len(samples) <= cfg.validation_snapshots:
            raise TrainingError(f"{len(samples)} training snapshots leave none after holding out "
                                f"{cfg.validation_snapshots} for validation",
                                field="validation_snapshots")
        self.train_samples = samples[:-cfg.validation_snapshots]
        self.val_samples = samples[-cfg.validation_snapshots:]
        self.samplers = [ProbeSampler(s, "density" if cfg.sampling == "density" else "uniform",
                                      cfg.focus) for s in self.train_samples]
        species = sorted({sym for s in samples for sym in s.atoms.get_chemical_symbols()})
        if not cfg.model.species:
            cfg.model.species = species
        unknown = sorted(set(species) - set(cfg.model.species))
        if unknown:
            raise TrainingError(f"the data have species {unknown} that model.species "
                                f"{cfg.model.species} lacks", field="model.species")

    def _build(self):
        from ddviz.methods.deep_density.model import DeepDensity

        cfg = self.config
        torch.manual_seed(cfg.seed)
        self.model = DeepDensity(cfg.model).to(self.device)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=cfg.lr)
        self.rng = np.random.default_rng(cfg.seed)
        self.step = 0
        self.history: list[dict] = []
        self.best = {"rel_l1": math.inf, "step": 0, "metrics": None}
        self.best_state = None
        self.bad_validations = 0
        self.elapsed = 0.0
        self._environments = {}

    def _load_init(self, path) -> None:
        """Start from a model file's weights (its configuration must equal this run's)."""
        from ddviz.methods.deep_density.files import load_model

        model, _ = load_model(path, device=self.device)
        if to_dict(model.config) != to_dict(self.config.model):
            raise TrainingError("the init model's configuration differs from this run's model "
                                "configuration", path=path, field="init")
        self.model.load_state_dict(model.state_dict())

    def _normalise(self, snapshots: int = 8, points: int = 2048):
        """Descriptor statistics from a few training snapshots (own RNG: the run's stream is
        untouched)."""
        rng = np.random.default_rng([self.config.seed, 1])
        chosen = rng.choice(len(self.train_samples), size=min(snapshots, len(self.train_samples)),
                            replace=False)
        with torch.no_grad():
            self.model.set_descriptor_statistics(
                (self._environment(int(i)), self.samplers[int(i)].draw_points(points, rng))
                for i in chosen)

    # --- one step -------------------------------------------------------------------------------
    def lr_at(self, step: int) -> float:
        """Exponential decay from lr to lr_final over the run."""
        cfg = self.config
        if cfg.lr == 0 or cfg.lr_final == 0:
            return cfg.lr
        return cfg.lr * (cfg.lr_final / cfg.lr) ** (step / max(cfg.steps - 1, 1))

    def _environment(self, index: int):
        """Snapshot ``index``'s environment: neighbour lists built once, sums refreshed from the
        current parameters (differentiable)."""
        from ddviz.evaluate.predictor import structure_from_atoms

        if index not in self._environments:
            self._environments[index] = self.model.prepare(
                *structure_from_atoms(self.train_samples[index].atoms))
        return self.model.refresh(self._environments[index])

    def _draw(self, index: int):
        """Probe points and reference values for one snapshot (numpy; float64)."""
        cfg, sampler = self.config, self.samplers[index]
        if cfg.sampling != "error":
            return sampler.draw(cfg.points_per_snapshot, self.rng)
        n = cfg.points_per_snapshot
        n_err = round(cfg.focus * n)
        pts, ref = sampler.draw(n + 2 * n_err, self.rng)
        with torch.no_grad():
            pred = self._forward(index, pts[n - n_err:]).cpu().numpy()
        err = np.abs(pred - ref[n - n_err:]) + 1e-12
        keep = self.rng.choice(3 * n_err, size=n_err, replace=False, p=err / err.sum())
        idx = np.concatenate([np.arange(n - n_err), n - n_err + keep])
        return pts[idx], ref[idx]

    def _forward(self, index: int, points):
        env = self._environment(index)
        pts = torch.as_tensor(points, dtype=self.model.dtype, device=self.device)
        return self.model(env, pts)

    def _loss(self, pred, ref):
        if self.config.loss == "mse":
            return torch.mean((pred - ref) ** 2)
        if self.config.loss == "l1":
            return torch.mean(torch.abs(pred - ref))
        return torch.sqrt(torch.sum((pred - ref) ** 2) / torch.sum(ref ** 2))

    def train_step(self) -> float:
        """One optimisation step; returns the loss."""
        cfg = self.config
        for group in self.optimizer.param_groups:
            group["lr"] = self.lr_at(self.step)
        chosen = self.rng.choice(len(self.train_samples),
                                 size=min(cfg.snapshots_per_step, len(self.train_samples)),
                                 replace=False)
        draws = [self._draw(int(i)) for i in chosen]
        self.optimizer.zero_grad(set_to_none=True)
        preds, refs = [], []
        for i, (pts, ref) in zip(chosen, draws):
            preds.append(self._forward(int(i), pts))
            refs.append(torch.as_tensor(ref, dtype=self.model.dtype, device=self.device))
        loss = self._loss(torch.cat(preds), torch.cat(refs))
        value = float(loss.detach())
        if not math.isfinite(value):
            return value
        loss.backward()
        self.optimizer.step()
        self.step += 1
        return value

    # --- validation -----------------------------------------------------------------------------
    def _val_grid(self, sample) -> tuple[Grid, np.ndarray]:
        s = self.config.validation_stride
        g = sample.grid
        values = sample.density.values[::s, ::s, ::s]
        return Grid(g.origin, g.vectors * s, values.shape, g.pbc), values

    def validate(self) -> dict:
        """Pooled and per-snapshot metrics on the validation grids (see ddviz.evaluate.comparison)."""
        from ddviz.evaluate.predictor import Predictor

        if not hasattr(self, "_val_cache"):
            self._val_cache = [self._val_grid(s) for s in self.val_samples]
        predictor = Predictor(self.model, device=self.device)
        sums = [error_sums(predictor.predict_grid(s.atoms, g), ref, g)
                for s, (g, ref) in zip(self.val_samples, self._val_cache)]
        return pooled(sums)

    # --- the loop -------------------------------------------------------------------------------
    def request_stop(self) -> None:
        """Ask the loop to checkpoint and stop after the current step (signal-safe)."""
        self._stop = True

    def fit(self) -> str:
        """Run until done; returns 'finished', 'early-stopped' or 'stopped' (stop request)."""
        cfg = self.config
        self.run_dir.mkdir(parents=True, exist_ok=True)
        for cb in self.callbacks:
            cb.on_start(self)
        state = "finished"
        t0 = time.perf_counter() - self.elapsed
        running_loss = []
        while self.step < cfg.steps:
            loss = self.train_step()
            if not math.isfinite(loss):
                self._write_status("failed", f"loss became {loss} at step {self.step + 1}")
                raise TrainingError(f"loss became {loss} at step {self.step + 1}; the last good "
                                    f"checkpoint is kept (lower lr, or check the data)",
                                    path=self.run_dir / CHECKPOINT)
            running_loss.append(loss)
            self.elapsed = time.perf_counter() - t0
            if self.step % cfg.log_every == 0 or self.step == cfg.steps:
                self._log({"step": self.step, "loss": float(np.mean(running_loss)),
                           "lr": self.lr_at(self.step - 1), "seconds": self.elapsed})
                running_loss = []
            validate = self.step % cfg.validate_every == 0 or self.step == cfg.steps
            if validate and self._validation_step():
                state = "early-stopped"
                break
            if self.step % cfg.checkpoint_every == 0 and self.step < cfg.steps:
                self.save_checkpoint()
            if self._stop:
                state = "stopped"
                break
        self.save_checkpoint()
        if state != "stopped":
            self.save_model(self.run_dir / MODEL)
        self._write_status(state)
        for cb in self.callbacks:
            cb.on_end(self, state)
        return state

    def _log(self, entry: dict) -> None:
        self.history.append(entry)
        for cb in self.callbacks:
            cb.on_log(self, entry)
        self._write_history()

    def _validation_step(self) -> bool:
        """Validate, keep the best weights; True when early stopping triggers."""
        m = self.validate()
        entry = {"step": self.step, "val_rel_l1": m["rel_l1"], "val_rel_l2": m["rel_l2"],
                 "seconds": self.elapsed}
        self.history.append(entry)
        if m["rel_l1"] < self.best["rel_l1"]:
            self.best = {"rel_l1": m["rel_l1"], "step": self.step, "metrics": m}
            self.best_state = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
            self.bad_validations = 0
        else:
            self.bad_validations += 1
        for cb in self.callbacks:
            cb.on_validation(self, entry)
        self._write_history()
        return bool(self.config.patience and self.bad_validations >= self.config.patience)

    # --- files ----------------------------------------------------------------------------------
    def _write_history(self) -> None:
        write_text_atomic(self.run_dir / HISTORY, json.dumps(self.history))
        keys = ["step", "loss", "lr", "val_rel_l1", "val_rel_l2", "seconds"]
        rows = [",".join(keys)] + [",".join("" if e.get(k) is None else repr(e[k]) for k in keys)
                                   for e in self.history]
        write_text_atomic(self.run_dir / HISTORY_CSV, "\n".join(rows) + "\n")
        self._write_status("running")

    def _write_status(self, state: str, message: str = "") -> None:
        rate = self.elapsed / max(self.step, 1)
        write_text_atomic(self.run_dir / STATUS, json.dumps({
            "state": state, "step": self.step, "steps": self.config.steps, "message": message,
            "seconds": self.elapsed, "eta_seconds": rate * (self.config.steps - self.step),
            "best_val_rel_l1": None if math.isinf(self.best["rel_l1"]) else self.best["rel_l1"]}))

    def model_metadata(self) -> dict:
        """What a model file records about its training (data, config, validation)."""
        data_prov = self.train_samples[0].provenance if self.train_samples else {}
        return {"train_config": to_dict(self.config), "ddviz_version": __version__,
                "training": {"steps": self.step, "seconds": self.elapsed,
                             "train_snapshots": len(self.train_samples),
                             "validation_snapshots": len(self.val_samples),
                             "data": list(self.config.train), "data_provenance": data_prov},
                "validation": self.best["metrics"], "best_step": self.best["step"]}

    def save_model(self, path) -> None:
        """Save the best-validation weights (current ones if never validated)."""
        from ddviz.methods.deep_density.files import save_model

        current = None
        if self.best_state is not None:
            current = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
            self.model.load_state_dict(self.best_state)
        try:
            save_model(self.model, path, self.model_metadata())
        finally:
            if current is not None:
                self.model.load_state_dict(current)

    def save_checkpoint(self) -> None:
        """Weights, best weights, Adam state, RNG state and history, atomically (safetensors)."""
        from safetensors.torch import save_file

        if not all(torch.isfinite(p).all() for p in self.model.parameters()):
            self._write_status("failed", f"weights became non-finite at step {self.step}")
            raise TrainingError(f"weights became non-finite (nan/inf) at step {self.step}; the "
                                "last good checkpoint is kept", path=self.run_dir / CHECKPOINT)
        tensors = {f"model/{k}": v.detach().cpu().contiguous()
                   for k, v in self.model.state_dict().items()}
        if self.best_state is not None:
            tensors.update({f"best/{k}": v.cpu().contiguous() for k, v in self.best_state.items()})
        opt = self.optimizer.state_dict()
        for idx, st in opt["state"].items():
            for key, val in st.items():
                tensors[f"adam/{idx}/{key}"] = torch.as_tensor(val).detach().cpu().contiguous()
        meta = {"format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION, "step": self.step,
                "elapsed": self.elapsed, "rng": self.rng.bit_generator.state,
                "best": self.best, "bad_validations": self.bad_validations,
                "history": self.history, "config": to_dict(self.config)}
        with atomic_path(self.run_dir / CHECKPOINT) as tmp:
            save_file(tensors, str(tmp), metadata={"ddviz": json.dumps(meta)})

    def _load_checkpoint(self) -> None:
        from safetensors import safe_open

        path = self.run_dir / CHECKPOINT
        try:
            with safe_open(str(path), framework="pt") as f:
                meta = json.loads(f.metadata()["ddviz"])
                tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118  (not a dict)
        except Exception as exc:
            raise TrainingError(f"not a readable ddviz checkpoint: {exc}", path=path) from exc
        if meta.get("format") != CHECKPOINT_FORMAT or meta.get("version") != CHECKPOINT_VERSION:
            raise TrainingError("unknown checkpoint format or version", path=path)
        if meta["config"]["model"] != to_dict(self.config.model):
            raise TrainingError("the checkpoint's model configuration differs from this "
                                "configuration's", path=path, field="model")
        dev = self.device
        self.model.load_state_dict({k[6:]: v.to(dev) for k, v in tensors.items()
                                    if k.startswith("model/")})
        best = {k[5:]: v.to(dev) for k, v in tensors.items() if k.startswith("best/")}
        self.best_state = best or None
        opt = self.optimizer.state_dict()
        state: dict = {}
        for k, v in tensors.items():
            if k.startswith("adam/"):
                _, idx, key = k.split("/", 2)
                state.setdefault(int(idx), {})[key] = v if key == "step" else v.to(dev)
        opt["state"] = state
        self.optimizer.load_state_dict(opt)
        self.rng.bit_generator.state = meta["rng"]
        self.step, self.elapsed = meta["step"], meta["elapsed"]
        self.best, self.bad_validations = meta["best"], meta["bad_validations"]
        self.history = meta["history"]
