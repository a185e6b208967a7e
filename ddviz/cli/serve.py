"""Serve the app in a browser: ``panel serve app.py`` on 127.0.0.1 unless --address says otherwise."""

from __future__ import annotations


def add_arguments(p):
    p.add_argument("--address", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=5006, help="port (default 5006)")
    p.add_argument("--show", action="store_true", help="open a browser tab")
    p.add_argument("--data", action="append", default=[],
                   help="folder of structures and references to offer (repeatable; default examples/)")


def run(args):
    import os
    import subprocess
    import sys

    from ddviz.app.settings import ROOT

    env = dict(os.environ)
    if args.data:
        env["DDVIZ_DATA_DIRS"] = os.pathsep.join(os.path.abspath(d) for d in args.data)
    cmd = [sys.executable, "-m", "panel", "serve", str(ROOT / "app.py"), "--address", args.address,
           "--port", str(args.port), "--liveness", "--allow-websocket-origin",
           f"{'localhost' if args.address == '127.0.0.1' else args.address}:{args.port}",
           "--allow-websocket-origin", f"{args.address}:{args.port}"] + (["--show"] if args.show else [])
    return subprocess.call(cmd, env=env)
