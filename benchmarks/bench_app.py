"""App speed in a real browser (Debian's Chromium): time from opening the page to the first complete
render of the shipped example (structure, model, reference; metrics shown and the 3D view drawn),
and from typing a new iso level to a changed 3D view. Prints seconds; run `python benchmarks/bench_app.py`.
"""

import io
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
from PIL import Image
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
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


def main(repeats: int = 3) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "panel", "serve", str(ROOT / "app.py"),
                               "--address", "127.0.0.1", "--port", str(port), "--liveness"],
                              cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/liveness", timeout=1)
                break
            except OSError:
                time.sleep(0.5)
        first, level = [], []
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            for _ in range(repeats):
                page = browser.new_page(viewport={"width": 1600, "height": 1200})
                t0 = time.perf_counter()
                page.goto(f"http://127.0.0.1:{port}/app")
                page.locator(".ddviz-message").get_by_text("points in").wait_for(timeout=120_000)
                canvas = page.locator(".ddviz-3d canvas").first
                canvas.wait_for()
                while pixels(canvas).std() < 10:
                    time.sleep(0.05)
                first.append(time.perf_counter() - t0)
                before = pixels(canvas)
                box = page.locator(".ddviz-level input").first
                box.fill("-2.5")
                t1 = time.perf_counter()
                box.press("Enter")
                while np.abs(pixels(canvas) - before).mean() < 0.5 and time.perf_counter() - t1 < 30:
                    time.sleep(0.02)
                level.append(time.perf_counter() - t1)
                page.close()
            browser.close()
    finally:
        server.terminate()
    print(f"first complete render of the example: median {np.median(first):.2f} s "
          f"(runs: {', '.join(f'{t:.2f}' for t in first)}; target 5 s)")
    print(f"iso-level change visible in the 3D view: median {np.median(level):.2f} s "
          f"(runs: {', '.join(f'{t:.2f}' for t in level)}; target 0.5 s)")


if __name__ == "__main__":
    main()
