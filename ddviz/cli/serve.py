"""Serve the app in a browser: ``panel serve app.py`` on 127.0.0.1 unless --address says otherwise."""

from __future__ import annotations

from ddviz.app.server import DEFAULT_ADDRESS, DEFAULT_PORT


def add_arguments(p):
    p.add_argument("--address", default=DEFAULT_ADDRESS,
                   help="address to listen on (default %(default)s)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help="port (default %(default)s)")
    p.add_argument("--show", action="store_true", help="open a browser tab")
    p.add_argument("--data", action="append", default=[],
                   help="folder of structures and references to offer (repeatable; default examples/)")


def run(args):
    import os
    import subprocess

    from ddviz.app.server import panel_command

    env = dict(os.environ)
    if args.data:
        env["DDVIZ_DATA_DIRS"] = os.pathsep.join(os.path.abspath(d) for d in args.data)
    return subprocess.call(panel_command(args.address, args.port, args.show), env=env)
