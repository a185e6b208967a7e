"""Build hook: the shipped example data and models go into the wheel as package data.

The files stay where the repository documents them (``examples/``, ``models/`` at the root, used
by path by the editable install, the notebook, the benchmarks and the docs); at build time they
are copied into ``ddviz/_shipped/`` inside the built package, so the git tree holds each file
once and an installed ddviz finds them (:mod:`ddviz.shipped`). Everything else is in
pyproject.toml.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
SHIPPED = {"examples": ("*.xyz", "*.nc"), "models": ("*.safetensors",)}


class BuildWithShippedData(build_py):
    """``build_py`` that also copies the shipped examples and models into the package."""

    def run(self):
        """Build the package, then copy the shipped files into it."""
        super().run()
        if self.editable_mode:  # an editable install reads them at the root
            return
        for folder, patterns in SHIPPED.items():
            target = Path(self.build_lib) / "ddviz" / "_shipped" / folder
            target.mkdir(parents=True, exist_ok=True)
            for pattern in patterns:
                for source in sorted((ROOT / folder).glob(pattern)):
                    shutil.copyfile(source, target / source.name)


setup(cmdclass={"build_py": BuildWithShippedData})
