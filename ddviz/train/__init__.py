"""Training: the run configuration and the one loop for every method.

The configuration is :class:`TrainConfig` (importable without torch); the loop
(:mod:`~ddviz.train.loop`) drives the method interface (:mod:`~ddviz.train.method`) and writes
the run folder (:mod:`~ddviz.train.run_dir`).

The loop's names load lazily, so that the app's training form imports only the configuration.
"""

from ddviz.lazy import lazy_names
from ddviz.train.config import (
           CHECKPOINT,
           HISTORY,
           HISTORY_CSV,
           MODEL,
           STATUS,
           TrainConfig,
)

__all__ = ["CHECKPOINT", "HISTORY", "HISTORY_CSV", "MODEL", "STATUS", "Callback", "RunDirectory",
           "TrainConfig", "Trainer", "TrainingError", "TrainingMethod", "pick_device"]
__getattr__ = lazy_names(__name__, {"Callback": "loop", "Trainer": "loop",
                                    "TrainingError": "run_dir", "RunDirectory": "run_dir",
                                    "CHECKPOINT_FORMAT": "run_dir",
                                    "CHECKPOINT_VERSION": "run_dir",
                                    "TrainingMethod": "method", "pick_device": "loop"})
