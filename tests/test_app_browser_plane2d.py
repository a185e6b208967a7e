"""The app's 2D tab in a real browser: Debian's Chromium via pytest-playwright.

The server (`panel serve app.py`) reads the three shipped 2D models from a models folder of their
own and no structures (the Explore tab stays idle). Fails on any browser console error.
Screenshots go to test-results/ as artifacts.
"""

import shutil
import time

import numpy as np
import pytest

from tests.conftest import ROOT, app_server
from tests.test_app_browser import (  # noqa: F401  (the browser fixture is used by name)
    browser_type_launch_args,
    pixels,
    save,
    wait_for_change,
)

MODELS = ("ednn-rho.safetensors", "ednn-v.safetensors", "dcign.safetensors")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("app2d")
    models, data = root / "models", root / "data"
    for d in (models, data):
        d.mkdir()
    for name in MODELS:
        shutil.copy(ROOT / "models" / name, models / name)
    with app_server(root, data_dirs=data, models_dir=models, runs_dir=root / "runs",
                    cache_dir=root / "cache") as url:
        yield {"url": url, "models": models}


def library_e_tot(models_dir, **spec) -> str:
    """The reference E_tot (Ha) the library computes, as the tab's table writes it."""
    from ddviz.evaluate import plane2d

    found = plane2d.find_models(models_dir)
    models = plane2d.Models.load(found["ednn_rho"][0], found["ednn_v"][0], found["dcign"][0])
    result = plane2d.run(plane2d.PotentialSpec(**spec), 2, "lda", models)
    return f"{result.energies['reference']['E_tot']:.4f}"


def table_e_tot(page) -> str:
    """The reference E_tot in the tab's energy table."""
    return page.locator(".ddviz-2d-table tr", has_text="E_tot").locator("td").nth(1).inner_text()


def wait_until(condition, timeout=60.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError("timed out")


def test_the_2d_tab_solves_and_follows_a_stiffness_slider(page, server):
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(f"{e} {(e.stack or '')[:400]}"))
    page.set_viewport_size({"width": 1400, "height": 1300})
    page.goto(server["url"])
    page.get_by_text("2D", exact=True).click()
    message = page.locator(".ddviz-2d-message")
    message.get_by_text("E_tot").wait_for(timeout=90_000)
    images, bars = page.locator(".ddviz-2d-densities"), page.locator(".ddviz-2d-bars")
    page.locator(".ddviz-2d-bars canvas").first.wait_for(timeout=30_000)
    page.locator(".ddviz-2d-densities canvas").first.wait_for(timeout=30_000)
    time.sleep(1.0)  # Bokeh draws after the plot arrives
    before = {"images": pixels(images), "bars": pixels(bars)}
    assert before["images"].std() > 10 and before["bars"].std() > 10, "a plot is blank"
    first = library_e_tot(server["models"])
    assert table_e_tot(page) == first
    message.get_by_text(f"E_tot = {first} Ha").wait_for(timeout=5_000)
    save(page, "plane2d")
    # the three density images share their ranges (linked zoom); the tab fits 1400 px
    ranges = page.evaluate("""() => { const out = {};
        for (const doc of Bokeh.documents) for (const m of doc._all_models.values())
          if (m.x_range && m.title && m.title.text) out[m.title.text] = [m.x_range.id, m.y_range.id];
        return out; }""")
    shown = [v for k, v in ranges.items() if k.startswith(("reference ρ", "DCIGN ρ", "DCIGN −"))]
    assert len(shown) == 3 and len({str(v) for v in shown}) == 1, ranges
    assert page.evaluate("document.documentElement.scrollWidth") <= 1400
    # a stiffer oscillator: a new reference, computed in the background
    stiffness = page.locator(".ddviz-2d-kx input").first
    stiffness.fill("0.9")
    stiffness.press("Enter")
    second = library_e_tot(server["models"], kx=0.9)
    assert second != first
    wait_until(lambda: table_e_tot(page) == second)
    message.get_by_text(f"E_tot = {second} Ha").wait_for(timeout=5_000)
    for name, locator in (("images", images), ("bars", bars)):
        after = wait_for_change(locator, before[name])
        assert after.shape != before[name].shape or np.abs(after - before[name]).mean() > 0.5, \
            f"the {name} did not change with the stiffness"
    save(page, "plane2d-stiffer")
    assert errors == [], "\n".join(errors)
