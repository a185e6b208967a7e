"""The one training loop, for every method: ``Trainer(config, run_dir).fit()``.

The loop holds what all methods share: the optimiser (Adam with an exponentially decaying
learning rate on random batches, or L-BFGS with a strong-Wolfe line search on the method's fixed
batch, for a deterministic finishing stage), the validation cadence, best weights and early stopping, checkpoints (atomic, bit-exact
resume), history and status files, stop requests and callbacks. Everything about the learned map
(data, model, batches, loss, metrics, model file) is the method's
(:class:`~ddviz.train.method.TrainingMethod`), looked up by the config's ``method``.
"""

from __future__ import annotations

import copy
import math
import os
import time

import numpy as np
import torch

from ddviz import __version__
from ddviz.config import to_dict
from ddviz.device import pick_device
from ddviz.train import distributed
from ddviz.train.config import TrainConfig
from ddviz.train.method import DEFAULT_METHOD, evaluating, training_method
from ddviz.train.run_dir import (
    CHECKPOINT_FORMAT,
    CHECKPOINT_VERSION,
    RunDirectory,
    TrainingError,
)

__all__ = ["CHECKPOINT_FORMAT", "CHECKPOINT_VERSION", "Callback", "Trainer", "TrainingError",
           "pick_device"]


class Callback:
    """Hooks called by :class:`Trainer`; override what you need."""

    def on_start(self, trainer: Trainer) -> None:
        """Called once before the first step (also when resuming)."""

    def on_log(self, trainer: Trainer, entry: dict) -> None:
        """Called with each training-log entry (step, loss, learning rate, ...)."""

    def on_validation(self, trainer: Trainer, entry: dict) -> None:
        """Called with each validation entry (step and ``val_<metric>`` values)."""

    def on_end(self, trainer: Trainer, state: str) -> None:
        """Called once when the loop ends, with its final state."""


