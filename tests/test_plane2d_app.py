"""The 2D tab's job without a browser: ddviz.evaluate.plane2d, ddviz.viz.plane2d, the tab object.

Real solver, the shipped models, one oscillator of two electrons (about a second to solve).
"""

import math
import shutil

import numpy as np
import pytest

from ddviz.errors import DdvizError, ModelFileError
from ddviz.evaluate import plane2d
from ddviz.toys.plane2d.solver import ENERGY_KEYS, Box, Settings, solve
from tests.conftest import ROOT

MODELS = ROOT / "models"


@pytest.fixture(scope="module")
def models():
    found = plane2d.find_models(MODELS)
    return plane2d.Models.load(found["ednn_rho"][0], found["ednn_v"][0], found["dcign"][0])


@pytest.fixture(scope="module")
def spec():
    return plane2d.PotentialSpec("sho", kx=0.3, ky=0.5, cx=7.5, cy=8.5)


@pytest.fixture(scope="module")
def result(models, spec):
    return plane2d.run(spec, 2, "lda", models)


def test_find_models_sorts_the_shipped_files_by_role():
    found = plane2d.find_models(MODELS)
    assert {r: [p.name for p in ps][:1] for r, ps in found.items()} == {
        r: [name] for r, name in plane2d.SHIPPED.items()}
    assert plane2d.role_of(MODELS / "ethane.safetensors") is None  # a Deep Density model


def test_energies_table_and_tiles_come_from_the_solver_and_the_models(result, models, spec):
    from ddviz.methods.ednn.evaluate import exact_energies

    box = Box()
    v = spec.v_ext(box)
    ref = solve(v, 2, box, Settings(functional="lda"))
    np.testing.assert_allclose(result.reference, ref.density, rtol=1e-6, atol=1e-9)
    rows = {row["term"]: row for row in result.table()}
    assert list(rows) == list(ENERGY_KEYS)
    rho_pred = models.ednn_rho.predict(ref.density)
    v_pred = models.ednn_v.predict(v, 2)
    dcign = models.dcign.predict(v, 2)[0]
    exact = exact_energies(dcign[None], v[None], "lda", box.h)
    for k in ENERGY_KEYS:
        assert rows[k]["reference_Ha"] == pytest.approx(ref.energies[k], abs=1e-8)
        assert rows[k]["ednn_rho_Ha"] == pytest.approx(float(rho_pred[k][0]), abs=1e-5)
        assert rows[k]["ednn_v_Ha"] == pytest.approx(float(v_pred[k][0]), abs=1e-5)
        assert rows[k]["ednn_rho_error_mHa"] == pytest.approx(
            1e3 * (rows[k]["ednn_rho_Ha"] - rows[k]["reference_Ha"]))
        if k in exact:
            assert rows[k]["dcign_exact_Ha"] == pytest.approx(float(exact[k][0]), abs=1e-9)
        else:  # only T_s needs learning: no exact E_kin, hence no E_tot
            assert math.isnan(rows[k]["dcign_exact_Ha"])
    np.testing.assert_allclose(result.dcign, dcign, rtol=1e-6)
    # the tile map: each model's tiles sum to its prediction, tile by tile as the model cuts them
    for role in ("ednn_rho", "ednn_v"):
        tiles = result.tiles[role]
        assert tiles.shape == (6, 6, 6)  # 6 terms, 48 px / focus 8 per side
        assert result.tile_bohr[role] == pytest.approx(8 * box.h)
        for i, k in enumerate(ENERGY_KEYS):
            assert tiles[i].sum() == pytest.approx(rows[k][f"{role}_Ha"], abs=1e-9)
    # an oscillator centred near (7.5, 8.5) bohr: the largest |tile| of E_ext sits near there
    t = np.abs(result.tiles["ednn_rho"][ENERGY_KEYS.index("E_ext")])
    ix, iy = np.unravel_index(np.argmax(t), t.shape)
    assert abs((ix + 0.5) * 8 * box.h - 7.5) < 3 and abs((iy + 0.5) * 8 * box.h - 8.5) < 3
    e = result.density_errors()
    assert e["electrons_ref"] == pytest.approx(2.0) and e["electrons_dcign"] == pytest.approx(2.0)
    assert e["rel_l1"] == pytest.approx(np.abs(dcign - ref.density).sum() / ref.density.sum(),
                                        rel=1e-5)


def test_the_random_potential_is_the_datasets_and_the_seed_changes_it():
    from ddviz.toys.plane2d.potentials import draw

    box = Box()
    a = plane2d.PotentialSpec("random", seed=3).v_ext(box)
    np.testing.assert_array_equal(a, draw("random", box, 3, 0)[0])
    assert not np.array_equal(a, plane2d.PotentialSpec("random", seed=4).v_ext(box))


