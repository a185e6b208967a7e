"""How the app is served: the ``panel serve`` command line.

``ddviz serve``, the browser tests and the app benchmark start it. The app file and the setup
script are inside the package, so an installed ddviz (not only an editable one) serves the app.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
APP_FILE = HERE / "app.py"  # in the package: served the same installed or not
STARTUP_FILE = HERE / "startup.py"
DEFAULT_ADDRESS = "127.0.0.1"  # localhost only unless told otherwise
DEFAULT_PORT = 5006


def panel_command(address: str = DEFAULT_ADDRESS, port: int = DEFAULT_PORT,
                  show: bool = False) -> list[str]:
    """The ``panel serve`` command line of ``ddviz serve``.

    ``--setup`` runs the app's warm-up (imports, first plots, compiled kernels;
    :func:`ddviz.app.warmup.preload`) before the server answers; ``--liveness`` makes it answer
    ``/liveness``; websocket connections are allowed from ``address:port`` (and
    ``localhost:port`` for 127.0.0.1).

    Parameters
    ----------
    address : str
        Address to listen on.
    port : int
        Port to listen on.
    show : bool
        Open a browser tab.

    Returns
    -------
    list of str
        The command, starting with this Python interpreter.
    """
    return [sys.executable, "-m", "panel", "serve", str(APP_FILE), "--address", address,
            "--port", str(port), "--liveness", "--setup", str(STARTUP_FILE),
            "--allow-websocket-origin",
            f"{'localhost' if address == '127.0.0.1' else address}:{port}",
            "--allow-websocket-origin", f"{address}:{port}"] + (["--show"] if show else [])
