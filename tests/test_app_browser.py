"""The app in a real browser: Debian's Chromium via pytest-playwright against `panel serve app.py`.

Fails on any browser console error. Screenshots go to test-results/ as artifacts.
"""

import io as _io
import time
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import ROOT, app_server

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-results"


@pytest.fixture(scope="session")
def browser_type_launch_args():
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is needed (apt-get install chromium); .ci/run installs it")
    return {"executable_path": CHROMIUM,
            "args": ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--no-first-run",
                     "--disable-quic"]}


@pytest.fixture(scope="module")
def server(app_files):
    root = app_files["root"]
    with app_server(root, data_dirs=app_files["data"], dataset_dirs=app_files["dataset"],
                    models_dir=app_files["models"], runs_dir=app_files["runs"],
                    cache_dir=root / "cache") as url:
        yield url
    left = sorted(p.name for p in (root / "server-tmp").glob("ddviz-*"))
    assert left == [], f"the server left temporary files behind: {left}"


@pytest.fixture
def app_page(page, server):
    """The app's page, loaded until the first comparison is shown; console errors collected."""
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(f"{e} {(e.stack or '')[:400]}"))
    page.set_viewport_size({"width": 1600, "height": 1400})
    page.goto(server)
    page.locator(".ddviz-message").get_by_text("points").wait_for(timeout=90_000)
    yield page
    assert errors == [], "\n".join(errors)


def pixels(locator, tries: int = 10) -> np.ndarray:
    """RGB pixels of an element; retried while the page swaps the element for a new one."""
    from PIL import Image
    from playwright.sync_api import Error

    for attempt in range(tries):
        try:
            shot = locator.screenshot(timeout=10_000)
            return np.asarray(Image.open(_io.BytesIO(shot)).convert("RGB"), dtype=float)
        except Error:
            if attempt == tries - 1:
                raise
            time.sleep(0.5)


def save(page, name):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))  # full_page resizes the viewport


def wait_for_change(locator, before, timeout=20.0) -> np.ndarray:
    deadline = time.time() + timeout
    while time.time() < deadline:
        now = pixels(locator)
        if now.shape != before.shape or np.abs(now - before).mean() > 0.5:
            return now
        time.sleep(0.25)
    return now


def wait_until_gone(locator, timeout=30.0) -> int:
    """How many elements ``locator`` still finds after waiting up to ``timeout`` s for none.

    Components clear in their own callbacks, so the page reaches its state a moment apart.
    """
    deadline = time.time() + timeout
    while locator.count() and time.time() < deadline:
        time.sleep(0.25)
    return locator.count()


def test_explore_tab_renders_3d_slices_scatter_and_reacts_to_the_level(app_page):
    page = app_page
    page.locator("select").first.select_option("data/ethane.xyz")  # prediction alone
    page.locator(".ddviz-message").get_by_text("relative L1").wait_for(state="detached",
                                                                      timeout=60_000)
    page.locator(".ddviz-slices canvas").first.wait_for(timeout=30_000)
    page.locator("select").first.select_option("data/ethane_ref.nc")  # with its reference
    page.locator(".ddviz-message").get_by_text("relative L1").wait_for(timeout=60_000)
    page.locator(".ddviz-message").get_by_text("full grid:").wait_for(timeout=60_000)
    canvas = page.locator(".ddviz-3d canvas").first
    canvas.wait_for(timeout=30_000)
    time.sleep(1.0)  # vtk.js draws after the scene arrives
    first = pixels(canvas)
    save(page, "explore")
    assert first.std() > 10, "the 3D view is blank"
    for hook in (".ddviz-slices", ".ddviz-scatter"):
        plot = page.locator(f"{hook} canvas").first
        plot.wait_for(timeout=30_000)
        assert pixels(page.locator(hook)).std() > 10, f"{hook} is blank"
    level = page.locator(".ddviz-level input").first
    level.fill("-3.0")
    level.press("Enter")
    second = wait_for_change(canvas, first)
    assert np.abs(second - first).mean() > 0.5, "the iso-level change did not reach the 3D view"
    save(page, "explore-level")
    with page.expect_download(timeout=60_000) as download:  # written in the session's folder
        page.get_by_role("button", name="slices.png").click()
    assert Path(download.value.path()).stat().st_size > 1000


