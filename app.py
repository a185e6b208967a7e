"""ddviz app: `panel serve app.py` in a checkout (listens on localhost unless --address says
otherwise). `ddviz serve` serves the same app from the package: ddviz/app/app.py.
"""

from ddviz.app import create_app

create_app().servable(title="ddviz")
