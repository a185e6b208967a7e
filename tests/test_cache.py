"""The content-keyed cache of computed grids: hits return the same arrays, changes miss."""

import numpy as np
import pytest

from ddviz import io
from ddviz.cache import FieldCache, digest
from ddviz.evaluate.comparison import compute_comparison, is_cached
from ddviz.methods.deep_density.files import load_model


@pytest.fixture(scope="module")
def inputs(app_files):
    ref = io.read(app_files["data"] / "ethane_ref.nc")
    model, _ = load_model(app_files["models"] / "tiny-ethane.safetensors")
    return ref, model


def test_digest_follows_content_not_identity():
    a = np.arange(6.0)
    assert digest("x", a, (1, "b")) == digest("x", a.copy(), (1, "b"))
    assert digest("x", a) != digest("x", a.astype(np.float32))  # dtype is part of the key
    assert digest("x", a) != digest("x", a.reshape(2, 3))  # and the shape
    assert digest(1) != digest(1.0) != digest("1")


def test_a_cache_hit_returns_identical_arrays_from_memory_and_disk(inputs, tmp_path):
    ref, model = inputs
    cache = FieldCache(tmp_path)
    first = compute_comparison(ref.atoms, model, ref, step=2, cache=cache)
    assert not first.cached and is_cached(ref.atoms, model, cache, ref, step=2)
    again = compute_comparison(ref.atoms, model, ref, step=2, cache=cache)
    assert again.cached and again.seconds == 0.0
    np.testing.assert_array_equal(again.predicted, first.predicted)
    np.testing.assert_array_equal(again.reference, first.reference)
    reopened = FieldCache(tmp_path)  # a restarted server: only the .npy files are left
    disk = compute_comparison(ref.atoms, model, ref, step=2, cache=reopened)
    assert disk.cached and reopened.hits == 2  # prediction and reference from disk
    np.testing.assert_array_equal(disk.predicted, first.predicted)
    direct = compute_comparison(ref.atoms, model, ref, step=2)  # no cache: the same numbers
    np.testing.assert_array_equal(direct.predicted, first.predicted)


def test_a_moved_atom_or_another_grid_misses(inputs, tmp_path):
    ref, model = inputs
    cache = FieldCache(tmp_path)
    compute_comparison(ref.atoms, model, None, cache=cache, spacing=0.4)
    moved = ref.atoms.copy()
    moved.positions[0, 0] += 0.01
    assert not is_cached(moved, model, cache, spacing=0.4)
    assert not is_cached(ref.atoms, model, cache, spacing=0.5)
    assert is_cached(ref.atoms, model, cache, spacing=0.4)


def test_preview_grid_is_every_second_point_of_the_full_grid(inputs):
    ref, model = inputs
    coarse = compute_comparison(ref.atoms, model, ref, step=2)
    full = ref.grid
    assert coarse.grid.shape == tuple((n + 1) // 2 for n in full.shape)
    np.testing.assert_allclose(coarse.grid.index_to_point((1, 2, 3)),
                               full.index_to_point((2, 4, 6)))
    np.testing.assert_allclose(coarse.reference, ref.density.values[::2, ::2, ::2])
    assert "every 2nd" in coarse.describe_grid()


def test_the_full_grid_after_a_preview_reuses_its_values_exactly(inputs):
    from ddviz.errors import DdvizError

    ref, model = inputs
    coarse = compute_comparison(ref.atoms, model, ref, step=2)
    seen = []
    full = compute_comparison(ref.atoms, model, ref, coarse=coarse,
                              progress=lambda done, total: seen.append(total))
    assert full.grid.shape == ref.grid.shape and full.step == 1
    assert seen[-1] == full.grid.size - coarse.grid.size  # only the other points evaluated
    for name in ("predicted", "reference"):
        np.testing.assert_array_equal(getattr(full, name)[::2, ::2, ::2], getattr(coarse, name))
    direct = compute_comparison(ref.atoms, model, ref)
    np.testing.assert_allclose(full.reference, direct.reference, rtol=1e-12)
    top = direct.predicted.max()
    np.testing.assert_allclose(full.predicted, direct.predicted, rtol=1e-5, atol=1e-6 * top)
    with pytest.raises(DdvizError, match="does not lie on"):
        compute_comparison(ref.atoms, model, ref, step=3, coarse=coarse)


def test_memory_cache_is_bounded_and_files_are_plain_npy(tmp_path):
    cache = FieldCache(tmp_path, memory_bytes=1000)
    for i in range(5):
        cache.put(f"k{i}", np.full(100, i, dtype=np.float64))  # 800 bytes each
    assert len(cache._memory) == 1  # the newest only
    loaded = np.load(tmp_path / "k0.npy", allow_pickle=False)
    np.testing.assert_array_equal(loaded, np.zeros(100))
    assert cache.get("k0")[0] == 0.0  # back from disk
    (tmp_path / "k1.npy").write_bytes(b"damaged")
    assert cache.get("k1") is None  # a damaged file is a miss
