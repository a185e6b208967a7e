"""``ddviz evaluate`` for EDNN and DCIGN models on plane2d datasets (shared by both methods).

An energy model (EDNN) reports the mean absolute error per term in mHa and the relative error
(MAE / mean |E_ref|); a density model (DCIGN) reports the pooled relative L1/L2 errors of the
density, the largest electron-count error, and the energies that the exact functionals give for
its densities (E_ext, E_H, E_x, E_c are explicit functionals of rho: only T_s needs learning),
against the reference energies::

    {"pooled": {"mae_mha": {"E_kin": ..., ..., "E_tot": ...}, "rel_mae": {...}, "n": ...},
     "model": ..., "functional": ..., "split": ...}
"""

from __future__ import annotations

import json

import numpy as np

from ddviz.errors import DdvizError
from ddviz.methods.ednn.data import ENERGY_KEYS, Images, load_images

EXACT_TERMS = ("E_ext", "E_H", "E_x", "E_c")


def energy_errors(pred: dict, ref: np.ndarray) -> dict:
    """Pooled errors of predicted energies.

    ``mae_mha`` per term (mHa), ``rel_mae`` per term (MAE / mean |E_ref|) and ``n``.

    Parameters
    ----------
    pred : dict
        Term -> (S,) predicted energies (Ha); terms not in :data:`ENERGY_KEYS` are ignored.
    ref : ndarray (S, 6)
        Reference energies (Ha) in the order of :data:`ENERGY_KEYS`.

    Returns
    -------
    dict
    """
    mae, rel = {}, {}
    for i, k in enumerate(ENERGY_KEYS):
        if k in pred:
            err = np.mean(np.abs(np.asarray(pred[k]) - ref[:, i]))
            mae[k] = 1e3 * float(err)
            rel[k] = float(err / np.mean(np.abs(ref[:, i])))
    return {"mae_mha": mae, "rel_mae": rel, "n": int(len(ref))}


def exact_energies(rho: np.ndarray, v_ext: np.ndarray, functional: str, pixel: float) -> dict:
    """E_ext, E_H, E_x, E_c (Ha) of densities by the solver's exact functionals.

    Parameters
    ----------
    rho : ndarray (S, n, n)
        Densities (electrons/bohr^2).
    v_ext : ndarray (S, n, n)
        Potentials (Ha).
    functional : str
        "lda" or "gga" (:data:`ddviz.toys.plane2d.solver.FUNCTIONALS`).
    pixel : float
        Grid spacing h (bohr).

    Returns
    -------
    dict
        Term -> (S,) Ha: the Hartree FFT convolution and libxc of :mod:`ddviz.toys.plane2d.solver`.
    """
    from ddviz.toys.plane2d.solver import Box, coulomb_kernel, hartree, xc

    box = Box(rho.shape[-1], rho.shape[-1] * pixel)
    kernel = coulomb_kernel(box)
    out = {k: [] for k in EXACT_TERMS}
    for r, v in zip(rho, v_ext):
        out["E_ext"].append(float(np.sum(r * v)) * box.dA)
        out["E_H"].append(hartree(r, box, kernel)[1])
        _, ex, ec = xc(r, box, functional)
        out["E_x"].append(ex)
        out["E_c"].append(ec)
    return {k: np.array(v) for k, v in out.items()}


