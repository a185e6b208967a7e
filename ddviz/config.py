"""Documented, validated dataclass configurations (model and training), read from TOML/YAML/JSON.

Each field is declared with :func:`option`, which records its help text, unit, choices and bounds.
The same declaration validates files (:func:`from_dict`), documents every field
(:func:`describe`), and generates forms (the app's training tab).
"""

from __future__ import annotations

import dataclasses
import json
import math
import tomllib
import typing
from pathlib import Path

from ddviz.errors import ConfigError


def option(default, help: str, *, unit: str | None = None, choices=None, minimum=None,
           maximum=None):
    """A dataclass field with documentation and validation rules (mutable defaults are copied)."""
    meta = {"help": help, "unit": unit, "choices": tuple(choices) if choices else None,
            "minimum": minimum, "maximum": maximum}
    if isinstance(default, (list, dict)) or dataclasses.is_dataclass(default):
        value = default
        return dataclasses.field(default_factory=lambda: _copy(value), metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def _copy(value):
    if dataclasses.is_dataclass(value):
        return dataclasses.replace(value)
    return json.loads(json.dumps(value))


def _check(value, hint, name: str, meta: dict, source):
    """Validate/convert one value against its type hint and metadata; raise ConfigError."""
    origin = typing.get_origin(hint)

    def fail(expected):
        raise ConfigError(f"expected {expected}, got {value!r}", path=source, field=name)

    if dataclasses.is_dataclass(hint):
        if isinstance(value, hint):
            return value
        if not isinstance(value, dict):
            fail("a table of options")
        return from_dict(hint, value, source=source, prefix=f"{name}.")
    if origin is list:
        (item,) = typing.get_args(hint)
        if not isinstance(value, (list, tuple)):
            fail(f"a list of {item.__name__}")
        return [_check(v, item, f"{name}[{i}]", {}, source) for i, v in enumerate(value)]
    if hint is bool:
        if not isinstance(value, bool):
            fail("true or false")
    elif hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            fail("an integer")
    elif hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            fail("a finite number")
        value = float(value)
    elif hint is str:
        if not isinstance(value, str):
            fail("a string")
    if meta.get("choices") and value not in meta["choices"]:
        fail("one of " + ", ".join(map(repr, meta["choices"])))
    if meta.get("minimum") is not None and value < meta["minimum"]:
        fail(f"a value >= {meta['minimum']}")
    if meta.get("maximum") is not None and value > meta["maximum"]:
        fail(f"a value <= {meta['maximum']}")
    return value


def from_dict(cls, data: dict, *, source=None, prefix: str = ""):
    """An instance of dataclass ``cls`` from a plain dict; unknown or invalid keys raise ConfigError."""
    if not isinstance(data, dict):
        raise ConfigError(f"expected a table of options, got {type(data).__name__}", path=source,
                          field=prefix.rstrip(".") or None)
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(f"unknown option (known: {', '.join(fields)})", path=source,
                          field=prefix + unknown[0])
    values = {k: _check(v, hints[k], prefix + k, dict(fields[k].metadata), source)
              for k, v in data.items()}
    try:
        return cls(**values)
    except ConfigError:
        raise
    except (TypeError, ValueError) as exc:
        raise ConfigError(str(exc), path=source, field=prefix.rstrip(".") or None) from exc


def to_dict(obj) -> dict:
    """Plain JSON-serialisable dict of a config dataclass (nested ones included)."""
    return dataclasses.asdict(obj)


def describe(cls) -> list[dict]:
    """One entry per field (nested dataclasses flattened as ``outer.inner``): name, type,
    default, help, unit, choices, minimum, maximum."""
    rows = []
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        hint = hints[f.name]
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        if dataclasses.is_dataclass(hint):
            rows += [dict(r, name=f"{f.name}.{r['name']}") for r in describe(hint)]
            continue
        if typing.get_origin(hint) is list:
            kind = f"list[{typing.get_args(hint)[0].__name__}]"
        else:
            kind = hint.__name__
        rows.append({"name": f.name, "type": kind,
                     "default": default, **dict(f.metadata)})
    return rows


def load_file(path: str | Path) -> dict:
    """The option tables of a .toml, .yaml/.yml or .json file (ConfigError if unreadable)."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror or exc}", path=path) from exc
    try:
        if path.suffix == ".toml":
            data = tomllib.loads(text)
        elif path.suffix in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text)
        elif path.suffix == ".json":
            data = json.loads(text)
        else:
            raise ConfigError("expected a .toml, .yaml, .yml or .json file", path=path)
    except ConfigError:
        raise
    except Exception as exc:  # syntax errors of the three parsers
        raise ConfigError(f"not valid {path.suffix[1:].upper()}: {exc}".replace("\n", " "),
                          path=path) from exc
    if not isinstance(data, dict):
        raise ConfigError("expected a table of options at the top level", path=path)
    return data


def toml_value(v) -> str:
    """A TOML literal for a bool, number, string or list of them."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return json.dumps(v)  # a JSON string is a valid TOML basic string
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    return repr(v)


def to_toml(obj) -> str:
    """A config dataclass (or nested dict) as TOML, nested tables after the plain keys."""
    data = to_dict(obj) if dataclasses.is_dataclass(obj) else obj

    def table(d: dict, prefix: str) -> list[str]:
        lines = [f"{k} = {toml_value(v)}" for k, v in d.items() if not isinstance(v, dict)]
        for k, v in d.items():
            if isinstance(v, dict):
                lines += ["", f"[{prefix}{k}]"] + table(v, f"{prefix}{k}.")
        return lines

    return "\n".join(table(data, "")) + "\n"
