"""Validated, documented configurations (model and training), read from TOML/YAML/JSON.

A configuration is a :class:`Config`, a pydantic model that validates on construction *and* on
assignment: a wrong type, a value out of bounds, a choice not offered or an unknown option
raises :class:`~ddviz.errors.ConfigError` naming the field (``model.m1`` for a nested one,
``fitting_widths[1]`` for a list item) and, when read from a file, the file. Each field is
declared with :func:`option`, which records its help text, unit and bounds; choices are
``Literal`` types, or :class:`Choices` for names known only at run time (the method registry).
The same declaration validates (:func:`from_dict`), documents (:func:`describe`), writes TOML
(:func:`to_toml`, the one writer, also of ``ddviz train --template``) and generates the app's
training form.

Why pydantic and not ``param``: the configs belong to the lower layers (the trainer, the model
files), which must not depend on the UI library; pydantic gives typed fields (``Literal``,
``list[int]``, nested models), strict validation on construction and assignment, and field
metadata the app turns into widgets.
"""

from __future__ import annotations

import json
import tomllib
import typing
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import annotated_types
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    model_validator,
)
from pydantic_core import core_schema

from ddviz.errors import ConfigError

__all__ = ["Choices", "Config", "FieldError", "describe", "from_dict", "load_file", "option",
           "to_dict", "to_toml", "toml_value"]


class FieldError(ValueError):
    """Raised by a cross-field check inside a :class:`Config` validator to name the field.

    Pydantic alone would name the whole model.

    Parameters
    ----------
    field : str
        The field at fault.
    message : str
        What was expected and what was found.
    """

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def element_symbols(species: list[str], *, allow_empty: bool = True) -> list[str]:
    """Check a config's list of element symbols (a pydantic validator's body).

    Parameters
    ----------
    species : list of str
        Chemical symbols, e.g. ``["H", "O"]``.
    allow_empty : bool
        Whether an empty list is valid (e.g. "taken from the training data").

    Returns
    -------
    list of str
        ``species`` unchanged.

    Raises
    ------
    ValueError
        An unknown symbol, a repeated one, or an empty list where none is allowed.
    """
    from ase.data import chemical_symbols

    bad = [s for s in species if s not in chemical_symbols[1:]]
    if bad:
        raise ValueError(f"unknown element symbols {bad}")
    if len(set(species)) != len(species) or not (species or allow_empty):
        raise ValueError(f"expected distinct element symbols, got {species}")
    return species


def option(default, help: str, *, unit: str | None = None, **bounds):
    """A documented field of a :class:`Config`.

    Parameters
    ----------
    default
        The default value (a list is copied for each instance), or a function of no arguments
        that makes it (e.g. a :class:`Config` subclass: each instance gets its own).
    help : str
        One or two sentences for the template, the form and :func:`describe`.
    unit : str, optional
        The unit of the value (e.g. ``"bohr"``).
    **bounds
        pydantic's numeric bounds: ``ge``, ``gt``, ``le``, ``lt``.

    Returns
    -------
    pydantic.fields.FieldInfo
    """
    extra = {"unit": unit} if unit else None
    if callable(default):
        return Field(default_factory=default, description=help, json_schema_extra=extra, **bounds)
    if isinstance(default, (list, dict)):
        value = json.loads(json.dumps(default))
        return Field(default_factory=lambda: json.loads(json.dumps(value)), description=help,
                     json_schema_extra=extra, **bounds)
    return Field(default, description=help, json_schema_extra=extra, **bounds)


@dataclass(frozen=True)
class Choices:
    """Field metadata (``Annotated[str, Choices(names)]``): the value must be one of ``names()``.

    ``names()`` is a list known only at run time (called at each validation, so it may import
    lazily). :func:`describe` reports the choices, so the form offers them.
    """

    names: Callable[[], Iterable[str]]

    def __get_pydantic_core_schema__(self, source, handler):
        return core_schema.no_info_after_validator_function(self._check, handler(source))

    def _check(self, value):
        allowed = list(self.names())
        if value not in allowed:
            raise ValueError(f"expected one of {', '.join(map(repr, allowed))}, got {value!r}")
        return value


