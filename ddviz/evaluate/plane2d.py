"""One 2D Kohn–Sham system against EDNN and DCIGN: what the app's 2D tab shows, without any UI.

A potential (a harmonic oscillator or a Mills-style random potential,
:mod:`ddviz.toys.plane2d.potentials`) filled with N electrons is solved self-consistently
(:func:`ddviz.toys.plane2d.solver.solve`, about a second at 48 x 48); then

* DCIGN predicts the density from the potential (:class:`ddviz.methods.dcign.DCIGN`);
* EDNN predicts the six energy terms from the reference density ("EDNN from rho") and from the
  potential and N ("EDNN from v_ext"), with every tile's contribution
  (:meth:`ddviz.methods.ednn.EDNN.tile_contributions`);
* the exact functionals E_ext, E_H, E_x, E_c of the DCIGN density
  (:func:`ddviz.methods.ednn.evaluate.exact_energies`; only T_s needs learning, so E_kin and
  E_tot have no exact value there and are NaN).

After Ryczko, Strubbe, Tamblyn, Phys. Rev. A 100, 022512 (2019). Units: bohr, Ha,
electrons/bohr^2 (energy differences reported in mHa where said).
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ddviz.errors import DdvizError
from ddviz.toys.plane2d.potentials import SHO_CENTRE_SPREAD, draw, sho
from ddviz.toys.plane2d.solver import ENERGY_KEYS, Box, InputError, Settings, check_potential

# source key -> label (the bar chart's legend, the table's columns)
SOURCES = {"reference": "reference (Kohn–Sham)", "ednn_rho": "EDNN from ρ",
           "ednn_v": "EDNN from v_ext", "dcign_exact": "exact functionals of DCIGN ρ"}
# model role -> (file format, EDNN input or None)
ROLES = {"ednn_rho": ("ddviz-ednn", "rho"), "ednn_v": ("ddviz-ednn", "v_ext"),
         "dcign": ("ddviz-dcign", None)}
SHIPPED = {"ednn_rho": "ednn-rho.safetensors", "ednn_v": "ednn-v.safetensors",
           "dcign": "dcign.safetensors"}
POTENTIALS = ("sho", "random")


@dataclass(frozen=True)
class PotentialSpec:
    """A potential the user picks: an oscillator (stiffness, centre) or a random one (a seed).

    Attributes
    ----------
    kind : {"sho", "random"}
    kx, ky : float
        Spring constants (Ha/bohr^2) of ``1/2 kx (x - cx)^2 + 1/2 ky (y - cy)^2``.
    cx, cy : float
        The oscillator's centre (bohr; the box runs from 0 to L).
    seed : int
        Fixes a Mills-style random potential (:func:`ddviz.toys.plane2d.potentials.draw`,
        potential number 0 of this seed).
    """

    kind: str = "sho"
    kx: float = 0.4
    ky: float = 0.4
    cx: float = 8.0
    cy: float = 8.0
    seed: int = 0

    def v_ext(self, box: Box = Box()) -> np.ndarray:
        """The potential (n, n) Ha on ``box``, indexed [ix, iy].

        Raises
        ------
        InputError
            An unknown kind, a non-positive or non-finite stiffness, a centre outside the box,
            or a negative seed.
        """
        if self.kind not in POTENTIALS:
            raise InputError(f"unknown potential kind {self.kind!r}; expected one of "
                             f"{', '.join(POTENTIALS)}", field="kind")
        if self.kind == "random":
            if not (isinstance(self.seed, (int, np.integer)) and self.seed >= 0):
                raise InputError(f"the seed must be an integer >= 0, got {self.seed!r}",
                                 field="seed")
            return draw("random", box, int(self.seed), 0)[0]
        for name in ("kx", "ky"):
            k = getattr(self, name)
            if not (math.isfinite(k) and k > 0):
                raise InputError(f"the stiffness {name} must be positive (Ha/bohr^2), got {k!r}",
                                 field=name)
        for name in ("cx", "cy"):
            c = getattr(self, name)
            if not (math.isfinite(c) and 0 <= c <= box.length):
                raise InputError(f"the centre {name} must lie in the box, 0..{box.length:g} "
                                 f"bohr, got {c!r}", field=name)
        return sho(box, self.kx, self.ky, self.cx, self.cy)


CENTRE_RANGE = (8.0 - SHO_CENTRE_SPREAD, 8.0 + SHO_CENTRE_SPREAD)  # the training data's, bohr


@dataclass
class Models:
    """The three models of the comparison, loaded (eval mode, CPU unless told).

    Attributes
    ----------
    ednn_rho, ednn_v : ddviz.methods.ednn.EDNN
        Energies from the density and from the potential (and N).
    dcign : ddviz.methods.dcign.DCIGN
        The density from the potential (and N).
    paths : dict
        Role -> the file each came from.
    """

    ednn_rho: object
    ednn_v: object
    dcign: object
    paths: dict = field(default_factory=dict)

    @classmethod
    def load(cls, ednn_rho, ednn_v, dcign, device=None) -> Models:
        """Read the three model files, checking each is of its role.

        Parameters
        ----------
        ednn_rho, ednn_v, dcign : str or os.PathLike
            Model files: an EDNN reading densities, an EDNN reading potentials, a DCIGN.
        device : str or torch.device, optional
            Default: the CPU.

        Returns
        -------
        Models

        Raises
        ------
        ddviz.errors.ModelFileError
            A file is unreadable, or is not a model of its role (naming the file).
        """
        from ddviz.errors import ModelFileError
        from ddviz.methods import load_model

        paths = {"ednn_rho": Path(ednn_rho), "ednn_v": Path(ednn_v), "dcign": Path(dcign)}
        loaded = {}
        for role, path in paths.items():
            if role_of(path) != role:
                fmt, kind = ROLES[role]
                raise ModelFileError(f"expected a {fmt} model" + (f" reading {kind}" if kind
                                                                  else ""), path=path)
            loaded[role] = load_model(path, device=device or "cpu")[0]
        return cls(**loaded, paths=paths)


def role_of(path: str | os.PathLike) -> str | None:
    """The role of a model file in :data:`ROLES` by its header (read without torch), or None."""
    import json

    from ddviz.methods import header_metadata

    try:
        meta = header_metadata(path)
        fmt = meta.get("format")
        kind = json.loads(meta["config"]).get("input") if fmt == "ddviz-ednn" else None
    except (DdvizError, KeyError, ValueError, AttributeError):
        return None
    return next((r for r, (f, k) in ROLES.items() if f == fmt and k == kind), None)


def find_models(folder: str | os.PathLike) -> dict[str, list[Path]]:
    """Role -> the model files of that role in ``folder`` (the shipped names first)."""
    out = {role: [] for role in ROLES}
    folder = Path(folder)
    files = sorted(folder.glob("*.safetensors")) if folder.is_dir() else []
    for path in files:
        role = role_of(path)
        if role is not None:
            out[role].append(path)
    for role, paths in out.items():
        paths.sort(key=lambda p: (p.name != SHIPPED[role], p.name))
    return out


@dataclass
class Plane2DResult:
    """Reference and predictions of one 2D system (bohr, Ha, electrons/bohr^2).

    Attributes
    ----------
    box : Box
    electrons : int
    functional : str
        The reference's functional ("lda" or "gga"); the exact functionals of the DCIGN density
        use it too.
    model_functional : str
        The functional the models were trained on.
    v_ext, reference, dcign : ndarray (n, n)
        Potential (Ha), reference and DCIGN densities (electrons/bohr^2), indexed [ix, iy].
    energies : dict
        Source (:data:`SOURCES`) -> term (:data:`ENERGY_KEYS`) -> Ha; NaN where a source has no
        value (E_kin, E_tot of the exact functionals).
    tiles : dict
        "ednn_rho", "ednn_v" -> (6, tx, ty) each tile's contribution per term (Ha), tiles
        indexed [along x, along y]; they sum to the model's energies.
    tile_bohr : dict
        "ednn_rho", "ednn_v" -> a tile's focus side (bohr).
    scf_iterations : int
    seconds : float
        Wall time of the solve and the predictions.
    """

    box: Box
    electrons: int
    functional: str
    model_functional: str
    v_ext: np.ndarray
    reference: np.ndarray
    dcign: np.ndarray
    energies: dict
    tiles: dict
    tile_bohr: dict
    scf_iterations: int = 0
    seconds: float = 0.0

    @property
    def difference(self) -> np.ndarray:
        """DCIGN minus reference density (n, n) electrons/bohr^2."""
        return self.dcign - self.reference

    def density_errors(self) -> dict:
        """``rel_l1``, ``rel_l2`` of the DCIGN density and both electron counts.

        ``rel_l1 = sum |d| / sum |rho_ref|``, ``rel_l2 = ||d|| / ||rho_ref||``;
        ``electrons_ref``, ``electrons_dcign`` = sum rho h^2.
        """
        d = self.difference
        return {"rel_l1": float(np.abs(d).sum() / np.abs(self.reference).sum()),
                "rel_l2": float(np.sqrt((d**2).sum() / (self.reference**2).sum())),
                "electrons_ref": float(self.reference.sum() * self.box.dA),
                "electrons_dcign": float(self.dcign.sum() * self.box.dA)}

    def table(self) -> list[dict]:
        """One row per term: the reference (Ha) and each prediction's error (mHa).

        Returns
        -------
        list of dict
            ``{"term", "reference_Ha", "<source>_Ha", "<source>_error_mHa"}`` for the sources
            other than the reference (NaN where a source has no value).
        """
        rows = []
        for k in ENERGY_KEYS:
            ref = self.energies["reference"][k]
            row = {"term": k, "reference_Ha": ref}
            for s in SOURCES:
                if s != "reference":
                    row[f"{s}_Ha"] = self.energies[s][k]
                    row[f"{s}_error_mHa"] = 1e3 * (self.energies[s][k] - ref)
            rows.append(row)
        return rows


def _check_model(model, role: str, box: Box) -> None:
    if abs(model.config.pixel - box.h) > 1e-9:
        raise InputError(f"the {role} model was trained on pixels of {model.config.pixel:.4g} "
                         f"bohr; this box has {box.h:.4g} bohr ({box.n} x {box.n} over "
                         f"{box.length:g} bohr)", field="box")


def compute(v_ext, electrons: int, functional: str, models: Models, box: Box = Box()
            ) -> Plane2DResult:
    """Solve one system and predict it with every model (the module docstring).

    Parameters
    ----------
    v_ext : array (n, n)
        External potential (Ha) on the box's cell centres, indexed [ix, iy].
    electrons : int
        Even electron count N >= 2.
    functional : str
        The reference's functional, "lda" or "gga".
    models : Models
    box : Box
        Must have the models' pixel size (default: 48 x 48 over 16 x 16 bohr).

    Returns
    -------
    Plane2DResult

    Raises
    ------
    InputError
        A potential of the wrong shape or with NaN/Inf, a bad electron count, or a box whose
        pixel size is not the models'.
    ddviz.errors.ConfigError
        An unknown functional.
    ddviz.errors.ConvergenceError
        The reference SCF did not converge.
    """
    import torch

    from ddviz.methods.ednn.data import input_channels
    from ddviz.methods.ednn.evaluate import exact_energies
    from ddviz.toys.plane2d.solver import solve

    start = time.perf_counter()
    v = check_potential(v_ext, box)
    settings = Settings(functional=functional)
    for role in ("ednn_rho", "ednn_v", "dcign"):
        _check_model(getattr(models, role), role, box)
    res = solve(v, electrons, box, settings)
    rho = res.density
    energies = {"reference": {k: float(res.energies[k]) for k in ENERGY_KEYS}}
    tiles, tile_bohr = {}, {}
    with torch.no_grad():
        for role, x in (("ednn_rho", input_channels("rho", rho, pixel=box.h)),
                        ("ednn_v", input_channels("v_ext", v, electrons, box.h))):
            model = getattr(models, role)
            t = model.tile_contributions(torch.from_numpy(x))[0].cpu().double().numpy()
            tiles[role] = t
            tile_bohr[role] = model.config.focus * model.config.pixel
            energies[role] = {k: float(t[i].sum()) for i, k in enumerate(ENERGY_KEYS)}
    pred = models.dcign.predict(v, electrons)[0]
    exact = exact_energies(pred[None], v[None], functional, box.h)
    energies["dcign_exact"] = {k: float(exact[k][0]) if k in exact else math.nan
                               for k in ENERGY_KEYS}
    return Plane2DResult(box, int(electrons), functional, models.ednn_rho.config.functional,
                         v, rho, pred, energies, tiles, tile_bohr, res.iterations,
                         time.perf_counter() - start)


def run(spec: PotentialSpec, electrons: int, functional: str, models: Models,
        box: Box = Box()) -> Plane2DResult:
    """:func:`compute` for the potential ``spec`` describes (the app's job).

    Raises
    ------
    InputError
        See :meth:`PotentialSpec.v_ext` and :func:`compute`.
    """
    return compute(spec.v_ext(box), electrons, functional, models, box)
