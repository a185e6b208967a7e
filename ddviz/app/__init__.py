"""The Panel app (``panel serve app.py``) and its components, which also work in Jupyter.

The names load lazily, so that :mod:`ddviz.app.warmup` imports without the app's modules.
"""

from ddviz.lazy import lazy_names

__all__ = ["AppSettings", "Explorer", "OFDFTTab", "Plane2DTab", "TrainingPanel", "create_app"]
__getattr__ = lazy_names(__name__, {"AppSettings": "settings", "Explorer": "explorer",
                                    "OFDFTTab": "ofdft.tab",
                                    "Plane2DTab": "plane2d.tab", "TrainingPanel": "training",
                                    "create_app": "layout"})
