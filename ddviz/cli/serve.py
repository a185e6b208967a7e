"""Serve the app in a browser.

``panel serve`` of the app in the package, on 127.0.0.1 unless --address says otherwise. The
port is checked before anything is loaded; then this process becomes the server (exec), so
that a signal to ``ddviz serve`` (Ctrl-C, ``kill``) reaches the server itself and stops it.
"""

from __future__ import annotations

from ddviz.app.server import DEFAULT_ADDRESS, DEFAULT_PORT  # light: no Panel import


def add_arguments(p):
    """Add the command's arguments to ``p``."""
    p.add_argument("--address", default=DEFAULT_ADDRESS,
                   help="address to listen on (default %(default)s)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help="port (default %(default)s)")
    p.add_argument("--show", action="store_true", help="open a browser tab")
    p.add_argument("--data", action="append", default=[],
                   help="folder of structures and references to offer (repeatable; default: the "
                        "shipped examples)")


def run(args):
    """Check the port and the data folders, then become the server (no return)."""
    import os
    import sys

    from ddviz.app.server import panel_command
    from ddviz.cli._checks import check_port
    from ddviz.errors import DdvizError

    for folder in args.data:
        if not os.path.isdir(folder):
            raise DdvizError("no such folder", path=folder, field="--data")
    check_port(args.address, args.port)
    env = dict(os.environ)
    if args.data:
        env["DDVIZ_DATA_DIRS"] = os.pathsep.join(os.path.abspath(d) for d in args.data)
    command = panel_command(args.address, args.port, args.show)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(command[0], command, env)  # no return: this process is the server now
