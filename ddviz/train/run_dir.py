"""A training run's folder: checkpoint, best model, history and status, each written atomically.

The checkpoint is one safetensors file (never pickle). Whatever the loop hands to
:meth:`RunDirectory.save_checkpoint` (a nested structure of dicts, lists, tuples, JSON scalars
and tensors: the model's and the optimiser's own ``state_dict()``, RNG state, counters) is
flattened generically by :func:`flatten`: tensors go to the file's body under their path
(``optimizer/state/0/exp_avg``), everything else to a JSON skeleton in its header, so that
:func:`unflatten` gives back the same structure (integer dict keys and tuples included) and an
optimiser's state needs no code of its own.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch

from ddviz.errors import DdvizError
from ddviz.io.atomic import atomic_path, write_text_atomic
from ddviz.train.config import CHECKPOINT, HISTORY, HISTORY_CSV, MODEL, STATUS

CHECKPOINT_FORMAT = "ddviz-checkpoint"
CHECKPOINT_VERSION = 2  # 2: generic layout (flatten); 1 (before 2026-11) is not resumable


class TrainingError(DdvizError):
    """Training cannot go on: NaN loss, missing or incompatible checkpoint, bad data."""


def flatten(obj, prefix: str, tensors: dict[str, torch.Tensor]):
    """A JSON-serialisable skeleton of ``obj``; its tensors are added to ``tensors`` by path.

    Parameters
    ----------
    obj : nested dict / list / tuple of tensors, str, int, float, bool or None
    prefix : str
        The path of ``obj`` (tensor names are ``prefix/key/...``).
    tensors : dict
        Receives CPU copies of the tensors.

    Returns
    -------
    The skeleton: tensors as ``{"__tensor__": name}``, tuples as ``{"__tuple__": [...]}``, dicts
    as ``{"__items__": [[key, value], ...]}`` (their keys may be ints), lists as lists.
    """
    if isinstance(obj, torch.Tensor):
        tensors[prefix] = obj.detach().to("cpu").contiguous().clone()
        return {"__tensor__": prefix}
    if isinstance(obj, dict):
        return {"__items__": [[k, flatten(v, _join(prefix, k), tensors)] for k, v in obj.items()]}
    if isinstance(obj, (list, tuple)):
        items = [flatten(v, _join(prefix, i), tensors) for i, v in enumerate(obj)]
        return {"__tuple__": items} if isinstance(obj, tuple) else items
    if obj is None or isinstance(obj, (str, int, float, bool)):
        return obj
    raise TypeError(f"cannot checkpoint a {type(obj).__name__} at {prefix}")


def _join(prefix: str, key) -> str:
    return f"{prefix}/{key}" if prefix else str(key)


def unflatten(skeleton, tensors: dict[str, torch.Tensor]):
    """The structure :func:`flatten` took apart (tensors on the CPU)."""
    if isinstance(skeleton, dict):
        if "__tensor__" in skeleton:
            return tensors[skeleton["__tensor__"]]
        if "__tuple__" in skeleton:
            return tuple(unflatten(v, tensors) for v in skeleton["__tuple__"])
        return {k: unflatten(v, tensors) for k, v in skeleton["__items__"]}
    if isinstance(skeleton, list):
        return [unflatten(v, tensors) for v in skeleton]
    return skeleton


class RunDirectory:
    """The files of one training run (created on first write).

    Parameters
    ----------
    path : path-like
        The run folder. It holds ``checkpoint.safetensors`` (everything to resume),
        ``model.safetensors`` (the best validation weights, the method's model file),
        ``history.json`` / ``history.csv`` and ``status.json`` (read by the app while a run goes
        on).
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.checkpoint = self.path / CHECKPOINT
        self.model = self.path / MODEL
        self.history = self.path / HISTORY
        self.history_csv = self.path / HISTORY_CSV
        self.status = self.path / STATUS

    def check_start(self, resume: bool) -> None:
        """Refuse to overwrite a run, or to resume one that has no checkpoint.

        Raises
        ------
        TrainingError
        """
        if self.checkpoint.exists() and not resume:
            raise TrainingError("this run folder has a checkpoint: resume it (--resume) or "
                                "choose a new run folder", path=self.path)
        if resume and not self.checkpoint.exists():
            raise TrainingError("there is no checkpoint to resume", path=self.checkpoint)

    def save_checkpoint(self, state: dict) -> None:
        """Write ``state`` (see :func:`flatten`) to the checkpoint atomically."""
        from safetensors.torch import save_file

        tensors: dict[str, torch.Tensor] = {}
        skeleton = flatten(state, "", tensors)
        meta = {"format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION, "state": skeleton}
        with atomic_path(self.checkpoint) as tmp:
            save_file(tensors, str(tmp), metadata={"ddviz": json.dumps(meta)})

    def load_checkpoint(self) -> dict:
        """The state last given to :meth:`save_checkpoint` (tensors on the CPU).

        Raises
        ------
        TrainingError
            Unreadable file, or a checkpoint of another format or version (those written
            before version 2 cannot be resumed: start a new run, with ``init`` set to the old
            run's model file to keep its weights).
        """
        from safetensors import safe_open

        path = self.checkpoint
        try:
            with safe_open(str(path), framework="pt") as f:
                meta = json.loads(f.metadata()["ddviz"])
                tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118  (not a dict)
        except Exception as exc:  # noqa: BLE001  (safetensors raises its own error types)
            raise TrainingError(f"not a readable ddviz checkpoint: {exc}", path=path) from None
        if meta.get("format") != CHECKPOINT_FORMAT or meta.get("version") != CHECKPOINT_VERSION:
            raise TrainingError(f"checkpoint version {meta.get('version')!r} cannot be resumed "
                                f"by this ddviz (it reads version {CHECKPOINT_VERSION}); start "
                                f"a new run with init = its model file", path=path,
                                field="version")
        return unflatten(meta["state"], tensors)

    def write_history(self, history: list[dict], columns: list[str]) -> None:
        """history.json (all entries) and history.csv (``columns``; blank where absent)."""
        write_text_atomic(self.history, json.dumps(history))
        rows = [",".join(columns)] + [
            ",".join("" if e.get(k) is None else repr(e[k]) for k in columns) for e in history]
        write_text_atomic(self.history_csv, "\n".join(rows) + "\n")

    def write_status(self, status: dict) -> None:
        """status.json: what the app shows of a run (state, step, steps, eta...)."""
        write_text_atomic(self.status, json.dumps(status))