@pytest.mark.parametrize("bad, words", [
    (np.zeros((40, 48)), "shape (40, 48)"),
    (np.full((48, 48), np.nan), "NaN"),
    ([["a"] * 48] * 48, "numeric"),
])
def test_a_bad_potential_is_refused_with_a_clear_error(models, bad, words):
    with pytest.raises(DdvizError, match=r"external potential") as info:
        plane2d.compute(bad, 2, "lda", models)
    assert words in str(info.value) and "v_ext" in str(info.value)


@pytest.mark.parametrize("spec, field", [
    (plane2d.PotentialSpec("sho", kx=0.0), "kx"), (plane2d.PotentialSpec("sho", ky=math.nan), "ky"),
    (plane2d.PotentialSpec("sho", cx=-1.0), "cx"), (plane2d.PotentialSpec("random", seed=-2), "seed"),
    (plane2d.PotentialSpec("wells"), "kind")])
def test_bad_potential_settings_name_the_field(spec, field):
    with pytest.raises(DdvizError, match=field):
        spec.v_ext()


def test_odd_electrons_a_coarser_box_and_wrong_model_files_are_refused(models, tmp_path):
    with pytest.raises(DdvizError, match="even integer"):
        plane2d.compute(np.zeros((48, 48)), 3, "lda", models)
    box = Box(32, 16.0)
    with pytest.raises(DdvizError, match="pixels of 0.3333 bohr"):
        plane2d.compute(np.zeros((32, 32)), 2, "lda", models, box)
    shutil.copy(MODELS / "ednn-v.safetensors", tmp_path / "ednn-v.safetensors")
    with pytest.raises(ModelFileError, match="reading rho"):
        plane2d.Models.load(tmp_path / "ednn-v.safetensors", MODELS / "ednn-v.safetensors",
                            MODELS / "dcign.safetensors")


def test_each_bar_has_its_sources_colour_and_the_table_its_numbers(result):
    import holoviews as hv

    from ddviz.viz import plane2d as plots

    fig = hv.render(plots.energy_bars(result), backend="bokeh")
    data = fig.renderers[0].data_source.data
    mapper = fig.renderers[0].glyph.fill_color.transform
    colour = dict(zip(mapper.factors, mapper.palette))
    assert len(data["source"]) == 4 * len(ENERGY_KEYS)
    label = {v: k for k, v in plane2d.SOURCES.items()}
    for source, term, energy, c in zip(data["source"], [x[0] for x in data["xoffsets"]],
                                       data[fig.renderers[0].glyph.top], data["color"]):
        assert colour[c] == plots.COLOURS[label[source]], (term, source)  # not another's colour
        expected = result.energies[label[source]][term]
        assert energy == pytest.approx(expected, nan_ok=True)
    table = plots.energy_table(result)
    e_tot = table.set_index("term").loc["E_tot"]
    assert e_tot["reference (Ha)"] == f"{result.energies['reference']['E_tot']:.4f}"
    assert e_tot["exact functionals of DCIGN ρ: error (mHa)"] == "—"
    assert plots.tile_map(result, "ednn_v", "E_x") is not None


def test_the_tab_computes_in_a_notebook_and_shows_errors(tmp_path):
    from ddviz.app import Plane2DTab
    from ddviz.app.plane2d.state import TERMS
    from ddviz.app.settings import AppSettings

    assert TERMS == ENERGY_KEYS
    tab = Plane2DTab(AppSettings(models_dir=MODELS, data_dirs=[tmp_path], cache_dir=None),
                     kind="random", seed=5, electrons=4)
    assert tab.result is None  # nothing before start()
    tab.start()
    assert tab.result is not None and tab.state.error == "" and "E_tot" in tab.state.message
    assert tab.result.electrons == 4 and tab.bars.object is not None
    first = tab.result.reference
    tab.state.seed = 6  # started: a change computes again
    assert not np.array_equal(tab.result.reference, first)
    tab.state.tile_term = "E_x"
    assert "E_x per tile" in tab.tiles.object.get(0).opts.get().kwargs["title"]
    empty = Plane2DTab(AppSettings(models_dir=tmp_path, data_dirs=[tmp_path], cache_dir=None))
    empty.start()
    assert "no ednn_rho, ednn_v, dcign model" in empty.state.error and empty.result is None


def test_the_tab_is_made_without_the_numerical_libraries():
    """Made (and its page built) before it is opened: no torch, PySCF or HoloViews yet."""
    import subprocess
    import sys

    code = ("import sys; import panel as pn; from ddviz.app.plane2d.tab import Plane2DTab; "
            "pn.panel(Plane2DTab()).get_root(); print(sorted(m for m in ('torch', 'pyscf', "
            "'holoviews', 'scipy', 'ddviz.evaluate.plane2d') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=ROOT)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
