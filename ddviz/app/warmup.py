"""The app's first-use costs, paid once per process.

Importing the numerical and drawing libraries (torch, xarray, PySCF, VTK, HoloViews with Bokeh and
Matplotlib: seconds on 2 cores), the first Bokeh plots, and compiling datashader's kernels (numba:
1-4 s).

``ddviz serve`` pays them all before the server answers (:func:`preload`, from ``panel serve
--setup ddviz/app/startup.py``). A server started otherwise (``panel serve app.py``) begins them
in a background thread with its first page (:func:`start`, then :func:`datashader` once the
first comparison is drawn). Neither does user work: nothing is read or computed for any structure.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor

from ddviz.app import trace

_POOL = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ddviz-warm-up")
_LOCK = threading.Lock()
_STAGES: dict[str, Future] = {}


def _best_effort(stage):
    """Run a stage; a failure is logged, not raised: the work it prepares for raises its own."""
    try:
        stage()
    except Exception:
        logging.getLogger(__name__).warning("warm-up stage %s failed", stage.__name__,
                                            exc_info=True)
    trace.mark(f"warm-up {stage.__name__.strip('_')} done")


def _computing() -> None:
    """Import what reading the inputs and computing a comparison need; evaluate a model once.

    A fresh two-atom model at eight points pays torch's first-call costs.
    """
    import pyscf.gto  # noqa: F401  (references stored as orbitals)
    import torch

    from ddviz import io  # noqa: F401  (xarray, h5py)
    from ddviz.evaluate import comparison, predictor  # noqa: F401
    from ddviz.methods.deep_density import files  # noqa: F401
    from ddviz.methods.deep_density.config import ModelConfig
    from ddviz.methods.deep_density.model import DeepDensity

    model = DeepDensity(ModelConfig(species=["H"]))
    with torch.inference_mode():
        model(model.prepare([1, 1], [[0.0, 0.0, 0.0], [1.4, 0.0, 0.0]]), torch.rand(8, 3))


def _drawing() -> None:
    """Import what drawing a comparison needs; make a first Panel pane of each kind of plot.

    The imports: HoloViews + Bokeh + Matplotlib, VTK's rendering; the panes pay first-use
    costs (~1 s more here).
    """
    import panel as pn
    import pyvista.plotting  # noqa: F401  (VTK's rendering modules, imported on first use)
    from bokeh.document import Document

    from ddviz.viz import plots, scene  # noqa: F401

    for figure in plots.examples():
        pn.pane.HoloViews(figure, linked_axes=True).get_root(Document())


def _datashader() -> None:
    from ddviz.viz import plots

    plots.warm_up()


def preload() -> None:
    """Run every stage now, in this thread.

    Imports, first plots and datashader's kernels. ``ddviz serve`` does, before the server answers
    (a few seconds more to start), so that no page waits for them and no compiling competes with a
    page's first draw or a level change.
    """
    with _LOCK:
        for name, stage in (("computing", _computing), ("drawing", _drawing),
                            ("datashader", _datashader)):
            if name not in _STAGES:
                _best_effort(stage)
                _STAGES[name] = Future()
                _STAGES[name].set_result(None)


def start() -> dict[str, Future]:
    """Futures of the warm-up, run one after the other in the background.

    'computing', then 'drawing' (see above). Started once per process.
    """
    with _LOCK:
        if not _STAGES:
            _STAGES["computing"] = _POOL.submit(_best_effort, _computing)
            _STAGES["drawing"] = _POOL.submit(_best_effort, _drawing)
        return dict(_STAGES)


def datashader() -> Future:
    """Future of datashader's kernels compiled (after the stages of :func:`start`).

    The app asks for it once its first comparison is drawn: compiling takes seconds of CPU that the
    first draw (server and browser) needs more.
    """
    start()
    with _LOCK:
        if "datashader" not in _STAGES:
            _STAGES["datashader"] = _POOL.submit(_best_effort, _datashader)
        return _STAGES["datashader"]


def datashader_ready() -> bool:
    """True once datashader's kernels are compiled (see :func:`datashader`)."""
    with _LOCK:
        return "datashader" in _STAGES and _STAGES["datashader"].done()
