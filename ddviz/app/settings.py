"""Where the app may read and write: data folders, the models folder, upload limits.

Files open only inside the configured folders: a path is resolved (symlinks followed) and must
stay inside one of them, so neither ``..`` nor a symlink can escape.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import ConfigDict, field_validator

from ddviz.cache import default_dir as default_cache_dir
from ddviz.config import Config, option
from ddviz.errors import DdvizError
from ddviz.settings import env
from ddviz.shipped import checkout_root, shipped_dir

# A checkout's root; for an installed package, the folder the server started in (runs and
# datasets are the user's own there, the shipped examples and models are in the package).
ROOT = checkout_root() or Path.cwd()


class PathError(DdvizError):
    """A path outside the configured folders, or one that does not exist."""


class AppSettings(Config):
    """The app's folders and limits; defaults from the environment.

    The variables (:mod:`ddviz.settings`): DDVIZ_DATA_DIRS, DDVIZ_DATASET_DIRS, DDVIZ_MODELS_DIR, DDVIZ_RUNS_DIR, DDVIZ_MAX_UPLOAD_MB,
    DDVIZ_CACHE_DIR, read when an instance is made. Without them: the shipped examples and
    models (:func:`ddviz.shipped.shipped_dir`; in the package when installed), and ``runs/``
    and ``assets/datasets/`` of the checkout (installed: of the folder the server started in).
    Paths are stored resolved.

    Raises
    ------
    ddviz.errors.ConfigError
        An invalid value, given or from the environment (naming the field or the variable).
    """

    model_config = ConfigDict(strict=False, validate_default=True)  # paths given as strings

    data_dirs: list[Path] = option(lambda: env().data_dirs or [shipped_dir("examples")],
                                   "Folders structures and reference densities are read from.")
    dataset_dirs: list[Path] = option(
        lambda: env().dataset_dirs or [ROOT / "assets" / "datasets"],
        "Folders holding training datasets (folders with a manifest.json).")
    models_dir: Path = option(lambda: env().models_dir or shipped_dir("models"),
                              "Model files (read, and written by training).")
    runs_dir: Path = option(lambda: env().runs_dir or ROOT / "runs", "Training runs.")
    max_upload_bytes: int = option(lambda: int(env().max_upload_mb * 2**20),
                                   "Uploads above this are refused.", unit="bytes", ge=1)
    cache_dir: Path | None = option(default_cache_dir, "Computed grids kept across restarts "
                                    "(None: in memory only; see ddviz.cache).")

    @field_validator("data_dirs", "dataset_dirs", "models_dir", "runs_dir")
    @classmethod
    def _resolved(cls, value):
        return [p.resolve() for p in value] if isinstance(value, list) else value.resolve()

    def safe_path(self, path, roots: list[Path] | None = None) -> Path:
        """``path`` resolved, if it exists inside one of ``roots``.

        ``roots`` default to the data and models folders; relative paths are taken relative to
        each root in turn.
        """
        roots = roots or [*self.data_dirs, self.models_dir]
        path = Path(path)
        candidates = [path] if path.is_absolute() else [r / path for r in roots]
        for cand in candidates:
            real = cand.resolve()
            if any(real.is_relative_to(r) for r in roots) and real.is_file():
                return real
        raise PathError("not a file inside the configured folders "
                        f"({', '.join(str(r) for r in roots)})", path=path)

    def files(self, suffixes: tuple[str, ...], roots: list[Path] | None = None,
              names: tuple[str, ...] = ()) -> dict[str, Path]:
        """Display name -> path of the files with these suffixes under the folders.

        Also files whose name contains one of ``names`` (VASP's CHGCAR has no suffix).
        Recursive; symlinks that leave the folders are skipped.
        """
        out = {}
        for root in roots or self.data_dirs:
            if not root.is_dir():
                continue
            for p in sorted(root.rglob("*")):
                named = p.suffix.lower() in suffixes or any(n in p.name for n in names)
                if p.is_file() and named and p.resolve().is_relative_to(root):
                    out[f"{root.name}/{p.relative_to(root)}"] = p
        return out

    def check_upload(self, name: str, data: bytes) -> None:
        """Refuse uploads above the size limit."""
        if len(data) > self.max_upload_bytes:
            raise PathError(f"upload of {len(data) / 2**20:.1f} MiB is above the "
                            f"{self.max_upload_bytes / 2**20:.0f} MiB limit", path=name)