class Config(BaseModel):
    """Base of every configuration: strict types, no unknown options.

    Validated on construction and assignment; every failure is a
    :class:`~ddviz.errors.ConfigError` naming the field.

    Raises
    ------
    ddviz.errors.ConfigError
        On construction or assignment of an invalid value.
    """

    model_config = ConfigDict(strict=True, extra="forbid", validate_assignment=True,
                              allow_inf_nan=False, validate_default=False)
    _where: str = PrivateAttr(default="")  # e.g. "model." inside a TrainConfig, for messages

    def __init__(self, /, **data):
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise config_error(exc) from None

    # pydantic then validates nested configs without calling this __init__ (as for RootModel), so
    # an error inside one keeps its full location (``model.m1``) in the outer config's error
    __init__.__pydantic_base_init__ = True

    def __setattr__(self, name, value):
        missing = object()
        old = self.__dict__.get(name, missing)
        try:
            super().__setattr__(name, value)
        except ValidationError as exc:
            if old is not missing:  # a failed cross-field check must not leave the new value
                self.__dict__[name] = old
            raise config_error(exc, where=self._where) from None

    def __eq__(self, other) -> bool:  # the values alone (not where a config is nested)
        return type(self) is type(other) and self.__dict__ == other.__dict__

    @model_validator(mode="after")
    def _place_nested(self):
        """Tell nested configs where they sit, so that ``cfg.model.m1 = 0`` names model.m1."""
        for name, value in self.__dict__.items():
            if isinstance(value, Config):
                value._where = f"{self._where}{name}."
                value._place_nested()
        return self

    def to_dict(self) -> dict:
        """A plain, JSON-serialisable nested dict of all fields."""
        return to_dict(self)

    @classmethod
    def from_dict(cls, data: dict, source=None):
        """Build from :meth:`to_dict` output (or a file's tables).

        Parameters
        ----------
        data : dict
            Nested tables of option values.
        source : str or path-like, optional
            The file or form the data came from, named in errors.

        Returns
        -------
        Config
            An instance of this class.

        Raises
        ------
        ddviz.errors.ConfigError
            On unknown keys or bad values, naming the field (and ``source``).
        """
        return from_dict(cls, data, source=source)


def _field_name(loc: tuple) -> str:
    name = ""
    for part in loc:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
    return name


def config_error(exc: ValidationError, source=None, where: str = "") -> ConfigError:
    """The :class:`~ddviz.errors.ConfigError` for pydantic's ``exc``.

    Parameters
    ----------
    exc : pydantic.ValidationError
        The validation failure.
    source : str or path-like, optional
        The file or form the values came from.
    where : str
        Prefix of the field path, e.g. ``"model."``.

    Returns
    -------
    ddviz.errors.ConfigError
        Naming the first error's field as a dotted path, with every error in the message.
    """
    found = []
    for err in exc.errors(include_url=False):
        loc, message = tuple(err["loc"]), err["msg"]
        cause = (err.get("ctx") or {}).get("error")
        if isinstance(cause, FieldError):
            loc += tuple(cause.field.split("."))
        if err["type"] == "value_error":
            message = message.removeprefix("Value error, ")
        elif err["type"] == "extra_forbidden":
            message = "unknown option"
        elif err["type"] != "missing":
            message = f"{message[0].lower()}{message[1:]}, got {err['input']!r}"
        found.append(((where + _field_name(loc)).rstrip(".") or None, message))
    message = "; ".join([found[0][1]] + [f"{name}: {m}" if name else m for name, m in found[1:]])
    return ConfigError(message, path=source, field=found[0][0])


def from_dict(cls: type[Config], data: dict, *, source=None) -> Config:
    """An instance of ``cls`` from a plain dict (a file's tables, a form's values).

    Parameters
    ----------
    cls : type of Config
    data : dict
        Options by name; nested configs as nested dicts.
    source : str or path, optional
        Where ``data`` came from, named in errors.

    Raises
    ------
    ddviz.errors.ConfigError
        Unknown option, wrong type or value; names the field and ``source``.
    """
    if not isinstance(data, dict):
        raise ConfigError(f"expected a table of options, got {type(data).__name__}", path=source)
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        raise config_error(exc, source) from None


def to_dict(obj: Config) -> dict:
    """Plain JSON-serialisable dict of a config (nested configs as nested dicts)."""
    return obj.model_dump(mode="json", serialize_as_any=True)


def _bounds(info) -> dict:
    """minimum, maximum (None when unbounded) and whether the minimum itself is excluded."""
    out = {"minimum": None, "maximum": None, "exclusive_minimum": False}
    for m in info.metadata:
        if isinstance(m, annotated_types.Ge):
            out["minimum"] = m.ge
        elif isinstance(m, annotated_types.Gt):
            out["minimum"], out["exclusive_minimum"] = m.gt, True
        elif isinstance(m, annotated_types.Le):
            out["maximum"] = m.le
        elif isinstance(m, annotated_types.Lt):
            out["maximum"] = m.lt
    return out


