"""Where the app may read and write: data folders, the models folder, upload limits.

Files open only inside the configured folders: a path is resolved (symlinks followed) and must
stay inside one of them, so neither ``..`` nor a symlink can escape.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from ddviz.cache import default_dir as default_cache_dir
from ddviz.errors import DdvizError

ROOT = Path(__file__).resolve().parents[2]


class PathError(DdvizError):
    """A path outside the configured folders, or one that does not exist."""


def _env_paths(name: str, default: list[Path]) -> list[Path]:
    value = os.environ.get(name)
    return [Path(p) for p in value.split(os.pathsep) if p] if value else default


@dataclass
class AppSettings:
    """data_dirs: folders structures and reference densities are read from. dataset_dirs:
    folders holding training datasets (folders with a manifest.json). models_dir: model files
    (read, and written by training). runs_dir: training runs. max_upload_bytes: uploads above
    this are refused. cache_dir: computed grids kept across restarts (None: in memory only; see
    :mod:`ddviz.cache`). Environment: DDVIZ_DATA_DIRS, DDVIZ_DATASET_DIRS (os.pathsep-separated),
    DDVIZ_MODELS_DIR, DDVIZ_RUNS_DIR, DDVIZ_MAX_UPLOAD_MB, DDVIZ_CACHE_DIR."""

    data_dirs: list[Path] = field(default_factory=lambda: _env_paths(
        "DDVIZ_DATA_DIRS", [ROOT / "examples"]))
    dataset_dirs: list[Path] = field(default_factory=lambda: _env_paths(
        "DDVIZ_DATASET_DIRS", [ROOT / "assets" / "datasets"]))
    models_dir: Path = field(default_factory=lambda: Path(
        os.environ.get("DDVIZ_MODELS_DIR", ROOT / "models")))
    runs_dir: Path = field(default_factory=lambda: Path(
        os.environ.get("DDVIZ_RUNS_DIR", ROOT / "runs")))
    max_upload_bytes: int = field(default_factory=lambda: int(
        float(os.environ.get("DDVIZ_MAX_UPLOAD_MB", "50")) * 2**20))
    cache_dir: Path | None = field(default_factory=default_cache_dir)

    def __post_init__(self):
        self.data_dirs = [Path(d).resolve() for d in self.data_dirs]
        self.dataset_dirs = [Path(d).resolve() for d in self.dataset_dirs]
        self.models_dir = Path(self.models_dir).resolve()
        self.runs_dir = Path(self.runs_dir).resolve()

    def safe_path(self, path, roots: list[Path] | None = None) -> Path:
        """``path`` resolved, if it exists inside one of ``roots`` (default: data and models
        folders); relative paths are taken relative to each root in turn."""
        roots = roots or [*self.data_dirs, self.models_dir]
        path = Path(path)
        candidates = [path] if path.is_absolute() else [r / path for r in roots]
        for cand in candidates:
            real = cand.resolve()
            if any(real.is_relative_to(r) for r in roots) and real.is_file():
                return real
        raise PathError("not a file inside the configured folders "
                        f"({', '.join(str(r) for r in roots)})", path=path)

    def files(self, suffixes: tuple[str, ...], roots: list[Path] | None = None) -> dict[str, Path]:
        """Display name -> path of the files with these suffixes under the folders (recursive,
        symlinks that leave the folders skipped)."""
        out = {}
        for root in roots or self.data_dirs:
            if not root.is_dir():
                continue
            for p in sorted(root.rglob("*")):
                if p.is_file() and p.suffix.lower() in suffixes and p.resolve().is_relative_to(root):
                    out[f"{root.name}/{p.relative_to(root)}"] = p
        return out

    def check_upload(self, name: str, data: bytes) -> None:
        """Refuse uploads above the size limit."""
        if len(data) > self.max_upload_bytes:
            raise PathError(f"upload of {len(data) / 2**20:.1f} MiB is above the "
                            f"{self.max_upload_bytes / 2**20:.0f} MiB limit", path=name)
