"""The comparison job without any UI: inputs from files or objects -> Comparison."""

import sys

import numpy as np

from ddviz.cache import FieldCache
from ddviz.evaluate.comparison import compute_comparison
from ddviz.evaluate.job import PREVIEW_STEP, ComparisonJob


def test_inputs_from_files_a_density_file_is_its_own_reference(app_files):
    data, model_file = app_files["data"], app_files["models"] / "tiny-ethane.safetensors"
    job = ComparisonJob()
    own = job.load(data / "ethane_ref.nc", model_file)
    bare = job.load(data / "ethane.xyz", model_file)
    given = job.load(data / "ethane.xyz", model_file, data / "ethane_ref.nc")
    assert own.reference is not None and bare.reference is None
    assert given.reference.grid.is_close(own.reference.grid)
    np.testing.assert_allclose(own.atoms.positions, bare.atoms.positions, atol=1e-6)
    assert own.model is bare.model is given.model  # the model file is read once


def test_the_job_module_imports_no_ui():
    import subprocess

    code = "import sys, ddviz.evaluate.job; print('panel' in sys.modules, 'ddviz.app' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"], out


def test_preview_then_full_grid_then_from_the_cache(app_files, tmp_path):
    job = ComparisonJob(FieldCache(tmp_path))
    inputs = job.load(app_files["data"] / "ethane_ref.nc",
                      app_files["models"] / "tiny-ethane.safetensors")
    preview, full = job.run(inputs)
    assert (preview.step, full.step) == (PREVIEW_STEP, 1) and not full.cached
    direct = compute_comparison(inputs.atoms, inputs.model, inputs.reference)
    np.testing.assert_allclose(full.predicted, direct.predicted, rtol=1e-5, atol=1e-7)
    np.testing.assert_array_equal(full.predicted[::2, ::2, ::2], preview.predicted)
    (again,) = job.run(inputs)  # cached now: no preview
    assert again.cached and again.step == 1
    assert full.ndim == again.ndim == 3
