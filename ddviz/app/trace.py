"""Timeline of the app's server-side stages, for ``benchmarks/bench_app.py --timeline``.

With the environment variable ``DDVIZ_TRACE`` naming a file, :func:`mark` appends one line per
event: wall-clock time (s since the epoch) and the event's name. Without it, it does nothing.
"""

from __future__ import annotations

import threading
import time

_LOCK = threading.Lock()


def mark(event: str) -> None:
    """Record that ``event`` happened now (when DDVIZ_TRACE is set)."""
    from ddviz.settings import env

    path = env().trace
    if not path:
        return
    with _LOCK, open(path, "a") as fh:
        fh.write(f"{time.time():.3f} {event}\n")