class Trainer:
    """Trains the config's method on a run folder (:class:`~ddviz.train.run_dir.RunDirectory`).

    Parameters
    ----------
    config : TrainConfig
        Copied: the caller's object is never changed. ``trainer.config`` is the run's copy, as
        the method completed it (e.g. Deep Density's species from the data).
    run_dir : path-like
        The run folder; see :class:`~ddviz.train.run_dir.RunDirectory`.
    callbacks : iterable of Callback
    resume : bool
        Continue the folder's checkpoint (bit for bit) instead of starting a new run.

    Raises
    ------
    TrainingError
        A checkpoint exists and ``resume`` is false, none exists and ``resume`` is true, the
        checkpoint belongs to another model configuration, or the method refuses the data.
    ConfigError
        Unknown method.
    """

    def __init__(self, config: TrainConfig, run_dir, callbacks=(), resume: bool = False):
        self.config = config = copy.deepcopy(config)
        self.run = RunDirectory(run_dir)
        self.run_dir = self.run.path
        self.callbacks = list(callbacks)
        self.group, self.device = distributed.join(pick_device(config.device))
        if config.threads:
            torch.set_num_threads(config.threads)
        self._stop = False
        if self.group.main:  # the other ranks never write the folder
            self.run.check_start(resume)
        self.method = training_method(getattr(config, "method", DEFAULT_METHOD))(config,
                                                                                 self.device)
        torch.manual_seed(config.seed)
        self.model = self.method.build_model()
        self.optimizer = self._make_optimizer()
        self._fixed_batch = None  # L-BFGS: the method's fixed batch, made on the first step
        self.loss_scale = None  # L-BFGS: 1 / the loss at its first step (checkpointed)
        self.rng = np.random.default_rng(config.seed)
        self.step = 0
        self.elapsed = 0.0
        self.history: list[dict] = []
        self.best = {self.method.score: math.inf, "step": 0, "metrics": None}
        self.best_state: dict | None = None
        self.bad_validations = 0
        if resume:
            self._load_checkpoint()
        elif config.init:
            self.method.start_from(self.model, config.init)
        else:
            self.method.initialise(self.model)
        distributed.broadcast_state(self.model, self.group)

    def _make_optimizer(self) -> torch.optim.Optimizer:
        """Adam, or L-BFGS (one iteration per :meth:`train_step`, strong-Wolfe line search)."""
        cfg, params = self.config, self.model.parameters()
        if getattr(cfg, "optimizer", "adam") != "lbfgs":
            return torch.optim.Adam(params, lr=cfg.lr)
        if self.group.distributed:
            raise TrainingError("optimizer 'lbfgs' runs in one process (no data-parallel "
                                "training)", field="optimizer")
        # no tolerances: the loop's step count decides when to stop, not the gradient's size;
        # max_eval: one evaluation at the start of the step + up to 25 in the line search
        return torch.optim.LBFGS(params, lr=1.0, max_iter=1, max_eval=26,
                                 history_size=cfg.lbfgs_history, tolerance_grad=0.0,
                                 tolerance_change=0.0, line_search_fn="strong_wolfe")

    @property
    def lbfgs(self) -> bool:
        """True when the run optimises with L-BFGS (``optimizer = "lbfgs"``)."""
        return isinstance(self.optimizer, torch.optim.LBFGS)

    # --- one step -------------------------------------------------------------------------------
    def lr_at(self, step: int) -> float:
        """Exponential decay from ``lr`` at step 0 to ``lr_final`` at the last step.

        L-BFGS: 1, its initial step length (the line search scales it).
        """
        cfg = self.config
        if self.lbfgs:
            return 1.0
        if cfg.lr == 0 or cfg.lr_final == 0:
            return cfg.lr
        return cfg.lr * (cfg.lr_final / cfg.lr) ** (step / max(cfg.steps - 1, 1))

    def train_step(self) -> float:
        """One optimisation step; returns the loss (not finite: no step was taken).

        L-BFGS: one iteration on the fixed batch; the loss is the one before the iteration.
        """
        if self.lbfgs:
            return self._lbfgs_step()
        for group in self.optimizer.param_groups:
            group["lr"] = self.lr_at(self.step)
        batch = self.method.batch(self.model, self.rng)
        self.optimizer.zero_grad(set_to_none=True)
        if self.group.distributed:
            return self._distributed_step(batch)
        loss = self.method.loss(self.model, batch)
        value = float(loss.detach())
        if not math.isfinite(value):
            return value
        loss.backward()
        self.optimizer.step()
        self.step += 1
        return value

    def _lbfgs_step(self) -> float:
        """One L-BFGS iteration on the fixed batch; the loss before it (unscaled).

        The objective is the loss divided by its value at the stage's first step: torch's
        L-BFGS drops curvature pairs with y.s below 1e-10 in absolute terms, which a loss that
        is itself ~1e-10 (a converged mean squared error) would never pass.
        """
        if self._fixed_batch is None:
            self._fixed_batch = self.method.fixed_batch(self.model)
        if self.loss_scale is None:
            with torch.no_grad():
                first = float(self.method.loss(self.model, self._fixed_batch))
            self.loss_scale = 1.0 / first if math.isfinite(first) and first > 0 else 1.0
        values = []

        def closure():
            self.optimizer.zero_grad(set_to_none=True)
            loss = self.method.loss(self.model, self._fixed_batch)
            values.append(float(loss.detach()))
            if math.isfinite(values[-1]):
                (loss * self.loss_scale).backward()
            return loss.detach() * self.loss_scale

        self.optimizer.step(closure)
        if not all(math.isfinite(v) for v in values):
            return math.nan
        self.step += 1
        return values[0]

    def _distributed_step(self, batch) -> float:
        """One rank's share of the batch; gradients, loss and stop requests summed over ranks."""
        part, share = self.method.shard(batch, self.group.rank, self.group.world)
        loss = self.method.loss(self.model, part)
        (loss * (share * self.group.world)).backward()
        params = list(self.model.parameters())
        extra = torch.stack([loss.detach() * share,
                             torch.tensor(float(self._stop), device=loss.device,
                                          dtype=loss.dtype)])
        loss_sum, stops = distributed.average_gradients(params, self.group, extra).tolist()
        self._stop = stops > 0
        if not math.isfinite(loss_sum):
            return loss_sum
        self.optimizer.step()
        self.step += 1
        return loss_sum

    def validate(self) -> dict:
        """The method's validation metrics of the current model.

        Computed in the model's own dtype and on its device; its train/eval mode is left as it
        was.
        """
        with evaluating(self.model):
            return self.method.validation_metrics(self.model)

    # --- the loop -------------------------------------------------------------------------------
    def request_stop(self) -> None:
        """Ask the loop to checkpoint and stop after the current step (signal-safe)."""
        self._stop = True

    def fit(self) -> str:
        """Run until done; returns 'finished', 'early-stopped' or 'stopped' (stop request).

        Raises
        ------
        TrainingError
            The loss or the weights became non-finite (the last good checkpoint is kept).
        """
        cfg = self.config
        if self.group.main:
            self.run.path.mkdir(parents=True, exist_ok=True)
            self.run.write_config(self.stored_config())
        self._write_status("running")  # at once: the app and `read_status` see a live run
        self.model.train()
        for cb in self.callbacks:
            cb.on_start(self)
        state = "finished"
        t0 = time.perf_counter() - self.elapsed
        running_loss = []
        while self.step < cfg.steps:
            loss = self.train_step()
            if not math.isfinite(loss):
                self._fail(f"loss became {loss} at step {self.step + 1}; the last good "
                           f"checkpoint is kept (lower lr, or check the data)")
            running_loss.append(loss)
            self.elapsed = time.perf_counter() - t0
            if self.step % cfg.log_every == 0 or self.step == cfg.steps:
                self._log({"step": self.step, "loss": float(np.mean(running_loss)),
                           "lr": self.lr_at(self.step - 1), "seconds": self.elapsed})
                running_loss = []
            validate = self.step % cfg.validate_every == 0 or self.step == cfg.steps
            # rank 0 validates (and keeps the best weights); its decision holds for all
            if validate and distributed.all_true(self.group.main and self._validation_step(),
                                                 self.group, self.device):
                state = "early-stopped"
                break
            if self.step % cfg.checkpoint_every == 0 and self.step < cfg.steps:
                self.save_checkpoint()
            if self._stop:
                state = "stopped"
                break
        self.save_checkpoint()
        if state != "stopped" and self.group.main:
            self.save_model(self.run.model)
        self._write_status(state)
        for cb in self.callbacks:
            cb.on_end(self, state)
        return state

    def _fail(self, message: str):
        self._write_status("failed", message)
        raise TrainingError(message, path=self.run.checkpoint)

    def _log(self, entry: dict) -> None:
        self.history.append(entry)
        for cb in self.callbacks:
            cb.on_log(self, entry)
        self._write_history()

    def _validation_step(self) -> bool:
        """Validate, keep the best weights; True when early stopping triggers."""
        metrics = self.validate()
        score = self.method.score
        entry = {"step": self.step, **{f"val_{k}": metrics[k] for k in self.method.history_metrics},
                 "seconds": self.elapsed}
        self.history.append(entry)
        if metrics[score] < self.best[score]:
            self.best = {score: metrics[score], "step": self.step, "metrics": metrics}
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
        columns = ["step", "loss", "lr", *(f"val_{k}" for k in self.method.history_metrics),
                   "seconds"]
        if self.group.main:
            self.run.write_history(self.history, columns)
        self._write_status("running")

    def _write_status(self, state: str, message: str = "") -> None:
        if not self.group.main:
            return
        rate = self.elapsed / max(self.step, 1)
        best = self.best[self.method.score]
        self.run.write_status({
            "state": state, "step": self.step, "steps": self.config.steps, "message": message,
            "seconds": self.elapsed, "eta_seconds": rate * (self.config.steps - self.step),
            f"best_val_{self.method.score}": None if math.isinf(best) else best})

    def stored_config(self) -> dict:
        """The run's configuration for config.json, dataset and init paths made absolute.

        So ``ddviz train --run DIR --resume`` works from any folder without the config file.
        """
        data = to_dict(self.config)
        data["train"] = [os.path.abspath(p) for p in data.get("train", [])]
        if data.get("init"):
            data["init"] = os.path.abspath(data["init"])
        return data

    def model_metadata(self) -> dict:
        """What a model file records about its training (config, data, validation)."""
        return {"train_config": to_dict(self.config), "ddviz_version": __version__,
                "training": {"steps": self.step, "seconds": self.elapsed,
                             **self.method.data_summary()},
                "validation": self.best["metrics"], "best_step": self.best["step"]}

    def save_model(self, path) -> None:
        """Save the best-validation weights (the current ones if never validated)."""
        model = self.model
        if self.best_state is not None:
            model = copy.deepcopy(self.model)
            model.load_state_dict(self.best_state)
        self.method.save_model(model, path, self.model_metadata())

    def save_checkpoint(self) -> None:
        """Weights, best weights, optimiser state, RNG state, counters and history, atomically.

        Raises
        ------
        TrainingError
            The weights are not finite (the previous checkpoint is kept).
        """
        if not all(torch.isfinite(p).all() for p in self.model.parameters()):
            self._fail(f"weights became non-finite (nan/inf) at step {self.step}; the last "
                       f"good checkpoint is kept")
        if not self.group.main:
            return
        self.run.save_checkpoint({
            "model": self.model.state_dict(), "best_state": self.best_state,
            "optimizer": self.optimizer.state_dict(), "rng": self.rng.bit_generator.state,
            "step": self.step, "elapsed": self.elapsed, "best": self.best,
            "bad_validations": self.bad_validations, "history": self.history,
            "config": to_dict(self.config), "loss_scale": self.loss_scale})

    def _load_checkpoint(self) -> None:
        saved = self.run.load_checkpoint()
        mine = to_dict(self.config)
        defaults = {"optimizer": "adam"}  # checkpoints from before the field was added
        for field in ("method", "model", "optimizer"):
            if saved["config"].get(field, defaults.get(field)) != mine.get(field):
                raise TrainingError(f"the checkpoint's {field} configuration differs from this "
                                    f"configuration's", path=self.run.checkpoint, field=field)
        self.model.load_state_dict(saved["model"])
        self.best_state = saved["best_state"]
        if self.best_state is not None:
            self.best_state = {k: v.to(self.device) for k, v in self.best_state.items()}
        self.optimizer.load_state_dict(saved["optimizer"])
        self.rng.bit_generator.state = saved["rng"]
        self.step, self.elapsed = saved["step"], saved["elapsed"]
        self.best, self.bad_validations = saved["best"], saved["bad_validations"]
        self.history = saved["history"]
        self.loss_scale = saved.get("loss_scale")
