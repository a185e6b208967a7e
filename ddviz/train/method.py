"""What the training loop asks of a method: :class:`TrainingMethod`, and how it finds one.

The loop (:mod:`ddviz.train.loop`) knows steps, learning rate, validation cadence, early
stopping and files; everything about the learned map (its data, model, batches, loss, metrics
and model file) sits behind this interface, in ``ddviz/methods/<name>/training.py`` as
``TRAINING``, found through the registry by the config's ``method``.
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod

import numpy as np
import torch
from torch import nn

from ddviz.config import to_dict
from ddviz.methods import method_module
from ddviz.train.run_dir import TrainingError

DEFAULT_METHOD = "deep_density"


class TrainingMethod(ABC):
    """One training run's method-specific half, bound to the run's config and device.

    Parameters
    ----------
    config : TrainConfig
        The run's own copy (never the caller's). The constructor may complete it (e.g.
        ``config.model.species`` from the data); the completed config is what checkpoints and
        model files record.
    device : torch.device

    A subclass reads and splits its data in ``__init__`` and raises :class:`TrainingError`
    (naming the field) for data the config cannot train on. Its model must carry ``.config``,
    equal to the run config's ``model`` table (:meth:`start_from` compares them).
    """

    #: the validation metric the loop minimises (best weights, early stopping)
    score: str = "rel_l1"
    #: how progress lines and summaries print the score (``str.format``, with its unit)
    score_format: str = "{:.3%}"
    #: validation metrics the history records, as ``val_<name>``
    history_metrics: tuple[str, ...] = ("rel_l1", "rel_l2")

    def __init__(self, config, device: torch.device):
        self.config = config
        self.device = device

    @abstractmethod
    def build_model(self) -> nn.Module:
        """A fresh model on ``self.device`` (the loop has seeded torch before)."""

    def initialise(self, model: nn.Module) -> None:
        """Data-dependent set-up of a fresh model (not when resuming or starting from a file).

        Must not touch the loop's random stream. Default: nothing.
        """

    @abstractmethod
    def batch(self, model: nn.Module, rng: np.random.Generator):
        """The next training batch, drawn with ``rng``.

        ``rng`` is the loop's, checkpointed: the same stream gives the same batches, so a
        resumed run is bit-identical.
        """

    def shard(self, batch, rank: int, world: int):
        """The part of a batch for one rank in data-parallel training (:mod:`ddviz.train.distributed`).

        Default: every ``world``-th item of a list batch, from item ``rank``. The loop weights
        the part's loss by ``world * share``, so for a loss that is a mean over the batch the
        averaged gradient is the whole batch's.

        Parameters
        ----------
        batch
            From :meth:`batch` (the same on every rank).
        rank, world : int
            This process and the number of processes.

        Returns
        -------
        part
            The rank's batch, as :meth:`loss` takes it.
        share : float
            Its fraction of the batch (the fractions add up to 1 over the ranks).
        """
        part = batch[rank::world]
        return part, len(part) / max(len(batch), 1)

    def fixed_batch(self, model: nn.Module):
        """One deterministic batch for full-batch optimisers (``optimizer = "lbfgs"``).

        Called once per run (and again on resume: it must give the same batch), so that
        L-BFGS minimises one fixed, deterministic objective. Default: no such batch.

        Raises
        ------
        TrainingError
            The method has none (``field="optimizer"``).
        """
        raise TrainingError(f"{type(self).__name__} has no fixed batch: optimizer 'lbfgs' is "
                            f"not available for this method", field="optimizer")

    @abstractmethod
    def loss(self, model: nn.Module, batch) -> torch.Tensor:
        """The scalar loss of ``model`` on ``batch`` (differentiable)."""

    @abstractmethod
    def validation_metrics(self, model: nn.Module) -> dict:
        """Metrics on the validation data, with at least :attr:`score` and :attr:`history_metrics`.

        Called inside :func:`evaluating`: in eval mode, without gradients; it must use the model
        as it is (its dtype and device, no copy to another dtype).
        """

    @abstractmethod
    def save_model(self, model: nn.Module, path, metadata: dict) -> None:
        """Write the method's model file (atomically) with ``metadata`` as its user entry."""

    @abstractmethod
    def load_model(self, path) -> nn.Module:
        """Read the method's model file onto ``self.device``."""

    def data_summary(self) -> dict:
        """What a model file records about the training data (counts, provenance)."""
        return {}

    def start_from(self, model: nn.Module, path) -> None:
        """Load a model file's weights into ``model`` (the config's ``init``).

        The configurations may differ in ``dtype`` alone: the weights are cast to the run's
        (a float32 model refined in float64).

        Raises
        ------
        TrainingError
            If the file's model config differs from the run's in anything but ``dtype``.
        """
        loaded = self.load_model(path)
        self.check_init(loaded, path)
        model.load_state_dict(loaded.state_dict())  # copy_ casts to the run's dtype

    #: the model-config fields an ``init`` file may differ in (:meth:`check_init`)
    init_may_differ: tuple[str, ...] = ("dtype",)

    def check_init(self, loaded: nn.Module, path) -> None:
        """Refuse an ``init`` model whose config differs from the run's beyond ``init_may_differ``.

        Raises
        ------
        TrainingError
            Naming the fields that differ.
        """
        theirs, mine = to_dict(loaded.config), to_dict(self.config.model)
        for key in self.init_may_differ:
            theirs.pop(key, None)
            mine.pop(key, None)
        if theirs != mine:
            differ = sorted(k for k in {*theirs, *mine} if theirs.get(k) != mine.get(k))
            raise TrainingError(f"the init model's configuration differs from this run's model "
                                f"configuration in {differ}", path=path, field="init")


def training_method(name: str) -> type[TrainingMethod]:
    """The :class:`TrainingMethod` of method ``name`` (``TRAINING`` in its ``training`` module).

    Raises
    ------
    ConfigError
        No method of that name.
    """
    return method_module(name, "training").TRAINING


@contextlib.contextmanager
def evaluating(model: nn.Module):
    """Eval mode and no gradients inside the block.

    Afterwards every submodule's train/eval mode is what it was (the dtype and device are never
    touched).
    """
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        with torch.no_grad():
            yield model
    finally:
        for m, training in modes:
            m.training = training