def test_training_tab_trains_a_model_that_the_explore_tab_offers(app_page):
    page = app_page
    page.get_by_text("Train", exact=True).click()
    for name, value in {"steps": "6", "validate_every": "3", "points_per_snapshot": "64",
                        "validation_snapshots": "2", "validation_stride": "4", "model-m1": "8",
                        "model-m2": "4", "model-embedding_widths": "8",
                        "model-fitting_widths": "8"}.items():
        box = page.locator(f".cfg-{name} input").first
        box.fill(value)
        box.press("Enter")
    page.get_by_role("button", name="Start").click()
    page.locator(".ddviz-train-status").get_by_text("finished").wait_for(timeout=180_000)
    save(page, "train")
    page.get_by_text("Explore", exact=True).click()
    model_select = page.locator("select").nth(1)
    # offered once the training process has exited (after its status says finished)
    model_select.locator("option", has_text="my-model.safetensors").wait_for(state="attached",
                                                                           timeout=90_000)
    model_select.select_option("models/my-model.safetensors")
    page.locator(".ddviz-message").get_by_text("points").wait_for(timeout=60_000)
    save(page, "explore-new-model")


def test_an_error_clears_the_old_result_at_1400_px_without_sideways_scrolling(app_page,
                                                                              app_files):
    """Stale state: after an upload the model cannot evaluate (gold), nothing of the previous
    result stays on the page; the selector names the upload, the message the user's file."""
    from ase import Atoms

    page = app_page
    page.set_viewport_size({"width": 1400, "height": 1200})
    page.locator(".ddviz-message").get_by_text("full grid:").wait_for(timeout=90_000)
    page.locator(".ddviz-slices canvas").first.wait_for(timeout=60_000)
    time.sleep(1.0)
    save(page, "explore-1400")
    wide = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert wide <= 0, f"the page scrolls sideways by {wide} px at 1400 px"
    gold = app_files["root"] / "my-gold.xyz"
    Atoms("Au2", positions=[[0, 0, 0], [0, 0, 2.5]]).write(gold)
    page.locator("input[type=file]").first.set_input_files(str(gold))
    alert = page.locator(".ddviz-alert")
    alert.get_by_text("cleared").wait_for(timeout=60_000)
    said = alert.get_by_text("my-gold.xyz").first  # the user's file name
    said.wait_for(timeout=30_000)
    assert "ddviz-" not in said.inner_text(), said.inner_text()  # not the server's path
    assert page.locator("select").first.input_value() == "structure:my-gold.xyz"
    page.locator(".ddviz-3d").get_by_text("no result").wait_for(timeout=30_000)
    assert wait_until_gone(page.locator(".ddviz-slices canvas")) == 0
    assert wait_until_gone(page.locator(".ddviz-scatter canvas")) == 0
    assert page.get_by_role("button", name="slices.png").is_disabled()
    save(page, "explore-error-cleared")


def test_without_a_reference_the_reference_toggles_and_scatter_download_are_off(app_page):
    page = app_page
    page.locator(".ddviz-message").get_by_text("full grid:").wait_for(timeout=90_000)
    page.locator("select").first.select_option("data/ethane.xyz")  # prediction alone
    page.locator(".ddviz-message").get_by_text("relative L1").wait_for(state="detached",
                                                                      timeout=60_000)
    layers = page.locator(".ddviz-layers")
    layers.get_by_text("predicted").wait_for(timeout=30_000)
    page.get_by_role("button", name="scatter.png").wait_for(timeout=30_000)
    assert wait_until_gone(layers.get_by_text("reference")) == 0
    assert layers.get_by_text("error").count() == 0
    assert page.get_by_role("button", name="scatter.png").is_disabled()
    assert not page.get_by_role("button", name="slices.png").is_disabled()
    save(page, "explore-no-reference")


def test_the_report_renders_from_a_file_url_with_the_network_blocked(page, water_comparison,
                                                                    tmp_path):
    from ddviz.viz.export import save_report

    report = save_report(water_comparison, tmp_path / "report.html", level=0.3)
    errors, blocked = [], []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))

    def only_files(route):
        if route.request.url.startswith("file:"):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    page.route("**/*", only_files)
    page.set_viewport_size({"width": 1400, "height": 1400})
    page.goto(report.as_uri())
    page.locator("canvas").first.wait_for(timeout=90_000)
    page.get_by_text("rel_l1").first.wait_for(timeout=60_000)
    time.sleep(1.0)
    save(page, "report-offline")
    assert page.locator("canvas").count() >= 4  # slices, scatter, histogram, 3D view
    assert blocked == [], blocked
    assert errors == [], errors
