"""An installed (not editable) ddviz serves the app with its shipped examples and models.

The wheel is built from this checkout, installed into a plain folder and run from a folder
outside the repository, so nothing can come from the checkout.
"""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from conftest import ROOT


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The folder a built wheel of this checkout was installed into (``pip --target``)."""
    work = tmp_path_factory.mktemp("install")
    wheels, target = work / "wheels", work / "site"
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                            "--no-build-isolation", str(ROOT), "-w", str(wheels), "-q"],
                           capture_output=True, text=True, timeout=300, cwd=work)
    assert build.returncode == 0, build.stderr
    (wheel,) = wheels.glob("ddviz-*.whl")
    install = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q",
                              "--target", str(target), str(wheel)],
                             capture_output=True, text=True, timeout=300, cwd=work)
    assert install.returncode == 0, install.stderr
    return target


def installed_env(target):
    env = {k: v for k, v in os.environ.items() if not k.startswith("DDVIZ_")}
    env["PYTHONPATH"] = str(target)
    return env


def test_the_wheel_holds_the_app_and_the_shipped_files(installed, tmp_path):
    files = {str(p.relative_to(installed)) for p in installed.rglob("*") if p.is_file()}
    assert {"ddviz/app/app.py", "ddviz/app/startup.py",
            "ddviz/_shipped/examples/ethane.xyz", "ddviz/_shipped/examples/ethane_reference.nc",
            "ddviz/_shipped/models/ethane.safetensors"} <= files
    shipped = {p.name for p in (ROOT / "models").glob("*.safetensors")}
    assert shipped == {p.name for p in (installed / "ddviz/_shipped/models").iterdir()}
    where = subprocess.run([sys.executable, "-c", "import ddviz.shipped as s; "
                            "print(s.__file__); print(s.shipped_dir('models'))"],
                           capture_output=True, text=True, cwd=tmp_path, timeout=60,
                           env=installed_env(installed))
    module, models = where.stdout.split()
    assert module.startswith(str(installed)) and models == str(installed / "ddviz/_shipped/models")


def test_installed_ddviz_serves_the_app_with_the_shipped_examples(installed, tmp_path):
    import panel.models  # noqa: F401  (registers Panel's model types for the client)
    from bokeh.client import pull_session

    import ddviz.app.layout  # noqa: F401  (and the app's own, e.g. the 3D view)

    port = free_port()
    log = open(tmp_path / "serve.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "ddviz", "serve", "--port", str(port)],
                            cwd=tmp_path, env=installed_env(installed), stdout=log,
                            stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 90
        while True:
            try:
                assert json.load(urllib.request.urlopen(url + "/liveness", timeout=2))
                break
            except OSError:
                if proc.poll() is not None or time.time() > deadline:
                    pytest.fail("no /liveness: " + (tmp_path / "serve.log").read_text()[-2000:])
                time.sleep(0.5)
        page = urllib.request.urlopen(url + "/app", timeout=60).read().decode()
        assert "<title>ddviz</title>" in page
        with pull_session(url=url + "/app") as session:  # the document the browser gets
            document = " ".join(repr(value) for model in session.document.models
                                for value in model.properties_with_values().values())
        assert "ethane.xyz" in document and "ethane.safetensors" in document
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def test_installed_cli_finds_the_shipped_models_and_examples(installed, tmp_path):
    """The README's ``models/...`` and ``examples/...`` paths work from any folder."""
    def ddviz(*args):
        return subprocess.run([sys.executable, "-m", "ddviz", *args], cwd=tmp_path,
                              env=installed_env(installed), capture_output=True, text=True,
                              timeout=300)

    shipped = installed / "ddviz/_shipped"
    for args, where in ((("info", "models/ethane.safetensors"), "models/ethane.safetensors"),
                        (("info", "ethane.safetensors"), "models/ethane.safetensors"),
                        (("info", "examples/water8.xyz"), "examples/water8.xyz")):
        res = ddviz(*args)
        assert res.returncode == 0, res.stderr
        assert str(shipped / where) in res.stdout
    res = ddviz("predict", "ethane", "examples/ethane.xyz", "-o", "e.cube")
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "e.cube").is_file()  # the output stays where the user is
    (tmp_path / "models").mkdir()  # a file of the user's own wins, and a missing one is named
    (tmp_path / "models/ethane.safetensors").write_bytes(
        (shipped / "models/water.safetensors").read_bytes())
    for name in ("models/ethane.safetensors", "ethane", "ethane.safetensors"):
        res = ddviz("info", name)
        assert res.returncode == 0 and "species     H O" in res.stdout, (name, res.stdout)
    res = ddviz("info", "models/nope.safetensors")
    assert res.returncode == 2 and "models/nope.safetensors: no such" in res.stderr
