"""The Panel app (``panel serve app.py``) and its components, which also work in Jupyter."""

from ddviz.app.explorer import Explorer
from ddviz.app.layout import create_app
from ddviz.app.settings import AppSettings
from ddviz.app.training import TrainingPanel

__all__ = ["AppSettings", "Explorer", "TrainingPanel", "create_app"]
