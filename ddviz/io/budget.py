"""A wall-clock budget for reading a file: a hostile file must not hold a server forever.

Every reader checks declared sizes before it allocates or loops, but a damaged file can still
send a parser (ASE, HDF5) into work it does not report. :func:`read_with_budget` runs the read in
a daemon thread and waits at most ``seconds``: past that it raises :class:`ReadTimeoutError`, a
clean :class:`~ddviz.errors.DdvizError` naming the file, and leaves the thread to finish on its own
(a thread cannot be killed; the result it may still produce is dropped). At most
:data:`MAX_ABANDONED` such reads may still be running: beyond that, reads are refused at once, so
a stream of hostile uploads cannot pile up threads.

A parser that holds the GIL inside C code for the whole read (none of ddviz's readers is known to)
would delay the timeout until it lets go; the reads that matter here are Python loops (ASE) or
release the GIL between calls.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable

from ddviz.errors import DdvizError

READ_SECONDS = 60.0  # default budget of one read
MAX_ABANDONED = 4  # reads past their budget that may still be running
_abandoned: set[threading.Thread] = set()
_lock = threading.Lock()


class ReadTimeoutError(DdvizError):
    """Reading a file took longer than its wall-clock budget (a damaged or hostile file?)."""


def read_with_budget(path, seconds: float | None = READ_SECONDS,
                     reader: Callable | None = None, **options):
    """``reader(path, **options)``, refused when it takes longer than ``seconds``.

    Parameters
    ----------
    path : path-like
        The file to read.
    seconds : float or None
        The wall-clock budget (None: no budget, the read runs in the calling thread).
    reader : callable, optional
        The read, called as ``reader(path, **options)``; default :func:`ddviz.io.read` (a density
        file into a Sample).
    **options
        Passed to ``reader`` (e.g. ``max_points``, ``format``, ``index``).

    Returns
    -------
    object
        What ``reader`` returns.

    Raises
    ------
    ReadTimeoutError
        The read ran past ``seconds`` (it is left running in its thread), or too many earlier
        reads that ran past their budget are still running.
    DdvizError
        Whatever the reader raises (re-raised in the calling thread).
    """
    if reader is None:
        from ddviz.io import read as reader
    if seconds is None:
        return reader(path, **options)
    with _lock:
        for thread in [t for t in _abandoned if not t.is_alive()]:
            _abandoned.discard(thread)
        if len(_abandoned) >= MAX_ABANDONED:
            raise ReadTimeoutError(f"{len(_abandoned)} earlier reads are still running past their "
                                   "budget; try again later", path=path)
    outcome: dict = {}

    def run():
        try:
            outcome["value"] = reader(path, **options)
        except BaseException as exc:  # noqa: BLE001 -- handed to the waiting thread
            outcome["error"] = exc

    thread = threading.Thread(target=run, name=f"ddviz-read {os.fspath(path)}", daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        with _lock:
            _abandoned.add(thread)
        raise ReadTimeoutError(f"reading took longer than {seconds:g} s (a damaged or hostile "
                               "file?); refused", path=path)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]
