"""The one place where ddviz chooses a torch device: CUDA when available, else CPU.

Training (:class:`ddviz.train.Trainer`) and prediction (:class:`ddviz.evaluate.predictor.Predictor`)
both ask here, so "auto" means the same thing everywhere.
"""

from __future__ import annotations

import torch

from ddviz.errors import DdvizError

DEVICES = ("auto", "cpu", "cuda")


def pick_device(name: str | torch.device = "auto") -> torch.device:
    """The torch device for ``name``.

    Parameters
    ----------
    name : str or torch.device
        ``"auto"`` (CUDA when available, else CPU), ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or a
        :class:`torch.device`.

    Returns
    -------
    torch.device

    Raises
    ------
    DdvizError
        CUDA was asked for but is not available, or ``name`` is not a device name.
    """
    if isinstance(name, torch.device):
        name = str(name)
    if name == "auto":
        return default_device()
    try:
        device = torch.device(name)
    except (RuntimeError, TypeError):
        raise DdvizError(f"unknown device {name!r}; expected one of {', '.join(DEVICES)}",
                         field="device") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise DdvizError(f"device {name!r} was asked for but CUDA is not available",
                         field="device")
    return device


def default_device() -> torch.device:
    """``cuda`` when available, else ``cpu``."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")
