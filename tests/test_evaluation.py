"""How a comparison is computed: its grid, ndim and units come from the reference Sample."""

import numpy as np
import pytest
import torch

from ddviz.evaluate import comparison, evaluation
from ddviz.evaluate.evaluation import check_same_atoms, compute_comparison
from ddviz.methods.deep_density import DeepDensity, ModelConfig
from ddviz.toys.chain1d.data import to_sample
from ddviz.toys.chain1d.md import displaced_chain
from ddviz.toys.chain1d.solver import ChainSettings, solve


@pytest.fixture(scope="module")
def chain_and_model():
    ref = to_sample(solve(displaced_chain("mixed", 4, 0.3, 0), ChainSettings(nk=4)))
    torch.manual_seed(0)
    model = DeepDensity(ModelConfig(m1=8, m2=4, embedding_widths=[8], fitting_widths=[16, 16],
                                    rcut=6.0, rcut_smooth=3.0, sel=1.0, species=["Li", "Ne"]))
    return ref, model


def test_a_chain_comparison_is_1d_in_electrons_per_bohr(chain_and_model):
    import holoviews as hv

    from ddviz.viz import plots

    ref, model = chain_and_model
    c = compute_comparison(ref.atoms, model, ref)
    assert c.grid.is_close(ref.grid) and (c.ndim, c.units) == (1, "electrons/bohr")
    np.testing.assert_array_equal(c.reference, ref.density.values)
    alone = compute_comparison(ref.atoms, model, spacing=0.5, margin=1.0)  # no reference
    assert (alone.ndim, alone.units) == (3, "e/bohr^3") and min(alone.grid.shape) > 1
    layout = plots.line_profiles(c.grid, c.fields(), c.atoms, units=c.units)
    curves = [el for el in layout[0] if isinstance(el, hv.Curve)]
    assert curves and all(el.vdims[0].name == "density (electrons/bohr)" for el in curves)
    assert layout[1].vdims[0].name == "predicted - reference (electrons/bohr)"


def test_comparison_module_still_offers_the_orchestration():
    assert comparison.compute_comparison is evaluation.compute_comparison
    assert comparison.comparison_grid is evaluation.comparison_grid
    assert comparison.is_cached is evaluation.is_cached
    with pytest.raises(AttributeError):
        comparison.no_such_name  # noqa: B018


def test_other_atoms_than_the_reference_are_refused(chain_and_model):
    from ddviz.errors import DdvizError

    ref, model = chain_and_model
    moved = ref.atoms.copy()
    moved.positions[0, 0] += 0.1
    with pytest.raises(DdvizError, match="different atoms"):
        check_same_atoms(moved, ref.atoms)
    with pytest.raises(DdvizError, match="different atoms"):
        compute_comparison(moved, model, ref)


def test_predict_like_a_chain_writes_a_1d_file(chain_and_model, tmp_path, ddviz_cli):
    from ddviz import io
    from ddviz.methods.deep_density.files import save_model

    ref, model = chain_and_model
    save_model(model, tmp_path / "m.safetensors")
    io.write(ref, tmp_path / "chain.nc")
    proc = ddviz_cli("predict", tmp_path / "m.safetensors", tmp_path / "chain.nc", "--like",
                     tmp_path / "chain.nc", "-o", tmp_path / "pred.nc")
    assert proc.returncode == 0, proc.stderr
    pred = io.read(tmp_path / "pred.nc")
    assert (pred.ndim, pred.units) == (1, "electrons/bohr") and pred.grid.is_close(ref.grid)
    expected = compute_comparison(ref.atoms, model, ref).predicted
    np.testing.assert_allclose(pred.density.values, expected, rtol=1e-5, atol=1e-7)


def test_suffix_lists_come_from_the_format_table():
    from ddviz import io
    from ddviz.reference.generate import FORMATS as SNAPSHOT_FORMATS

    density = io.density_suffixes()
    assert {".cube", ".cub", ".chgcar", ".nc"} == set(density)
    assert set(io.suffixes(density=False)) == {".xyz", ".extxyz", ".vasp", ".poscar", ".cif"}
    assert set(io.suffixes()) == set(density) | set(io.suffixes(density=False))
    for suffix in io.suffixes():
        assert suffix in io.format_of(f"x{suffix}").suffixes
    assert set(SNAPSHOT_FORMATS.values()) <= set(density)
