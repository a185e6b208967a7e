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

import contextlib
import json
import os
import socket
from pathlib import Path
from typing import TYPE_CHECKING

from ddviz.errors import DdvizError
from ddviz.io.atomic import atomic_path, write_text_atomic
from ddviz.train.config import CHECKPOINT, HISTORY, HISTORY_CSV, MODEL, STATUS

if TYPE_CHECKING:  # torch is imported where tensors are handled: read_status serves the app's page
    import torch

CHECKPOINT_FORMAT = "ddviz-checkpoint"
CHECKPOINT_VERSION = 2  # 2: generic layout (flatten); 1 (before 2026-11) is not resumable
CONFIG = "config.json"  # the run's training configuration: `ddviz train --run DIR --resume`


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
    import torch

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
        ``history.json`` / ``history.csv``, ``status.json`` (read by the app while a run goes
        on; it records the training process's id and host, so that :func:`read_status` can tell
        a run that was killed from one that goes on) and ``config.json`` (the configuration,
        dataset paths absolute, so that a run resumes without its configuration file).
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.checkpoint = self.path / CHECKPOINT
        self.model = self.path / MODEL
        self.history = self.path / HISTORY
        self.history_csv = self.path / HISTORY_CSV
        self.status = self.path / STATUS
        self.config = self.path / CONFIG

    def check_start(self, resume: bool) -> None:
        """Refuse to overwrite a run, or to resume one without a checkpoint or in training.

        A run folder another living process is training is refused too. On resume, the
        temporary files that writes cut short (a kill during a write) left behind are removed.

        Parameters
        ----------
        resume : bool
            Whether the run continues the folder's checkpoint.

        Raises
        ------
        TrainingError
        """
        status = read_status(self.status)
        if status.get("state") == "running" and status.get("pid") != os.getpid():
            raise TrainingError(f"process {status.get('pid')} is training this run folder; "
                                "stop it first", path=self.path)
        if self.checkpoint.exists() and not resume:
            raise TrainingError("this run folder has a checkpoint: resume it (--resume) or "
                                "choose a new run folder", path=self.path)
        if resume and not self.checkpoint.exists():
            raise TrainingError("there is no checkpoint to resume", path=self.checkpoint)
        if resume:
            self.remove_stale_temporaries()

    def remove_stale_temporaries(self) -> list[Path]:
        """Remove the ``.NAME.*.tmp`` files a kill during a write left behind.

        See :func:`ddviz.io.atomic.atomic_path`. Call it only when no process writes the run.

        Returns
        -------
        list of pathlib.Path
            The files removed.
        """
        names = (self.checkpoint, self.model, self.history, self.history_csv, self.status,
                 self.config)
        removed = []
        for name in names:
            for tmp in self.path.glob(f".{name.name}.*.tmp"):
                with contextlib.suppress(FileNotFoundError):
                    tmp.unlink()
                    removed.append(tmp)
        return removed

    def write_config(self, config: dict) -> None:
        """config.json: the run's configuration (:func:`ddviz.config.to_dict`), atomically."""
        write_text_atomic(self.config, json.dumps(config, indent=1) + "\n")

    def read_config(self) -> dict:
        """The run's configuration: config.json, else the one stored in the checkpoint.

        Runs started before config.json was written have only the checkpoint's.

        Returns
        -------
        dict
            For :meth:`ddviz.train.config.TrainConfig.from_dict`.

        Raises
        ------
        TrainingError
            Neither config.json nor a checkpoint, or config.json is not JSON.
        """
        if self.config.exists():
            try:
                return json.loads(self.config.read_text())
            except (OSError, ValueError) as exc:
                raise TrainingError(f"not a readable configuration ({exc})",
                                    path=self.config) from None
        if not self.checkpoint.exists():
            raise TrainingError("no config.json and no checkpoint: not a run folder to resume",
                                path=self.path)
        return self.load_checkpoint()["config"]

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
        """status.json: what the app shows of a run (state, step, steps, eta...).

        This process's id and host are added (see :func:`read_status`).

        Parameters
        ----------
        status : dict
            JSON-serialisable entries.
        """
        status = {**status, "pid": os.getpid(), "host": socket.gethostname()}
        write_text_atomic(self.status, json.dumps(status))


def _alive(pid) -> bool:
    """Whether process ``pid`` exists (on this host)."""
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, another user's
        return True
    return True


def read_status(path: str | os.PathLike) -> dict:
    """A run's status.json, telling the truth about runs that were killed.

    A status "running" whose process (recorded id, this host) no longer exists reads as
    "interrupted": a killed run (``kill -9``, a lost machine) never wrote its last status.

    Parameters
    ----------
    path : str or os.PathLike
        The status.json file (or the run folder holding it).

    Returns
    -------
    dict
        The status (``state``, ``step``, ``steps``, ...); empty when there is none or it cannot
        be read.
    """
    path = Path(path)
    if path.is_dir():
        path = path / STATUS
    try:
        status = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(status, dict):
        return {}
    if (status.get("state") == "running" and status.get("host") == socket.gethostname()
            and not _alive(status.get("pid"))):
        status = {**status, "state": "interrupted",
                  "message": f"the training process ({status.get('pid')}) ended without "
                             "finishing: resume it"}
    return status
