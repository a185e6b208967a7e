"""The error hierarchy every layer raises for failures a user can cause.

Messages name the file (and line or field where known) and what was expected, so the CLI can
print them as one line and exit with code 2.
"""

from __future__ import annotations

import os


class DdvizError(Exception):
    """Base class: a problem with the user's input, files, configuration or environment."""

    def __init__(self, message: str, *, path: str | os.PathLike | None = None,
                 line: int | None = None, field: str | None = None):
        self.path = None if path is None else os.fspath(path)
        self.line = line
        self.field = field
        self.detail = message
        where = ""
        if self.path is not None:
            where = self.path + (f":{line}" if line is not None else "")
        if field is not None:
            where = f"{where} [{field}]" if where else f"[{field}]"
        super().__init__(f"{where}: {message}" if where else message)


class FileFormatError(DdvizError):
    """A file is malformed: truncated, non-numeric, inconsistent header, NaN/Inf values."""


class TooLargeError(DdvizError):
    """A file declares more data than the configured limit allows."""


class UnsupportedError(DdvizError):
    """A valid file or request that ddviz does not support (unknown suffix, multi-volume cube)."""


class ConfigError(DdvizError):
    """A configuration file or option has a wrong name, type or value."""


class ModelFileError(DdvizError):
    """A model file is missing keys, has an unknown version or non-finite weights."""


class ConvergenceError(DdvizError):
    """An SCF calculation did not converge even after the fall-back strategies."""
