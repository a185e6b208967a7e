"""The app's temporary files (uploads, exports).

One folder per server process, removed at exit, with one sub-folder per session, removed when the
session ends.

A notebook is one "server": its sessions' folders go when the kernel exits.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
import threading
from pathlib import Path

_LOCK = threading.Lock()
_SERVER_DIR: Path | None = None


def server_dir() -> Path:
    """The process's folder of temporary files (made on first use; removed at exit)."""
    global _SERVER_DIR
    with _LOCK:
        if _SERVER_DIR is None:
            _SERVER_DIR = Path(tempfile.mkdtemp(prefix="ddviz-app-"))
            atexit.register(remove, _SERVER_DIR)
        _SERVER_DIR.mkdir(parents=True, exist_ok=True)
        return _SERVER_DIR


def session_dir() -> Path:
    """A new folder for one session's files, inside :func:`server_dir`."""
    return Path(tempfile.mkdtemp(prefix="session-", dir=server_dir()))


def remove(path: Path) -> None:
    """Remove a folder of temporary files and everything in it (gone already: nothing to do)."""
    shutil.rmtree(path, ignore_errors=True)