def two_systems(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """A (2n, 2m) canvas holding two systems that touch only at a corner.

    Image ``a`` (n, m) fills the top-left quarter, ``b`` the bottom-right one, zeros elsewhere.
    """
    a, b = np.asarray(a), np.asarray(b)
    canvas = np.zeros((2 * a.shape[0], 2 * a.shape[1]), dtype=np.result_type(a, b))
    canvas[:a.shape[0], :a.shape[1]] = a
    canvas[a.shape[0]:, a.shape[1]:] = b
    return canvas


def extensivity(model, a: np.ndarray, b: np.ndarray, electrons=(None, None)) -> dict:
    """An EDNN's energies of two systems apart and together in one :func:`two_systems` canvas.

    Parameters
    ----------
    model : EDNN
    a, b : ndarray (n, m)
        The two systems' inputs: densities (electrons/bohr^2) or potentials (Ha), as the model
        reads.
    electrons : (int, int)
        Their electron counts (input "v_ext": each box carries its own mean density N / A).

    Returns
    -------
    dict
        ``"a"``, ``"b"``, ``"together"``: term -> energy (Ha); ``"sum"``: a + b per term.
    """
    if model.config.input == "rho":
        one = {"a": model.predict(a), "b": model.predict(b)}
        together = model.predict(two_systems(a, b))
    else:
        area = a.size * model.config.pixel**2
        one = {"a": model.predict(a, electrons[0]), "b": model.predict(b, electrons[1])}
        mean = two_systems(np.full(a.shape, electrons[0] / area),
                           np.full(b.shape, electrons[1] / area))
        together = model.predict(two_systems(a, b), mean_density=mean)
    out = {k: {t: float(v[0]) for t, v in e.items()} for k, e in one.items()}
    out["together"] = {t: float(v[0]) for t, v in together.items()}
    out["sum"] = {t: out["a"][t] + out["b"][t] for t in ENERGY_KEYS}
    return out


def evaluate_model(model, images: Images, batch: int = 64) -> dict:
    """The errors of a loaded EDNN or DCIGN ``model`` on ``images`` (see the module docstring).

    Raises
    ------
    DdvizError
        The images have another grid spacing than the model.
    """
    import torch

    from ddviz.methods.dcign.training import density_errors
    from ddviz.methods.ednn.model import EDNN

    cfg = model.config
    if abs(images.pixel - cfg.pixel) > 1e-9 * cfg.pixel:
        raise DdvizError(f"the data's grid spacing is {images.pixel:.6g} bohr, the model's "
                         f"{cfg.pixel:.6g} bohr", path=images.files[0], field="pixel")
    if isinstance(model, EDNN):
        image = images.rho[cfg.rho_functional] if cfg.input == "rho" else images.v_ext
        parts = [model.predict(image[i:i + batch], images.electrons[i:i + batch])
                 for i in range(0, len(images), batch)]
        pred = {k: np.concatenate([p[k] for p in parts]) for k in ENERGY_KEYS}
        return {"pooled": energy_errors(pred, images.energies[cfg.functional]),
                "model": "ednn", "input": cfg.input, "functional": cfg.functional,
                "density_functional": cfg.rho_functional if cfg.input == "rho" else None}
    ref = images.rho[cfg.functional]
    rho = np.concatenate([model.predict(images.v_ext[i:i + batch], images.electrons[i:i + batch])
                          for i in range(0, len(images), batch)])
    pooled = density_errors(torch.from_numpy(rho), torch.from_numpy(ref.astype(np.float64)),
                            cfg.pixel)
    exact = exact_energies(rho, images.v_ext.astype(np.float64), cfg.functional, cfg.pixel)
    return {"pooled": {**pooled, "n": len(images)},
            "exact_functionals": energy_errors(exact, images.energies[cfg.functional]),
            "model": "dcign", "functional": cfg.functional}


def evaluate(model_path, references, split: str | None = None, device=None) -> dict:
    """Load any EDNN/DCIGN model file and evaluate it on plane2d dataset folders.

    Parameters
    ----------
    model_path : path
    references : list of paths
        ``ddviz dataset plane2d`` folders.
    split : str, optional
        Only this split ("test": held-out potentials); None: every sample.
    device : str, optional

    Returns
    -------
    dict

    Raises
    ------
    DdvizError
        An unreadable model file or dataset folder.
    """
    from ddviz.methods import load_model

    images = load_images(references, split)
    model, _ = load_model(model_path, device=device)
    result = evaluate_model(model, images)
    result["split"] = split
    return result


def run(args) -> int:
    """The ``ddviz evaluate`` verb for these models: JSON (``--json``) or a table."""
    result = evaluate(args.model, args.references, args.split, args.device)
    if args.json:
        print(json.dumps(result))
        return 0
    p = result["pooled"]
    if "mae_mha" in p:
        print(f"{'term':8s} {'MAE mHa':>10s} {'relative':>9s}   (n = {p['n']})")
        for k, v in p["mae_mha"].items():
            print(f"{k:8s} {v:10.2f} {p['rel_mae'][k]:9.3%}")
    else:
        print(f"rel_l1 {p['rel_l1']:.3%}  rel_l2 {p['rel_l2']:.3%}  max |dN| "
              f"{p['electrons_max_err']:.2e}  (n = {p['n']})")
        ex = result["exact_functionals"]
        print("exact functionals of the predicted density, MAE mHa: " + ", ".join(
            f"{k} {v:.2f}" for k, v in ex["mae_mha"].items()))
    return 0
