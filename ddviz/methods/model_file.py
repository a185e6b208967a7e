"""The model-file container every method shares: safetensors weights and JSON header entries.

A model file is one ``.safetensors`` file (never pickle). Its header metadata, a string -> string
map, holds ``format`` (plain string, e.g. ``"ddviz-deep-density"``) and JSON documents for every
other entry (``format_version``, ``config``, ``units``, ``user`` ...). Each method decides its
entries and versions; this module writes them atomically and reads them back with every check a
hostile file needs (a readable container, the expected format, depth-limited JSON, a known
version).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from ddviz.errors import ModelFileError
from ddviz.io import safe_json
from ddviz.io.atomic import atomic_path
from ddviz.shipped import missing_model_hint


def write(path: str | os.PathLike, tensors: dict, fmt: str, entries: dict,
          metadata: dict | None = None) -> None:
    """Write ``tensors`` with a header of ``fmt``, ``entries`` and ``metadata`` atomically.

    Parameters
    ----------
    path : str or os.PathLike
        The ``.safetensors`` file to write (the old file or the complete new one, never half).
    tensors : dict of str to torch.Tensor
        The weights and buffers (copied to contiguous CPU tensors).
    fmt : str
        The ``format`` entry.
    entries : dict
        Header entries (``format_version``, ``config``, ...), each written as JSON.
    metadata : dict, optional
        The caller's own JSON-serialisable dict, stored as the ``user`` entry.

    Raises
    ------
    ModelFileError
        ``metadata`` (or an entry) is not JSON-serialisable.
    """
    from safetensors.torch import save_file

    try:
        header = {"format": fmt, **{k: json.dumps(v) for k, v in entries.items()},
                  "user": json.dumps(metadata or {})}
    except (TypeError, ValueError) as exc:
        raise ModelFileError(f"metadata is not JSON-serialisable: {exc}", path=path,
                             field="metadata") from None
    tensors = {k: v.detach().to("cpu").contiguous().clone() for k, v in tensors.items()}
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata=header)


def read(path: str | os.PathLike, fmt: str, keys: tuple[str, ...],
         read_versions: tuple[int, ...]) -> tuple[dict, dict]:
    """The parsed header entries and the tensors of a ``fmt`` model file.

    Parameters
    ----------
    path : str or os.PathLike
        A model file.
    fmt : str
        The ``format`` the file must carry.
    keys : tuple of str
        The JSON entries it must hold (``format_version`` among them); ``user`` is read too.
    read_versions : tuple of int
        The ``format_version`` values the caller reads.

    Returns
    -------
    meta : dict
        ``format`` and every entry of ``keys`` (and ``user``), parsed.
    tensors : dict of str to torch.Tensor
        The stored tensors, on the CPU.

    Raises
    ------
    ModelFileError
        Missing, not a safetensors file, another format, a missing or invalid (or too deeply
        nested) JSON entry, or an unknown version.
    """
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        raise ModelFileError("no such model file" + missing_model_hint(path), path=path)
    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            header = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118  (not a dict)
    except Exception as exc:  # noqa: BLE001  (safetensors raises its own error types)
        raise ModelFileError(f"not a readable safetensors file ({exc})", path=path) from None
    if header.get("format") != fmt:
        raise ModelFileError(f"not a ddviz model file of format {fmt!r}: format is "
                             f"{header.get('format')!r}",
                             path=path, field="format")
    meta = {"format": fmt}
    for key in (*keys, "user"):
        try:
            meta[key] = safe_json.loads(header[key])
        except KeyError:
            raise ModelFileError("missing metadata entry", path=path, field=key) from None
        except safe_json.JSONError as exc:
            raise ModelFileError(str(exc), path=path, field=key) from None
    version = meta.get("format_version")
    if isinstance(version, bool) or version not in read_versions:
        raise ModelFileError(f"unknown format version {version!r}; this ddviz reads versions "
                             f"{', '.join(map(str, read_versions))}", path=path,
                             field="format_version")
    return meta, tensors


def load(path: str | os.PathLike, fmt: str, keys: tuple[str, ...], read_versions: tuple[int, ...],
         build, device=None, max_weight: float | None = None):
    """Read a ``fmt`` model file into the model ``build(config_dict)`` makes.

    The common path of methods whose files need no conversion between versions: :func:`read`,
    build the model from the ``config`` entry, :func:`check_weights`, load them.

    Parameters
    ----------
    path, fmt, keys, read_versions
        As :func:`read` (``keys`` must include ``config``).
    build : callable
        ``build(config: dict) -> torch.nn.Module``; may raise DdvizError, TypeError,
        AttributeError or ValueError on a bad config.
    device : str or torch.device, optional
        Where to put the model (default CPU).
    max_weight : float, optional
        As :func:`check_weights`.

    Returns
    -------
    model : torch.nn.Module
        In eval mode, on ``device``.
    meta : dict
        The parsed header entries.

    Raises
    ------
    ModelFileError
        As :func:`read` and :func:`check_weights`, or a config ``build`` refuses.
    """
    from ddviz.errors import DdvizError

    meta, tensors = read(path, fmt, keys, read_versions)
    try:
        model = build(meta["config"])
    except (DdvizError, TypeError, AttributeError, ValueError) as exc:
        raise ModelFileError(f"bad model config: {exc}", path=path, field="config") from None
    check_weights(model.state_dict(), tensors, path, max_weight)
    model.load_state_dict(tensors)
    model.eval()
    return model.to(device or "cpu"), meta


def check_weights(expected: dict, tensors: dict, path, max_weight: float | None = None) -> None:
    """Refuse stored tensors that do not fit the model they are meant for.

    Parameters
    ----------
    expected : dict of str to torch.Tensor
        The freshly built model's ``state_dict()`` (names and shapes).
    tensors : dict of str to torch.Tensor
        The tensors read from the file.
    path : str or os.PathLike
        The file, for the messages.
    max_weight : float, optional
        Refuse values of larger magnitude (a damaged file whose values are finite but huge).

    Raises
    ------
    ModelFileError
        Missing or unexpected names, a wrong shape, non-float or non-finite values, or a value
        above ``max_weight``; the message names the tensor.
    """
    import torch

    missing = sorted(set(expected) - set(tensors))
    if missing:
        raise ModelFileError(f"missing weights {missing[:5]}{'...' if len(missing) > 5 else ''}",
                             path=path)
    unexpected = sorted(set(tensors) - set(expected))
    if unexpected:
        raise ModelFileError(f"unexpected weights {unexpected[:5]}", path=path)
    for key, ref in expected.items():
        t = tensors[key]
        if tuple(t.shape) != tuple(ref.shape):
            raise ModelFileError(f"weight {key} has shape {tuple(t.shape)}, expected "
                                 f"{tuple(ref.shape)}", path=path, field=key)
        if not t.is_floating_point() or not torch.isfinite(t).all():
            raise ModelFileError(f"weight {key} has non-finite or non-float values", path=path,
                                 field=key)
        if max_weight is not None and t.numel() and float(t.abs().max()) > max_weight:
            raise ModelFileError(f"weight {key} has a value of magnitude "
                                 f"{float(t.abs().max()):.3g} (above {max_weight:g}: a damaged "
                                 "file; trained weights are of order 1)", path=path, field=key)
