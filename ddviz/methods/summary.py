"""What a model file holds, from its header alone (no torch, no weights read): ``ddviz info``."""

from __future__ import annotations

from ddviz.errors import ConfigError, ModelFileError
from ddviz.io import safe_json
from ddviz.methods import header_metadata, method_for_format, model_format


def _json_entry(header: dict, key: str, path):

    try:
        return safe_json.loads(header[key]) if key in header else None
    except (TypeError, ValueError):
        raise ModelFileError("invalid JSON in the header", path=path, field=key) from None


def describe_model(path) -> dict:
    """The facts of a model file, from its safetensors header (no torch, no weights read).

    Parameters
    ----------
    path : str or os.PathLike
        A model file.

    Returns
    -------
    dict
        ``file``, ``kind`` ("model"), ``method``, ``format``, ``format_version``, ``species``,
        ``cutoffs_bohr``, ``parameters``, ``training`` (steps, seconds, data folders, snapshot
        counts, reference method), ``validation`` (the metrics at ``best_step``).

    Raises
    ------
    ddviz.errors.ModelFileError
        Not a readable ddviz model file.
    """
    fmt = model_format(path)  # refuses what is no ddviz model file
    try:
        method = method_for_format(fmt).name
    except ConfigError as exc:
        raise ModelFileError(exc.detail, path=path, field="format") from None
    header = header_metadata(path)
    user = _json_entry(header, "user", path) or {}
    architecture = _json_entry(header, "architecture", path) or {}
    training = dict(user.get("training") or {}) if isinstance(user, dict) else {}
    provenance = training.pop("data_provenance", None) or {}
    reference = {k: provenance[k] for k in ("method", "functional", "basis", "pseudopotential")
                 if k in provenance}
    return {"file": str(path), "kind": "model", "method": method, "format": fmt,
            "format_version": _json_entry(header, "format_version", path),
            "species": _json_entry(header, "species", path),
            "cutoffs_bohr": _json_entry(header, "cutoffs", path),
            "parameters": architecture.get("parameters") if isinstance(architecture, dict) else None,
            "training": {**training, "reference": reference or None},
            "validation": user.get("validation") if isinstance(user, dict) else None,
            "best_step": user.get("best_step") if isinstance(user, dict) else None}
