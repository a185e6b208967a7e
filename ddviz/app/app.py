"""The app as ``panel serve`` runs it.

``ddviz serve`` serves this file from the installed package; ``panel serve app.py`` in a
checkout serves the same app.
"""

from ddviz.app import create_app

create_app().servable(title="ddviz")
