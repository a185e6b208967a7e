"""The Explore tab with a Hamiltonian model in a real browser (Debian's Chromium, pytest-playwright).

The server (`panel serve app.py`) lists one hamiltonian-water test sample and the shipped
hamiltonian-water and water models; the page opens on the sample with the Hamiltonian model (the
first model by name). Fails on any browser console error. Screenshots go to test-results/.
"""

import threading

import pytest

from tests.conftest import app_server
from tests.test_app_browser import (  # noqa: F401  (the browser fixture is used by name)
    browser_type_launch_args,
    pixels,
    save,
)
from tests.test_app_hamiltonian import HAM, SAMPLE, hamiltonian_folders


def library_numbers(out: dict) -> None:
    """What the library computes for the sample: relative L1 of the implied density, HOMO (eV)."""
    from ddviz.evaluate.hamiltonian import compute, sample_atoms
    from ddviz.methods import load_model
    from ddviz.methods.hamiltonian.data import HamiltonianSample
    from ddviz.methods.hamiltonian.evaluate import MEV
    from tests.test_app_hamiltonian import ROOT

    sample = HamiltonianSample.read(SAMPLE)
    view = compute(sample_atoms(sample), load_model(ROOT / HAM)[0], fock=sample)
    out["rel_l1"] = f"relative L1 {view.comparison.metrics()['rel_l1']:.3%}"
    out["homo"] = f"{view.prediction.homo * MEV / 1000:.3f}"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    f = hamiltonian_folders(tmp_path_factory.mktemp("hamapp-browser"))
    (f["data"] / "water8.xyz").unlink()  # the sample (first with a reference) opens first
    expected = {}
    worker = threading.Thread(target=library_numbers, args=(expected,))
    worker.start()  # while the server starts
    with app_server(f["root"], data_dirs=f["data"], models_dir=f["models"],
                    runs_dir=f["root"] / "runs", cache_dir=f["root"] / "cache") as url:
        worker.join()
        yield {"url": url, "expected": expected}


def test_a_sample_with_the_hamiltonian_model_shows_levels_blocks_and_the_implied_density(
        page, server):
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(f"{e} {(e.stack or '')[:400]}"))
    page.set_viewport_size({"width": 1600, "height": 1600})
    page.goto(server["url"])
    expected = server["expected"]
    message = page.locator(".ddviz-message")
    message.get_by_text("implied density (all electrons) vs the reference F").wait_for(
        timeout=90_000)
    message.get_by_text(expected["rel_l1"]).wait_for(timeout=1_000)  # the density shown
    for hook in (".ddviz-levels", ".ddviz-block-errors", ".ddviz-slices", ".ddviz-scatter",
                 ".ddviz-3d"):
        page.locator(f"{hook} canvas").first.wait_for(timeout=30_000)
    page.wait_for_timeout(1000)  # Bokeh and vtk.js draw after the plots arrive
    save(page, "explore-hamiltonian")
    for hook in (".ddviz-levels", ".ddviz-block-errors", ".ddviz-slices", ".ddviz-scatter"):
        assert pixels(page.locator(hook)).std() > 10, f"{hook} is blank"
    assert pixels(page.locator(".ddviz-3d canvas").first).std() > 10, "the 3D view is blank"
    numbers = page.locator(".ddviz-hamiltonian-numbers")
    numbers.get_by_text(expected["homo"]).wait_for(timeout=1_000)
    numbers.get_by_text("H-element MAE").wait_for(timeout=1_000)
    assert page.locator(".ddviz-pyscf-reference").is_hidden()  # the sample has its F
    # the same water as a bare structure: no F, until PySCF computes it on request
    page.locator(".ddviz-structure select").select_option("data/water1.xyz")
    message.get_by_text("implied density (all electrons), no reference").wait_for(timeout=60_000)
    button = page.locator(".ddviz-pyscf-reference button")
    button.click()
    message.get_by_text("H MAE").wait_for(timeout=60_000)
    assert page.locator(".ddviz-pyscf-reference").is_hidden()
    for hook in (".ddviz-levels", ".ddviz-block-errors"):
        page.locator(f"{hook} canvas").first.wait_for(timeout=30_000)
    page.locator(".ddviz-layers").get_by_text("reference").wait_for(timeout=30_000)
    page.wait_for_timeout(1000)
    save(page, "explore-hamiltonian-pyscf")
    assert pixels(page.locator(".ddviz-block-errors")).std() > 10, "the heat map is blank"
    assert errors == [], "\n".join(errors)
