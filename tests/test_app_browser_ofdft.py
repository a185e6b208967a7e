"""The app's OF-DFT tab in a real browser: Debian's Chromium via pytest-playwright.

The server (`panel serve app.py`) reads the shipped kinetic model from a models folder of its own
and no structures (the Explore tab stays idle). Fails on any browser console error. Screenshots
go to test-results/ as artifacts.
"""

import shutil
import time

import pytest

from tests.conftest import ROOT, app_server
from tests.test_app_browser import (  # noqa: F401  (the browser fixture is used by name)
    browser_type_launch_args,
    save,
)

# the number of points of each glyph source of the Bokeh figure whose title starts with TITLE
SOURCES = """(title) => { const out = [];
  for (const doc of Bokeh.documents) for (const m of doc._all_models.values())
    if (m.title && m.title.text && m.title.text.startsWith(title) && m.renderers)
      for (const r of m.renderers) if (r.data_source && r.data_source.data)
        out.push(Object.values(r.data_source.data)[0].length);
  return out; }"""


@pytest.fixture(scope="module")
def server(tmp_path_factory, kinetic_dataset):
    root = tmp_path_factory.mktemp("appofdft")
    models, data, datasets = root / "models", root / "data", root / "datasets"
    for d in (models, data, datasets):
        d.mkdir()
    shutil.copy(ROOT / "models" / "kinetic-2e.safetensors", models)
    shutil.copytree(kinetic_dataset, datasets / "k2e")
    with app_server(root, data_dirs=data, dataset_dirs=datasets, models_dir=models,
                    runs_dir=root / "runs", cache_dir=root / "cache") as url:
        yield url


def text(locator) -> str:
    """The text of a Markdown pane (its content sits in a shadow root: paragraphs, cells)."""
    return " ".join(locator.locator("p, th, td").all_inner_texts())


def wait_until(condition, timeout=60.0, what="the condition"):
    """Poll ``condition`` until it returns something true; fail after ``timeout`` s."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def tab(page, server):
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(f"{e} {(e.stack or '')[:400]}"))
    page.set_viewport_size({"width": 1500, "height": 1400})
    page.goto(server)
    page.get_by_text("OF-DFT", exact=True).click()
    page.locator(".ddviz-ofdft-run button").wait_for(timeout=60_000)
    yield page
    assert errors == [], "\n".join(errors)


def test_ofdft_tab_runs_the_exact_functional_on_h2_and_streams_the_energy(tab):
    from ddviz.methods.kinetic import ofdft

    page = tab
    page.locator(".ddviz-ofdft-functional").get_by_text("exact von Weizsäcker").click()
    page.locator(".ddviz-ofdft-run button").click()
    result = page.locator(".ddviz-ofdft-result")
    try:
        wait_until(lambda: "E_OF-DFT =" in text(result), what="the final energy readout")
    finally:
        save(page, "ofdft-vw-h2")
        print("message:", text(page.locator(".ddviz-ofdft-message")),
              "alert:", text(page.locator(".ddviz-ofdft-alert")))
    expected = ofdft.run(ofdft.preset("H2"), functional="vw")  # what the library gives
    e_ks, _ = ofdft.kohn_sham(ofdft.preset("H2"))
    shown = text(result)
    assert f"E_OF-DFT = {expected.energy_ha:.6f} Ha" in shown
    assert f"E_KS = {e_ks:.6f} Ha" in shown
    assert f"converged, {expected.iterations} iterations" in shown
    assert f"{expected.parts['kinetic_ha']:.6f}" in shown  # the table of the parts
    # the energy trace holds one point per iteration (line and markers), the gap plot too
    counts = wait_until(lambda: page.evaluate(SOURCES, "energy per iteration"),
                        what="the energy trace")
    assert expected.iterations in counts and max(counts) == expected.iterations, counts
    assert expected.iterations in page.evaluate(SOURCES, "|E − E_KS| per iteration")
    # the density on the axis: the Kohn–Sham curve and the final OF-DFT frame
    profile = page.evaluate(SOURCES, "density on the molecular axis")
    assert profile.count(201) == 2, profile  # Kohn–Sham and OF-DFT lines
    assert page.locator(".ddviz-ofdft-message").get_by_text(
        f"converged after {expected.iterations} iterations").count() == 1
    save(page, "ofdft-vw-h2")


def test_ofdft_tab_streams_model_frames_and_stops_cleanly(tab):
    page = tab
    page.locator(".ddviz-ofdft-structure select").select_option("H3+")
    page.locator(".ddviz-ofdft-run button").click()
    message = page.locator(".ddviz-ofdft-message")
    # frames arrive while the optimiser runs (several at once when the browser lags behind)
    wait_until(lambda: max(page.evaluate(SOURCES, "energy per iteration") or [0]) >= 2,
               what="two iterations in the energy trace")
    assert "iteration" in text(message) and "E_KS =" in text(message)
    assert text(page.locator(".ddviz-ofdft-result")) == ""  # not finished
    page.locator(".ddviz-ofdft-stop button").click()
    result = page.locator(".ddviz-ofdft-result")
    wait_until(lambda: "stopped" in text(result), what="the stopped run's readout")
    shown = text(result)
    assert "KineticNet model" in shown and "E_OF-DFT =" in shown
    iterations = int(shown.split("stopped, ")[1].split(" iterations")[0])
    assert 2 <= iterations < 15  # the model needs about 20 to converge here
    counts = page.evaluate(SOURCES, "energy per iteration")
    assert max(counts) == iterations, counts
    # the tab is usable again: Run is enabled, Stop disabled
    assert page.locator(".ddviz-ofdft-run button").is_enabled()
    assert page.locator(".ddviz-ofdft-stop button").is_disabled()
    save(page, "ofdft-model-stopped")


def test_ofdft_tab_shows_the_test_split_parity_and_a_kinetic_energy_slice(tab):
    page = tab
    page.locator(".ddviz-ofdft-evaluate button").click()
    message = page.locator(".ddviz-ofdft-parity-message")
    wait_until(lambda: "1 test sample, T_s MAE" in text(message), what="the parity message")
    # one sample (HeH+) and the diagonal; the slice's two images
    wait_until(lambda: page.evaluate(SOURCES, "T_s^ML against T_s"), what="the parity plot")
    assert 1 in page.evaluate(SOURCES, "T_s^ML against T_s")
    wait_until(lambda: page.evaluate(SOURCES, "τ of the model"), what="the model's τ image")
    assert page.evaluate(SOURCES, "τ von Weizsäcker")
    save(page, "ofdft-parity")
