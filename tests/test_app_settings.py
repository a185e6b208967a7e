import os

import pytest

from ddviz.app.settings import AppSettings, PathError


@pytest.fixture
def settings(tmp_path):
    data = tmp_path / "data"
    models = tmp_path / "models"
    (data / "sub").mkdir(parents=True)
    models.mkdir()
    (data / "sub" / "mol.xyz").write_text("1\n\nH 0 0 0\n")
    (tmp_path / "secret.txt").write_text("no")
    os.symlink(tmp_path / "secret.txt", data / "escape.xyz")
    return AppSettings(data_dirs=[data], models_dir=models, runs_dir=tmp_path / "runs",
                       max_upload_bytes=10)


def test_files_inside_are_found_and_escapes_refused(settings, tmp_path):
    assert settings.safe_path("sub/mol.xyz").name == "mol.xyz"
    for bad in ["../secret.txt", "sub/../../secret.txt", str(tmp_path / "secret.txt"),
                "escape.xyz", "missing.xyz"]:
        with pytest.raises(PathError, match="inside the configured folders"):
            settings.safe_path(bad)
    listed = settings.files((".xyz",))
    assert list(listed) == ["data/sub/mol.xyz"]  # the escaping symlink is not offered


def test_upload_limit(settings):
    settings.check_upload("small.xyz", b"123")
    with pytest.raises(PathError, match="above the"):
        settings.check_upload("big.xyz", b"x" * 11)
