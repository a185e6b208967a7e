"""``ddviz evaluate`` for DCIGN models: shared with EDNN (:mod:`ddviz.methods.ednn.evaluate`)."""

from ddviz.methods.ednn.evaluate import evaluate, run

__all__ = ["evaluate", "run"]
