"""The DDVIZ_* environment variables: read at use time through ddviz.settings, validated, and a
bad value named by its variable."""

import pytest

from ddviz.errors import ConfigError
from ddviz.settings import env


@pytest.mark.parametrize("name, value, words", [
    ("DDVIZ_MAX_POINTS", "abc", "number of grid points"),
    ("DDVIZ_MAX_POINTS", "0", "greater than 0"),
    ("DDVIZ_MAX_POINTS", "2.5", "whole number"),
    ("DDVIZ_CACHE_MB", "big", "valid number"),
    ("DDVIZ_CACHE_MB", "-1", "greater than or equal to 0"),
    ("DDVIZ_MAX_UPLOAD_MB", "inf", "finite"),
])
def test_a_bad_value_names_the_variable(monkeypatch, name, value, words):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=words) as info:
        env()
    assert info.value.field == name and name in str(info.value) and value in str(info.value)


def test_values_are_read_at_use_time(monkeypatch, tmp_path):
    monkeypatch.delenv("DDVIZ_MAX_POINTS", raising=False)
    assert env().max_points is None
    monkeypatch.setenv("DDVIZ_MAX_POINTS", "2e8")
    assert env().max_points == 200_000_000
    monkeypatch.setenv("DDVIZ_DATASET_DIRS", f"{tmp_path}/a:{tmp_path}/b".replace(":", __import__("os").pathsep))
    assert env().dataset_dirs == [tmp_path / "a", tmp_path / "b"]


def test_readers_cache_and_trace_use_the_settings(monkeypatch, tmp_path):
    from ddviz.app import trace
    from ddviz.cache import FieldCache, default_dir
    from ddviz.io import max_points_limit

    monkeypatch.setenv("DDVIZ_MAX_POINTS", "50")
    assert max_points_limit() == 50 and max_points_limit(7) == 7
    monkeypatch.setenv("DDVIZ_MAX_POINTS", "lots")
    with pytest.raises(ConfigError, match="DDVIZ_MAX_POINTS"):
        max_points_limit()
    monkeypatch.delenv("DDVIZ_MAX_POINTS")
    monkeypatch.setenv("DDVIZ_CACHE_DIR", str(tmp_path / "c"))
    monkeypatch.setenv("DDVIZ_CACHE_MB", "2")
    assert default_dir() == tmp_path / "c" and FieldCache().disk_bytes == 2 * 2**20
    monkeypatch.setenv("DDVIZ_CACHE_DIR", "off")
    assert default_dir() is None
    monkeypatch.setenv("DDVIZ_TRACE", str(tmp_path / "trace.txt"))
    trace.mark("an event")
    assert (tmp_path / "trace.txt").read_text().split()[1:] == ["an", "event"]
