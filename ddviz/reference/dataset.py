"""Named reference datasets: Langevin MD snapshots, then reference densities.

Molecules and clusters: GFN2-xTB MD, then PySCF densities (orbitals only). Periodic cells
(``al32``, ``al108``, ``water32-box``, ``water64-box``): EMT or rigid TIP3P MD
(:mod:`ddviz.reference.md`), then CP2K densities of the cell (:mod:`ddviz.reference.cp2k`, grid
values at float32; the test snapshots are computed first, so a partial build can be evaluated).
The cells' standard sampling is the Gamma point; ``kpoints`` overrides it with a Monkhorst-Pack
grid (metals in small cells: the 32-atom Al cell's Gamma-point density differs by 2.3 % rel L1 from
the same atoms computed as a 2x1x1 supercell).

``build(name, outdir)`` writes ``outdir/dataset.json`` (the recipe), ``outdir/trajectory.xyz``
(the snapshots, Å, with step/time/temperature/seed/split in each frame's info),
``outdir/<name>_<index:04d>.nc`` (compact snapshots) and ``outdir/manifest.json``. Every stage
resumes: a finished trajectory with the same recipe is reused, finished snapshots are skipped.
The train split is the first ``n_train`` snapshots in time, the test split the ``n_test`` after
them.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path

import ase
import ase.io

from ddviz import io
from ddviz.errors import ConfigError
from ddviz.io.atomic import atomic_path, write_text_atomic
from ddviz.reference import md
from ddviz.reference.cp2k import CP2KSettings
from ddviz.reference.generate import Frame, Options, Report, generate
from ddviz.reference.scf import SCFSettings

TRAJECTORY = "trajectory.xyz"
RECIPE = "dataset.json"


@dataclass(frozen=True)
class Preset:
    """A dataset: the system (see :func:`ddviz.reference.md.build`), snapshot counts, MD and SCF.

    md: MDSettings overrides of :data:`MD`. scf: SCFSettings overrides. max_workers: SCF processes
    that fit in memory at once.
    """

    system: str
    n_train: int
    n_test: int
    relax: bool = False  # relax the random starting geometry with xTB first (water clusters)
    md: dict = field(default_factory=dict)
    scf: dict = field(default_factory=dict)
    max_workers: int = 2
    purpose: str = ""
    reference: str = "pyscf"  # or "cp2k" (periodic cells): scf holds CP2KSettings overrides


# Langevin MD at 300 K: 0.5 fs steps, friction 0.01/fs, 1 ps equilibration.
MD = md.MDSettings(temperature_K=300.0, timestep_fs=0.5, friction_per_fs=0.01,
                   equilibration_steps=2000, interval=200)
# Snapshots 500 fs apart for the training sets: n-butane's trans/gauche flips and the methyl
# rotations are ps-scale (at 100 fs, one flip in 12 ps; successive torsions correlated 0.6-0.9).
# The few transferability snapshots of water16/32 are 100 fs apart.
_DECORRELATED = {"interval": 1000}
# Density fitting from water16 on: their 4-centre integrals no longer fit in memory (18 GB for
# water16) and direct SCF is several times slower; for water8 and smaller it is slower than exact.
# PySCF's even-tempered auxiliary basis keeps the density within 2e-5 of exact Coulomb (the
# smaller "weigend" J-fit basis: 1.3e-4, too much). water32's fitted integrals take ~9 GB (kept on
# disk by PySCF beyond max_memory): one SCF at a time.
_DF = {"density_fit": True}
# Periodic cells. Aluminium (EMT): 2 fs steps, 2 ps equilibration, snapshots 200 fs apart (the
# longest fcc Al phonon period is ~110 fs). Water (rigid TIP3P): 1 fs steps, 2 ps equilibration,
# snapshots 500 fs apart (hydrogen-bond lifetimes are ~1 ps; orientations decorrelate in ~2 ps).
# CP2K's cube at STRIDE 2: every other point of the 400 Ry grid (~0.31 bohr), 8x smaller files.
_AL_MD = {"timestep_fs": 2.0, "equilibration_steps": 1000, "interval": 100}
_WATER_MD = {"timestep_fs": 1.0, "equilibration_steps": 2000, "interval": 500}
_CP2K = {"stride": 2}
# Water boxes (fixed occupations, diagonalised): Broyden alpha 0.4 converged a 32-water box in 18
# steps; at 0.2 the residual after 8 steps was 9x larger.
_CP2K_WATER = {**_CP2K, "mixing_alpha": 0.4}
PRESETS: dict[str, Preset] = {
    "ethane": Preset("ethane", 100, 20, md=_DECORRELATED, purpose="small alkane"),
    "n-butane": Preset("n-butane", 100, 20, md=_DECORRELATED,
                       purpose="alkane with a C-C-C-C torsion (trans and gauche)"),
    "isobutane": Preset("isobutane", 100, 20, md=_DECORRELATED, purpose="branched alkane"),
    "water8": Preset("water8", 40, 10, relax=True, md=_DECORRELATED, purpose="water cluster"),
    "water16": Preset("water16", 0, 4, relax=True, scf=_DF,
                      purpose="transferability test (2x water8)"),
    "water32": Preset("water32", 0, 2, relax=True, scf=_DF, max_workers=1,
                      purpose="transferability test (4x water8)"),
    "al32": Preset("al32", 12, 3, md=_AL_MD, scf=_CP2K, max_workers=2, reference="cp2k",
                   purpose="bulk fcc Al, 2x2x2 cells, a = 4.05 Å (CP2K)"),
    "al108": Preset("al108", 0, 2, md=_AL_MD, scf=_CP2K, max_workers=1, reference="cp2k",
                    purpose="transfer test: bulk Al, 3x3x3 cells (CP2K)"),
    "water32-box": Preset("water32-box", 12, 3, md=_WATER_MD, scf=_CP2K_WATER, reference="cp2k",
                          purpose="liquid water, 32 molecules, 9.87 Å box (CP2K)"),
    "water64-box": Preset("water64-box", 0, 2, md=_WATER_MD, scf=_CP2K_WATER, max_workers=1,
                          reference="cp2k", purpose="transfer test: 64 molecules (CP2K)"),
}
# the datasets whose references CP2K computes (periodic cells)
CP2K_SETS = tuple(name for name, p in PRESETS.items() if p.reference == "cp2k")


def check_kpoints(name: str, kpoints) -> None:
    """Refuse k-points for a dataset not computed with CP2K (their values: :class:`CP2KSettings`).

    Parameters
    ----------
    name : str
        A dataset name (a key of :data:`PRESETS` or another dataset of ``ddviz dataset``).
    kpoints : sequence of 3 int or None
        The requested Monkhorst-Pack grid; None for the preset's sampling.

    Raises
    ------
    ConfigError
        ``field="kpoints"``: k-points for a dataset not in :data:`CP2K_SETS`.
    """
    if kpoints is not None and name not in CP2K_SETS:
        how = "computed with PySCF" if name in PRESETS else "not a CP2K dataset"
        raise ConfigError(f"k-points apply to the periodic CP2K datasets ({', '.join(CP2K_SETS)}); "
                          f"{name!r} is {how}", field="kpoints")


def recipe(name: str, n_train: int | None = None, n_test: int | None = None,
           seed: int = 0, kpoints=None) -> dict:
    """The full, JSON-serialisable description of a dataset (preset with overrides).

    Parameters
    ----------
    name : str
        A key of :data:`PRESETS`.
    n_train, n_test : int, optional
        Snapshot counts (default: the preset's).
    seed : int
        Seed of the starting geometry and the MD.
    kpoints : sequence of 3 int, optional
        Monkhorst-Pack grid of the CP2K reference (periodic presets only; default: the preset's
        Gamma point).

    Returns
    -------
    dict
        name, preset, n_train, n_test, seed, md, scf (the SCF settings) and method (in words).

    Raises
    ------
    ConfigError
        Unknown name, impossible counts, k-points for a dataset not computed with CP2K
        (:func:`check_kpoints`) or not three integers >= 1 (:class:`CP2KSettings`); the last two
        with ``field="kpoints"``.
    """
    if name not in PRESETS:
        raise ConfigError(f"unknown dataset {name!r}; expected one of {', '.join(PRESETS)}")
    preset = PRESETS[name]
    check_kpoints(name, kpoints)
    n_train = preset.n_train if n_train is None else n_train
    n_test = preset.n_test if n_test is None else n_test
    if n_train < 0 or n_test < 0 or n_train + n_test < 1:
        raise ConfigError(f"need n_train, n_test >= 0 and at least one snapshot, got {n_train}, "
                          f"{n_test}")
    settings = dataclasses.replace(MD, **preset.md, seed=seed, n_snapshots=n_train + n_test)
    if preset.reference == "cp2k":
        scf = CP2KSettings(**preset.scf, **({} if kpoints is None else {"kpoints": kpoints}))
        force_field = "EMT (ASE)" if name.startswith("al") else "rigid TIP3P (ASE)"
        text = f"{force_field} Langevin MD, then CP2K Quickstep GPW PBE"
    else:
        scf = SCFSettings(**preset.scf)
        text = "GFN2-xTB Langevin MD (tblite), then PySCF RKS"
    return {"name": name, "preset": dataclasses.asdict(preset), "n_train": n_train,
            "n_test": n_test, "seed": seed, "md": dataclasses.asdict(settings),
            "scf": scf.describe(), "method": text}


def _split(k: int, n_train: int) -> str:
    return "train" if k < n_train else "test"


def _same_md(old: dict, new: dict) -> bool:
    """Whether two recipes give the same trajectory (the SCF settings may differ)."""
    keys = ("n_train", "n_test", "seed", "md")
    return (all(old.get(k) == new[k] for k in keys)
            and old.get("preset", {}).get("system") == new["preset"]["system"]
            and old.get("preset", {}).get("relax") == new["preset"]["relax"])


def trajectory(outdir, rec: dict, progress: bool = True) -> list[ase.Atoms]:
    """The MD snapshots of recipe ``rec``, read back or run.

    Read from ``outdir/trajectory.xyz`` when it matches the recipe, else run (starting geometry
    from the seed, relaxed if the preset says so) and written there.

    Parameters
    ----------
    outdir : str or path-like
        The dataset folder.
    rec : dict
        The dataset recipe (``dataset.json``).
    progress : bool
        Show a progress bar while running.

    Returns
    -------
    list of ase.Atoms
        The snapshots (Å), with step, time, temperature, seed and split in each ``info``.
    """
    from tqdm import tqdm

    path = Path(outdir) / TRAJECTORY
    recipe_path = Path(outdir) / RECIPE
    n = rec["n_train"] + rec["n_test"]
    if (path.is_file() and recipe_path.is_file()
            and _same_md(json.loads(recipe_path.read_text()), rec)):
        frames = io.read_structures(path)
        if len(frames) == n:
            write_text_atomic(recipe_path, json.dumps(rec, indent=1) + "\n")
            return frames
    settings = md.MDSettings(**rec["md"])
    start = md.build(rec["preset"]["system"], rec["seed"])
    if rec["preset"]["relax"]:
        start = md.relax(start)
    total = settings.equilibration_steps + settings.n_snapshots * settings.interval
    with tqdm(total=total, unit="step", desc=f"MD {rec['name']}", disable=not progress) as bar:
        frames = md.run_md(start, settings, progress=lambda step: bar.update(step - bar.n),
                           system=rec["preset"]["system"])
    for k, atoms in enumerate(frames):
        atoms.info.update(split=_split(k, rec["n_train"]), system=rec["name"])
    Path(outdir).mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        ase.io.write(tmp, frames, format="extxyz")
    write_text_atomic(recipe_path, json.dumps(rec, indent=1) + "\n")
    return io.read_structures(path)  # as stored (8 decimals), so reruns compute the same


def _check_folder(outdir, rec: dict) -> None:
    """Refuse a folder holding snapshots of another trajectory (they would be orphaned).

    Raises
    ------
    ConfigError
        ``outdir`` has a recipe whose MD differs from ``rec``'s and snapshot files.
    """
    recipe_path = Path(outdir) / RECIPE
    if not recipe_path.is_file():
        return
    old = json.loads(recipe_path.read_text())
    held = sorted(Path(outdir).glob(f"{old.get('name', rec['name'])}_[0-9]*.nc"))
    if held and not _same_md(old, rec):
        raise ConfigError(
            f"the folder holds {len(held)} snapshot(s) of another recipe ({old.get('name')}, "
            f"{old.get('n_train')} + {old.get('n_test')} snapshots, seed {old.get('seed')}) than "
            f"this one ({rec['name']}, {rec['n_train']} + {rec['n_test']}, seed {rec['seed']}); "
            "build into a new folder, or rerun with that recipe's counts and seed to resume it",
            path=outdir)


def build(name: str, outdir, n_train: int | None = None, n_test: int | None = None,
          seed: int = 0, workers: int = 2, progress: bool = True, kpoints=None) -> Report:
    """Make (or finish) dataset ``name`` in ``outdir``; returns the generate report.

    ``kpoints``: see :func:`recipe`. Snapshots computed with another sampling are recomputed
    (their provenance's ``kpoints`` differs); the trajectory is reused.
    """
    rec = recipe(name, n_train, n_test, seed, kpoints)
    _check_folder(outdir, rec)
    frames = trajectory(outdir, rec, progress)
    jobs = [Frame(name, k, atoms, TRAJECTORY) for k, atoms in enumerate(frames)]
    workers = min(workers, PRESETS[name].max_workers)
    if PRESETS[name].reference == "cp2k":
        jobs.sort(key=lambda f: f.atoms.info.get("split") != "test")  # test snapshots first
        options = Options(CP2KSettings(**rec["scf"]), workers=workers,
                          metadata={"dataset": name}, progress=progress)
    else:
        options = Options(SCFSettings(**rec["scf"]), compact=True, workers=workers,
                          metadata={"dataset": name}, progress=progress)
    return generate(jobs, outdir, options)

