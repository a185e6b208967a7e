"""Training: the run configuration (:class:`TrainConfig`, importable without torch) and the loop.

The loop's names load lazily, so that the app's training form imports only the configuration.
"""

from ddviz.lazy import lazy_names
from ddviz.train.config import CHECKPOINT, HISTORY, HISTORY_CSV, MODEL, STATUS, TrainConfig

__all__ = ["CHECKPOINT", "HISTORY", "HISTORY_CSV", "MODEL", "STATUS", "Callback", "TrainConfig",
           "Trainer", "TrainingError", "pick_device"]
__getattr__ = lazy_names(__name__, {"Callback": "loop", "Trainer": "loop", "TrainingError": "loop",
                                    "pick_device": "loop", "CHECKPOINT_FORMAT": "loop",
                                    "CHECKPOINT_VERSION": "loop"})
