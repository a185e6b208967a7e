"""How the app is served: the ``panel serve`` command line that ``ddviz serve``, the browser tests
and the app benchmark start.
"""

from __future__ import annotations

import sys

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
    from ddviz.app.settings import ROOT

    return [sys.executable, "-m", "panel", "serve", str(ROOT / "app.py"), "--address", address,
            "--port", str(port), "--liveness", "--setup", str(ROOT / "ddviz/app/startup.py"),
            "--allow-websocket-origin",
            f"{'localhost' if address == '127.0.0.1' else address}:{port}",
            "--allow-websocket-origin", f"{address}:{port}"] + (["--show"] if show else [])
