"""``panel serve --setup`` script of ``ddviz serve``: starts the app's warm-up
(:mod:`ddviz.app.warmup`) in a background thread when the server starts."""

from ddviz.app import trace, warmup

trace.mark("server setup")
warmup.start()
