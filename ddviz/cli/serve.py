"""Serve the app in a browser: ``panel serve app.py`` on 127.0.0.1 unless --address says otherwise."""

from __future__ import annotations


def add_arguments(p):
    p.add_argument("--address", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=5006, help="port (default 5006)")
    p.add_argument("--show", action="store_true", help="open a browser tab")
    p.add_argument("--data", action="append", default=[],
                   help="folder of structures and references to offer (repeatable; default examples/)")


def panel_command(address: str = "127.0.0.1", port: int = 5006, show: bool = False) -> list[str]:
    """The ``panel serve`` command line of ``ddviz serve`` (the benchmark and the browser tests
    start the server with it too). ``--setup`` runs the app's warm-up (imports, first plots,
    compiled kernels; :func:`ddviz.app.warmup.preload`) before the server answers."""
    import sys

    from ddviz.app.settings import ROOT

    return [sys.executable, "-m", "panel", "serve", str(ROOT / "app.py"), "--address", address,
            "--port", str(port), "--liveness", "--setup", str(ROOT / "ddviz/app/startup.py"),
            "--allow-websocket-origin",
            f"{'localhost' if address == '127.0.0.1' else address}:{port}",
            "--allow-websocket-origin", f"{address}:{port}"] + (["--show"] if show else [])


def run(args):
    import os
    import subprocess

    env = dict(os.environ)
    if args.data:
        env["DDVIZ_DATA_DIRS"] = os.pathsep.join(os.path.abspath(d) for d in args.data)
    return subprocess.call(panel_command(args.address, args.port, args.show), env=env)
