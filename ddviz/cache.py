"""A cache of computed density grids (predictions, references evaluated from orbitals).

Keys are content digests (:func:`digest`): the model's weights, the atoms, the orbitals and the
grid geometry, never file names, so an edited file can never return a stale result. Values live
in a process-wide in-memory LRU bounded in bytes (shared by every app session of a server) and,
optionally, as ``.npy`` files in a folder (kept across restarts; read with
``allow_pickle=False``, written atomically; the oldest files go first above a size limit).

Folder: ``DDVIZ_CACHE_DIR`` if set (empty or ``off``: no disk cache), else
``$XDG_CACHE_HOME/ddviz`` or ``~/.cache/ddviz``. Size limits: ``DDVIZ_CACHE_MB`` (disk, default
1024) and 512 MiB in memory.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ddviz.errors import DdvizError

MEMORY_BYTES = 512 * 2**20


def default_dir() -> Path | None:
    """The disk cache folder from the environment (None: no disk cache)."""
    from ddviz.settings import env

    value = env().cache_dir
    if value is not None:
        return None if value.strip() in ("", "off") else Path(value)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "ddviz"


def digest(*parts) -> str:
    """A hex SHA-256 of the contents of ``parts``; equal contents give equal digests.

    Parameters
    ----------
    *parts
        Arrays (their dtype, shape and bytes count), strings, numbers, None, and nested
        tuples/lists of them.

    Returns
    -------
    str
        64 hex digits.
    """
    h = hashlib.sha256()

    def add(x):
        if isinstance(x, (tuple, list)):
            h.update(f"seq{len(x)}(".encode())
            for item in x:
                add(item)
            h.update(b")")
        elif isinstance(x, np.ndarray) or hasattr(x, "__array__") and not isinstance(x, str):
            a = np.ascontiguousarray(np.asarray(x))
            h.update(f"arr{a.dtype.str}{a.shape}".encode())
            h.update(a.tobytes())
        elif isinstance(x, (str, int, float, bool)) or x is None:
            h.update(f"{type(x).__name__}:{x!r};".encode())
        else:
            raise DdvizError(f"cannot make a cache key of a {type(x).__name__}")
    add(parts)
    return h.hexdigest()


class FieldCache:
    """Arrays by key: memory LRU first, then the ``.npy`` folder, else computed and stored."""

    def __init__(self, directory: Path | None = None, memory_bytes: int = MEMORY_BYTES,
                 disk_bytes: int | None = None):
        self.directory = None if directory is None else Path(directory)
        self.memory_bytes = int(memory_bytes)
        if disk_bytes is None:
            from ddviz.settings import env

            disk_bytes = int(env().cache_mb * 2**20)
        self.disk_bytes = int(disk_bytes)
        self._memory: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def _path(self, key: str) -> Path | None:
        return None if self.directory is None else self.directory / f"{key}.npy"

    def get(self, key: str) -> np.ndarray | None:
        """The stored array (read-only), or None."""
        with self._lock:
            if key in self._memory:
                self._memory.move_to_end(key)
                self.hits += 1
                return self._memory[key]
        path = self._path(key)
        if path is not None and path.is_file():
            try:
                value = np.load(path, allow_pickle=False)
            except (OSError, ValueError):  # a damaged file is a miss, and is replaced
                return None
            self._remember(key, value)
            with self._lock:
                self.hits += 1
            return value
        return None

    def put(self, key: str, value: np.ndarray) -> np.ndarray:
        """Store ``value`` (as a read-only copy) in memory and on disk; returns the stored array."""
        value = np.array(value)
        self._remember(key, value)
        path = self._path(key)
        if path is not None:
            from ddviz.io.atomic import atomic_path

            try:
                with atomic_path(path) as tmp, open(tmp, "wb") as f:
                    np.save(f, value, allow_pickle=False)
                self._prune_disk()
            except OSError:  # a read-only or full disk only costs the disk cache
                pass
        return value

    def get_or_compute(self, key: str, compute: Callable[[], np.ndarray]) -> np.ndarray:
        """The stored array for ``key``, or ``compute()`` stored under it."""
        value = self.get(key)
        if value is None:
            with self._lock:
                self.misses += 1
            value = self.put(key, compute())
        return value

    def __contains__(self, key: str) -> bool:
        with self._lock:
            if key in self._memory:
                return True
        path = self._path(key)
        return path is not None and path.is_file()

    def _remember(self, key: str, value: np.ndarray) -> None:
        value.flags.writeable = False
        with self._lock:
            self._memory[key] = value
            self._memory.move_to_end(key)
            total = sum(v.nbytes for v in self._memory.values())
            while total > self.memory_bytes and len(self._memory) > 1:
                _, old = self._memory.popitem(last=False)
                total -= old.nbytes

    def _prune_disk(self) -> None:
        files = sorted(self.directory.glob("*.npy"), key=lambda p: p.stat().st_mtime)
        total = sum(p.stat().st_size for p in files)
        for p in files[:-1]:
            if total <= self.disk_bytes:
                break
            total -= p.stat().st_size
            p.unlink(missing_ok=True)


_SHARED: dict[Path | None, FieldCache] = {}
_SHARED_LOCK = threading.Lock()


def shared(directory: Path | None = None) -> FieldCache:
    """The process-wide cache for a folder (None: memory only), e.g. one per app server."""
    key = None if directory is None else Path(directory).resolve()
    with _SHARED_LOCK:
        if key not in _SHARED:
            _SHARED[key] = FieldCache(key)
        return _SHARED[key]
