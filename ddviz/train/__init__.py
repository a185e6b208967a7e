"""Training: the run configuration (:class:`TrainConfig`, importable without torch) and the one
loop for every method (:mod:`~ddviz.train.loop`), with the method interface it drives
(:mod:`~ddviz.train.method`) and the run folder it writes (:mod:`~ddviz.train.run_dir`).

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
