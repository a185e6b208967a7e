"""ddviz app: `panel serve app.py` (listens on localhost unless --address says otherwise)."""

from ddviz.app import create_app

create_app().servable(title="ddviz")
