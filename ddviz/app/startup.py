"""``panel serve --setup`` script of ``ddviz serve``: the app's first-use costs, paid first.

Imports, first plots and datashader's kernels (:func:`ddviz.app.warmup.preload`) are paid before
the server answers, so that the first page waits for none of them.
"""

import sys

from ddviz.app import trace, warmup

trace.mark("server setup")
print("ddviz: loading the libraries before serving (a few seconds)...", file=sys.stderr, flush=True)
warmup.preload()
trace.mark("server setup done")