def _kind(hint) -> tuple[str, tuple | None]:
    """(type name, choices) of a field's annotation."""
    if typing.get_origin(hint) is typing.Literal:
        values = typing.get_args(hint)
        return type(values[0]).__name__, values
    if typing.get_origin(hint) is list:
        return f"list[{_kind(typing.get_args(hint)[0])[0]}]", None
    return getattr(hint, "__name__", str(hint)), None


def describe(config) -> list[dict]:
    """One row per field, nested configs flattened as ``outer.inner``.

    Parameters
    ----------
    config : Config subclass or instance
        For a class the rows give the defaults; for an instance its current values (a nested
        config is described by the class of the value it holds, e.g. the method's model config).

    Returns
    -------
    list of dict
        Keys: name, type (``int``, ``float``, ``bool``, ``str``, ``list[int]``, ...), default,
        help, unit, choices (tuple or None), minimum, maximum (None when unbounded),
        exclusive_minimum.
    """
    cls = config if isinstance(config, type) else type(config)
    rows = []
    for name, info in cls.model_fields.items():
        if isinstance(config, type):
            value = info.get_default(call_default_factory=True)
        else:
            value = getattr(config, name)
        if isinstance(value, Config):
            rows += [dict(r, name=f"{name}.{r['name']}") for r in describe(value)]
            continue
        kind, choices = _kind(info.annotation)
        for m in info.metadata:
            if isinstance(m, Choices):
                choices = tuple(m.names())
        rows.append({"name": name, "type": kind, "default": value, "help": info.description,
                     "unit": (info.json_schema_extra or {}).get("unit"), "choices": choices,
                     **_bounds(info)})
    return rows


def load_file(path: str | Path) -> dict:
    """The option tables of a .toml, .yaml/.yml or .json file.

    Raises
    ------
    ddviz.errors.ConfigError
        Unreadable file, unknown suffix, syntax error, or no table at the top level.
    """
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
    if isinstance(v, (int, float)):
        return repr(v)
    raise ConfigError(f"cannot write {v!r} ({type(v).__name__}) as a TOML value")


def _toml_key(k: str) -> str:
    return k if k and all(c.isalnum() or c in "-_" for c in k) and k.isascii() else json.dumps(k)


def _comment(row: dict) -> str:
    extra = [f"unit: {row['unit']}"] if row.get("unit") else []
    if row.get("minimum") is not None:
        extra.append(f"{'>' if row.get('exclusive_minimum') else '>='} {row['minimum']}")
    if row.get("maximum") is not None:
        extra.append(f"<= {row['maximum']}")
    if row.get("choices"):
        extra.append("one of " + ", ".join(map(str, row["choices"])))
    return f"# {row['help']}" + (f" ({'; '.join(extra)})" if extra else "")


def to_toml(obj, *, documented: bool = False, omit=()) -> str:
    """A config (or a nested dict) as TOML: plain keys first, then one table per nested config.

    Parameters
    ----------
    obj : Config or dict
    documented : bool
        Precede each key with a comment: its help text, unit and choices (``ddviz train
        --template``).
    omit : collection of str
        Fields to leave out, by dotted name (``focus``, ``model.m1``); they read back as their
        defaults.

    Returns
    -------
    str
        TOML text that :func:`load_file` and :func:`from_dict` read back to an equal config.
    """
    docs = {r["name"]: r for r in describe(obj)} if documented and isinstance(obj, Config) else {}
    data = to_dict(obj) if isinstance(obj, Config) else obj
    lines: list[str] = []

    def table(d: dict, path: tuple) -> None:
        d = {k: v for k, v in d.items() if ".".join((*path, k)) not in omit}
        for k, v in d.items():
            if not isinstance(v, dict):
                if ".".join((*path, k)) in docs:
                    lines.append(_comment(docs[".".join((*path, k))]))
                lines.append(f"{_toml_key(k)} = {toml_value(v)}")
        for k, v in d.items():
            if isinstance(v, dict):
                lines.extend(["", f"[{'.'.join(map(_toml_key, (*path, k)))}]"])
                table(v, (*path, k))

    table(data, ())
    return "\n".join(lines) + "\n"
