"""App speed in a real browser (Debian's Chromium) on the shipped example (examples/ethane.xyz's
reference examples/ethane_reference.nc, which stores orbitals, and models/ethane.safetensors).

Prints seconds from opening the page to
- the first complete render: 3D isosurfaces drawn, slices and scatter plot shown, metrics given
  (a preview on every 2nd grid point when the result is not cached yet);
- the full grid shown (the preview replaced);
and from typing a new iso level to a changed 3D view.

"cold": the first page of a freshly started server (started as `ddviz serve` starts it), opened as
soon as the server answers, with an empty cache: no page was opened before, nothing computed for
any structure (the server pays its libraries' first-use costs before it answers:
ddviz/app/warmup.py; the time it takes to answer is printed too).
"warm": the page opened again on the same server (in-memory cache); "restart": the first page of
a restarted server whose disk cache holds the result. Run `python benchmarks/bench_app.py`
(`--cold N --warm N` choose how many of each; the default 3 and 2 take about 3 minutes).
`--timeline` also prints, for the first cold page, when each server stage (ddviz/app/trace.py)
and each part of the page was done, in seconds after the page was opened.
"""

import argparse
import io
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np
from PIL import Image
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from ddviz.app.server import panel_command  # the server as `ddviz serve` starts it

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


def pixels(locator) -> np.ndarray:
    """Grey levels of an element (retried while the page swaps the element)."""
    from playwright.sync_api import Error

    for _ in range(20):
        try:
            return np.asarray(Image.open(io.BytesIO(locator.screenshot())).convert("L"), float)
        except Error:
            time.sleep(0.1)
    raise RuntimeError("element kept changing")


class Server:
    """`panel serve app.py` on a free port with its own cache folder."""

    def __init__(self, cache_dir: Path, trace: Path | None = None):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        env = dict(os.environ, DDVIZ_CACHE_DIR=str(cache_dir))
        self.started = time.time()
        if trace:
            env["DDVIZ_TRACE"] = str(trace)
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(panel_command(port=self.port), cwd=ROOT, env=env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(240):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/liveness", timeout=1)
                self.ready = time.perf_counter() - t0  # the page is opened right away
                return
            except OSError:
                time.sleep(0.25)
        raise RuntimeError("the app server did not start")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(30)


def open_page(browser, port: int, marks: list | None = None) -> tuple[float, float, float]:
    """(first complete render, full grid shown, iso-level change visible) in seconds; ``marks``
    gets (wall-clock time, event) of the page's parts."""
    page = browser.new_page(viewport={"width": 1600, "height": 1200})
    marks = [] if marks is None else marks
    t0 = time.perf_counter()
    marks.append((time.time(), "page opened"))
    page.goto(f"http://127.0.0.1:{port}/app")
    marks.append((time.time(), "page loaded (goto returned)"))
    page.locator(".ddviz-message").get_by_text("points").wait_for(timeout=120_000)
    marks.append((time.time(), "message shown"))
    for hook in (".ddviz-slices canvas", ".ddviz-scatter canvas"):
        page.locator(hook).first.wait_for(timeout=120_000)
        marks.append((time.time(), f"{hook} shown"))
    canvas = page.locator(".ddviz-3d canvas").first
    canvas.wait_for(timeout=120_000)
    while pixels(canvas).std() < 10:
        time.sleep(0.05)
    marks.append((time.time(), "3D canvas drawn"))
    first = time.perf_counter() - t0
    page.locator(".ddviz-message").get_by_text("full grid").wait_for(timeout=120_000)
    full = time.perf_counter() - t0
    time.sleep(1.0)  # let the browser settle the swapped-in full grid
    before = pixels(canvas)
    box = page.locator(".ddviz-level input").first
    box.fill("-2.5")
    t1 = time.perf_counter()
    box.press("Enter")
    while np.abs(pixels(canvas) - before).mean() < 0.5 and time.perf_counter() - t1 < 30:
        time.sleep(0.02)
    level = time.perf_counter() - t1
    page.close()
    return first, full, level


def report(name: str, runs: list[tuple[float, float, float]]) -> None:
    if not runs:
        return
    for i, what in enumerate(("first complete render", "full grid shown", "iso-level change")):
        values = [r[i] for r in runs]
        print(f"{name:8s} {what:22s} median {np.median(values):6.2f} s  "
              f"(runs: {', '.join(f'{v:.2f}' for v in values)})")


def timeline(trace: Path, marks: list) -> None:
    """Server stages and page parts in time order, seconds after the page was opened."""
    events = [(float(t), name) for t, name in
              (line.split(" ", 1) for line in trace.read_text().splitlines())]
    events = sorted(events + [(t, f"page: {name}") for t, name in marks])
    opened = next(t for t, name in marks if name == "page opened")
    print("timeline of the first cold page (s after opening it; negative: before):")
    for t, name in events:
        print(f"  {t - opened:7.2f}  {name}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cold", type=int, default=3, help="freshly started servers")
    parser.add_argument("--warm", type=int, default=2, help="reopened pages per server")
    parser.add_argument("--timeline", action="store_true",
                        help="print the first cold page's timeline")
    args = parser.parse_args()
    load = os.getloadavg()
    cold, warm, restart, ready = [], [], [], []
    marks = []
    with sync_playwright() as p, tempfile.TemporaryDirectory(prefix="ddviz-trace-") as tmp:
        trace = Path(tmp) / "trace.txt" if args.timeline else None
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        for k in range(args.cold):
            with tempfile.TemporaryDirectory(prefix="ddviz-bench-cache-") as cache:
                server = Server(Path(cache), trace if k == 0 else None)
                ready.append(server.ready)
                if k == 0:
                    marks.append((server.started, "server process started"))
                try:
                    cold.append(open_page(browser, server.port, marks if k == 0 else None))
                    warm += [open_page(browser, server.port) for _ in range(args.warm)]
                finally:
                    server.stop()
                server = Server(Path(cache))  # the same disk cache
                try:
                    restart.append(open_page(browser, server.port))
                finally:
                    server.stop()
        browser.close()
        if trace:
            timeline(trace, marks)
    after = os.getloadavg()
    print(f"load average (1, 5, 15 min) before: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}, after: "
          f"{after[0]:.2f} {after[1]:.2f} {after[2]:.2f}; {os.cpu_count()} CPUs; targets: first "
          "complete render 5 s (cold), level change 0.5 s")
    print(f"server start to answering (imports and warm-up done; the page is opened then): "
          f"median {np.median(ready):.2f} s")
    report("cold", cold)
    report("warm", warm)
    report("restart", restart)


if __name__ == "__main__":
    main()
