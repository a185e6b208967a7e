"""``python -m ddviz``: the command line (:func:`ddviz.cli.main`)."""

from ddviz.cli import main

raise SystemExit(main())
