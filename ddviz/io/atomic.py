"""Atomic file writes: a file is either the old one or the complete new one, never half-written."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike):
    """Yield a temporary path beside ``path``; on success it is renamed onto ``path``.

    On an exception (or interrupt) the temporary file is removed and ``path`` is untouched. The
    file gets the usual mode (``0666`` less the umask), also when the writer replaced the
    temporary file with one of its own (safetensors creates its files ``0600``).

    Parameters
    ----------
    path : str or os.PathLike
        The file to write.

    Yields
    ------
    pathlib.Path
        The temporary file (``.NAME.XXXX.tmp`` in the same folder) to write to.

    Raises
    ------
    ddviz.errors.DdvizError
        The folder cannot be made or written.
    """
    from ddviz.errors import DdvizError

    path = Path(path)
    tmp = None
    try:  # created inside the try, so an interrupt right after creation still cleans up
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        except OSError as exc:
            raise DdvizError(f"cannot write here ({exc.strerror or exc})", path=path) from None
        os.close(fd)
        yield Path(tmp)
        os.chmod(tmp, file_mode())  # mkstemp (and safetensors) make 0600; give the usual mode
        os.replace(tmp, path)
    except BaseException:
        if tmp is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        raise


def file_mode() -> int:
    """The mode a new file gets by default: ``0o666`` less the process's umask."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to ``path`` atomically.

    Parameters
    ----------
    path : str or os.PathLike
        The file to write.
    text : str
        Its new content.
    """
    with atomic_path(path) as tmp:
        tmp.write_text(text)
