"""2D Kohn–Sham samples as model inputs, shared by EDNN and DCIGN (bohr, Ha, electrons/bohr^2).

:func:`load_images` reads the samples of ``ddviz dataset plane2d`` folders
(:mod:`ddviz.toys.plane2d.data`) into stacked arrays; :func:`input_channels` turns a potential or
a density (and the electron count) into the image channels the networks read, refusing images of
a wrong shape or with NaN/Inf (:class:`~ddviz.toys.plane2d.solver.InputError`).

Channels (the raw physical values; the models scale them by stored constants):

* ``"rho"``: one channel, the density rho (electrons/bohr^2);
* ``"v_ext"``: two channels, the potential v_ext (Ha) and the box's mean electron density
  ``N / A`` (electrons/bohr^2, A the box area) over the box, zero outside it. The potential alone
  does not fix the energies (the same well holds 2, 4 or 6 electrons), so the electron count is
  given as an intensive field: two boxes side by side each carry their own ``N / A``, which keeps
  the input local, and the zero outside marks the padding of an isolated system.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ddviz.errors import DdvizError
from ddviz.toys.plane2d.data import MANIFEST, load
from ddviz.toys.plane2d.solver import ENERGY_KEYS, InputError

INPUTS = ("rho", "v_ext")
CHANNELS = {"rho": 1, "v_ext": 2}
PIXEL_BOHR = 16.0 / 48  # the dataset's grid spacing h (bohr): 48 x 48 over 16 x 16 bohr

__all__ = ["CHANNELS", "ENERGY_KEYS", "INPUTS", "Images", "InputError", "check_image",
           "input_channels", "load_images"]


@dataclass
class Images:
    """Samples of a 2D dataset, stacked (S samples of n x n pixels).

    Attributes
    ----------
    v_ext : ndarray (S, n, n)
        External potential (Ha).
    rho : dict str -> ndarray (S, n, n)
        Self-consistent density per functional (electrons/bohr^2).
    energies : dict str -> ndarray (S, 6)
        E_kin, E_ext, E_H, E_x, E_c, E_tot (Ha) per functional, in the order of
        :data:`ENERGY_KEYS`.
    electrons : ndarray (S,) int
    potential : ndarray (S,) int
        The potential number (samples of one potential share it; splits never cut it).
    pixel : float
        Grid spacing h (bohr).
    files : list of str
    """

    v_ext: np.ndarray
    rho: dict
    energies: dict
    electrons: np.ndarray
    potential: np.ndarray
    pixel: float
    files: list

    def __len__(self) -> int:
        return len(self.electrons)

    def subset(self, index) -> Images:
        """The samples ``index`` (an index array or a boolean mask)."""
        index = np.asarray(index)
        return Images(self.v_ext[index], {f: r[index] for f, r in self.rho.items()},
                      {f: e[index] for f, e in self.energies.items()}, self.electrons[index],
                      self.potential[index], self.pixel,
                      [self.files[i] for i in np.arange(len(self))[index]])

    def channels(self, kind: str, functional: str) -> np.ndarray:
        """(S, C, n, n) float32 model input of ``kind`` ("rho": the ``functional``'s density)."""
        return input_channels(kind, self.rho[functional] if kind == "rho" else self.v_ext,
                              self.electrons, self.pixel)


def load_images(folders, split: str | None = None) -> Images:
    """The samples of plane2d dataset folders (their ``manifest.json``), one split or all.

    Parameters
    ----------
    folders : path or list of paths
        Folders written by ``ddviz dataset plane2d`` (:func:`ddviz.toys.plane2d.data.build`).
    split : str, optional
        ``"train"`` or ``"test"`` (by potential); None: every sample.

    Returns
    -------
    Images

    Raises
    ------
    DdvizError
        A folder without a readable manifest, no samples, unreadable sample files, or folders of
        different grids or functionals.
    """
    folders = [folders] if isinstance(folders, (str, Path)) else list(folders)
    arrays, pixel, funcs = [], None, None
    for k, folder in enumerate(folders):
        folder = Path(folder)
        try:
            manifest = json.loads((folder / MANIFEST).read_text())
            recipe, samples = manifest["recipe"], manifest["samples"]
            h = float(recipe["length_bohr"]) / int(recipe["n"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise DdvizError(f"not a plane2d dataset folder (no readable manifest: {exc})",
                             path=folder / MANIFEST) from None
        if pixel is not None and (abs(h - pixel) > 1e-12 or recipe["functionals"] != funcs):
            raise DdvizError("the dataset folders differ in grid spacing or functionals",
                             path=folder)
        pixel, funcs = h, recipe["functionals"]
        for s in samples:
            if split is None or s.get("split") == split:
                a, meta = load(folder / s["file"])
                arrays.append((a, meta["electrons"], k * 10**7 + meta["potential"],
                               str(folder / s["file"])))
    if not arrays:
        what = f"{split} samples" if split else "samples"
        raise DdvizError(f"no {what} in {', '.join(map(str, folders))}",
                         path=folders[0] if folders else None)
    try:
        return Images(np.stack([a["v_ext"] for a, *_ in arrays]),
                      {f: np.stack([a[f"rho_{f}"] for a, *_ in arrays]) for f in funcs},
                      {f: np.stack([a[f"energies_{f}"] for a, *_ in arrays]) for f in funcs},
                      np.array([e for _, e, _, _ in arrays]),
                      np.array([p for _, _, p, _ in arrays]), pixel,
                      [f for *_, f in arrays])
    except (KeyError, ValueError) as exc:
        raise DdvizError(f"inconsistent plane2d samples: {exc}", path=folders[0]) from None


def check_image(image, name: str = "image") -> np.ndarray:
    """``image`` as a float32 (S, n, m) stack (an (n, m) image gets S = 1).

    Raises
    ------
    InputError
        Not numeric, not 2D or 3D, smaller than 8 x 8 pixels, or with NaN/Inf values (naming
        ``name`` and the first bad index).
    """
    try:
        a = np.asarray(image, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name} must be a numeric array: {exc}", field=name) from None
    if a.ndim == 2:
        a = a[None]
    if a.ndim != 3 or min(a.shape[1:]) < 8:
        raise InputError(f"{name} has shape {np.shape(image)}; expected an (n, m) image or an "
                         f"(S, n, m) stack with n, m >= 8 pixels", field=name)
    bad = ~np.isfinite(a)
    if bad.any():
        raise InputError(f"{name} has {int(bad.sum())} non-finite values (NaN/Inf), first at "
                         f"index {tuple(int(i) for i in np.argwhere(bad)[0])}", field=name)
    return a


def input_channels(kind: str, image, electrons=None, pixel: float = PIXEL_BOHR,
                   mean_density=None) -> np.ndarray:
    """The model input (S, C, n, m) float32 of ``kind`` (see the module docstring).

    Parameters
    ----------
    kind : {"rho", "v_ext"}
    image : array (n, m) or (S, n, m)
        The density (electrons/bohr^2) or the potential (Ha).
    electrons : int or array (S,), optional
        Electrons per image (``"v_ext"``; the mean density is N / (n m h^2) over the image).
    pixel : float
        Grid spacing h (bohr).
    mean_density : array (n, m) or (S, n, m), optional
        The mean-density channel itself (electrons/bohr^2), instead of ``electrons``: e.g. two
        boxes in one image, each with its own N / A and zero between them.

    Returns
    -------
    ndarray (S, C, n, m) float32

    Raises
    ------
    InputError
        A bad image (:func:`check_image`), an unknown kind, a missing or non-positive electron
        count, or a mean density of another shape.
    """
    if kind not in INPUTS:
        raise InputError(f"unknown input {kind!r}; expected one of {', '.join(INPUTS)}",
                         field="input")
    a = check_image(image, kind)
    if kind == "rho":
        return a[:, None]
    if mean_density is not None:
        m = check_image(mean_density, "mean_density")
        if m.shape[1:] != a.shape[1:] or len(m) not in (1, len(a)):
            raise InputError(f"mean_density has shape {m.shape}; expected the potential's "
                             f"{a.shape}", field="mean_density")
        m = np.broadcast_to(m, a.shape)
    else:
        if electrons is None:
            raise InputError("a potential needs the electron count", field="electrons")
        n = np.broadcast_to(np.asarray(electrons, dtype=np.float32), (len(a),))
        if not np.all(np.isfinite(n) & (n > 0)):
            raise InputError(f"electron counts must be positive, got {electrons!r}",
                             field="electrons")
        area = a.shape[1] * a.shape[2] * pixel**2
        m = np.broadcast_to((n / area)[:, None, None], a.shape)
    return np.stack([a, m], axis=1).astype(np.float32)
