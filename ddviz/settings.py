"""The one place ddviz reads its ``DDVIZ_*`` environment variables, validated.

:func:`env` reads them at each call (so a changed environment, e.g. a test's ``monkeypatch``,
takes effect at once); a bad value raises :class:`~ddviz.errors.ConfigError` naming the variable,
whichever variable the caller wanted (all are validated together, so a mistake shows at once).

========================  ======================================================================
``DDVIZ_MAX_POINTS``      refuse grids with more points (default 2e8; ``2e8`` notation allowed)
``DDVIZ_CACHE_DIR``       disk cache folder of computed grids (empty or ``off``: none)
``DDVIZ_CACHE_MB``        disk cache size limit in MiB (default 1024)
``DDVIZ_TRACE``           file the app appends its timeline to (benchmarks)
``DDVIZ_DATA_DIRS``       the app's data folders (``os.pathsep``-separated)
``DDVIZ_DATASET_DIRS``    the app's training dataset folders (``os.pathsep``-separated)
``DDVIZ_MODELS_DIR``      the app's models folder
``DDVIZ_RUNS_DIR``        the app's training runs folder
``DDVIZ_MAX_UPLOAD_MB``   the app's upload size limit in MiB (default 50)
========================  ======================================================================
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from ddviz.config import config_error

PREFIX = "DDVIZ_"

Paths = Annotated[list[Path] | None, NoDecode]


class Settings(BaseSettings):
    """The ``DDVIZ_*`` environment variables (see the module docstring); None: not set."""

    model_config = SettingsConfigDict(env_prefix=PREFIX, extra="ignore")

    max_points: int | None = Field(None, gt=0, description="grid-size limit (points)")
    cache_dir: str | None = Field(None, description="disk cache folder; empty or 'off': none")
    cache_mb: float = Field(1024.0, ge=0, allow_inf_nan=False, description="disk cache MiB")
    trace: Path | None = Field(None, description="timeline file of the app")
    data_dirs: Paths = Field(None, description="the app's data folders")
    dataset_dirs: Paths = Field(None, description="the app's dataset folders")
    models_dir: Path | None = Field(None, description="the app's models folder")
    runs_dir: Path | None = Field(None, description="the app's training runs folder")
    max_upload_mb: float = Field(50.0, gt=0, allow_inf_nan=False, description="upload limit MiB")

    @field_validator("max_points", mode="before")
    @classmethod
    def _number_of_points(cls, value):
        if isinstance(value, str):
            value = value.strip()
            if not value:
                return None
            try:
                number = float(value)
            except ValueError:
                raise ValueError(f"expected a number of grid points, got {value!r}") from None
            if not number.is_integer():
                raise ValueError(f"expected a whole number of grid points, got {value!r}")
            return int(number)
        return value

    @field_validator("data_dirs", "dataset_dirs", mode="before")
    @classmethod
    def _path_list(cls, value):
        if isinstance(value, str):
            return [Path(p) for p in value.split(os.pathsep) if p] or None
        return value

    @field_validator("trace", "models_dir", "runs_dir", mode="before")
    @classmethod
    def _empty_is_unset(cls, value):
        return None if isinstance(value, str) and not value.strip() else value


def env() -> Settings:
    """The ``DDVIZ_*`` variables as they are now.

    Returns
    -------
    Settings

    Raises
    ------
    ddviz.errors.ConfigError
        A variable with an invalid value; ``field`` is the variable's name (``DDVIZ_CACHE_MB``).
    """
    try:
        return Settings()
    except ValidationError as exc:
        err = config_error(exc)
        name = PREFIX + (err.field or "").upper()
        raise type(err)(f"invalid environment variable: {err.detail}", field=name) from None
